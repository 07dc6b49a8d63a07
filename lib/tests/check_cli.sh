#!/bin/sh
# Command-line contract of every test binary and of the suite runner, the
# part that needs no KVM (it runs on every machine): bad input gets one error
# line and a non-zero exit; no or forbidden /dev/kvm is a whole-binary skip;
# the runner counts and reports stand-in binaries' results; prove accepts
# each binary's output and the runner's combined stream; a kselftest-style
# install runs on its own. What needs a KVM that runs guests is in
# check_cli_kvm.sh.
set -u
build=${1:?usage: check_cli.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$build/x86_64/smoke
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/tap.sh"

# run CMD... : stdout, stderr and status into $tmp/{out,err,rc}
run() { "$@" >"$tmp/out" 2>"$tmp/err"; echo $? >"$tmp/rc"; }
rc_is() { [ "$(cat "$tmp/rc")" = "$1" ]; }
lines() { wc -l <"$tmp/$1" | tr -d ' '; }
one_error_line() { rc_is 2 && [ "$(lines err)" = 1 ] && [ "$(lines out)" = 0 ]; }
out_is() { rc_is "$1" && [ "$(cat "$tmp/out")" = "$2" ]; }

echo "TAP version 13"
run "$bin" --bogus
check "unknown option: one error line, exit 2" one_error_line
run "$bin" --seed banana
check "bad value: one error line, exit 2" one_error_line
run "$bin" --duration
check "missing value: one error line, exit 2" one_error_line
run "$bin" -t no_such_case
check "unknown case: one error line, exit 2" one_error_line
run "$bin" stray
check "stray argument: one error line, exit 2" one_error_line
# shellcheck disable=SC2046 # 257 separate words on purpose
run "$bin" $(i=0; while [ $i -le 256 ]; do printf -- '-t entry '; i=$((i + 1)); done)
check "more -t options than a binary can hold: one error line, exit 2" one_error_line
# A runner item "binary:a,b" runs several cases in one run of the binary.
run "$bin" -l -t guest_data,entry
check "-t a,b selects both cases, in the order given" \
	out_is 0 "$(printf '%s\n%s' "$("$bin" -l -t guest_data)" "$("$bin" -l -t entry)")"
run "$bin" -t entry,no_such_case
check "-t a,b with an unknown case: one error line, exit 2" one_error_line
run "$bin" -t ,
check "-t with commas only: one error line, exit 2" one_error_line
run "$bin" -l
listed_cases() { rc_is 0 && [ "$(lines out)" = "$("$bin" -l | wc -l | tr -d ' ')" ] && grep -q '^entry	' "$tmp/out"; }
check "-l lists one line per case" listed_cases
run "$bin" --time-limit
check "--time-limit prints a number of seconds" grep -Eqx '[0-9]+' "$tmp/out"
# Time limits are native figures times the host's slowness, which a runner
# measures once and passes on in KTEST_TIME_SCALE.
run env KTEST_TIME_SCALE=abc "$bin" -t entry
check "KTEST_TIME_SCALE not a number: one error line, exit 2" one_error_line
run env KTEST_TIME_SCALE=0.5 "$bin" --time-limit
check "KTEST_TIME_SCALE below 1: one error line, exit 2" one_error_line
run env KTEST_TIME_SCALE=2.5 "$bin" --time-scale
check "--time-scale prints the slowness KTEST_TIME_SCALE gives" out_is 0 2.5
limits_scale() {
	native=$("$bin" -l | awk -F '\t' '{ s += $2 } END { print s }')
	at1=$(KTEST_TIME_SCALE=1 "$bin" --time-limit)
	at10=$(KTEST_TIME_SCALE=10 "$bin" --time-limit)
	[ $((at10 - at1)) -eq $((9 * native)) ] || { echo "# native $native s, x1 $at1 s, x10 $at10 s"; return 1; }
}
check "a binary's time limits grow with the slowness by its cases' native figures" limits_scale
# Negative controls are declared in the binaries; listing them needs no KVM.
run "$build/x86_64/kick" --list-controls
check "--list-controls: each control with its case, number, needs and failure" \
	grep -Eq '^spin_signal \| 1 \| - \| passes \| .+ \| .+' "$tmp/out"

# The kernel-level controls (check_patched_kvm.sh, run in a VM by make
# check): bad input, and every case their patches name exists.
run "$top/lib/tests/check_patched_kvm.sh" --bogus
check "check_patched_kvm.sh: unknown option: one error line, exit 2" one_error_line
broken_kvm_cases_exist() {
	for p in "$top"/lib/tests/broken-kvm/*.patch "$top"/lib/tests/proposed-kvm/*.patch \
		"$top"/lib/tests/kvm-windows/*.patch "$top"/lib/tests/kvm-windows/*/*.patch; do
		sed -n -E 's/^Expect-(fail|pass): ([^ ]+).*/\2/p' "$p" | while IFS=: read -r b c; do
			"$build/$b" -l | cut -f1 | grep -qx "$c" || { echo "# ${p##*/}: no case $b:$c"; exit 1; }
		done || return 1
	done
}
check "every case a broken-KVM patch names exists in its binary" broken_kvm_cases_exist
# A misspelt quirk would fail every case in the VM, before the one it names.
denied_quirks_exist() {
	sed -n -E 's/^Cmdline: .*KTEST_DENY_QUIRKS=([^ ]+).*/\1/p' "$top"/lib/tests/*/*.patch \
		"$top"/lib/tests/*/*/*.patch | tr ',' '\n' | while read -r q; do
		grep -q "= \"$q\"," "$top/lib/host.c" || { echo "# no quirk named $q in lib/host.c"; exit 1; }
	done
}
check "every quirk a patch series denies (KTEST_DENY_QUIRKS) is one lib/host.c names" denied_quirks_exist

# /dev/kvm is replaced in a private mount namespace, so these hold on
# machines with and without a KVM: a missing node, and a node this user may
# not open (a root-only file stands in for it: open() fails before any
# driver is reached).
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && command -v unshare >/dev/null; then
	run unshare -m sh -c "mount -t tmpfs none /dev && touch /dev/kvm && chmod 600 /dev/kvm &&
		exec setpriv --reuid=65534 --regid=65534 --clear-groups $bin"
	check "no permission on /dev/kvm: one SKIP line, exit 4" \
		out_is 4 '1..0 # SKIP cannot open /dev/kvm: Permission denied'
	run unshare -m sh -c "mount -t tmpfs none /dev && exec $bin"
	check "no /dev/kvm: one SKIP line, exit 4" \
		out_is 4 '1..0 # SKIP cannot open /dev/kvm: No such file or directory'
	run unshare -m sh -c "mount -t tmpfs none /dev && HARNESS_ACTIVE=1 exec $bin"
	check "no /dev/kvm under a TAP harness: the same SKIP line, exit 0" \
		out_is 0 '1..0 # SKIP cannot open /dev/kvm: No such file or directory'
	unshare -m sh -c "mount -t tmpfs none /dev && exec $bin" >"$tmp/skipped" 2>&1
	check "prove accepts a binary that skips as a whole" quiet_prove --exec cat "$tmp/skipped"
else
	skip_check "/dev/kvm permission checks need root, setpriv and unshare"
fi

# The runner over stand-in binaries: its counting, nesting and exit status
# do not depend on what the binaries test.
stand_in() {  # stand_in NAME EXIT KTAP-LINES...
	f=$tmp/suite/fake/$1 rc=$2; shift 2
	mkdir -p "${f%/*}"
	{
		echo '#!/bin/sh'
		echo '[ "${1:-}" = --time-limit ] && { echo 5; exit 0; }'
		printf 'printf "%%s\\n" "KTAP version 1" "1..%d"' $#
		for l in "$@"; do printf ' "%s"' "$l"; done
		printf '\nexit %d\n' "$rc"
	} >"$f"
	chmod +x "$f"
}
stand_in pass 0 'ok 1 first' 'ok 2 second # SKIP not here'
stand_in fail 1 'ok 1 first' 'not ok 2 second' 'not ok 3 third'
stand_in skip 4 'ok 1 only # SKIP nothing to do'
runner() { "$top/scripts/runner/run_tests.sh" -d "$tmp/suite" "$@" >"$tmp/combined" 2>&1; echo $? >"$tmp/rc"; }
runner fake/pass fake/skip
check "the runner passes a passing selection" rc_is 0
check "the runner ends with the counts line" sh -c "tail -n 1 $tmp/combined | grep -Eqx '1 passed, 0 failed, 2 skipped'"
check "prove accepts the runner's combined stream" quiet_prove --exec cat "$tmp/combined"
check "each binary's KTAP is nested under its result" grep -q '^    ok 2 second # SKIP not here$' "$tmp/combined"
check "a skipped binary's result says why" grep -qx 'ok 2 fake/skip # SKIP nothing to do' "$tmp/combined"
runner fake/pass fake/fail fake/no_such
check "the runner fails when a binary fails" rc_is 1
check "the runner counts failed cases and missing binaries" sh -c "tail -n 1 $tmp/combined | grep -Eqx '2 passed, 3 failed, 1 skipped'"
check "prove sees the failure in the combined stream" prove_rejects --exec cat "$tmp/combined"

# The runner taking its items one at a time from a queue at the other end
# of a terminal, as from the VM runner's serial port (scripts/vm/vm-shard):
# here a pty whose other end hands out fake/pass, fake/skip, then "none"
# (and gives up after 20 s without a request).
if command -v python3 >/dev/null; then
	python3 - "$tmp/pty" "$tmp/served" fake/pass fake/skip <<'PY' &
import os, pty, select, sys
master, slave = pty.openpty()
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(os.ttyname(slave))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
items, buf = sys.argv[3:], b""
with open(sys.argv[2], "w") as log:
    while True:
        if not select.select([master], [], [], 20)[0]:
            sys.exit(1)         # a runner that never asks
        buf += os.read(master, 256)
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            log.write(line.decode(errors="replace") + "\n")
            log.flush()
            reply = items.pop(0) if items else "none"
            os.write(master, reply.encode() + b"\n")
            if reply == "none":
                sys.exit(0)
PY
	server=$!
	i=0
	while [ ! -s "$tmp/pty" ] && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	runner --queue "$(cat "$tmp/pty")"
	wait "$server"
	check "with --queue, the runner runs what the queue hands out and passes" rc_is 0
	check "... asking once per item and once more (the answer none ends it)" \
		sh -c "[ \"\$(cat $tmp/served)\" = \"\$(printf 'next\nnext\nnext')\" ]"
	check "... the results in the order handed out, the plan last, then the counts" \
		sh -c "grep -E '^(ok|not ok|1\.\.)' $tmp/combined | sed -E 's/ # [0-9]+s\$/ # Ns/' | tr '\n' ' ' | grep -Fqx 'ok 1 fake/pass # Ns ok 2 fake/skip # SKIP nothing to do 1..2 '"
	check "prove accepts the stream with its plan last" quiet_prove --exec cat "$tmp/combined"
	runner --queue /dev/null fake/pass
	check "--queue with items of its own: one error line, exit 2" sh -c "[ \$(cat $tmp/rc) = 2 ] && [ \$(wc -l <$tmp/combined) = 1 ]"
else
	skip_check "the runner's --queue: needs python3 for the queue's end of the terminal"
fi

"$top/scripts/runner/install.sh" "$build" "$tmp/install" x86_64/smoke >/dev/null 2>&1
check "install writes the kselftest list" grep -qx 'x86_64:smoke' "$tmp/install/kselftest-list.txt"
check "install writes the collection's time limit" grep -Eqx 'timeout=[0-9]+' "$tmp/install/x86_64/settings"
(cd / && "$tmp/install/run_tests.sh" >"$tmp/installed" 2>&1)
echo $? >"$tmp/rc"
check "the installed suite runs with no source tree" rc_is 0
check "the installed suite carries the KVM self-tests" test -x "$tmp/install/check_kvm.sh"
check "the installed suite carries the LAVA test definition and its runner" test -x "$tmp/install/lava/kvm-regress-lava" -a -x "$tmp/install/lava/ktap-to-lava" -a -f "$tmp/install/lava/kvm-regress.yaml"
done_testing
