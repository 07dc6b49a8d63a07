#!/bin/bash
# vm-shard's queue and merging (scripts/vm/shard-ktap) on canned KTAP of
# two VMs, with a stand-in binary for a split binary's case order; the
# queue served to stand-in VMs; and vm-shard's own bad usage. The real
# two-VM run is in make check's suite part.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

d=$data/shard
sk=$scripts/vm/shard-ktap
# A stand-in suite: x/big lists its cases (-l needs no KVM), the others exist.
mkdir -p "$tmp/suite/x"
printf '#!/bin/sh\nprintf "c1\\t10\\tcase one\\nc2\\t10\\tcase two\\nc3\\t10\\tcase three\\nc4\\t1\\tcase four\\n"\n' >"$tmp/suite/x/big"
printf '#!/bin/sh\nexit 0\n' >"$tmp/suite/x/small"
cp "$tmp/suite/x/small" "$tmp/suite/x/other"
chmod +x "$tmp/suite/x"/*
touch "$tmp/suite/run_tests.sh"

expect "queue: heaviest first; a binary given case by case in runs of consecutive cases of at most 9 s" 0 \
	"$sk" queue --weights "$d/weights" --suite "$tmp/suite" x/small x/big x/other :: \
	'^x/big:c1,c2$'
same "... in this order: the runs, then the light binaries in the selection's order" \
	<(printf '%s\n' x/big:c1,c2 x/big:c3,c4 x/small x/other) "$tmp/out"
sed 's/^x\/big:c1 4$/x\/big:c1 10/' "$d/weights" >"$tmp/weights"
expect "queue: a case heavier than a run is a run alone" 0 \
	"$sk" queue --weights "$tmp/weights" --suite "$tmp/suite" x/big :: '^x/big:c1$' '^x/big:c2,c3,c4$'
expect "queue: an item whose cases are given stays one unit" 0 \
	"$sk" queue --weights "$d/weights" --suite "$tmp/suite" x/big:c2,c4 x/small :: '^x/big:c2,c4$'

merge() {  # merge VM1_KTAP VM2_KTAP: the merged stream in $tmp/merged.ktap
	"$sk" merge --suite "$tmp/suite" --out "$tmp/merged.ktap" x/small x/big x/other -- \
		"$1:x/small x/big:c1,c3" "$2:x/big:c2,c4 x/other"
}
expect "merge: two VMs' passing runs" 0 merge "$d/vm1.ktap" "$d/vm2.ktap" :: '^4 passed, 0 failed, 2 skipped$'
# What one VM gives, but for the lines that say how it was split.
grep -vE '^# (sharded|VM [0-9]+ ran):' "$tmp/merged.ktap" | sed -E 's/\(time limit [0-9]+s\)/(time limit Ns)/' >"$tmp/got"
sed -E 's/\(time limit [0-9]+s\)/(time limit Ns)/' "$d/single.ktap" >"$tmp/want"
same "merge: the stream one VM gives (order, numbering, the split binary as one block, counts)" "$tmp/want" "$tmp/got"
expect "merge: the header says which VM ran what, with each VM's time scale" 0 cat "$tmp/merged.ktap" :: \
	'^# sharded: 2 VMs side by side' '^# VM 1 ran: x/small x/big:c1,c3; its time scale: 50\.0' \
	'^# VM 2 ran: x/big:c2,c4 x/other; its time scale: 52\.0'
if command -v prove >/dev/null; then
	expect "merge: prove reads the merged stream" 0 prove -Q --exec cat "$tmp/merged.ktap" :: 'PASS'
fi

# A failing case in one VM's part of the split binary.
sed -e 's/^    ok 1 case two holds$/    # x\/big.c:42: two was 3, expected 2\n    not ok 1 case two holds/' \
	-e 's/^ok 1 x\/big:c2,c4 # 4s$/not ok 1 x\/big:c2,c4 # exit=1/' "$d/vm2.ktap" >"$tmp/vm2-fail.ktap"
expect "merge: a failing case of a split binary fails the binary, named with its evidence" 0 \
	merge "$d/vm1.ktap" "$tmp/vm2-fail.ktap" :: \
	'^x/big: case two holds$' '^    # x/big\.c:42: two was 3, expected 2$' '^3 passed, 1 failed, 2 skipped$'
expect "merge: ... renumbered in the binary's order, the binary's verdict from the failing part" 0 \
	cat "$tmp/merged.ktap" :: '^    not ok 2 case two holds$' '^not ok 2 x/big # exit=1$' \
	'^    # Totals: pass:2 fail:1 xfail:0 xpass:0 skip:1 error:0$'

# VM 2 stopped inside its first item (hang, crash): what it did not finish fails.
head -n 9 "$d/vm2.ktap" >"$tmp/vm2-cut.ktap"
expect "merge: items a stopped VM did not finish are not ok, saying so" 0 \
	merge "$d/vm1.ktap" "$tmp/vm2-cut.ktap" :: \
	'^x/other: no result: VM 2 stopped before it ended$' '^x/big: the binary: no result: VM 2 stopped before its part ended$' \
	'^3 passed, 2 failed, 0 skipped$'
expect "merge: ... in the stream too" 0 cat "$tmp/merged.ktap" :: \
	'^not ok 2 x/big # no result: VM 2 stopped before its part ended$' \
	'^not ok 3 x/other # no result: VM 2 stopped before x/other ended$'

# VMs fed from the queue: each took units as it became free (VM 1 two
# parts of x/big and x/small between them), and prints its plan last.
merge_queue() {  # merge_queue SPEC...: the merged stream in $tmp/merged.ktap
	"$sk" merge --suite "$tmp/suite" --out "$tmp/merged.ktap" x/small x/big x/other -- "$@"
}
expect "merge: VMs fed from a queue (plan last, a binary's parts apart in one VM)" 0 \
	merge_queue "$d/vm1-queue.ktap:x/big:c1 x/small x/big:c3" "$d/vm2-queue.ktap:x/big:c2,c4 x/other" :: \
	'^4 passed, 0 failed, 2 skipped$'
grep -vE '^# (sharded|VM [0-9]+ ran):' "$tmp/merged.ktap" | sed -E 's/\(time limit [0-9]+s\)/(time limit Ns)/' >"$tmp/got"
same "... the stream one VM gives" "$tmp/want" "$tmp/got"
# Every VM stopped before the queue was empty: what none took fails.
expect "merge: units no VM took are not ok, saying so" 0 \
	merge_queue "$d/vm1-queue.ktap:x/big:c1 x/small x/big:c3" ":x/big:c2,c4 x/other" :: \
	'^x/big: the binary: not run: every VM stopped before it took a part$' \
	'^x/other: not run: every VM stopped before it took it$' '^3 passed, 2 failed, 0 skipped$'
expect "... in the stream too, and no VM is made of them" 0 cat "$tmp/merged.ktap" :: \
	'^not ok 2 x/big # not run: every VM stopped before it took a part$' \
	'^not ok 3 x/other # not run: every VM stopped before it took x/other$' '^# sharded: 1 VMs side by side'

expect "weights: from a run's KTAP, a long binary case by case" 0 "$sk" weights "$d/single.ktap" :: \
	'^x/small 1$' '^x/big:c1 4\.0$' '^x/other 0$'

vs=$scripts/vm/vm-shard
expect "vm-shard --run is refused (another script's output is not the suite's)" 2 "$vs" --run check_kvm.sh :: \
	"^vm-shard: --run: another script's output is not the suite's; use scripts/vm/vm-run$"
expect "vm-shard --jobs not a number" 2 "$vs" --jobs many :: "^vm-shard: --jobs 'many': a number of VMs, or auto$"
expect "vm-shard: an option without its value" 2 "$vs" --jobs :: '^vm-shard: --jobs needs a value$'
# The VMs' arguments are checked once, as vm-run checks them, before the
# set-up: one line, not one per VM after a kernel look-up.
expect "vm-shard: a VM's bad option is said once, before the set-up" 2 "$vs" --suite "$tmp/suite" --mem abc :: \
	"^vm-run: --mem 'abc': a number of MB, at least 256$"
no_line "... and nothing else is said" '^(vm-shard|\[VM)' "$tmp/out"
expect "vm-shard: a selection of no binary is said once" 2 "$vs" --suite "$tmp/suite" -- x/none :: \
	"^vm-run: selection 'x/none': no test binary x/none in the suite$"
no_line "... and nothing else is said" '^(vm-shard|\[VM)' "$tmp/out"
# --trace is vm-run's, passed on to each VM (which checks it before a boot).
expect "vm-shard --trace goes to vm-run: bad events are vm-run's usage error" 2 \
	"$vs" --jobs 1 --trace kvm_exit :: "^vm-run: --trace 'kvm_exit': comma-separated tracefs events"

# A stand-in vm-run: a VM that takes its units as run_tests.sh --queue
# does ("next" out where the guest's output goes, the answer in where its
# input comes from) and "runs" each. STANDIN_LATE=K: VM K starts a second
# late; STANDIN_HANG=K: VM K hangs in its first unit, leaving its CPUs'
# state (the others leave a trace); STANDIN_LOG=FILE: each VM's start, units
# and end go to FILE, a unit taking STANDIN_UNIT_S seconds (0.2).
cat >"$tmp/vm-run" <<'SH'
#!/bin/bash
[ "$1" = --check-usage ] && exit 0
while [ "$1" != -- ]; do case $1 in --results) results=$2 ;; --queue) q=$2 ;; --kernel) run=${2##*/} ;; esac; shift; done
mkdir -p "$results"
k=${results##*/}
[ "$k" = "${STANDIN_LATE:-}" ] && sleep 1
[ -z "${STANDIN_LOG:-}" ] || echo "start $run-$k $(date +%s.%N)" >>"$STANDIN_LOG"
exec 3<>"$q.in" 4<>"$q.out"
ktap=$results/vm-test.ktap
echo 'KTAP version 1' >"$ktap"
n=0
while echo next >&4 && IFS= read -r unit <&3 && [ "$unit" != none ]; do
	echo "VM $k took $unit" >>"$results/vm-test.console.log"
	[ "$k" = "${STANDIN_HANG:-}" ] && { echo "CPU 0: halted" >"$results/vm-test.hang.txt"; exit 1; }
	[ -z "${STANDIN_LOG:-}" ] || { echo "took $run-$k $unit" >>"$STANDIN_LOG"; sleep "${STANDIN_UNIT_S:-0.2}"; }
	n=$((n + 1))
	printf '# %s (time limit 5s)\n    KTAP version 1\n    1..1\n    ok 1 fine\nok %d %s # 0s\n' "$unit" "$n" "$unit" >>"$ktap"
done
printf '1..%d\n%d passed, 0 failed, 0 skipped\n' "$n" "$n" >>"$ktap"
[ -z "${STANDIN_LOG:-}" ] || echo "end $run-$k $(date +%s.%N)" >>"$STANDIN_LOG"
echo trace | gzip >"$results/vm-test.trace.gz"
SH
chmod +x "$tmp/vm-run"
# The queue with stand-in VMs: VM 1 starts a second late; VM 2 takes the
# first unit and hangs in it; VM 1 runs the rest and leaves a trace. A
# file of an earlier run goes first.
mkdir -p "$tmp/res"
echo "an earlier run's" >"$tmp/res/vm-test.vm2.trace.gz"
expect "vm-shard: a VM's hang dump and trace are kept beside the merged report" 1 \
	env VM_SHARD_VM_RUN="$tmp/vm-run" STANDIN_LATE=1 STANDIN_HANG=2 "$vs" --jobs 2 --weights "$d/weights" --kernel "$tmp/no-kernel" \
	--suite "$tmp/suite" --results "$tmp/res" -- x/small x/big x/other :: \
	"^vm-shard: VM 2's hang.txt: $tmp/res/vm-test.vm2.hang.txt$" "^vm-shard: VM 1's trace.gz: $tmp/res/vm-test.vm1.trace.gz$"
if [ "$(cat "$tmp/res/vm-test.vm2.hang.txt" 2>&1)" = "CPU 0: halted" ] &&
	[ "$(gzip -dc "$tmp/res/vm-test.vm1.trace.gz" 2>&1)" = trace ]; then
	pass "... with what the VMs wrote"
else
	fail "... with what the VMs wrote" "$(ls "$tmp/res")"
fi
if [ ! -e "$tmp/res/vm-test.vm2.trace.gz" ]; then
	pass "... and no earlier run's file beside them"
else
	fail "... and no earlier run's file beside them" "$(ls "$tmp/res")"
fi
expect "vm-shard: the queue gave each unit once, heaviest first, to whichever VM asked" 0 \
	grep '^=== vm-shard: VM' "$tmp/res/vm-test.console.log" :: \
	'^=== vm-shard: VM 1 of 2 ran: x/big:c3,c4 x/small x/other \(vm-run exit 0\)$' \
	'^=== vm-shard: VM 2 of 2 ran: x/big:c1,c2 \(vm-run exit 1\)$'
expect "... the unit a VM took and did not finish fails as that VM's" 0 cat "$tmp/res/vm-test.ktap" :: \
	'^not ok 2 x/big # no result: VM 2 stopped before its part ended$' '^ok 1 x/small # 0s$' '^ok 3 x/other # 0s$'
# Runs that share slots (vm-matrix's VM_SLOTS, two here): each run's VMs
# take their slots together. Three runs started at once, each with two
# stand-in VMs that take a unit every 0.2 s: no other run's VM starts
# between a run's two, and each run's queue is shared by both its VMs.
# (Without the runs taking turns, 2 runs of this file in 7 failed so, a VM
# of each of two runs taking the slots and the whole of its queue.)
mkdir -p "$tmp/slots" "$tmp/slots/runs"
: >"$tmp/slots/slot.1"
: >"$tmp/slots/slot.2"
mkfifo "$tmp/slots/wake"
printf 'x/small 1\nx/big:c1 1\nx/big:c2 1\nx/big:c3 1\nx/big:c4 1\nx/other 1\n' >"$tmp/weights-even"
for run in a b c; do
	env VM_SLOTS="$tmp/slots" VM_SHARD_VM_RUN="$tmp/vm-run" STANDIN_LOG="$tmp/slots.log" "$vs" --jobs 2 \
		--weights "$tmp/weights-even" --kernel "$tmp/slots/runs/$run" --suite "$tmp/suite" \
		--results "$tmp/res-$run" -- x/small x/big x/other >"$tmp/run-$run.out" 2>&1 &
done
wait
# (No line, or no log: the checks below fail, showing the log.)
touch "$tmp/slots.log"
order=$({ grep '^start' "$tmp/slots.log" || true; } | sort -k3,3n | awk '{ sub(/-[0-9]+$/, "", $2); printf "%s", $2 }')
took=$({ grep '^took' "$tmp/slots.log" || true; } | awk '{ print $2 }' | sort -u | wc -l)
case $order in aa* | bb* | cc*) paired=${order:2:2}${order:4:2} ;; *) paired=no ;; esac
case $paired in aabb | aacc | bbaa | bbcc | ccaa | ccbb) paired=yes ;; esac
if [ "$paired" = yes ] && [ "$took" -eq 6 ]; then
	pass "runs sharing slots: each run's VMs start together and share its queue"
