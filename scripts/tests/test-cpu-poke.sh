#!/bin/bash
# cpu-poke, which the VM's init runs under QEMU 7.2's single-threaded TCG:
# each CPU's thread must be woken by the CPU before it once a second (the
# wakeup is what sends that CPU an IPI), and a CPU whose thread could not
# run for a second or more must be named in its log. Here on the host, with
# the process stopped for 2.5 s as the CPU that ran nothing.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

poke=$tmp/cpu-poke
expect "it builds as mkinitramfs builds it" 0 "${CC:-cc}" -static -pthread -O2 -Wall -o "$poke" \
	"$scripts/vm/cpu-poke.c" ::
expect "a bad option is refused with one line" 2 "$poke" --bogus :: '^usage: cpu-poke \[--log FILE\]$'

if [ "$(nproc)" -lt 2 ]; then
	pass "each CPU's thread is woken by the one before it # SKIP one CPU here"
	pass "a stopped CPU is named, with how late its wait ended # SKIP one CPU here"
	done_testing
fi

# Each thread sleeps until its next second, so alone it would wake about
# once a second; the pokes of the CPU before it wake it once more.
"$poke" --log "$tmp/late.log" >"$tmp/out" 2>&1 &
pid=$!
sleep 6.5
woken=
for task in /proc/"$pid"/task/*; do
	grep -q '^Cpus_allowed_list:[[:space:]]*[0-9]*$' "$task/status" || continue   # the main thread
	woken="$woken $(sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' "$task/status")"
done
bad=
for n in $woken; do [ "$n" -ge 10 ] || bad="$bad $n"; done
if [ -n "$woken" ] && [ -z "$bad" ]; then
	pass "each CPU's thread is woken by the one before it (wakeups in 6.5 s:$woken)"
else
	fail "each CPU's thread is woken by the one before it" "wakeups in 6.5 s:${woken:- none} (its own timer alone gives about 7)"
fi

# Each thread at the top real-time priority, where it can be had (root):
# real-time work on a CPU (a hog at SCHED_FIFO 1) must not keep the next
# CPU from its poke. (/proc/PID/task/TID/stat: policy 1 is SCHED_FIFO.)
if [ "$(id -u)" = 0 ]; then
	policies=
	for task in /proc/"$pid"/task/*; do
		grep -q '^Cpus_allowed_list:[[:space:]]*[0-9]*$' "$task/status" || continue
		stat=$(cat "$task/stat")
		read -ra f <<<"${stat##*) }"
		policies="$policies ${f[38]}/${f[37]}"     # fields 41 (policy) and 40 (rt_priority)
	done
	if [ -n "$policies" ] && ! grep -qv '^1/99$' <(tr ' ' '\n' <<<"${policies# }"); then
		pass "each CPU's thread runs at SCHED_FIFO 99 (policy/priority:$policies)"
	else
		fail "each CPU's thread runs at SCHED_FIFO 99" "policy/priority:${policies:- none}"
	fi
else
	pass "each CPU's thread runs at SCHED_FIFO 99 # SKIP not root: the priority is not to be had"
fi

kill -STOP "$pid"
sleep 2.5
kill -CONT "$pid"
sleep 0.5
kill "$pid"
wait "$pid" 2>/dev/null || true
has_line "a stopped CPU is named, with how late its wait ended" \
	'^kvm-regress: cpu-poke: CPU [0-9]+: a 1000 ms wait ended [1-9][0-9]{3} ms late: the CPU ran nothing until then, or other work held it$' \
	"$tmp/late.log"
done_testing
