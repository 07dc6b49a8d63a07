// SPDX-License-Identifier: GPL-2.0
/* Wake-up scenarios: the engine behind pi/wakeup. See include/wake_scenario.h. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/prctl.h>

#include "apic.h"
#include "cpuid.h"
#include "halt.h"
#include "host.h"
#include "migrate.h"
#include "probe.h"
#include "stats.h"
#include "threads.h"
#include "tsc.h"
#include "vm.h"
#include "wake_monitor.h"
#include "wake_scenario.h"


/* The running case's options (one case at a time per process). */
static const struct wake_options *opt;

#define SENDER_ID          0
#define FIRST_HALTER_ID    1

/* One vector per wake path: the handler knows what woke it. */
#define WAKE_VECTOR_BASE   0x40
#define PATH_VECTOR(p)     (WAKE_VECTOR_BASE + (p))     /* not used for PATH_NMI */
#define IF0_VECTOR         0x50    /* fixed IRQ sent to a vCPU halted with IF=0 */
#define IF0_EXTRA_VECTOR   0x51    /* negative control 5 */
#define STOP_VECTOR        0x5f    /* end of the case; not a counted wake */
/* Halter i acknowledges each IPI with vector ACK_VECTOR_BASE + i, so acks
 * from different halters cannot merge in the sender's IRR. */
#define ACK_VECTOR_BASE    0x60
#define IRQFD_GSI_BASE     24      /* above the IOAPIC's pins */

static const char *const path_names[NR_PATHS] = {
	[PATH_IPI_PHYSICAL] = "IPI (physical)",
	[PATH_IPI_LOGICAL] = "IPI (logical)",
	[PATH_MSI] = "MSI (KVM_SIGNAL_MSI)",
	[PATH_IRQFD] = "MSI (irqfd)",
	[PATH_TIMER_ONESHOT] = "LAPIC timer (one-shot)",
	[PATH_TIMER_TSC_DEADLINE] = "LAPIC timer (TSC deadline)",
	[PATH_NMI] = "NMI",
	[PATH_ACK] = "acknowledgement IPI",
};


/* The delay before each send: none, short, or up to --max-delay-us, so
 * that wakes land during halt-polling, right after blocking and long after. */
#define DELAY_NONE_PCT        40
#define DELAY_SHORT_PCT       40
#define SHORT_DELAY_US        50
#define MIN_TIMER_DELAY_US    1
/* Halt-polling windows set with KVM_CAP_HALT_POLL. */
#define HALT_POLL_LARGE_NS    5000000ull
/* The competitor's busy spells and sleeps (preemption case). */
#define COMPETE_BUSY_US_MAX   30
#define COMPETE_SLEEP_US_MAX  100
#define COMPETE_STREAM        100
/* Host loops: monitor scan and main loop. */
#define MONITOR_PERIOD_US     1000
#define MAIN_PERIOD_US        5000
/* Guest latency samples kept per kind (the rest are counted, not kept). */
#define LATENCY_SAMPLES       (1u << 18)
/* How long a lenient host gets to deliver after STI. */
#define LATE_STI_WINDOW_US    10000
#define LATE_STI_EXTRA_US     50
/* The host sender's sleep while all halters have an interrupt in flight. */
#define HOST_WAIT_US          10
/* The negative controls act at this send / handled wake. */
#define NEGATIVE_CONTROL_AT   50



enum latency_kind { LAT_IPI, LAT_MSI, LAT_NMI, LAT_TIMER, NR_LAT };
static const char *const latency_names[NR_LAT] = {
	[LAT_IPI] = "IPI send -> handler (guest TSC)",
	[LAT_MSI] = "MSI send -> handler (host TSC + guest offset)",
	[LAT_NMI] = "NMI send -> handler (guest TSC)",
	[LAT_TIMER] = "timer expiry -> handler (guest TSC)",
};


/* Per halting vCPU; one cache line group each. "sent" is written by
 * whoever sends (sender vCPU, host thread, or the halter arming its timer),
 * the rest by the halter. handled <= sent always; equal when idle. */
struct halter {
	volatile uint64_t sent;
	volatile uint64_t sent_path[NR_PATHS];
	volatile uint64_t sent_tsc;         /* guest TSC at the send (0: not measured) */
	volatile uint64_t deadline_tsc;     /* timer paths: when it should fire */
	volatile uint32_t last_path;
	volatile uint64_t handled;
	volatile uint64_t handled_path[NR_PATHS];
	volatile uint64_t causes;           /* every handler run: wakes, NMIs, stop, IF=0 fixed */
	volatile uint64_t halts, wakes;
	volatile uint64_t early_timers;     /* timer handled before its deadline */
	volatile uint64_t if0_armed;        /* IF=0 case: iteration whose HLT is next */
	volatile uint64_t if0_done;         /* IF=0 case: iterations checked */
	volatile uint64_t if0_fixed;        /* IF=0 case: fixed interrupts handled */
	volatile uint64_t nmi_before_hlt;   /* NMI arrived before HLT executed */
	volatile uint64_t duplicates;       /* interrupts handled with none outstanding */
	volatile uint64_t dup_seq, dup_rip; /* the first duplicate: after which send, where */
	volatile uint32_t dup_path;
	volatile uint64_t causeless;        /* quirk hosts only: HLTs that returned with no handler run */
	volatile uint64_t causeless_halt;   /* the first of them */
	volatile uint64_t in_shadow;        /* interrupts taken between STI and HLT */
	volatile uint64_t shadow_vector;    /* the first of them */
	volatile bool hlt_skipped;
	volatile bool ready, done;
	uint32_t apic_id;
} __attribute__((aligned(64)));

struct wake_shared {
	struct halter h[WAKE_MAX_HALTERS];
	struct halter snd;                  /* the sender vCPU, halting for acks */
	/* Acks per halter: expected (the sender, at each IPI it sends), sent
	 * (the halter, once it has handled the IPI), handled (the sender). The
	 * ack channels watch sent: an ack is not in flight before the IPI it
	 * answers was handled, so a lost IPI is the halter's, not the sender's. */
	volatile uint64_t ack_expected[WAKE_MAX_HALTERS];
	volatile uint64_t ack_sent[WAKE_MAX_HALTERS];
	volatile uint64_t ack_handled[WAKE_MAX_HALTERS];
	uint32_t nr_halters;
	uint32_t mode;                      /* enum halter_mode */
	uint32_t guest_paths;               /* IPI paths of the sender vCPU */
	uint32_t timer_paths;
	bool x2apic;
	uint64_t tsc_khz;
	uint64_t max_delay_us;
	uint64_t negative_control;
	bool strict_sti_window;             /* see halt_with_if0() */
	bool quirk_irq_twice;               /* host_has_quirk(), for the guest */
	bool quirk_hlt_without_cause;
	uint64_t if0_merged_sends;          /* IF=0: iterations that sent the vector twice */
	volatile uint64_t if0_late;         /* IF=0: delivered later than STI's shadow */
	volatile bool stop_sending;         /* first: senders stop, their sends complete */
	volatile bool stop;                 /* then: halters may finish */
	struct test_rng rng[WAKE_MAX_HALTERS + 1];   /* [0] sender, [1 + i] halter i */
	struct tsc_samples latency[NR_LAT];
};

