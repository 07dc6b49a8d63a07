#!/bin/bash
# shellcheck disable=SC2016 # the made-up binaries are shell for later, expanded there
# How vm-run judges a Bochs run from Bochs's own end, with a made-up Bochs
# (BOCHS_DIR) that boots nothing: it prints a console as the VM's init
# would, writes its log and exits as Bochs does. Bochs ends every run with
# a "panic" of its own and exit status 1, the normal end on ACPI power-off;
# the run must then be judged by the suite alone. Any other panic, or an
# exit with no panic, is a failure of Bochs. No boot: a few seconds. Skips
# without the packages a Bochs run needs before Bochs starts (xorriso,
# isolinux: scripts/deps.sh bochs).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

missing=
command -v xorriso >/dev/null || missing="$missing xorriso"
[ -f /usr/lib/ISOLINUX/isolinux.bin ] || missing="$missing isolinux"
[ -f /usr/lib/syslinux/modules/bios/ldlinux.c32 ] || missing="$missing syslinux-common"
if [ -n "$missing" ]; then
	pass "vm-run judges a Bochs run by its end # SKIP missing:$missing (scripts/deps.sh bochs; make vm_selftest installs them as root)"
	done_testing
fi

# The made-up Bochs: the console comes from $FAKE_BOCHS_SUITE ("pass" or
# "fail"), its log's last panic from $FAKE_BOCHS_PANIC (none if empty), its
# exit status from $FAKE_BOCHS_STATUS. Bochs writes the serial port to fd 3
# and its log where the configuration's "log:" says.
bochs=$tmp/bochs
mkdir -p "$bochs/bin" "$bochs/share"
echo "Bochs 0.0 (made up for test-bochs-verdict.sh)" >"$bochs/version"
: >"$bochs/share/BIOS-bochs-latest"
: >"$bochs/share/vgabios.bin"
cat >"$bochs/bin/bochs" <<'EOF'
#!/bin/bash
[ "$1 $2" = "-q -f" ] || { echo "fake bochs: expected -q -f CONFIG, got $*" >&2; exit 2; }
log=$(sed -n 's/^log: //p' "$3")
status=0
[ "$FAKE_BOCHS_SUITE" = pass ] || status=1
{
	echo "kvm-regress: dmi: bios_vendor=The Bochs Project bios_version=Bochs 0.0"
	echo "### kvm-regress ktap-begin ###"
	echo "KTAP version 1"
	echo "1..2"
	echo "ok 1 x86_64/fake_pass"
	if [ "$FAKE_BOCHS_SUITE" = pass ]; then
		echo "ok 2 x86_64/fake_other"
		echo "2 passed, 0 failed, 0 skipped"
	else
		echo "not ok 2 x86_64/fake_other"
		echo "1 passed, 1 failed, 0 skipped"
	fi
	echo "### kvm-regress ktap-end ###"
	echo "kvm-regress: uptime at suite start 1.00 s, at end 2.00 s"
	echo "kvm-regress: taint before=0 after=0 new=0"
	echo "### kvm-regress status=$status ###"
} >&3
echo "00000000000i[     ] Bochs made up for a test" >"$log"
[ -z "$FAKE_BOCHS_PANIC" ] || echo "00000000000p[     ] >>PANIC<< $FAKE_BOCHS_PANIC" >>"$log"
exit "$FAKE_BOCHS_STATUS"
EOF
chmod +x "$bochs/bin/bochs"

fake_suite fake_pass fake_other
for t in fake_pass fake_other; do
	printf '#!/bin/sh\n[ "${1:-}" = --time-limit ] && { echo 10; exit 0; }\nexit 0\n' >"$suite/x86_64/$t"
	chmod +x "$suite/x86_64/$t"
done
: >"$tmp/bzImage"

# run SUITE PANIC STATUS: vm-run under the made-up Bochs.
run() {
	env BOCHS_DIR="$bochs" FAKE_BOCHS_SUITE="$1" FAKE_BOCHS_PANIC="$2" FAKE_BOCHS_STATUS="$3" \
		"$scripts/vm/vm-run" --emulator bochs --kernel "$tmp/bzImage" --suite "$suite" \
		--results "$tmp/results" --timeout 60
}

expect "a passing suite, then Bochs's power-off panic and exit 1: the run passes" 0 \
	run pass "ACPI control: soft power off" 1 :: \
	'^vm-run: emulator: Bochs 0\.0 \(made up' '^ok 2 x86_64/fake_other' '^vm-run: custom .*: PASS$'
expect "a failing suite, then the same normal end: the run fails, by the suite" 1 \
	run fail "ACPI control: soft power off" 1 :: '^not ok 2 x86_64/fake_other' '^vm-run: custom .*: FAIL$'
no_line "... and the failure is not put on Bochs" '^vm-run: FAIL: Bochs (stopped|exited)' "$tmp/out"
expect "a passing suite, then a panic of another kind: the run fails, naming it" 1 \
	run pass "exception(): 3rd (13) exception with no resolution" 1 :: \
	'^vm-run: FAIL: Bochs stopped: exception\(\): 3rd \(13\) exception with no resolution \(log: '
expect "a passing suite, then exit 1 with no panic in the log: the run fails" 1 \
	run pass "" 1 :: '^vm-run: FAIL: Bochs exited with status 1$'
if [ -s "$tmp/results/vm-custom-bochs.bochs.log" ] && [ -s "$tmp/results/vm-custom-bochs.ktap" ]; then
	pass "the results are vm-custom-bochs.*, with Bochs's log beside them"
else
	fail "the results are vm-custom-bochs.*, with Bochs's log beside them" "$(ls -l "$tmp/results")"
fi
expect "BOCHS_DIR without a Bochs in it is refused before a boot" 2 \
	env BOCHS_DIR="$tmp/suite" "$scripts/vm/vm-run" --emulator bochs --kernel "$tmp/bzImage" \
	--suite "$suite" :: "^vm-run: BOCHS_DIR='$tmp/suite': no bin/bochs and version there"
done_testing
