#!/bin/bash
# The VM slots (scripts/vm/vm-slot) and the queue vm-matrix makes of them:
# at most as many VMs at a time as there are slots, the next one starting
# as soon as one ends, whichever kernel it is for; a slot is not kept by a
# process a VM command leaves behind. vm-matrix runs here with a made-up
# vm-shard whose "VMs" are sleeps: no boot, a few seconds.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

slot=$scripts/vm/vm-slot
now() { date +%s.%N; }
# A "VM" for the slot tests: logs "start NAME T" and "end NAME T" to LOG.
vm_cmd() {  # vm_cmd LOG NAME SECONDS
	echo "echo start $2 \$(date +%s.%N) >>$1; sleep $3; echo end $2 \$(date +%s.%N) >>$1"
}
# The most "VMs" a log shows running at once.
most_at_once() {
	sort -k3,3n "$1" | awk '$1 == "start" { n++; if (n > m) m = n } $1 == "end" { n-- } END { print m + 0 }'
}

expect "without VM_SLOTS the command runs at once, with its exit status" 7 \
	env -u VM_SLOTS "$slot" sh -c 'echo ran; exit 7' :: '^ran$'
mkdir -p "$tmp/none" "$tmp/one" "$tmp/two"
expect "VM_SLOTS without slot files is refused" 2 env VM_SLOTS="$tmp/none" "$slot" true :: \
	"^vm-slot: VM_SLOTS '$tmp/none' holds no slot\.\* files$"
: >"$tmp/one/slot.1"
expect "VM_SLOTS without its FIFO is refused" 2 env VM_SLOTS="$tmp/one" "$slot" true :: \
	"^vm-slot: VM_SLOTS '$tmp/one' has no FIFO 'wake'$"
mkfifo "$tmp/one/wake" "$tmp/two/wake"
: >"$tmp/two/slot.1"
: >"$tmp/two/slot.2"
for i in 1 2; do VM_SLOTS=$tmp/one "$slot" sh -c "$(vm_cmd "$tmp/one.log" "$i" 0.5)" & done
wait
expect "one slot: two VMs started together run one after the other" 0 most_at_once "$tmp/one.log" :: '^1$'
for i in 1 2 3; do VM_SLOTS=$tmp/two "$slot" sh -c "$(vm_cmd "$tmp/two.log" "$i" 1)" & done
wait
expect "two slots: three VMs started together, two at a time" 0 most_at_once "$tmp/two.log" :: '^2$'
# The third started once one of the first two had ended, and soon after.
gap=$(sort -k3,3n "$tmp/two.log" | awk '$1 == "end" && !e { e = $3 } $1 == "start" { s = $3 } END { printf "%.2f", s - e }')
if awk -v g="$gap" 'BEGIN { exit !(g >= 0 && g < 1.0) }'; then
	pass "two slots: the third VM started within 1 s of a slot's end (${gap} s)"
else
	fail "two slots: the third VM started within 1 s of a slot's end" "it started ${gap} s after the first end" \
		"$(sort -k3,3n "$tmp/two.log")"
fi

# A turn that cannot come (its caller and its directory gone) is not
# waited for.
expect "a VM whose turn's directory is gone does not wait for it" 1 \
	env VM_SLOTS="$tmp/one" VM_SLOT_GO="$tmp/gone/go" timeout 5 "$slot" true :: \
	"^vm-slot: VM_SLOT_GO '$tmp/gone/go': its directory is gone$"
# A VM command that leaves a process behind (a watchdog's sleep, say).
VM_SLOTS=$tmp/one "$slot" sh -c 'sleep 4 & exit 3' && rc=0 || rc=$?
t0=$(now)
VM_SLOTS=$tmp/one "$slot" true
waited=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
if [ "$rc" -eq 3 ] && awk -v w="$waited" 'BEGIN { exit !(w < 3) }'; then
	pass "a process the command leaves behind does not keep its slot (next VM after ${waited} s)"
else
	fail "a process the command leaves behind does not keep its slot" \
		"exit status $rc (want 3), the next VM waited ${waited} s (the leftover sleeps 4 s)"
fi

