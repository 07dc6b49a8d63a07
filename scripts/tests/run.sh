#!/bin/bash
# The VM runner's own tests: every scripts/tests/test-*.sh, in name order
# (test-boot.sh boots $KERNEL, default sid, so it needs the archive once).
# Prints each file's TAP, then one closing line:
#   vm_selftest: N passed, N failed
# counting test files. Exit status 0 when all passed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
passed=0
failed=0
for t in "$here"/test-*.sh; do
	name=${t##*/}
	echo "# $name"
	start=$(date +%s)
	if "$t"; then
		passed=$((passed + 1))
		echo "# $name: ok ($(($(date +%s) - start)) s)"
	else
		failed=$((failed + 1))
		echo "# $name: FAILED ($(($(date +%s) - start)) s)"
	fi
done
echo "vm_selftest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