/* ---------------- shared by guest and host (pure arithmetic) ---------------- */

static uint64_t pick_delay_us(struct test_rng *rng, uint64_t max_us)
{
	uint64_t kind = test_rng_below(rng, 100);

	if (kind < DELAY_NONE_PCT)
		return 0;
	if (kind < DELAY_NONE_PCT + DELAY_SHORT_PCT)
		return test_rng_below(rng, SHORT_DELAY_US + 1);
	return test_rng_below(rng, max_us + 1);
}

/* The first sends cycle through the paths, so every path is used even in a
 * short run; after that the choice is random. */
static int pick_path(struct test_rng *rng, uint32_t paths, uint64_t n)
{
	int candidates[NR_PATHS], nr = 0, p;

	for (p = 0; p < NR_PATHS; p++)
		if (paths & PATH_BIT(p))
			candidates[nr++] = p;
	if (n < (uint64_t)nr)
		return candidates[n];
	return candidates[test_rng_below(rng, nr)];
}

/* ---------------- guest side ---------------- */

static struct halter *my_halter(void)
{
	struct wake_shared *s = guest_data();

	return &s->h[guest_vcpu_id() - FIRST_HALTER_ID];
}

/* An interrupt taken inside STI's shadow (see guest_sti_hlt()). */
static void check_sti_shadow(struct halter *h, struct ex_regs *regs)
{
	if (!guest_irq_skips_shadowed_hlt(regs))
		return;
	if (!h->in_shadow++)
		h->shadow_vector = regs->vector;
	h->hlt_skipped = true;
}

/* An interrupt that arrives with none outstanding was delivered twice:
 * counted apart (the case fails at its end with the details). */
static bool is_duplicate(struct halter *h, volatile uint64_t *sent, volatile uint64_t *handled,
			 int path, struct ex_regs *regs)
{
	if (*handled != *sent)
		return false;
	if (!h->duplicates++) {
		h->dup_path = path;
		h->dup_rip = regs->rip;
		h->dup_seq = *sent;
	}
	h->causes++;
	return true;
}

static bool count_wake(struct halter *h, int path, struct ex_regs *regs)
{
	struct wake_shared *s = guest_data();

	if (is_duplicate(h, &h->sent_path[path], &h->handled_path[path], path, regs))
		return false;
	/* Negative control 3: one wake goes unaccounted, as if HLT had ended
	 * for no reason. */
	if (s->negative_control == WAKE_NC_UNCOUNTED_WAKE && h->handled == NEGATIVE_CONTROL_AT)
		return true;
	h->causes++;
	h->handled_path[path]++;
	h->handled++;           /* last: a sender polling it sees the rest */
	return true;
}

static void wake_irq_handler(struct ex_regs *regs)
{
	struct wake_shared *s = guest_data();
	struct halter *h = my_halter();
	int path = (int)regs->vector - WAKE_VECTOR_BASE;
	uint64_t now = rdtsc();

	check_sti_shadow(h, regs);
	if (path == PATH_TIMER_ONESHOT || path == PATH_TIMER_TSC_DEADLINE) {
		if (now >= h->deadline_tsc)
			tsc_samples_add(&s->latency[LAT_TIMER], now - h->deadline_tsc);
		else
			h->early_timers++;
	} else if (h->sent_tsc) {
		int kind = path == PATH_MSI || path == PATH_IRQFD ? LAT_MSI : LAT_IPI;

		/* Another CPU's TSC (or the host's plus the guest's offset) may
		 * be a little ahead. */
		tsc_samples_add(&s->latency[kind], now > h->sent_tsc ? now - h->sent_tsc : 0);
	}
	apic_eoi();
	if (count_wake(h, path, regs) && (path == PATH_IPI_PHYSICAL || path == PATH_IPI_LOGICAL)) {
		uint32_t i = guest_vcpu_id() - FIRST_HALTER_ID;

		s->ack_sent[i]++;
		apic_send_ipi(SENDER_ID, ACK_VECTOR_BASE + i);
	}
}

static void ack_handler(struct ex_regs *regs)
{
	struct wake_shared *s = guest_data();
	struct halter *snd = &s->snd;

	check_sti_shadow(snd, regs);
	apic_eoi();
	if (is_duplicate(snd, &s->ack_sent[regs->vector - ACK_VECTOR_BASE],
			 &s->ack_handled[regs->vector - ACK_VECTOR_BASE], PATH_ACK, regs))
		return;
	s->ack_handled[regs->vector - ACK_VECTOR_BASE]++;
	snd->causes++;
	snd->handled_path[PATH_ACK]++;
	snd->handled++;
}

extern const char if0_hlt_insn[];

static void nmi_handler(struct ex_regs *regs)
{
	struct wake_shared *s = guest_data();
	struct halter *h = my_halter();
	uint64_t now = rdtsc();

	/* The NMI came after the halter announced its HLT but before the HLT
	 * executed: skip it, or the vCPU would halt with nothing to wake it. */
	if (regs->rip == (uint64_t)if0_hlt_insn) {
		regs->rip++;
		h->nmi_before_hlt++;
	}
	if (h->sent_tsc)
		tsc_samples_add(&s->latency[LAT_NMI], now > h->sent_tsc ? now - h->sent_tsc : 0);
	count_wake(h, PATH_NMI, regs);
}

static void if0_fixed_handler(struct ex_regs *regs)
{
	struct halter *h = my_halter();

	h->if0_fixed++;
	h->causes++;
	apic_eoi();
}

static void stop_handler(struct ex_regs *regs)
{
	check_sti_shadow(my_halter(), regs);
	my_halter()->causes++;
	apic_eoi();
}

static void guest_apic_setup(struct wake_shared *s)
{
	if (s->x2apic)
		x2apic_enable();
	else
		xapic_enable();
	/* Flat logical model: vCPU n owns logical bit n (x2APIC derives its
	 * logical ID from the APIC ID: cluster 0, bit n, for n < 16). */
	apic_set_logical_id((uint8_t)guest_vcpu_id());
}

/* HLT with interrupts enabled; IF=0 on entry and on return. Every HLT that
 * returns must be explained by a handler that ran. */
