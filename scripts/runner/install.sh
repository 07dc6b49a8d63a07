#!/bin/sh
# Install the suite in kselftest layout:
#   DIR/run_tests.sh (and repeat_cases.sh), DIR/kselftest-list.txt ("collection:test" lines),
#   DIR/<collection>/<test>, DIR/<collection>/settings (kselftest "timeout="
#   for the slowest test of the collection) and DIR/time-limits.txt (one
#   "collection:test seconds" line per test, as each binary reports it),
#   DIR/lava/ (the LAVA test definition, its runner and KTAP parser),
#   plus the self-tests that need a KVM: check_kvm.sh and what it runs
#   (lib/tests/), with lib/tests/harness_negative and lib/tests/cpu_hog.
# usage: install.sh BUILD_DIR INSTALL_PATH collection/test...
set -eu
[ $# -ge 2 ] || { echo "usage: install.sh BUILD_DIR INSTALL_PATH collection/test..." >&2; exit 2; }
build=$1; dest=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dest"
: >"$dest/kselftest-list.txt"
: >"$dest/time-limits.txt"
for t in "$@"; do
	c=${t%%/*}; name=${t#*/}
	mkdir -p "$dest/$c"
	cp "$build/$t" "$dest/$c/$name"
	limit=$("$build/$t" --time-limit)
	echo "$c:$name" >>"$dest/kselftest-list.txt"
	echo "$c:$name $limit" >>"$dest/time-limits.txt"
	old=$(sed -n 's/^timeout=//p' "$dest/$c/settings" 2>/dev/null || true)
	if [ -z "$old" ] || [ "$limit" -gt "$old" ]; then echo "timeout=$limit" >"$dest/$c/settings"; fi
done
cp "$here/run_tests.sh" "$dest/run_tests.sh"
# For vm-run --run: a rare failure's rate, over many short case runs, and
# the CPU watcher it can run beside them.
cp "$here/repeat_cases.sh" "$here/cpu_watch.sh" "$dest/"
# LAVA: the test definition's runner and KTAP parser (scripts/lava/).
mkdir -p "$dest/lava"
for f in kvm-regress-lava ktap-to-lava kvm-regress.yaml; do
	cp "$here/../lava/$f" "$dest/lava/"
done
# The self-tests that need a KVM (check_kvm.sh), so they can run where the
# suite runs, e.g. in the VM runner.
for f in check_kvm.sh check_harness.sh check_cli_kvm.sh check_negative_controls.sh check_monitor_pause.sh \
	check_cpu_stall.sh tap.sh; do
	cp "$here/../../lib/tests/$f" "$dest/"
done
mkdir -p "$dest/lib/tests"
cp "$build/lib/tests/harness_negative" "$build/lib/tests/cpu_hog" "$dest/lib/tests/"
# Which source the install was built from, for the results (vm-run puts it
# into the KTAP header and the JSON).
git -C "$here/../.." describe --tags --always --dirty 2>/dev/null >"$dest/suite-version.txt" ||
	echo "unknown (not built from a git tree)" >"$dest/suite-version.txt"
