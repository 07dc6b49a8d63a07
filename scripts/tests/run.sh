#!/bin/bash
# The VM runner's own tests: every scripts/tests/test-*.sh in name order
# (test-vm-boot.sh boots $KERNEL, default sid: the archive is needed once),
# or the ones named (NAME for test-NAME.sh):
#   run.sh [NAME...]
# Prints each file's TAP, then the cases added up over all files:
#   N passed, N failed, 0 skipped
# Exit status 0 when every file passed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
log=$(mktemp "${TMPDIR:-/tmp}/kvm-regress-vmselftest.XXXXXX")
trap 'rm -f "$log"' EXIT
status=0
files=()
if [ $# -eq 0 ]; then
	files=("$here"/test-*.sh)
else
	for name; do
		[ -f "$here/test-$name.sh" ] || { echo "run.sh: no test $name (scripts/tests/test-$name.sh)" >&2; exit 2; }
		files+=("$here/test-$name.sh")
	done
fi
for t in "${files[@]}"; do
	name=${t##*/}
	echo "# $name"
	start=$(date +%s)
	rc=0
	"$t" | tee -a "$log" || rc=$?
	echo "# $name: $([ "$rc" -eq 0 ] && echo ok || echo FAILED) ($(($(date +%s) - start)) s)"
	[ "$rc" -eq 0 ] || status=1
done
passed=$(grep -c '^ok ' "$log" || true)
failed=$(grep -c '^not ok ' "$log" || true)
# A file that died before its TAP said so still counts as a failure.
[ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1
echo "$passed passed, $failed failed, 0 skipped"
exit "$status"