else
	fail "runs sharing slots: each run's VMs start together and share its queue" \
		"the VMs started in the runs' order $order (want pairs); $took of 6 VMs took units" "$(cat "$tmp/slots.log")" \
		"the runs' last lines:" "$(tail -n 5 "$tmp"/run-[abc].out)"
fi
# With four slots, two runs of two VMs each: both runs' VMs at once. The
# turns end when a run's VMs hold their slots, not when its VMs end (which
# they did while the lock was also held by every process the run started).
: >"$tmp/slots/slot.3"
: >"$tmp/slots/slot.4"
rm -f "$tmp/slots.log"
for run in d e; do
	env VM_SLOTS="$tmp/slots" VM_SHARD_VM_RUN="$tmp/vm-run" STANDIN_LOG="$tmp/slots.log" STANDIN_UNIT_S=1.5 \
		"$vs" --jobs 2 --weights "$tmp/weights-even" --kernel "$tmp/slots/runs/$run" --suite "$tmp/suite" \
		--results "$tmp/res-$run" -- x/small x/big x/other >"$tmp/run-$run.out" 2>&1 &
done
wait
touch "$tmp/slots.log"
at_once=$({ grep -E '^(start|end)' "$tmp/slots.log" || true; } | sort -k3,3n |
	awk '$1 == "start" { n++; if (n > m) m = n } $1 == "end" { n-- } END { print m + 0 }')
