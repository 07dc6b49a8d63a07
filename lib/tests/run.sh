#!/bin/sh
# The project's own tests that need no KVM (not the suite): library unit
# tests, the command-line contract, the results converter, the
# negative-control checker, the LAVA reporting and the bisect step. Those that need a KVM are check_kvm.sh's
# (scripts/check.sh runs them on this host when it can, and in a VM). Prints one line per test program
# and the counts line; exit 0 only when all passed.
set -u
build=${1:?usage: lib/tests/run.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/../.." && pwd)
passed=0; failed=0
part() {  # part NAME CMD...
	name=$1; shift
	start=$(date +%s)
	if "$@" >"$log" 2>&1; then
		passed=$((passed + 1)); echo "ok - $name ($(( $(date +%s) - start ))s)"
	else
		failed=$((failed + 1)); echo "not ok - $name"; sed 's/^/#   /' "$log"
	fi
}
log=$(mktemp); trap 'rm -f "$log"' EXIT
part "library unit tests" "$build/lib/tests/unit"
part "command-line contract" "$top/lib/tests/check_cli.sh" "$build"
part "KTAP to JUnit/JSON round trip" "$top/lib/tests/check_results.sh" "$build"
part "the negative-control checker on a made-up binary" "$top/lib/tests/check_control_table.sh"
part "LAVA reporting with a stand-in lava-test-case" "$top/lib/tests/check_lava.sh"
part "bisect step on a fake kernel history" "$top/lib/tests/check_bisect.sh"
part "bisect step with stock kernels on a fake KVM-only history" "$top/lib/tests/check_bisect_stock.sh"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
