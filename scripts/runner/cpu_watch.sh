#!/bin/sh
# A watcher for one CPU of a VM whose timers are in doubt (repeat_cases.sh
# watch=1 starts one per CPU, each pinned with taskset):
#
#   cpu_watch.sh CPU DIR [COMM...]
#
# Once a second it writes the uptime into DIR/CPU and reads the other
# watchers' files and /proc/interrupts. A CPU whose watcher has not written
# for 10 s (its one-second sleep overran) or that took no local timer
# interrupt for 10 s is reported once per episode, with what tells a stalled
# clock event from a task that does not run: that CPU's hrtimer queue and
# clock event device (/proc/timer_list: an expired timer with next_event
# after it), the runqueues (debugfs sched/debug), and the state, CPU, wchan
# and kernel stack of every thread of the processes named COMM. Runs until
# killed.
#
# A CPU with nothing to do may go without timer interrupts for seconds
# (NOHZ), so the interrupt check means something only while the case keeps
# timers armed on every CPU (pi/wakeup's timer cases do). 10 s, not less:
# under TCG with the host loaded, a watcher's round (a few programs run)
# waited 3-4 s for its CPU while a case started. And only over three of the
# watcher's own rounds at least: when the whole VM stops (its host does not
# run QEMU for a while), the first watcher to run again finds the others'
# counts and beats as old as the stop, though no CPU of the VM stalled; a
# CPU that stalls alone is seen stalling by the watchers that do run.
# CPU_WATCH_QUIET_S=N (default 10): the bound, for the watcher's own test.
#
# POSIX sh: runs inside the VM runner's busybox.
set -u
usage() { echo "usage: cpu_watch.sh CPU DIR [COMM...]" >&2; exit 2; }
[ $# -ge 2 ] || usage
me=$1 dir=$2
shift 2
comms=$*
case $me in '' | *[!0-9]*) echo "cpu_watch.sh: CPU '$me': a number" >&2; exit 2 ;; esac
[ -d "$dir" ] || { echo "cpu_watch.sh: no directory $dir" >&2; exit 2; }
quiet_s=${CPU_WATCH_QUIET_S:-10}
case $quiet_s in '' | *[!0-9]* | 0) echo "cpu_watch.sh: CPU_WATCH_QUIET_S='$quiet_s': a number of seconds" >&2; exit 2 ;; esac
rounds_min=3
ncpu=$(grep -c '^processor' /proc/cpuinfo)
# The VM's init mounts no debugfs; a host that has it keeps its own.
[ -n "$(ls -A /sys/kernel/debug 2>/dev/null)" ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null

dump() {  # dump CPU
	echo "cpu-watch-dump-begin (CPU $1, uptime $(cut -d' ' -f1 /proc/uptime))"
	grep -E 'CPU0|LOC:|RES:|CAL:' /proc/interrupts
	awk -v c="$1" '/^now at/ { print }
		/^cpu: / { p = ($2 == c) }
		/^Tick Device/ { p = 0; t = 0 }
		/^Per CPU device: / { t = ($4 == c) }
		(p && /^ #|clock/) || t { print }' /proc/timer_list 2>/dev/null | head -n 60
	grep -E '^cpu#|^ *R ' /sys/kernel/debug/sched/debug 2>/dev/null | head -n 30
	# Every thread of each process named COMM, by the thread's own name
	# (the suite names its vCPU threads, the migrator and the monitor).
	for comm in "$@"; do
		for p in /proc/[0-9]*; do
			[ "$(cat "$p/comm" 2>/dev/null)" = "$comm" ] || continue
			for d in "$p"/task/[0-9]*; do
				st=$(cat "$d/stat" 2>/dev/null) || continue
				# After "(comm) ": field 3 is the state, field 39 the CPU.
				echo "thread ${d##*/} ($(cat "$d/comm" 2>/dev/null)) $(echo "${st##*) }" | awk '{ print "state " $1 " on CPU " $37 }'), wchan $(cat "$d/wchan" 2>/dev/null)"
				sed 's/^/    /' "$d/stack" 2>/dev/null | head -n 12
			done
		done
	done
	echo "cpu-watch-dump-end"
}

# Per other CPU: its last LOC count, the uptime it last changed and how many
# of our rounds saw it unchanged since; the same for its watcher's beat; and
# whether the episode was told.
start=$(cut -d. -f1 /proc/uptime)
i=0
while [ "$i" -lt "$ncpu" ]; do
	eval "loc$i= changed$i=$start lrounds$i=0 lastbeat$i= brounds$i=0 told$i=0"
	i=$((i + 1))
done
while :; do
	now=$(cut -d. -f1 /proc/uptime)
	# Whole or not at all: a reader never sees an empty file.
	echo "$now" >"$dir/$me.new" && mv "$dir/$me.new" "$dir/$me"
	# shellcheck disable=SC2046 # the counts, one word each
	set -- $(grep 'LOC:' /proc/interrupts)
	shift
	i=0
	while [ "$i" -lt "$ncpu" ]; do
		n=${1:-}
		[ $# -eq 0 ] || shift
		if [ "$i" != "$me" ]; then
			last='' changed=$now lrounds=0 lastbeat='' brounds=0 told=0
			eval "last=\$loc$i changed=\$changed$i lrounds=\$lrounds$i lastbeat=\$lastbeat$i brounds=\$brounds$i told=\$told$i"
			if [ "$n" = "$last" ]; then lrounds=$((lrounds + 1)); else changed=$now lrounds=0; fi
			quiet=$((now - changed))
			beat=$(cat "$dir/$i" 2>/dev/null)
			if [ "$beat" = "$lastbeat" ]; then brounds=$((brounds + 1)); else brounds=0; fi
			silent=$((now - ${beat:-$now}))
			if { [ "$quiet" -lt "$quiet_s" ] || [ "$lrounds" -lt "$rounds_min" ]; } &&
				{ [ "$silent" -lt "$quiet_s" ] || [ "$brounds" -lt "$rounds_min" ]; }; then
				told=0
			elif [ "$told" = 0 ]; then
				told=1
				echo "cpu-watch (on CPU $me): CPU $i: no local timer interrupt for $quiet s ($lrounds rounds of mine), its watcher silent for $silent s ($brounds rounds), at uptime $now s"
				# shellcheck disable=SC2086 # the names, one word each
				dump "$i" $comms
			fi
			eval "loc$i=\$n changed$i=\$changed lrounds$i=\$lrounds lastbeat$i=\$beat brounds$i=\$brounds told$i=\$told"
		fi
		i=$((i + 1))
	done
	sleep 1
done
