#!/bin/sh
# Run a few cases of one test binary over and over, one case per run, to
# measure how often a rare failure happens; made for the VM runner:
#
#   scripts/vm/vm-run --run repeat_cases.sh [--trace EVENTS] \
#       collection/binary:case[,case...] [-- key=value...]
#
#   secs=S     keep going for S seconds (default 120). The VM's overall
#              limit still applies: vm-run derives it from the binary's own
#              time limit (x86_64/kick's gives 540 s under TCG), so give
#              vm-run a --timeout above S for longer runs, or the VM is
#              killed and the run reported as a failure
#   dur=D      --duration D for each case run (default 1)
#   match=ERE  a case run "matches" when a line of its output does
#              (default: "not ok"); use e.g. match=SHUTDOWN
#   stop=1     end at the first match (default 0: count them all)
#   args=A     more options for each run, split at spaces (one word
#              each: args=--negative-control=2)
#   watch=1    run cpu_watch.sh on every CPU meanwhile, pinned there: a
#              CPU whose timers or tasks stall for 10 s is reported with
#              where the binary's threads sleep (see cpu_watch.sh)
#   ctx=N      with tracing on (vm-run --trace): at the first match, stop
#              the trace and print its last N lines (default 3000) between
#              "trace-tail-begin" and "trace-tail-end", so that later runs
#              cannot overwrite what led to the failure
#
# Prints one line per case run (the first matching run's whole output
# between "case-output-begin" and "case-output-end") and a last line
# "repeat_cases: R runs, M matching, in S s". Exit status: 0 when no run
# matched, 1 otherwise, 2 on bad usage.
#
# POSIX sh: runs inside the VM runner's busybox.
set -u
here=$(cd "$(dirname "$0")" && pwd)
secs=120; dur=1; match='not ok'; stop=0; ctx=3000; args=; watch=0; sel=
for a in "$@"; do
	case $a in
	--) ;;
	secs=*|dur=*|stop=*|ctx=*|watch=*) eval "${a%%=*}=\${a#*=}" ;;
	match=*) match=${a#match=} ;;
	args=*) args=${a#args=} ;;
	*/*:*) [ -z "$sel" ] || { echo "repeat_cases.sh: one binary at a time" >&2; exit 2; }
	       sel=$a ;;
	*) echo "repeat_cases.sh: '$a': expected collection/binary:case[,case...] or key=value" >&2
	   exit 2 ;;
	esac
done
[ -n "$sel" ] || { echo "repeat_cases.sh: no collection/binary:case selection" >&2; exit 2; }
for k in secs dur stop ctx watch; do
	eval "v=\$$k"
	case $v in '' | *[!0-9]*) echo "repeat_cases.sh: $k='$v': a number" >&2; exit 2 ;; esac
done
bin=$here/${sel%%:*}
cases=$(echo "${sel#*:}" | tr ',' ' ')
[ -x "$bin" ] || { echo "repeat_cases.sh: no test binary $bin" >&2; exit 2; }
echo "repeat_cases: ${sel%%:*}: $cases; secs=$secs dur=$dur match=$match stop=$stop${args:+ args=$args} watch=$watch"

T=/sys/kernel/tracing
out=${TMPDIR:-/tmp}/repeat_cases.$$
watchers=
trap 'rm -f "$out"; [ -z "$watchers" ] || kill $watchers 2>/dev/null; rm -rf "$out.watch"' EXIT
if [ "$watch" = 1 ]; then
	mkdir -p "$out.watch"
	cpu=0 ncpu=$(grep -c '^processor' /proc/cpuinfo)
	while [ "$cpu" -lt "$ncpu" ]; do
		taskset -c "$cpu" sh "$here/cpu_watch.sh" "$cpu" "$out.watch" "${bin##*/}" &
		watchers="$watchers $!"
		cpu=$((cpu + 1))
	done
fi
runs=0; hits=0; start=$(cut -d. -f1 /proc/uptime)
while [ $(($(cut -d. -f1 /proc/uptime) - start)) -lt "$secs" ]; do
	for c in $cases; do
		runs=$((runs + 1))
		# shellcheck disable=SC2086 # args: words by design
		"$bin" -t "$c" --duration "$dur" $args >"$out" 2>&1
		if ! grep -Eq -e "$match" "$out"; then
			echo "run $runs $c: no match"
			continue
		fi
		hits=$((hits + 1))
		if [ "$hits" = 1 ] && [ -w "$T/tracing_on" ] && [ "$(cat "$T/tracing_on")" = 1 ]; then
			echo 0 >"$T/tracing_on"
			echo "trace-tail-begin"
			grep -v '^#' "$T/trace" | tail -n "$ctx"
			echo "trace-tail-end"
		fi
		echo "run $runs $c at $(cut -d' ' -f1 /proc/uptime) s: $(grep -E -e "$match" "$out" | head -n 3 | tr '\n' ' ')"
		# The first matching run whole (a hang report's thread states and
		# stacks are in it, not in the matching lines).
		if [ "$hits" = 1 ]; then
			echo "case-output-begin"
			cat "$out"
			echo "case-output-end"
		fi
		[ "$stop" = 1 ] && break 2
	done
done
echo "repeat_cases: $runs runs, $hits matching, in $(($(cut -d. -f1 /proc/uptime) - start)) s"
[ "$hits" = 0 ]
