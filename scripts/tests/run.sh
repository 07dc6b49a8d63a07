#!/bin/bash
# The VM runner's own tests: every scripts/tests/test-*.sh in name order
# (test-vm-boot.sh boots $KERNEL, default sid: the archive is needed once),
# or the ones named (NAME for test-NAME.sh):
#   run.sh [NAME...]
# Prints each file's TAP, then the cases added up over all files:
#   N passed, N failed, 0 skipped
# Exit status 0 when every file passed. A file that failed with no failed
# check of its own (killed; lib.sh names a file's own stop) gets one here.
# VM_SELFTEST_JOBS=N runs up to N files at once (default 1): most of these
# files wait (for a watcher's beat, a lock, a VM's limit) more than they
# compute. Each file's output is then printed whole when it ends, in name
# order, as one file at a time prints it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
log=$(mktemp "${TMPDIR:-/tmp}/kvm-regress-vmselftest.XXXXXX")
trap 'rm -f "$log"' EXIT
status=0
files=()
if [ $# -eq 0 ]; then
	files=("$here"/test-*.sh)
else
	for name; do
		[ -f "$here/test-$name.sh" ] || { echo "run.sh: no test $name (scripts/tests/test-$name.sh)" >&2; exit 2; }
		files+=("$here/test-$name.sh")
	done
fi
jobs=${VM_SELFTEST_JOBS:-1}
case $jobs in '' | *[!0-9]* | 0) echo "run.sh: VM_SELFTEST_JOBS='$jobs': a number of files at once, 1 or more" >&2; exit 2 ;; esac
# run_file I: file I's TAP into $out/I, then its status and seconds into $out/I.rc.
out=$(mktemp -d "${TMPDIR:-/tmp}/kvm-regress-vmselftest-out.XXXXXX")
trap 'rm -f "$log"; rm -rf "$out"' EXIT
run_file() {
	local start rc=0
	start=$(date +%s)
	"${files[$1]}" >"$out/$1" 2>&1 || rc=$?
	echo "$rc $(($(date +%s) - start))" >"$out/$1.rc"
}
report() {  # report NAME RC SECONDS OUTPUT
	# A file that failed without a failed check of its own (killed, or
	# stopped before lib.sh could say so): a failed check named after it.
	[ -e "$4" ] || : >"$4"
	if [ "$2" -ne 0 ] && ! grep -q '^not ok ' "$4"; then
		echo "not ok - $1 exited $2 after $(grep -c '^ok ' "$4") checks, none failed" | tee -a "$log"
	fi
	echo "# $1: $([ "$2" -eq 0 ] && echo ok || echo FAILED) ($3 s)"
	[ "$2" -eq 0 ] || status=1
}
if [ "$jobs" -eq 1 ]; then
	for t in "${files[@]}"; do
		name=${t##*/}
		echo "# $name"
		start=$(date +%s)
		rc=0
		"$t" | tee "$out/file" || rc=$?
		cat "$out/file" >>"$log"
		report "$name" "$rc" $(($(date +%s) - start)) "$out/file"
	done
else
	next=0
	for ((i = 0; i < ${#files[@]}; i++)); do
		# Keep JOBS files running; print file I once it has ended.
		while :; do
			ended=("$out"/*.rc)
			[ -e "${ended[0]}" ] || ended=()
			while [ "$next" -lt ${#files[@]} ] && [ $((next - ${#ended[@]})) -lt "$jobs" ]; do
				run_file "$next" &
				next=$((next + 1))
			done
			[ ! -f "$out/$i.rc" ] || break
			wait -n 2>/dev/null || true
			# A file killed before it could say how it ended: a failure.
			[ -n "$(jobs -rp)" ] || [ -f "$out/$i.rc" ] || echo "1 0" >"$out/$i.rc"
		done
		read -r rc secs <"$out/$i.rc"
		echo "# ${files[i]##*/}"
		tee -a "$log" <"$out/$i"
		report "${files[i]##*/}" "$rc" "$secs" "$out/$i"
	done
	wait
fi
passed=$(grep -c '^ok ' "$log" || true)
failed=$(grep -c '^not ok ' "$log" || true)
echo "$passed passed, $failed failed, 0 skipped"
exit "$status"