if [ "$at_once" -eq 4 ]; then
	pass "runs sharing four slots: two runs' VMs run at once"
else
	fail "runs sharing four slots: two runs' VMs run at once" "at most $at_once VMs at once" "$(cat "$tmp/slots.log")" \
		"the runs' last lines:" "$(tail -n 5 "$tmp/run-d.out" "$tmp/run-e.out")"
fi
# A run's turn (vm-matrix's order): no VM tries for a slot before the run's
# VM_SLOT_GO exists, and the run says when all its VMs hold slots.
rm -f "$tmp/slots.log" "$tmp/go" "$tmp/run-taken"
env VM_SLOTS="$tmp/slots" VM_SLOT_GO="$tmp/go" VM_SLOT_TAKEN="$tmp/run-taken" VM_SHARD_VM_RUN="$tmp/vm-run" \
	STANDIN_LOG="$tmp/slots.log" "$vs" --jobs 2 --weights "$tmp/weights-even" --kernel "$tmp/slots/runs/f" \
	--suite "$tmp/suite" --results "$tmp/res-f" -- x/small x/big x/other >/dev/null 2>&1 &
sleep 1.5
before=$(grep -c '^start' "$tmp/slots.log" 2>/dev/null || true)
: >"$tmp/go"
wait
after=$(grep -c '^start' "$tmp/slots.log" 2>/dev/null || true)
if [ "${before:-0}" -eq 0 ] && [ "$after" -eq 2 ] && [ -e "$tmp/run-taken" ]; then
	pass "a run waits for its turn (VM_SLOT_GO), then says its VMs hold their slots (VM_SLOT_TAKEN)"
else
	fail "a run waits for its turn (VM_SLOT_GO), then says its VMs hold their slots (VM_SLOT_TAKEN)" \
		"VMs started before the turn: ${before:-0} (want 0), after: $after (want 2); taken: $([ -e "$tmp/run-taken" ] && echo made || echo missing)"
fi
done_testing