static void halt_once(struct halter *h)
{
	struct wake_shared *s = guest_data();
	uint64_t causes = h->causes;

	h->halts++;
	if (s->negative_control == WAKE_NC_MISCOUNT_HALT && h->halts == NEGATIVE_CONTROL_AT) {
		h->halts++;     /* claims an extra HLT (and its return) */
		h->wakes++;
	}
	if (s->negative_control == WAKE_NC_PENDING_BEFORE_HLT)
		while (!apic_irr_any())
			cpu_relax();
	guest_sti_hlt();
	cli();
	if (h->hlt_skipped) {
		h->hlt_skipped = false;
		h->halts--;     /* a handler skipped it */
	} else {
		h->wakes++;
	}
	if (h->causes != causes)
		return;
	/* A known quirk of some hosts (include/host.h): counted here, reported
	 * by the host; everywhere else a wake without cause fails. */
	if (s->quirk_hlt_without_cause) {
		if (!h->causeless++)
			h->causeless_halt = h->halts;
		return;
	}
	GUEST_FAIL("vCPU %u: HLT #%llu returned although no interrupt, NMI or timer "
		   "handler ran (a wake without cause; %llu of %llu wakes handled)",
		   guest_vcpu_id(), (unsigned long long)h->halts,
		   (unsigned long long)h->handled, (unsigned long long)h->sent);
}

/* Until the stop request: its own timers only. After it, guest_halter()
 * waits for the last one, which nothing else may wake. */
static void halt_for_timer(struct wake_shared *s, struct halter *h, struct test_rng *rng)
{
	uint64_t n = 0;

	while (!s->stop_sending) {
		int path = pick_path(rng, s->timer_paths, n++);
		uint64_t us = pick_delay_us(rng, s->max_delay_us) + MIN_TIMER_DELAY_US;

		h->last_path = path;
		h->sent_path[path]++;
		h->sent++;
		h->deadline_tsc = rdtsc() + tsc_from_us(s->tsc_khz, us);
		if (s->negative_control == WAKE_NC_FORGET_SEND && n == NEGATIVE_CONTROL_AT)
			;       /* "forgets" to arm the timer it waits for */
		else if (path == PATH_TIMER_TSC_DEADLINE)
			apic_timer_tsc_deadline(PATH_VECTOR(path), h->deadline_tsc);
		else    /* divide-by-1 ticks of KVM's 1 GHz APIC bus: nanoseconds */
			apic_timer_oneshot(PATH_VECTOR(path), (uint32_t)(us * 1000));
		halt_once(h);
	}
}

/*
 * Announce the HLT and execute it with IF=0 in one asm block, so an NMI
 * sent after the announcement either wakes the HLT or finds RIP at the
 * if0_hlt_insn label (the NMI handler then skips the HLT).
 */
__attribute__((noinline, noclone))
static void if0_halt(volatile uint64_t *armed, uint64_t seq)
{
	__asm__ volatile("movq %1, %0\n\t"
			 ".global if0_hlt_insn\n"
			 "if0_hlt_insn: hlt"
			 : "=m"(*armed) : "r"(seq) : "memory");
}

static void halt_with_if0(struct wake_shared *s, struct halter *h)
{
	while (!s->stop) {
		uint64_t nmis = h->handled_path[PATH_NMI], fixed = h->if0_fixed;
		uint64_t seq = h->if0_armed + 1, skipped = h->nmi_before_hlt;

		h->halts++;
		if (s->negative_control == WAKE_NC_IF1_HALT) {
			h->if0_armed = seq;
			safe_halt();
			cli();
		} else {
			if0_halt(&h->if0_armed, seq);
		}
		if (h->nmi_before_hlt != skipped)
			h->halts--;     /* the NMI handler skipped the HLT */
		else
			h->wakes++;
		/*
		 * The fixed interrupt first: once delivered it is the evidence,
		 * whether or not the NMI (sent after it) has arrived by now.
		 */
		GUEST_ASSERT_MSG(h->if0_fixed == fixed, "vCPU %u: a fixed interrupt was delivered "
				 "while halted with IF=0 (iteration %llu, the NMI %s)",
				 guest_vcpu_id(), (unsigned long long)seq,
				 h->handled_path[PATH_NMI] == nmis ? "not yet handled" : "handled too");
		if (h->handled_path[PATH_NMI] == nmis)
			GUEST_FAIL("vCPU %u: HLT with IF=0 returned without an NMI (iteration %llu, "
				   "fixed vector 0x%x %s pending)",
				   guest_vcpu_id(), (unsigned long long)seq, IF0_VECTOR,
				   apic_irr_pending(IF0_VECTOR) ? "still" : "no longer");
		GUEST_ASSERT_MSG(apic_irr_pending(IF0_VECTOR),
				 "vCPU %u: the fixed interrupt (vector 0x%x) sent before the NMI is "
				 "not pending in the IRR after the NMI woke HLT: it was lost",
				 guest_vcpu_id(), IF0_VECTOR);
		/*
		 * Open the interrupt window for one instruction: the pending
		 * interrupt must be taken right after STI's shadow. Some hosts
		 * (PVM) deliver it a few instructions later; there the window
		 * stays open a little longer and the late delivery is counted.
		 */
		__asm__ volatile("sti; nop; cli" ::: "memory");
		if (h->if0_fixed == fixed) {
			uint64_t start = rdtsc(), now;

			GUEST_ASSERT_MSG(!s->strict_sti_window,
					 "vCPU %u: the pending fixed interrupt was not taken at the "
					 "end of STI's interrupt shadow (iteration %llu)",
					 guest_vcpu_id(), (unsigned long long)seq);
			s->if0_late++;
			sti();
			do {
				cpu_relax();
				now = rdtsc();
			} while (h->if0_fixed == fixed &&
				 now - start < tsc_from_us(s->tsc_khz, LATE_STI_WINDOW_US));
			/* Twice as long again, to see a second delivery if any. */
			now += 2 * (now - start) + tsc_from_us(s->tsc_khz, LATE_STI_EXTRA_US);
			while (rdtsc() < now)
				cpu_relax();
			cli();
		}
		if (h->if0_fixed == fixed + 2 && s->quirk_irq_twice) {
			if (!h->duplicates++) {
				h->dup_path = PATH_NMI;   /* in the iteration woken by this NMI */
				h->dup_seq = seq;
				h->dup_rip = 0;
			}
		} else if (h->if0_fixed != fixed + 1)
			GUEST_FAIL("vCPU %u: expected the pending fixed interrupt to be delivered "
				   "exactly once after STI, got %llu deliveries (iteration %llu)",
				   guest_vcpu_id(), (unsigned long long)(h->if0_fixed - fixed),
				   (unsigned long long)seq);
		GUEST_ASSERT_MSG(!apic_irr_pending(IF0_VECTOR) && !apic_isr_in_service(IF0_VECTOR),
				 "vCPU %u: vector 0x%x still pending/in service after its delivery",
				 guest_vcpu_id(), IF0_VECTOR);
		h->if0_done = seq;
	}
}

