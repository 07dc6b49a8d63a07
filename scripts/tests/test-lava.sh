#!/bin/bash
# A real LAVA job on this machine: lava-run (Debian's lava-dispatcher) with
# the project's QEMU device (scripts/lava/qemu-device.yaml) boots $KERNEL
# (default sid) with scripts/lava/mkimages' initramfs and runs the suite
# through its test definition. Each KTAP case must come out as a LAVA test
# case with its id and result; a failing case (a negative control) and a
# missing binary must come out as failures, and the run as kvm-regress.run.
# Needs root (lava-run's working directory is /var/lib/lava/dispatcher) and
# lava-dispatcher installed; otherwise it skips saying so. $SUITE: an
# installed static suite to use (default: the VM runner's build/vm-suite).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

kernel=${KERNEL:-sid}
lava=$scripts/lava
if ! command -v lava-run >/dev/null; then
	pass "a LAVA job runs the suite # SKIP lava-run missing (apt-get install --no-install-recommends lava-dispatcher)"
	done_testing
fi
if [ "$(id -u)" -ne 0 ]; then
	pass "a LAVA job runs the suite # SKIP lava-run needs root"
	done_testing
fi
img_args=(--out "$tmp/img" --kernel "$kernel")
[ -z "${SUITE:-}" ] || img_args+=(--suite "$SUITE")
expect "mkimages writes the kernel and the initramfs" 0 "$lava/mkimages" "${img_args[@]}" :: \
	'^mkimages: .*/vmlinuz .* and .*/initrd.cpio.gz$'
suite=${SUITE:-$(dirname "$scripts")/build/vm-suite}

# job NAME TESTS ARGS: run one job; its LAVA log in $tmp/NAME.log, the
# test cases its test definition reported as "case result" lines in
# $tmp/NAME.cases, lava-run's exit status in $tmp/NAME.rc.
job() {
	"$lava/mkjob" --kernel "file://$tmp/img/vmlinuz" --initrd "file://$tmp/img/initrd.cpio.gz" \
		--tests "$2" --args "$3" --timeout 20 --name "kvm-regress self-test $1" -o "$tmp/$1.yaml"
	mkdir -p "$tmp/$1.out"
	local rc=0
	timeout 1800 lava-run --job-id "$BASHPID$RANDOM" --output-dir "$tmp/$1.out" \
		--device "$lava/qemu-device.yaml" "$tmp/$1.yaml" >"$tmp/$1.log" 2>&1 || rc=$?
	echo "$rc" >"$tmp/$1.rc"
	sed -n 's/.*"lvl": "results", "msg": {"case": "\([^"]*\)", "definition": "0_kvm-regress".*"result": "\([a-z]*\)".*/\1 \2/p' \
		"$tmp/$1.log" >"$tmp/$1.cases"
}
job_result() { sed -n 's/.*"msg": {"case": "job", "definition": "lava", .*"result": "\([a-z]*\)".*/\1/p' "$tmp/$1.log" | tail -n 1; }

# The two jobs side by side (each a VM of its own): the failing one, below,
# is started first and checked last.
job failing "x86_64/smoke:guest_data x86_64/no_such" "--negative-control 1" & failing_pid=$!
job smoke x86_64/smoke ""
{ "$suite/x86_64/smoke" -l | cut -f 1 | sed 's/^/x86_64.smoke./; s/$/ pass/'
  echo "x86_64.smoke pass"; echo "kvm-regress.run pass"; } >"$tmp/smoke.want"
if [ "$(cat "$tmp/smoke.rc")" = 0 ] && [ "$(job_result smoke)" = pass ]; then
	pass "lava-run of the job passes (x86_64/smoke on $kernel)"
else
	fail "lava-run of the job passes (x86_64/smoke on $kernel)" "exit $(cat "$tmp/smoke.rc"), job result '$(job_result smoke)'" \
		"$(grep -E '"lvl": "(error|results)"' "$tmp/smoke.log" | tail -n 15)"
fi
same "every case is a LAVA test case named by its id, passing, then the binary and the run" \
	"$tmp/smoke.want" "$tmp/smoke.cases"
if grep -q '"msg": "    # case: entry"' "$tmp/smoke.log" &&
	grep -q '"msg": "    ok 1 a vCPU starts in 64-bit mode' "$tmp/smoke.log"; then
	pass "the LAVA log carries the suite's KTAP"
else
	fail "the LAVA log carries the suite's KTAP" "$(grep -c '"lvl": "target"' "$tmp/smoke.log") target lines"
fi

# Negative control 1 of smoke's guest_data makes that case fail on purpose.
wait "$failing_pid" || true
printf '%s\n' "x86_64.smoke.guest_data fail" "x86_64.smoke fail" "x86_64.no_such fail" \
	"kvm-regress.run fail" >"$tmp/failing.want"
same "a failing case, its binary, a missing binary and the run are LAVA failures" \
	"$tmp/failing.want" "$tmp/failing.cases"
done_testing
