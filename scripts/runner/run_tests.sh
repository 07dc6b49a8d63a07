#!/bin/sh
# Run the suite's test binaries and print one KTAP stream.
#
#   run_tests.sh [-d DIR] [SELECTION...] [-- ARGS...]
#   run_tests.sh [-d DIR] --queue TTY [-- ARGS...]
#
# SELECTION is "collection/binary", "collection/binary:case" or
# "collection/binary:case,case" (several cases in one run of the binary);
# several allowed, default every binary. ARGS go to every binary (e.g.
# --duration 5).
# --queue TTY: the selection comes one item at a time from whoever is at
# the other end of TTY (a serial port: the VM runner's queue, which VMs
# side by side share, scripts/vm/vm-shard): the runner writes "next" and
# reads a line, an item or "none" (then it ends). The plan line comes
# last, once the number of items is known.
# Each binary's own KTAP output is nested (indented four spaces) under one
# top-level result per binary; the last line counts the cases:
#   N passed, N failed, N skipped
# Exit status: 0 when nothing failed, 1 otherwise.
#
# POSIX sh on purpose: the same script runs from a build tree, from a
# kselftest-style install and inside the VM runner's busybox initramfs.

set -u
here=$(cd "$(dirname "$0")" && pwd)
dir=
queue=
usage() { echo "usage: run_tests.sh [-d DIR] [collection/binary[:case]... | --queue TTY] [-- ARGS...]" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case "$1" in
	-d) [ $# -ge 2 ] || usage; dir=$2; shift 2 ;;
	--queue) [ $# -ge 2 ] || usage; queue=$2; shift 2 ;;
	-h|--help) usage ;;
	--) break ;;
	-*) echo "run_tests.sh: unknown option '$1'" >&2; exit 2 ;;
	*) break ;;
	esac
done
if [ -z "$dir" ]; then
	if [ -f "$here/kselftest-list.txt" ]; then dir=$here; else dir=$here/../../build; fi
fi
[ -d "$dir" ] || { echo "run_tests.sh: no test directory '$dir' (run make first)" >&2; exit 2; }

selection=
while [ $# -gt 0 ] && [ "$1" != "--" ]; do selection="$selection $1"; shift; done
[ $# -gt 0 ] && shift   # drop "--"; what is left goes to every binary
[ -z "$queue" ] || [ -z "$selection" ] || { echo "run_tests.sh: --queue takes the selection from the queue: give no items" >&2; exit 2; }
if [ -n "$queue" ]; then
	# Bytes as they are (no echo of the requests, no line editing); fd 3
	# both ways.
	stty -F "$queue" raw -echo 2>/dev/null
	exec 3<>"$queue" || { echo "run_tests.sh: --queue '$queue': cannot open it" >&2; exit 2; }
fi

if [ -z "$selection" ] && [ -z "$queue" ]; then
	if [ -f "$dir/kselftest-list.txt" ]; then
		selection=$(sed -e 's#:#/#' "$dir/kselftest-list.txt")
	else
		for c in x86_64 hyperv pi exits; do
			for b in "$dir/$c"/*; do
				[ -f "$b" ] && [ -x "$b" ] && selection="$selection $c/${b##*/}"
			done
		done
	fi
fi

count=0
for s in $selection; do count=$((count + 1)); done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/run_tests.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM

kvm_module=
for m in /sys/module/kvm_*; do [ -d "$m" ] && kvm_module="$kvm_module ${m##*/}"; done
# The host's slowness (the binaries' time limits are native figures times
# it): measured once here and given to every binary, so that each binary's
# limits, and this runner's kills at them, agree. (The /dev/kvm open is
# tried on a device node only: "<>" creates a missing file.)
if [ -z "${KTEST_TIME_SCALE:-}" ] && [ -x "$dir/x86_64/smoke" ] &&
   { [ -c /dev/kvm ] && (: <>/dev/kvm); } 2>/dev/null &&
   scale=$("$dir/x86_64/smoke" --time-scale 2>"$tmp/scale"); then
	KTEST_TIME_SCALE=$scale
	export KTEST_TIME_SCALE
	echo "# time scale: $scale, $(cat "$tmp/scale")"
fi
echo "KTAP version 1"
echo "# host: $(uname -n), kernel: $(uname -r), kvm modules:${kvm_module:- none}"
[ -n "$queue" ] || echo "1..$count"
n=0; passed=0; failed=0; skipped=0
# next_item: the next item into $s; fails when there is none.
next_item() {
	if [ -n "$queue" ]; then
		printf 'next\n' >&3 && IFS= read -r s <&3 && [ "$s" != none ] && [ -n "$s" ]
	else
		set -- $selection
		[ $# -gt "$n" ] || return 1
		shift "$n"
		s=$1
	fi
}
while next_item; do
	n=$((n + 1))
	bin=${s%%:*}
	case_args=
	[ "$bin" != "$s" ] && case_args="-t ${s#*:}"
	if [ ! -x "$dir/$bin" ]; then
		echo "not ok $n $s # no such test binary"
		failed=$((failed + 1))
		continue
	fi
	# The binary knows its own worst case (sum of its cases' limits, and
	# stress durations); the runner adds nothing but a hard kill.
	limit=$("$dir/$bin" --time-limit $case_args "$@" 2>/dev/null) || limit=300
	echo "# $s (time limit ${limit}s)"
	# Few processes per binary: under emulation each costs 10-20 ms, and a
	# VM fed from a queue runs a binary per case. The clock and the status
	# are read by the shell; one awk nests the output and keeps a copy, one
	# counts it.
	read -r start _ </proc/uptime
	{ timeout -s KILL "$limit" "$dir/$bin" $case_args "$@" 2>&1; echo $? >"$tmp/rc"; } |
		awk -v copy="$tmp/out" '{ print > copy; print "    " $0; fflush() }'
	read -r rc <"$tmp/rc"
	read -r now _ </proc/uptime
	secs=$(( ${now%.*} - ${start%.*} ))
	# Cases passed (skips included), skipped and failed; a whole-binary
	# skip ("1..0 # SKIP") counts as one skipped case.
	counts=$(awk '/^ok [0-9]/ { p++; if (/# SKIP/) k++ } /^not ok [0-9]/ { f++ }
		/^1\.\.0 # SKIP/ { whole = 1 } END { if (whole) { p++; k++ } print p + 0, k + 0, f + 0 }' "$tmp/out")
	p=${counts%% *}; f=${counts##* }; k=${counts#* }; k=${k%% *}
	passed=$((passed + p - k)); skipped=$((skipped + k)); failed=$((failed + f))
	case $rc in
	0) echo "ok $n $s # ${secs}s" ;;
	4) # Say why: the binary's "1..0 # SKIP reason", else its cases' one
	   # shared reason, else that every case skipped (reasons differ).
	   why=$(sed -n 's/^1\.\.0 # SKIP *//p' "$tmp/out" | head -n 1)
	   if [ -z "$why" ]; then
		why=$(sed -n 's/^ok [0-9][0-9]* .* # SKIP *//p' "$tmp/out" | sort -u)
		case $why in *"
"*|'') why="every case skipped" ;; esac
	   fi
	   echo "ok $n $s # SKIP $why" ;;
	137) [ "$f" -eq 0 ] && failed=$((failed + 1))
	     echo "not ok $n $s # TIMEOUT after ${limit}s" ;;
	*) [ "$f" -eq 0 ] && failed=$((failed + 1))
	   echo "not ok $n $s # exit=$rc" ;;
	esac
done
[ -z "$queue" ] || echo "1..$n"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