static void guest_halter(void *arg)
{
	struct wake_shared *s = arg;
	uint32_t idx = guest_vcpu_id() - FIRST_HALTER_ID;
	struct halter *h = &s->h[idx];

	cli();
	guest_apic_setup(s);
	h->apic_id = apic_id();
	h->ready = true;
	switch (s->mode) {
	case HALT_FOR_SENDER:
		while (!s->stop)
			halt_once(h);
		break;
	case HALT_ON_TIMER:
		halt_for_timer(s, h, &s->rng[1 + idx]);
		break;
	case HALT_WITH_IF0:
		halt_with_if0(s, h);
		break;
	}
	/* Anything still in flight (the last timer) must arrive too. */
	while (h->handled != h->sent)
		halt_once(h);
	h->done = true;
}

static void publish_send(struct halter *h, int path, bool guest_clock)
{
	h->sent_tsc = guest_clock ? rdtsc() : 0;
	h->last_path = path;
	h->sent_path[path]++;
	h->sent++;
}

/* Halters with no IPI in flight: their last one was handled and acked. */
static uint32_t idle_halters(struct wake_shared *s)
{
	uint32_t i, idle = 0;

	for (i = 0; i < s->nr_halters; i++)
		if (s->ack_handled[i] == s->ack_expected[i])
			idle |= 1u << i;
	return idle;
}

/*
 * IPIs to halters that have none in flight (a second one of the same vector
 * would merge with it in the IRR); each halter acknowledges with an IPI of
 * its own vector, and the sender halts until an acknowledgement arrives.
 * Runs with IF=0 except inside halt_once().
 */
static void ipi_sender(struct wake_shared *s)
{
	uint32_t all = (1u << s->nr_halters) - 1, i;
	struct test_rng *rng = &s->rng[0];
	uint64_t n = 0;

	while (!s->stop_sending) {
		uint32_t idle = idle_halters(s), targets = 0, dest = 0;
		int path;

		if (!idle) {
			halt_once(&s->snd);
			continue;
		}
		path = pick_path(rng, s->guest_paths, n);
		/* Physical: one vCPU. Logical: any non-empty set of them. */
		if (path == PATH_IPI_PHYSICAL)
			targets = test_rng_pick_bit(rng, idle);
		else
			while (!targets)
				targets = (uint32_t)test_rng_below(rng, all + 1) & idle;
		tsc_delay_us(s->tsc_khz, pick_delay_us(rng, s->max_delay_us));
		for (i = 0; i < s->nr_halters; i++) {
			if (!(targets & (1u << i)))
				continue;
			s->ack_expected[i]++;
			s->snd.last_path = PATH_ACK;
			s->snd.sent_path[PATH_ACK]++;
			s->snd.sent++;
			publish_send(&s->h[i], path, true);
			dest = path == PATH_IPI_PHYSICAL ? s->h[i].apic_id
							 : dest | (1u << (FIRST_HALTER_ID + i));
		}
		n++;
		if (s->negative_control == WAKE_NC_FORGET_SEND && n == NEGATIVE_CONTROL_AT)
			continue;
		if (path == PATH_IPI_PHYSICAL)
			apic_send_ipi(dest, PATH_VECTOR(path));
		else
			apic_send_ipi_logical(dest, PATH_VECTOR(path));
	}
	while (idle_halters(s) != all)
		halt_once(&s->snd);
}

static void if0_iteration(struct wake_shared *s, struct halter *h, uint64_t n)
{
	struct test_rng *rng = &s->rng[0];
	uint64_t seq = h->if0_armed;

	apic_send_ipi(h->apic_id, IF0_VECTOR);
	/* Sent again while pending: merges with the first (one delivery). */
	if (test_rng_below(rng, 2)) {
		apic_send_ipi(h->apic_id, IF0_VECTOR);
		s->if0_merged_sends++;
	}
	if (s->negative_control == WAKE_NC_SECOND_VECTOR && n == NEGATIVE_CONTROL_AT)
		apic_send_ipi(h->apic_id, IF0_EXTRA_VECTOR);
	tsc_delay_us(s->tsc_khz, pick_delay_us(rng, s->max_delay_us));
	publish_send(h, PATH_NMI, true);
	if (!(s->negative_control == WAKE_NC_FORGET_SEND && n == NEGATIVE_CONTROL_AT))
		apic_send_nmi(h->apic_id);
	while (h->if0_done != seq)
		cpu_relax();
}

static void if0_sender(struct wake_shared *s)
{
	uint64_t n = 0;
	uint32_t i, nr_done;

	do {
		nr_done = 0;
		for (i = 0; i < s->nr_halters; i++) {
			struct halter *h = &s->h[i];

			while (h->if0_armed == h->if0_done && !h->done)
				cpu_relax();
			if (h->if0_armed != h->if0_done)
				if0_iteration(s, h, ++n);
			else
				nr_done++;
		}
	} while (nr_done < s->nr_halters);
}

static void guest_sender(void *arg)
{
	struct wake_shared *s = arg;
	uint32_t i;

	guest_apic_setup(s);
	for (i = 0; i < s->nr_halters; i++)
		while (!s->h[i].ready)
			cpu_relax();
	if (s->mode == HALT_WITH_IF0)
		if0_sender(s);
	else if (s->guest_paths)
		ipi_sender(s);
}

/* ---------------- host side ---------------- */

/* What a wake channel (wake_monitor.h) carries: sends to a halter, or one
 * halter's acknowledgements to the sender. */
struct channel_source {
	struct halter *h;               /* the receiving vCPU's counters */
	int from;                       /* ack channels: the acknowledging vCPU, else -1 */
};
#define MAX_TRACKED  (WAKE_MAX_HALTERS + 1)
#define MAX_CHANNELS (2 * WAKE_MAX_HALTERS)

struct wake_case {
	const struct wake_scenario *sc;
	struct vm *vm;
	struct wake_shared *s;
	struct vcpu *sender;
	struct vcpu *halters[WAKE_MAX_HALTERS];
	uint32_t nr_halters;
	/* vCPUs that halt (halters, and the sender when it waits for acks). */
	struct vcpu *tv[MAX_TRACKED];
	struct halter *th[MAX_TRACKED];
	uint32_t nr_tracked;
	struct halt_stats stats_before[MAX_TRACKED];
	uint64_t sender_exits_before;
	struct wake_channel ch[MAX_CHANNELS];
	struct channel_source src[MAX_CHANNELS];
	uint32_t nr_channels;
	int irqfd[WAKE_MAX_HALTERS];
	int64_t tsc_offset;             /* guest TSC - host TSC */
	struct migrator *migrator;
	struct competitor *competitors[WAKE_MAX_HALTERS];
	uint64_t preemptions[WAKE_MAX_HALTERS];      /* sampled while the threads live */
	atomic_bool finished[MAX_TRACKED];      /* by vCPU id: its guest function returned */
	atomic_uint_fast64_t signal_exits;
	uint64_t host_forget_at;
	struct test_rng host_rng;
};

