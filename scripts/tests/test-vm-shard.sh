#!/bin/bash
# vm-shard's planning and merging (scripts/vm/shard-ktap) on canned KTAP of
# two VMs, with a stand-in binary for a split binary's case order; and
# vm-shard's own bad usage. The real two-VM run is in make check's suite part.
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

expect "plan: heaviest first to the least loaded VM; a split binary's cases on one VM are one item" 0 \
	"$sk" plan --jobs 2 --weights "$d/weights" --suite "$tmp/suite" x/small x/big x/other :: \
	$'^x/big:c1,c3\t8$' $'^x/small x/big:c2,c4 x/other\t6$'
sed 's/^x\/other 1$/x\/other 100/' "$d/weights" >"$tmp/weights"
expect "plan: a binary whose cases all land on one VM stays whole" 0 \
	"$sk" plan --jobs 2 --weights "$tmp/weights" --suite "$tmp/suite" x/big x/other :: \
	$'^x/big\t12$' $'^x/other\t100$'
expect "plan: with one VM everything runs there, whole" 0 \
	"$sk" plan --jobs 1 --weights "$d/weights" --suite "$tmp/suite" x/small x/big :: $'^x/small x/big\t13$'

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

# What each VM's run keeps beside its report reaches the merged results
# under the VM's number: VM 2's CPUs at its hang, VM 1's trace (a stand-in
# vm-run leaves them; its VM 2 hangs). A file of an earlier run goes first.
cat >"$tmp/vm-run" <<'SH'
#!/bin/bash
[ "$1" = --check-usage ] && exit 0
while [ "$1" != -- ]; do [ "$1" = --results ] && results=$2; shift; done
shift
mkdir -p "$results"
printf 'KTAP version 1\n1..0\n' >"$results/vm-test.ktap"
echo "console of $*" >"$results/vm-test.console.log"
case " $* " in
*" x/other "*) echo "CPU 0: halted" >"$results/vm-test.hang.txt"; exit 1 ;;
*) echo trace | gzip >"$results/vm-test.trace.gz" ;;
esac
SH
chmod +x "$tmp/vm-run"
mkdir -p "$tmp/res"
echo "an earlier run's" >"$tmp/res/vm-test.vm2.trace.gz"
expect "vm-shard: a VM's hang dump and trace are kept beside the merged report" 1 \
	env VM_SHARD_VM_RUN="$tmp/vm-run" "$vs" --jobs 2 --weights "$d/weights" --kernel "$tmp/no-kernel" \
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
done_testing
