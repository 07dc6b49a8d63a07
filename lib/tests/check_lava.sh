#!/bin/sh
# The LAVA reporting (scripts/lava/) without LAVA: a stand-in lava-test-case
# logs its calls. ktap-to-lava must turn known KTAP into exactly the expected
# calls, with the system's awk and with busybox's (the VM initramfs has only
# busybox); kvm-regress-lava must run an installed suite, report its cases
# and the run's verdict, and fail when a report fails.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin"
cat >"$tmp/bin/lava-test-case" <<'SH'
#!/bin/sh
echo "$*" >>"$LOG"
[ -z "${STUB_FAIL:-}" ]
SH
chmod +x "$tmp/bin/lava-test-case"
export LOG="$tmp/calls"
fail=0
check() {  # check TITLE EXPECTED_FILE
	if diff -u "$2" "$LOG" >"$tmp/diff"; then echo "ok - $1"; else
		echo "not ok - $1"; sed 's/^/# /' "$tmp/diff"; fail=1; fi
	: >"$LOG"
}
cat >"$tmp/want" <<'TXT'
x86_64.smoke.entry --result pass --measurement 12 --units ms
x86_64.smoke.sync_values --result fail --measurement 5 --units ms
x86_64.smoke.hang --result fail
x86_64.smoke --result fail
hyperv.tlb_flush.target_slow --result skip --measurement 3 --units ms
hyperv.tlb_flush.ring_overflow --result pass --measurement 250 --units ms
hyperv.tlb_flush --result pass
pi.wakeup --result skip
exits.guest_debug_exit.exit_userspace --result skip
exits.guest_debug_exit.exit_userspace_l2 --result skip
exits.guest_debug_exit --result skip
TXT
: >"$LOG"
PATH=$tmp/bin:$PATH "$top/scripts/lava/ktap-to-lava" "$top/lib/tests/data/sample.ktap"
check "each case and binary of the KTAP is one lava-test-case call, named by id" "$tmp/want"
PATH=$tmp/bin:$PATH "$top/scripts/lava/ktap-to-lava" <"$top/lib/tests/data/sample.ktap"
check "the same from stdin" "$tmp/want"

if bb=$(command -v busybox); then
	mkdir -p "$tmp/bb"
	for t in sh awk cat tee mktemp rm; do ln -s "$bb" "$tmp/bb/$t"; done
	PATH=$tmp/bin:$tmp/bb "$tmp/bb/sh" "$top/scripts/lava/ktap-to-lava" \
		"$top/lib/tests/data/sample.ktap"
	check "the same with busybox's sh and awk only" "$tmp/want"
else
	echo "ok - the same with busybox's sh and awk only # SKIP no busybox"
fi

# Cases without "# case:" lines (older KTAP) are named by number; a selected
# case's binary line is named by its binary.
printf '%s\n' 'KTAP version 1' '1..1' '# x86_64/kick:spin (time limit 9s)' \
	'    1..1' '    ok 1 a sentence' 'ok 1 x86_64/kick:spin # 0s' |
	PATH=$tmp/bin:$PATH "$top/scripts/lava/ktap-to-lava"
printf '%s\n' 'x86_64.kick.case1 --result pass' 'x86_64.kick --result pass' >"$tmp/want2"
check "without ids, cases are named by their number" "$tmp/want2"

# kvm-regress-lava on an install holding a stand-in binary.
inst=$tmp/suite
mkdir -p "$inst/fake" "$inst/lava"
cp "$top/scripts/runner/run_tests.sh" "$inst/"
cp "$top/scripts/lava/kvm-regress-lava" "$top/scripts/lava/ktap-to-lava" "$inst/lava/"
echo fake:mixed >"$inst/kselftest-list.txt"
cat >"$inst/fake/mixed" <<'SH'
#!/bin/sh
[ "${1:-}" = --time-limit ] && { echo 5; exit 0; }
printf '%s\n' 'KTAP version 1' '1..2' '# case: one' 'ok 1 the first holds' \
	'# case: two' 'not ok 2 the second does not'
exit 1
SH
chmod +x "$inst/fake/mixed"
rc=0; (cd / && PATH=$tmp/bin:$PATH "$inst/lava/kvm-regress-lava" >"$tmp/out" 2>&1) || rc=$?
printf '%s\n' 'fake.mixed.one --result pass' 'fake.mixed.two --result fail' \
	'fake.mixed --result fail' 'kvm-regress.run --result fail' >"$tmp/want3"
check "kvm-regress-lava reports the installed suite's cases and the run's failure" "$tmp/want3"
if [ "$rc" -eq 0 ] && grep -q '^    not ok 2 the second does not$' "$tmp/out"; then
	echo "ok - its output carries the KTAP, and it exits 0 when every report was made"
else
	echo "not ok - output or exit status ($rc)"; sed 's/^/# /' "$tmp/out"; fail=1
fi
rc=0; (cd / && STUB_FAIL=1 PATH=$tmp/bin:$PATH "$inst/lava/kvm-regress-lava" >/dev/null 2>&1) || rc=$?
: >"$LOG"
if [ "$rc" -ne 0 ]; then echo "ok - a failed lava-test-case call fails it"; else
	echo "not ok - a failed lava-test-case call went unnoticed"; fail=1; fi
exit "$fail"