static struct wake_case *the_case;      /* for the vCPU threads */

/* Signals from the migrator (EINTR) re-enter. */
static void vcpu_thread_fn(struct vcpu *vcpu)
{
	vcpu_run_to_done(vcpu, &the_case->signal_exits);
	atomic_store(&the_case->finished[vcpu->id], true);
}

/* The pending event of a channel, for the lost-wakeup report. */
static void describe_pending(const struct wake_channel *c, char *buf, size_t len)
{
	const struct channel_source *src = c->ctx;
	struct halter *h = src->h;

	if (src->from >= 0)
		snprintf(buf, len, "the acknowledgement IPI #%" PRIu64 " from vCPU %d", *c->sent,
			 src->from);
	else
		snprintf(buf, len, "%s #%" PRIu64, path_names[h->last_path],
			 h->sent_path[h->last_path]);
}

/* ---- host sender: KVM_SIGNAL_MSI and irqfd ---- */

static void host_delay(uint64_t us)
{
	uint64_t until = now_ns() + us * 1000;

	if (us > SHORT_DELAY_US) {
		usleep(us);
		return;
	}
	while (now_ns() < until)
		;
}

/* Like the sender vCPU: one MSI in flight per halter, pipelined across
 * halters; it sleeps while every halter has one in flight. */
static void *host_sender_main(void *arg)
{
	struct wake_case *wc = arg;
	struct wake_shared *s = wc->s;
	uint64_t n = 0;
	uint32_t i, all = (1u << wc->nr_halters) - 1;

	prctl(PR_SET_TIMERSLACK, 1UL);
	for (i = 0; i < wc->nr_halters; i++)
		while (!s->h[i].ready)
			sched_yield();
	for (;;) {
		uint32_t idle = 0, t;
		struct halter *h;
		int path;

		for (i = 0; i < wc->nr_halters; i++)
			if (__atomic_load_n(&s->h[i].handled, __ATOMIC_ACQUIRE) == s->h[i].sent)
				idle |= 1u << i;
		if (s->stop_sending && idle == all)
			break;
		if (!idle || s->stop_sending) {
			usleep(HOST_WAIT_US);
			continue;
		}
		path = pick_path(&wc->host_rng, wc->sc->host_paths, n);
		t = (uint32_t)__builtin_ctz(test_rng_pick_bit(&wc->host_rng, idle));
		h = &s->h[t];
		host_delay(pick_delay_us(&wc->host_rng, opt->max_delay_us));
		h->sent_tsc = rdtsc() + wc->tsc_offset;
		h->last_path = path;
		h->sent_path[path]++;
		__atomic_add_fetch(&h->sent, 1, __ATOMIC_RELEASE);
		if (++n == wc->host_forget_at)
			continue;
		if (path == PATH_MSI)
			TEST_ASSERT(vm_signal_msi(wc->vm, h->apic_id, PATH_VECTOR(path)) > 0,
				    "KVM_SIGNAL_MSI to APIC ID %u: KVM reports it was not delivered",
				    h->apic_id);
		else
			irqfd_raise(wc->irqfd[t]);
	}
	return NULL;
}

/* ---- the case's life ---- */

static void check_halt_stats(struct wake_case *wc)
{
	bool skip_ok = host_may_skip_hlt_exits();
	uint64_t total_poll_ok = 0, total_poll_tried = 0, total_woken = 0;
	uint32_t i;

	for (i = 0; i < wc->nr_tracked; i++) {
		struct vcpu *v = wc->tv[i];
		uint64_t halts = wc->th[i]->halts;
		struct halt_stats d;

		halt_stats_since(v, &wc->stats_before[i], &d);
		total_poll_ok += d.poll_ok;
		total_poll_tried += d.poll_tried;
		total_woken += d.wakeup;
		test_diag("vCPU %u: %" PRIu64 " HLTs; KVM halt_exits %" PRIu64 ", halt_successful_poll %"
			  PRIu64 ", halt_attempted_poll %" PRIu64 ", halt_poll_invalid %" PRIu64
			  ", halt_wakeup %" PRIu64 "; irq_injections %" PRIu64 " for %" PRIu64
			  " interrupts handled", v->id, halts, d.exits, d.poll_ok, d.poll_tried,
			  d.poll_invalid, d.wakeup, d.injections, wc->th[i]->causes);
		/* halt_exits counts every HLT KVM emulates (__kvm_emulate_halt). */
		if (skip_ok)
			TEST_ASSERT(d.exits <= halts, "vCPU %u: KVM halt_exits grew by %" PRIu64 ", more "
				    "than the %" PRIu64 " HLTs the guest executed", v->id, d.exits, halts);
		else
			TEST_ASSERT(d.exits == halts, "vCPU %u: KVM halt_exits grew by %" PRIu64
				    ", expected one per guest HLT: %" PRIu64, v->id, d.exits, halts);
		TEST_ASSERT(d.poll_ok <= d.poll_tried, "vCPU %u: halt_successful_poll (%" PRIu64 ") > "
			    "halt_attempted_poll (%" PRIu64 ")", v->id, d.poll_ok, d.poll_tried);
		if (wc->sc->poll == HALT_POLL_OFF)
			TEST_ASSERT(d.poll_tried == 0, "vCPU %u: halt-polling is off (KVM_CAP_HALT_POLL "
				    "= 0) but halt_attempted_poll grew by %" PRIu64, v->id, d.poll_tried);
	}
	if (skip_ok)
		test_diag("host has AMD Idle HLT: halt_exits may be below the guest's HLT count");
	/*
	 * Whether a poll succeeds depends on the scheduler: KVM stops polling
	 * as soon as another task is runnable on the CPU (single_task_running()),
	 * which on a small, busy host is most of the time. That a poll was
	 * attempted is what KVM_CAP_HALT_POLL defines.
	 */
	if (wc->sc->poll == HALT_POLL_WINDOW)
		TEST_ASSERT(total_poll_tried > 0, "with a %llu us halt-polling window "
			    "(KVM_CAP_HALT_POLL), KVM never attempted to poll (halt_attempted_poll 0)",
			    HALT_POLL_LARGE_NS / 1000);
	if (wc->sc->poll != HALT_POLL_OFF)
		test_diag("successful polls: %" PRIu64 " of %" PRIu64 " attempted", total_poll_ok,
			  total_poll_tried);
	/*
	 * halt_wakeup counts the kicks that found the vCPU blocked and woke it
	 * (kvm_vcpu_wake_up()): the path these cases are about. Interrupts
	 * that arrive while KVM polls, or before the vCPU blocks, never need
	 * it, so a case where none did proved nothing about it. The polling
	 * cases are about the poll and may end every halt there.
	 */
	test_diag("halts ended by KVM waking the blocked vCPU (halt_wakeup): %" PRIu64,
		  total_woken);
	if (wc->sc->poll != HALT_POLL_WINDOW)
		TEST_ASSERT(total_woken > 0, "no halted vCPU was ever woken from blocking "
			    "(halt_wakeup did not move): every wake came from halt-polling or "
			    "arrived before the vCPU blocked, so the wakeup path was never used");
}

