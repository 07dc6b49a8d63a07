#!/bin/bash
# When vm-run exits, nothing of it may live on holding what it inherited:
# vm-shard reads each VM's stderr through a process substitution, whose
# pipe bash also hands down as an extra descriptor, and waits for that
# pipe's end. A watchdog's sleep left behind held it for up to 2 s after
# every VM (0.6-1.5 s measured per two-VM verdict). Checked with a stand-in
# QEMU (fake-qemu) that prints a passing run's console at once: after
# vm-run returns, no process may still have the write end of that pipe.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

suite=$tmp/suite
mkdir -p "$suite/x86_64"
cp "$scripts/runner/run_tests.sh" "$suite/"
echo "fake-suite 1.0" >"$suite/suite-version.txt"
echo "x86_64:fake_pass" >"$suite/kselftest-list.txt"
printf '#!/bin/sh\n[ "${1:-}" = --time-limit ] && { echo 10; exit 0; }\necho "KTAP version 1"\n' >"$suite/x86_64/fake_pass"
chmod +x "$suite/x86_64/fake_pass"
: >"$tmp/vmlinuz"
cat >"$tmp/console.log" <<'LOG'
kvm-regress: kernel fake-qemu's
### kvm-regress ktap-begin ###
KTAP version 1
1..1
# x86_64/fake_pass (time limit 10s)
    KTAP version 1
    1..1
    ok 1 it ran
    # Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0
ok 1 x86_64/fake_pass # 0s
### kvm-regress ktap-end ###
kvm-regress: uptime at suite start 1.00 s, at end 2.00 s
kvm-regress: taint before=0 after=0 new=0
### kvm-regress status=0 ###
LOG

# writers PIPE: the processes that have PIPE (pipe:[N]) open for writing
# (found by find, without a process per descriptor: quick enough to see a
# sleep that has a second left).
writers() {
	local fd pid flags
	# (-lname takes a pattern: the brackets of pipe:[N] are escaped.)
	{ find /proc/[0-9]*/fd -lname "$(sed 's/[][*?]/\\&/g' <<<"$1")" 2>/dev/null || true; } | while IFS= read -r fd; do
		pid=${fd#/proc/}
		pid=${pid%%/*}
		flags=$(sed -n 's/^flags:[[:space:]]*//p' "/proc/$pid/fdinfo/${fd##*/}" 2>/dev/null)
		# The access mode is the low two bits of the octal flags: 1 write, 2 both.
		[ -n "$flags" ] && [ $((8#$flags & 3)) -ne 0 ] || continue
		echo "$pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
	done
}
# As in vm-shard, python3 is the interpreter itself, not a version manager's
# shim: vm-run's own work after the VM then takes well under the 2 s of a
# watchdog's sleep, which is still there to be seen if it was left behind.
# shellcheck source=../vm/python3-direct
. "$scripts/vm/python3-direct"
python3_direct "$tmp/bin"
# The run, its stderr through a process substitution and its stdout through
# a pipe, as vm-shard reads them (in a pipeline, bash hands the process
# substitution's descriptor down too).
FAKE_QEMU_CONSOLE=$tmp/console.log FAKE_QEMU_WAKES=start QEMU=$tests/fake-qemu \
	"$scripts/vm/vm-run" --kernel "$tmp/vmlinuz" --suite "$suite" --results "$tmp/results" -- x86_64/fake_pass \
	2> >(readlink /proc/self/fd/0 >"$tmp/pipe"; cat >"$tmp/err") | cat >"$tmp/out"
rc=${PIPESTATUS[0]}
left=$(writers "$(cat "$tmp/pipe")")
if [ "$rc" -eq 0 ] && [ -z "$left" ]; then
	pass "vm-run passes and leaves nothing behind that holds its stderr's pipe"
else
	fail "vm-run passes and leaves nothing behind that holds its stderr's pipe" "exit $rc" "$left"
fi
done_testing
