#!/bin/bash
# shellcheck disable=SC2016 # the fake tests are shell for the VM, expanded there
# A real boot under Bochs (vm-run --emulator bochs) of a Debian kernel
# ($KERNEL, default sid) with a made-up suite of shell "binaries": kvm_intel
# loads with nested VMX, a passing binary passes and a failing one fails the
# run, Bochs's exit on ACPI power-off is not taken for a failure, and the
# results say Bochs. About 1-2 minutes with Bochs built; the first run builds
# Bochs (scripts/vm/bochs-build: 3-4 minutes on 2 cores). Skips without the
# packages of scripts/deps.sh bochs (make vm_selftest installs them).
# With BOCHS_BOOT_RUN=DIR it boots nothing and checks a Bochs run of the
# real suite made before, which must have passed: DIR/vm-run.out (vm-run's
# output), DIR/vm-run.status (its exit status) and its results in DIR
# (make check does so with its Intel cases' run: one Bochs boot for both).
# How vm-run judges a failing suite under Bochs, and Bochs's own failures,
# is test-bochs-verdict.sh's, with no boot.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

kernel=${KERNEL:-sid}
missing=
command -v xorriso >/dev/null || missing="$missing xorriso"
command -v g++ >/dev/null || missing="$missing g++"
[ -f /usr/lib/ISOLINUX/isolinux.bin ] || missing="$missing isolinux"
[ -f /usr/lib/syslinux/modules/bios/ldlinux.c32 ] || missing="$missing syslinux-common"
if [ -n "$missing" ] && [ -z "${BOCHS_BOOT_RUN:-}" ]; then
	pass "a Bochs VM runs the suite # SKIP missing:$missing (scripts/deps.sh bochs; make vm_selftest installs them as root)"
	done_testing
fi
# The boot's marks, whichever suite ran.
boot_marks=('^kvm-regress: kvm_intel: .* nested=Y( |$)'
	'^kvm-regress: dmi: .*bios_vendor=The Bochs Project bios_version=Bochs [0-9.]+$'
	'^kvm-regress: command line: .*console=ttyS0,115200'
	'^# tested: emulator: Bochs [0-9.]+ \(Debian [^ ]+, .*0001-VMX-recompute-interrupt-masking.*\), cpu corei7_haswell_4770')
if [ -n "${BOCHS_BOOT_RUN:-}" ]; then
	results=$BOCHS_BOOT_RUN
	cp "$results/vm-run.out" "$tmp/out"
	judge "a Bochs VM (a run of the real suite): kvm_intel with nested VMX, the run passes" 0 \
		"$(cat "$results/vm-run.status")" "${boot_marks[@]}" \
		'^ok [0-9]+ x86_64/smoke' '^### kvm-regress status=0 ###' "^vm-run: $kernel \(.*\): PASS$"
else
	fake_suite fake_vmx fake_fail
	fake() {
		printf '#!/bin/sh\n[ "${1:-}" = --time-limit ] && { echo %s; exit 0; }\necho "KTAP version 1"\necho "1..1"\n%s\n' \
			"$2" "$3" >"$suite/x86_64/fake_$1"
		chmod +x "$suite/x86_64/fake_$1"
	}
	fake vmx 10 'if [ -c /dev/kvm ] && [ "$(cat /sys/module/kvm_intel/parameters/nested)" = Y ]; then
	echo "ok 1 kvm_intel with nested VMX"; exit 0
fi
echo "not ok 1 kvm_intel with nested VMX"; exit 1'
	fake fail 10 'echo "not ok 1 a case that fails"; exit 1'
	results=$tmp/results
	expect "a Bochs VM: kvm_intel with nested VMX, a failing binary fails the run" 1 \
		"$scripts/vm/vm-run" --emulator bochs --kernel "$kernel" --suite "$suite" --results "$results" \
		x86_64/fake_vmx x86_64/fake_fail :: "${boot_marks[@]}" \
		'^ok 1 x86_64/fake_vmx' '^not ok 2 x86_64/fake_fail' \
		'^### kvm-regress status=1 ###' "^vm-run: $kernel \(.*\): FAIL$"
fi
no_line "... and Bochs's exit on power-off is not a failure of its own" '^vm-run: FAIL: Bochs' "$tmp/out"
if [ -s "$results/vm-$kernel-bochs.ktap" ] && [ -s "$results/vm-$kernel-bochs.bochs.log" ] &&
	python3 -c 'import json, sys; sys.exit(not json.load(open(sys.argv[1]))["tested"]["emulator"].startswith("Bochs"))' \
		"$results/vm-$kernel-bochs.json"; then
	pass "... results saved as vm-$kernel-bochs.*, the JSON naming Bochs, with Bochs's log"
else
	fail "... results saved as vm-$kernel-bochs.*, the JSON naming Bochs, with Bochs's log" "$(ls -l "$results")"
fi
done_testing
