#!/bin/sh
# The bisect tests' stand-in for the suite in a VM: the KTAP that the
# runner would print for the named cases on a kernel in STATE.
#
#   fake-suite-ktap.sh STATE CASE...
#   STATE: good (all pass), bad (all fail), skips (all skip), noboot (no plan)
state=$1
shift
echo "KTAP version 1"
[ "$state" = noboot ] && { echo "Kernel panic - not syncing"; exit 1; }
echo "1..$#"; n=0; p=0; f=0; s=0
for c in "$@"; do
	n=$((n + 1))
	case $state in
	good) echo "ok $n $c"; p=$((p + 1)) ;;
	bad) echo "not ok $n $c"; f=$((f + 1)) ;;
	skips) echo "ok $n $c # SKIP KVM_CAP_HYPERV not supported"; s=$((s + 1)) ;;
	esac
done
echo "$p passed, $f failed, $s skipped"
[ "$f" -eq 0 ]