# vm-matrix with a made-up vm-shard: each kernel's run is --jobs "VMs"
# (the plan's), FAKE_LONG_<kernel> seconds of work shared among them, each
# through vm-slot as vm-shard runs them, after the run's turn (VM_SLOT_GO)
# and saying when they all hold slots (VM_SLOT_TAKEN); its KTAP names the
# kernel and its results JSON comes from canned KTAP (trixie has none: its
# run fails). The made-up vm-run checks arguments or is a Bochs VM of
# FAKE_LONG_bochs seconds. Each "VM" logs its start and end to
# $FAKE_TMP/matrix.log.
export FAKE_TMP=$tmp FAKE_DATA=$data FAKE_RESULTS_TOOL=$scripts/runner/ktap-results
vm=$tmp/vm
mkdir -p "$vm"
cp "$scripts/vm/vm-matrix" "$scripts/vm/vm-slot" "$scripts/vm/vm-capacity" "$scripts/vm/matrix" "$vm/"
printf '#!/bin/sh\nexit 1\n' >"$vm/fetch-kernel"
cat >"$vm/fake-vm" <<'SH'
#!/bin/sh
# fake-vm NAME SECONDS: a "VM" that logs its start and end
echo "start $1 $(date +%s.%N)" >>"$FAKE_TMP/matrix.log"
sleep "$2"
echo "end $1 $(date +%s.%N)" >>"$FAKE_TMP/matrix.log"
SH
cat >"$vm/vm-run" <<'SH'
#!/bin/bash
[ -z "${FAKE_USAGE:-}" ] || { echo "vm-run: $FAKE_USAGE" >&2; exit 2; }
[ "$1" = --check-usage ] && exit 0
while [ $# -gt 0 ]; do case $1 in --kernel) k=$2-bochs; shift 2 ;; --results) results=$2; shift 2 ;; --) break ;; *) shift ;; esac; done
"$(dirname "$0")/fake-vm" "$k-1" "$FAKE_LONG_bochs"
echo "KTAP of $k"
echo "kvm-regress: kernel $k-version (made up)" >"$results/vm-$k.console.log"
"$FAKE_RESULTS_TOOL" --json "$results/vm-$k.json" "$FAKE_DATA/matrix/sid.ktap"
SH
cat >"$vm/vm-shard" <<'SH'
#!/bin/bash
here=$(dirname "$0")
while [ $# -gt 0 ]; do case $1 in --kernel) k=$2; shift 2 ;; --results) results=$2; shift 2 ;; --jobs) jobs=$2; shift 2 ;; --) break ;; *) shift ;; esac; done
long_var=FAKE_LONG_$k
each=$(awk -v l="${!long_var}" -v j="$jobs" 'BEGIN { print l / j }')
while [ ! -e "$VM_SLOT_GO" ]; do sleep 0.05; done
for ((j = 1; j <= jobs; j++)); do
	VM_SLOT_TAKEN=$FAKE_TMP/taken.$k.$j "$here/vm-slot" "$here/fake-vm" "$k-$j" "$each" &
done
for ((j = 1; j <= jobs; j++)); do while [ ! -e "$FAKE_TMP/taken.$k.$j" ]; do sleep 0.05; done; done
: >"$VM_SLOT_TAKEN"
wait
echo "KTAP of $k"
echo "vm-shard: $k done" >&2
echo "kvm-regress: kernel $k-version (made up)" >"$results/vm-$k.console.log"
[ -f "$FAKE_DATA/matrix/$k.ktap" ] || exit 1
"$FAKE_RESULTS_TOOL" --json "$results/vm-$k.json" "$FAKE_DATA/matrix/$k.ktap"
SH
chmod +x "$vm"/*
mkdir -p "$tmp/suite"
touch "$tmp/suite/run_tests.sh"
FAKE_LONG_bookworm=3 FAKE_LONG_trixie=1.5 FAKE_LONG_sid=1.5 "$vm/vm-matrix" --jobs 2 --suite "$tmp/suite" \
	--results "$tmp/results" >"$tmp/matrix.out" 2>"$tmp/matrix.err" && rc=0 || rc=$?
cat "$tmp/matrix.out" "$tmp/matrix.err" >"$tmp/out"
judge "matrix: trixie's run fails, so the matrix does" 1 "$rc" '^vm-matrix: trixie \(trixie-version\): FAIL$'
expect "matrix: never more VMs at a time than --jobs" 0 most_at_once "$tmp/matrix.log" :: '^2$'
expect "matrix: the plan: one VM each for bookworm and trixie, then two for sid" 0 cat "$tmp/matrix.err" :: \
	'^vm-matrix: 2 VMs at a time; in this order: bookworm 1 VM, trixie 1 VM, sid 2 VMs$'
start_order() { grep '^start' "$1" | sort -k3,3n | cut -d' ' -f2 | paste -sd ' '; }
expect "... and the VMs so started: bookworm's and trixie's first, side by side, then sid's" 0 \
	start_order "$tmp/matrix.log" :: '^(bookworm-1 trixie-1|trixie-1 bookworm-1) sid-[12] sid-[12]$'
# Kernel by kernel, no VM starts while another kernel's runs, and the VMs
# take 6 s or more from the first start to the last end; as one queue about
# 3.5 s (4.0-4.5 s measured, 5.2 s beside two busy loops: the span is said,
# not judged, on a shared machine).
took=$(sort -k3,3n "$tmp/matrix.log" | awk 'NR == 1 { a = $3 } { b = $3 } END { printf "%.1f", b - a }')
sort -k3,3n "$tmp/matrix.log" | awk '
	$1 == "start" { k = $2; sub(/-[0-9]+$/, "", k); for (r in running) if (r != k && running[r] > 0) crossed = 1; running[k]++ }
	$1 == "end" { k = $2; sub(/-[0-9]+$/, "", k); running[k]-- }
	END { exit !crossed }' && crossed=yes || crossed=no
if [ "$crossed" = yes ]; then
	pass "matrix: a kernel's VM starts while another kernel's still runs, as one queue (VMs over ${took} s)"
else
	fail "matrix: a kernel's VM starts while another kernel's still runs, as one queue" \
		"crossed: $crossed, the VMs over ${took} s (kernel by kernel: 6 s or more)" "$(sort -k3,3n "$tmp/matrix.log")"
fi
expect "matrix: each run's KTAP on stdout in the kernels' order, though bookworm's ended last" 0 \
	paste -sd ' ' "$tmp/matrix.out" :: '^KTAP of bookworm KTAP of trixie KTAP of sid$'
expect "matrix: each run's stderr marked with its kernel, the verdicts in the kernels' order" 0 \
	sh -c "grep -E '^(\[[a-z]+\] vm-shard|vm-matrix: [a-z]+ \()' '$tmp/matrix.err' | sort -s -t' ' -k1,1 | cut -d' ' -f1-2 | paste -sd ' '" :: \
	'^\[bookworm\] vm-shard: \[sid\] vm-shard: \[trixie\] vm-shard: vm-matrix: bookworm vm-matrix: trixie vm-matrix: sid$'
expect "matrix: the table has every kernel" 0 cat "$tmp/results/matrix.md" :: '\| bookworm \|' '\| trixie \|' '\| sid \|'
# A Bochs column takes its slot first, and the QEMU kernel plans on the
# slot it leaves: one VM, beside Bochs. (Which VM logs its start first,
# once both hold slots, is a race; on one slot the order is not.)
rm -f "$tmp/matrix.log"
FAKE_LONG_bochs=2 FAKE_LONG_sid=1.5 "$vm/vm-matrix" --kernels "sid sid-bochs" --jobs 2 --suite "$tmp/suite" \
	--results "$tmp/results" >"$tmp/matrix.out" 2>"$tmp/matrix.err" && rc=0 || rc=$?
cat "$tmp/matrix.out" "$tmp/matrix.err" >"$tmp/out"
judge "matrix with a Bochs column: Bochs first, then sid in the slot left, one VM" 0 "$rc" \
	'^vm-matrix: 2 VMs at a time; in this order: sid-bochs 1 VM, sid 1 VM$'
expect "... sid's VM beside Bochs's" 0 most_at_once "$tmp/matrix.log" :: '^2$'
rm -f "$tmp/matrix.log"
FAKE_LONG_bochs=0.5 FAKE_LONG_sid=0.3 "$vm/vm-matrix" --kernels "sid sid-bochs" --jobs 1 --suite "$tmp/suite" \
	--results "$tmp/results" >/dev/null 2>&1 || true
expect "... and on one slot the Bochs VM runs first, though sid comes first in the list" 0 \
	start_order "$tmp/matrix.log" :: '^sid-bochs-1 sid-1$'
rm -f "$tmp/matrix.log"
expect "matrix: bad usage (every run's, checked first) is one line, and no run starts" 2 \
	env FAKE_USAGE="--mem 'abc': a number of MB, at least 256" "$vm/vm-matrix" --suite "$tmp/suite" \
	--results "$tmp/results" :: "^vm-run: --mem 'abc': a number of MB, at least 256$"
if [ "$(wc -l <"$tmp/out")" -eq 1 ] && [ ! -e "$tmp/matrix.log" ]; then
	pass "matrix: ... nothing else said, no VM started"
else
	fail "matrix: ... nothing else said, no VM started" "$(cat "$tmp/out")" "$(cat "$tmp/matrix.log" 2>/dev/null)"
fi
expect "matrix: a kernel named twice is refused" 2 "$vm/vm-matrix" --kernels "sid bookworm sid" :: \
	"^vm-matrix: --kernels: 'sid' named twice$"
expect "matrix: --jobs 0 is refused" 2 "$vm/vm-matrix" --jobs 0 :: "^vm-matrix: --jobs '0': a number of VMs, or auto$"
done_testing