static void start_disturbers(struct wake_case *wc)
{
	pid_t tids[MAX_TRACKED];
	uint32_t i;

	for (i = 0; i < wc->nr_tracked; i++)
		tids[i] = wc->tv[i]->tid;
	if (wc->sc->migrate) {
		struct migrator_opts mo = { .interval_us = opt->migrate_interval_us, .stream = 1,
					    .kick_percent = wc->sc->signal_exits ?
							    (unsigned int)opt->kick_percent : 0 };

		wc->migrator = migrator_start(tids, (int)wc->nr_tracked, &mo);
	}
	/* The halters come first in tids. */
	if (wc->sc->compete)
		competitors_start(tids, (int)wc->nr_halters, COMPETE_BUSY_US_MAX,
				  COMPETE_SLEEP_US_MAX, COMPETE_STREAM, wc->competitors);
}

static void stop_disturbers(struct wake_case *wc)
{
	uint64_t rounds, preempt = 0;
	uint32_t i;

	if (wc->migrator) {
		migrator_stop_report(wc->migrator);
		wc->migrator = NULL;
	}
	rounds = competitors_stop(wc->competitors, (int)wc->nr_halters);
	for (i = 0; i < wc->nr_halters; i++)
		preempt += wc->preemptions[i];
	if (wc->sc->compete)
		test_diag("competitor rounds: %" PRIu64 "; halter threads preempted %" PRIu64
			  " times", rounds, preempt);
}

/* Every channel's counters, for a failure that is not one lost wakeup. */
static void dump_channels(struct wake_case *wc)
{
	uint32_t i;

	for (i = 0; i < wc->nr_channels; i++) {
		struct wake_channel *c = &wc->ch[i];
		struct channel_source *src = &wc->src[i];

		test_diag("channel %u to vCPU %u%s: %" PRIu64 " sent, %" PRIu64 " handled; that vCPU: "
			  "%" PRIu64 " HLTs, %" PRIu64 " returned, %" PRIu64 " causes, %" PRIu64
			  " duplicates", i, c->vcpu->id, src->from >= 0 ? " (acks)" : "", *c->sent,
			  *c->handled, src->h->halts, src->h->wakes, src->h->causes,
			  src->h->duplicates);
	}
}

/* The sender vCPU finishes once every halter has acknowledged. */
static void wait_sender_done(struct wake_case *wc)
{
	uint64_t deadline = now_ns() + opt->lost_wakeup_ms * 1000000 * 2;

	while (!atomic_load(&wc->finished[SENDER_ID])) {
		if (now_ns() > deadline) {
			dump_channels(wc);
			test_fail("the sender vCPU did not finish within %" PRIu64 " ms of the stop "
				  "request", opt->lost_wakeup_ms * 2);
		}
		usleep(MAIN_PERIOD_US);
	}
	vcpu_thread_join(wc->sender);
}

/* Bounded like the monitor's watch: a stalled CPU's time does not count. */
static void wait_halters_done(struct wake_case *wc, struct wake_monitor *monitor)
{
	uint64_t bound_ns = opt->lost_wakeup_ms * 1000000 * 2, deadline = now_ns() + bound_ns;
	unsigned int restarts = wake_monitor_restarts(monitor);
	uint32_t i;

	for (i = 0; i < wc->nr_halters; i++) {
		while (!wc->s->h[i].done) {
			unsigned int now_restarts = wake_monitor_restarts(monitor);

			if (now_restarts != restarts) {
				restarts = now_restarts;
				deadline = now_ns() + bound_ns;
			}
			TEST_ASSERT(now_ns() < deadline, "vCPU %u did not finish within %" PRIu64
				    " ms of the stop request (%" PRIu64 " of %" PRIu64 " wakes "
				    "handled, %" PRIu64 " HLTs, %" PRIu64 " returned)",
				    wc->halters[i]->id, opt->lost_wakeup_ms * 2, wc->s->h[i].handled,
				    wc->s->h[i].sent, wc->s->h[i].halts, wc->s->h[i].wakes);
			usleep(MAIN_PERIOD_US);
		}
	}
}

static uint64_t total_handled(struct wake_case *wc)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < wc->nr_tracked; i++)
		n += wc->th[i]->handled;
	return n;
}

static void add_channel(struct wake_case *wc, volatile uint64_t *sent, volatile uint64_t *handled,
			struct halter *h, struct vcpu *v, int from)
{
	uint32_t i = wc->nr_channels++;

	wc->src[i] = (struct channel_source){ .h = h, .from = from };
	wc->ch[i] = (struct wake_channel){ .sent = sent, .handled = handled, .halts = &h->halts,
					   .wakes = &h->wakes, .vcpu = v,
					   .describe = describe_pending, .ctx = &wc->src[i] };
}

