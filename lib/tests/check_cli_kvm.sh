#!/bin/sh
# The part of the command-line contract that needs a KVM that runs guests
# (the rest is check_cli.sh): selecting one case runs exactly that case,
# alone and nested under the runner.
#
#   check_cli_kvm.sh DIR     DIR: a build directory or an installed suite
#
# POSIX sh: runs on the host and inside the VM runner's busybox.
set -u
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:?usage: check_cli_kvm.sh DIR}
. "$here/tap.sh"
bin=$dir/x86_64/smoke
runner=$dir/run_tests.sh
[ -f "$runner" ] || runner=$here/../../scripts/runner/run_tests.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cli_kvm.XXXXXX"); trap 'rm -rf "$tmp"' EXIT

echo "TAP version 13"
"$bin" -t entry >"$tmp/out" 2>&1
echo $? >"$tmp/rc"
one_case_ran() { grep -q '^1\.\.1$' "$tmp/out" && grep -q '^ok 1 ' "$tmp/out" && [ "$(cat "$tmp/rc")" = 0 ]; }
check "-t runs exactly the named case, and it passes" one_case_ran
"$runner" -d "$dir" x86_64/smoke:entry >"$tmp/combined" 2>&1
echo $? >"$tmp/rc"
nested_one() { [ "$(cat "$tmp/rc")" = 0 ] && grep -q '^    1\.\.1$' "$tmp/combined" && grep -q '^    ok 1 ' "$tmp/combined"; }
check "binary:case runs one case nested under the runner" nested_one
check "the runner counts the case that ran" sh -c "tail -n 1 $tmp/combined | grep -Eqx '1 passed, 0 failed, 0 skipped'"
# kselftest: all skipped is exit 4; under a TAP harness (prove sets
# HARNESS_ACTIVE) the skips are in the stream and the exit is 0.
"$dir/lib/tests/harness_negative" -t missing_capability >"$tmp/out" 2>&1
echo $? >"$tmp/rc"
all_skipped() { [ "$(cat "$tmp/rc")" = "$1" ] && grep -q '^ok 1 .* # SKIP 0x7fffffff not supported$' "$tmp/out"; }
check "a binary whose cases all skip exits 4 (kselftest)" all_skipped 4
HARNESS_ACTIVE=1 "$dir/lib/tests/harness_negative" -t missing_capability >"$tmp/out" 2>&1
echo $? >"$tmp/rc"
check "... and 0 under a TAP harness" all_skipped 0
done_testing
