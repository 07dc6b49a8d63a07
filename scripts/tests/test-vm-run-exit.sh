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
fake_vm_run start "$tmp/results" 2> >(readlink /proc/self/fd/0 >"$tmp/pipe"; cat >"$tmp/err") | cat >"$tmp/out"
rc=${PIPESTATUS[0]}
left=$(writers "$(cat "$tmp/pipe")")
if [ "$rc" -eq 0 ] && [ -z "$left" ]; then
	pass "vm-run passes and leaves nothing behind that holds its stderr's pipe"
else
	fail "vm-run passes and leaves nothing behind that holds its stderr's pipe" "exit $rc" "$left"
fi
done_testing