static void setup_case(struct wake_case *wc, const struct wake_scenario *sc)
{
	struct vm_options vo = { .irqchip = true };
	struct wake_shared *s;
	const char *mod = kvm_vendor_module();
	char desc[200];
	uint32_t i;
	int p;

	TEST_ASSERT(opt->halters >= 1 && opt->halters <= WAKE_MAX_HALTERS,
		    "--halters must be 1..%d", WAKE_MAX_HALTERS);
	require_kvm_cap(KVM_CAP_IRQCHIP);
	require_binary_stats();
	require_kvm_cap(KVM_CAP_GET_TSC_KHZ);
	require_kvm_cap(KVM_CAP_SIGNAL_MSI);     /* also the stop interrupt */
	if (sc->x2apic)
		require_kvm_cpu_feature(X86_FEATURE_X2APIC);
	/* KVM emulates the TSC-deadline timer when it has the capability; older
	 * kernels leave the CPUID bit for userspace to set. */
	if (sc->timer_paths & PATH_BIT(PATH_TIMER_TSC_DEADLINE))
		require_kvm_cap(KVM_CAP_TSC_DEADLINE_TIMER);
	if (sc->host_paths & PATH_BIT(PATH_IRQFD))
		require_kvm_cap(KVM_CAP_IRQFD);

	the_case = wc;
	wc->sc = sc;
	wc->nr_halters = (uint32_t)opt->halters;
	wc->vm = vm_create(&vo);
	s = wc->s = vm_alloc(wc->vm, sizeof(*s));
	vm_set_halt_poll(wc->vm, sc->poll, HALT_POLL_LARGE_NS);
	s->quirk_irq_twice = host_has_quirk(HOST_QUIRK_IRQ_DELIVERED_TWICE);
	s->quirk_hlt_without_cause = host_has_quirk(HOST_QUIRK_HLT_WAKES_WITHOUT_CAUSE);
	test_diag("wakeup path: %s", kvm_wakeup_path(desc, sizeof(desc)));

	wc->sender = vcpu_add(wc->vm, SENDER_ID, guest_sender, s);
	for (i = 0; i < wc->nr_halters; i++) {
		wc->halters[i] = vcpu_add(wc->vm, FIRST_HALTER_ID + i, guest_halter, s);
		if (sc->timer_paths & PATH_BIT(PATH_TIMER_TSC_DEADLINE))
			vcpu_set_cpuid_feature(wc->halters[i], X86_FEATURE_TSC_DEADLINE);
		wc->tv[wc->nr_tracked] = wc->halters[i];
		wc->th[wc->nr_tracked++] = &s->h[i];
		add_channel(wc, &s->h[i].sent, &s->h[i].handled, &s->h[i], wc->halters[i], -1);
	}
	if (sc->guest_paths) {
		wc->tv[wc->nr_tracked] = wc->sender;
		wc->th[wc->nr_tracked++] = &s->snd;
		for (i = 0; i < wc->nr_halters; i++)
			add_channel(wc, &s->ack_sent[i], &s->ack_handled[i], &s->snd,
				    wc->sender, (int)(FIRST_HALTER_ID + i));
	}
	for (p = 0; p < NR_PATHS; p++)
		if (p != PATH_NMI && p != PATH_ACK)
			vm_set_handler(wc->vm, PATH_VECTOR(p), wake_irq_handler);
	for (i = 0; i < WAKE_MAX_HALTERS; i++)
		vm_set_handler(wc->vm, ACK_VECTOR_BASE + i, ack_handler);
	vm_set_handler(wc->vm, NMI_VECTOR, nmi_handler);
	vm_set_handler(wc->vm, IF0_VECTOR, if0_fixed_handler);
	vm_set_handler(wc->vm, IF0_EXTRA_VECTOR, if0_fixed_handler);
	vm_set_handler(wc->vm, STOP_VECTOR, stop_handler);
	vm_set_guest_data(wc->vm, s);

	s->nr_halters = wc->nr_halters;
	s->mode = sc->mode;
	s->guest_paths = sc->guest_paths;
	s->timer_paths = sc->timer_paths;
	s->x2apic = sc->x2apic;
	s->max_delay_us = opt->max_delay_us;
	s->negative_control = test_opts.negative_control;
	/* PVM delivers an interrupt pending at STI a few instructions late. */
	s->strict_sti_window = !(mod && !strcmp(mod, "kvm_pvm"));
	s->tsc_khz = vcpu_tsc_khz(wc->sender);
	wc->tsc_offset = vcpu_tsc_offset(wc->sender);
	for (i = 0; i <= WAKE_MAX_HALTERS; i++)
		test_rng_init(&s->rng[i], 10 + i);
	test_rng_init(&wc->host_rng, 20);
	for (p = 0; p < NR_LAT; p++)
		tsc_samples_alloc(wc->vm, &s->latency[p], LATENCY_SAMPLES);
	if (test_opts.negative_control == WAKE_NC_FORGET_SEND)
		wc->host_forget_at = NEGATIVE_CONTROL_AT;
	for (i = 0; i < wc->nr_halters; i++)
		if (sc->host_paths & PATH_BIT(PATH_IRQFD))
			wc->irqfd[i] = vm_irqfd_msi(wc->vm, IRQFD_GSI_BASE + i, FIRST_HALTER_ID + i,
						    PATH_VECTOR(PATH_IRQFD));
	for (i = 0; i < wc->nr_tracked; i++) {
		halt_stats_read(wc->tv[i], &wc->stats_before[i]);
		__vcpu_stat(wc->tv[i], "blocking", &(uint64_t){ 0 });
	}
	wc->sender_exits_before = vcpu_stat(wc->sender, "exits");
}

/*
 * With IPI virtualization the sender's ICR writes do not exit: its exits
 * other than HLT stay far below the IPIs it sent. Trapped IPIs cost at
 * least one exit each.
 */
static void check_posted(struct wake_case *wc)
{
	uint64_t ipis = 0, exits, halts;
	uint32_t i;

	for (i = 0; i < wc->nr_halters; i++)
		ipis += wc->s->h[i].sent_path[PATH_IPI_PHYSICAL];
	exits = vcpu_stat(wc->sender, "exits") - wc->sender_exits_before;
	halts = vcpu_stat(wc->sender, "halt_exits") - wc->stats_before[wc->nr_halters].exits;
	test_diag("sender: %" PRIu64 " IPIs, %" PRIu64 " VM exits of which %" PRIu64 " HLT",
		  ipis, exits, halts);
	TEST_ASSERT(exits - halts < ipis / 2, "IPIs were not virtualized: the sender took %"
		    PRIu64 " non-HLT exits for %" PRIu64 " IPIs, expected far fewer with IPIv",
		    exits - halts, ipis);
}

/* Every interrupt sent was handled, once, on every path; prints the counts. */
static uint64_t check_counts(struct wake_case *wc, uint64_t elapsed)
{
	const struct wake_scenario *sc = wc->sc;
	uint64_t wakes = 0, per_path[NR_PATHS] = { 0 };
	uint32_t all_paths, i;
	int p;

	all_paths = sc->guest_paths | sc->host_paths | sc->timer_paths |
		    (sc->guest_paths ? PATH_BIT(PATH_ACK) : 0) |
		    (sc->mode == HALT_WITH_IF0 ? PATH_BIT(PATH_NMI) : 0);
	for (i = 0; i < wc->nr_tracked; i++) {
		struct halter *h = wc->th[i];
		uint32_t id = wc->tv[i]->id;

		TEST_ASSERT(h->handled == h->sent, "vCPU %u: %" PRIu64 " wake interrupts sent, %"
			    PRIu64 " handled", id, h->sent, h->handled);
		for (p = 0; p < NR_PATHS; p++) {
			TEST_ASSERT(h->handled_path[p] == h->sent_path[p], "vCPU %u: %" PRIu64
				    " %s sent, %" PRIu64 " handled", id, h->sent_path[p],
				    path_names[p], h->handled_path[p]);
			per_path[p] += h->handled_path[p];
		}
		TEST_ASSERT(h->halts == h->wakes, "vCPU %u: %" PRIu64 " HLTs but %" PRIu64
			    " returned", id, h->halts, h->wakes);
		if (h->causeless)
			test_diag("vCPU %u: %" PRIu64 " HLTs returned with no handler run (first: HLT #%"
				  PRIu64 "): %s", id, h->causeless, h->causeless_halt,
				  host_quirk_note(HOST_QUIRK_HLT_WAKES_WITHOUT_CAUSE));
		expect_no_anomaly(HOST_QUIRK_IRQ_IN_STI_SHADOW, h->in_shadow, "vCPU %u: interrupts "
				  "(first: vector 0x%" PRIx64 ") taken between STI and HLT, inside "
				  "STI's interrupt shadow (\"sti; hlt\" not atomic: a wakeup is lost)",
				  id, h->shadow_vector);
		expect_no_anomaly(HOST_QUIRK_IRQ_DELIVERED_TWICE, h->duplicates, "vCPU %u: "
				  "interrupts delivered twice (the first: %s #%" PRIu64 " again, at "
				  "rip 0x%" PRIx64 ")", id, path_names[h->dup_path], h->dup_seq,
				  h->dup_rip);
		wakes += h->handled;
	}
	for (p = 0; p < NR_PATHS; p++) {
		if (!(all_paths & PATH_BIT(p)))
			continue;
		test_diag("  %-28s %" PRIu64 " wakeups", path_names[p], per_path[p]);
		if (wakes >= NR_PATHS * MAX_TRACKED)
			TEST_ASSERT(per_path[p] > 0, "no wakeup through %s in %" PRIu64 " wakeups",
				    path_names[p], wakes);
	}
	test_diag("wakeups: %" PRIu64 " in %" PRIu64 " ms (%" PRIu64 "/s), %" PRIu64 " signal "
		  "exits from KVM_RUN", wakes, elapsed / 1000000, wakes * 1000000000 / elapsed,
		  (uint64_t)atomic_load(&wc->signal_exits));
	if (sc->signal_exits)
		TEST_ASSERT(atomic_load(&wc->signal_exits) > 0, "no signal took a vCPU out of "
			    "KVM_RUN (--kick-percent %" PRIu64 ")", opt->kick_percent);
	return wakes;
}

static void diag_mode_counts(struct wake_case *wc)
{
	struct wake_shared *s = wc->s;
	uint64_t a = 0, b = 0;
	uint32_t i;

	if (wc->sc->mode == HALT_WITH_IF0) {
		for (i = 0; i < wc->nr_halters; i++) {
			a += s->h[i].if0_fixed;
			b += s->h[i].nmi_before_hlt;
		}
		test_diag("IF=0: %" PRIu64 " fixed interrupts held until STI (%" PRIu64 " sent "
			  "twice and merged, %" PRIu64 " taken later than STI's shadow), %" PRIu64
			  " NMIs arrived before HLT", a, s->if0_merged_sends, s->if0_late, b);
	}
	if (wc->sc->timer_paths) {
		for (i = 0; i < wc->nr_halters; i++)
			a += s->h[i].early_timers;
		test_diag("timer interrupts handled before their deadline: %" PRIu64, a);
	}
}

void wake_scenario_run(const struct wake_scenario *sc, const struct wake_options *o)
{
	struct wake_case *wc = calloc(1, sizeof(*wc));
	uint64_t duration_ns, target;
	struct wake_monitor *monitor;
	pthread_t host_sender;
	struct wake_shared *s;
	uint64_t start, elapsed;
	uint32_t i;
	int p;

	TEST_ASSERT(wc, "out of memory");
	opt = o;
	duration_ns = test_duration(o->default_seconds) * 1000000000ull;
	target = test_iterations(o->default_wakeups);
	setup_case(wc, sc);
	s = wc->s;

	for (i = 0; i < wc->nr_halters; i++)
		vcpu_thread_start(wc->halters[i], vcpu_thread_fn);
	vcpu_thread_start(wc->sender, vcpu_thread_fn);
	start_disturbers(wc);
	monitor = wake_monitor_start(wc->ch, wc->nr_channels, &(struct wake_monitor_opts){
		.bound_ms = opt->lost_wakeup_ms, .period_us = MONITOR_PERIOD_US,
		.migrator = wc->migrator, .competitors = wc->competitors,
		.nr_competitors = sc->compete ? wc->nr_halters : 0 });
	if (sc->host_paths)
		TEST_ASSERT(!pthread_create(&host_sender, NULL, host_sender_main, wc),
			    "pthread_create");

	start = now_ns();
	do {
		usleep(MAIN_PERIOD_US);
		elapsed = now_ns() - start;
		test_progress("%" PRIu64 " ms, %" PRIu64 " wakeups", elapsed / 1000000,
			      total_handled(wc));
		for (i = 0; i < wc->nr_halters; i++)
			wc->preemptions[i] = thread_preemptions(wc->halters[i]->tid);
	} while (elapsed < duration_ns && total_handled(wc) < target);

	/*
	 * Stop in two steps, so that no send can race with a halter deciding
	 * it is done (it would then never handle that send): first the
	 * senders stop and wait until everything they sent was handled, then
	 * the halters may finish. The IF=0 sender answers its halters until
	 * they are done, so it finishes after them. Halters on their own
	 * timers are their own senders: they arm no more and finish once the
	 * last one was handled. Until then nothing but those timers may wake
	 * them, or the stop interrupt would end a halt whose timer's wakeup
	 * KVM lost in the case's last seconds, before the monitor's bound.
	 */
	s->stop_sending = true;
	if (sc->host_paths)
		pthread_join(host_sender, NULL);
	if (sc->mode == HALT_ON_TIMER)
		wait_halters_done(wc, monitor);
	if (sc->mode != HALT_WITH_IF0)
		wait_sender_done(wc);
	s->stop = true;
	if (sc->mode == HALT_WITH_IF0)
		wait_sender_done(wc);
	/* Halters blocked in "sti; hlt" need one more interrupt to see stop. */
	if (sc->mode == HALT_FOR_SENDER)
		for (i = 0; i < wc->nr_halters; i++)
			vm_signal_msi(wc->vm, FIRST_HALTER_ID + i, STOP_VECTOR);
	wait_halters_done(wc, monitor);
	for (i = 0; i < wc->nr_halters; i++)
		vcpu_thread_join(wc->halters[i]);
	wake_monitor_stop(monitor);
	stop_disturbers(wc);
	elapsed = now_ns() - start;

	diag_mode_counts(wc);
	diag_host_clocksource();
	vm_clock_updates_kick_vcpus(wc->vm);
	for (p = 0; p < NR_LAT; p++)
		tsc_samples_diag(latency_names[p], &s->latency[p], s->tsc_khz);
	check_halt_stats(wc);
	test_stress_work(check_counts(wc, elapsed), target, "wakeups");
	if (sc->require_posted)
		check_posted(wc);
	vm_destroy(wc->vm);
	free(wc);
}
