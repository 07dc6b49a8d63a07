#!/bin/bash
# cpu_watch.sh and repeat_cases.sh watch=1, on this host: a CPU whose
# watcher went silent is reported once, with its timers and where the named
# threads sleep; repeat_cases.sh takes its watchers down when it ends.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
watch=$scripts/runner/cpu_watch.sh

expect "no arguments: usage" 2 "$watch" :: '^usage: cpu_watch.sh CPU DIR'
expect "a CPU that is no number" 2 "$watch" x "$tmp" :: "^cpu_watch.sh: CPU 'x': a number$"
expect "a directory that is not there" 2 "$watch" 0 "$tmp/none" :: "^cpu_watch.sh: no directory"

if [ "$(grep -c '^processor' /proc/cpuinfo)" -lt 2 ]; then
	pass "a silent CPU is reported # SKIP one CPU: nothing to watch"
else
	# A stop of the whole VM is no stall of one CPU: a watcher and a
	# stand-in for CPU 1's watcher are stopped together for longer than the
	# bound (3 s here); the watcher runs again first, as a VM's first vCPU
	# would, and finds CPU 1's beat as old as the stop; CPU 1 beats again
	# 0.5 s later. Nothing may be reported. (In the background, beside the
	# check below.)
	mkdir "$tmp/beats2"
	(
		(while :; do cut -d. -f1 /proc/uptime >"$tmp/beats2/1.new" && mv "$tmp/beats2/1.new" "$tmp/beats2/1"; sleep 0.5; done) &
		beater=$!
		CPU_WATCH_QUIET_S=3 "$watch" 0 "$tmp/beats2" >"$tmp/watch2.out" 2>&1 &
		stopped=$!
		sleep 1.5
		kill -STOP "$stopped" "$beater"
		sleep 4
		kill -CONT "$stopped"
		sleep 0.5
		kill -CONT "$beater"
		sleep 2.5
		kill "$stopped" "$beater"
	) &
	vm_stop=$!

	mkdir "$tmp/beats"
	# CPU 1's watcher "last beat" 20 s ago; a sleeping thread to find.
	echo $(($(cut -d. -f1 /proc/uptime) - 20)) >"$tmp/beats/1"
	sleep 60 &
	sleeper=$!
	started=$(cut -d. -f1 /proc/uptime)
	"$watch" 0 "$tmp/beats" sleep >"$tmp/watch.out" 2>&1 &
	watcher=$!
	# The dump reads every thread's files: slow on a busy host, so wait
	# for its end (at most 60 s), then past one more beat for a repeat.
	for _ in $(seq 600); do
		! grep -q '^cpu-watch-dump-end$' "$tmp/watch.out" || break
		sleep 0.1
	done
	sleep 1.5
	kill "$watcher"
	cp "$tmp/watch.out" "$tmp/out"
	judge "a CPU whose watcher is silent is reported with its timers and the named threads" 0 0 \
		'^cpu-watch \(on CPU 0\): CPU 1: .*its watcher silent for 2[0-9] s \([3-9] rounds\)' \
		'^cpu-watch-dump-begin \(CPU 1' "^thread $sleeper \(sleep\) state S on CPU [0-9]+" \
		'^cpu-watch-dump-end$'
	n=$(grep -c '^cpu-watch (' "$tmp/out" || true)
	if [ "$n" = 1 ]; then pass "... once for the episode"; else fail "... once for the episode" "reported $n times"; fi
	if [ "$(cat "$tmp/beats/0")" -ge "$started" ]; then
		pass "... and it beats itself"
	else
		fail "... and it beats itself" "$tmp/beats/0: $(cat "$tmp/beats/0")"
	fi
	kill "$sleeper"
	wait "$vm_stop"
	no_line "a stop of the whole VM, seen by the first watcher to run again, is not reported as a stalled CPU" \
		'^cpu-watch \(' "$tmp/watch2.out"
fi

# repeat_cases.sh over a stand-in binary that passes at once.
mkdir -p "$tmp/suite/x"
cp "$scripts/runner/repeat_cases.sh" "$watch" "$tmp/suite/"
printf '#!/bin/sh\necho "ok 1 stand-in"\n' >"$tmp/suite/x/standin"
chmod +x "$tmp/suite/x/standin"
expect "repeat_cases.sh watch=1 runs with a watcher per CPU" 0 \
	"$tmp/suite/repeat_cases.sh" x/standin:c secs=1 watch=1 :: 'watch=1$' \
	'^repeat_cases: [0-9]+ runs, 0 matching'
for _ in $(seq 30); do
	pgrep -f "$tmp/suite/cpu_watch.sh" >/dev/null || break
	sleep 0.1
done
if pgrep -f "$tmp/suite/cpu_watch.sh" >/dev/null; then
	fail "... and no watcher outlives it" "$(pgrep -af "$tmp/suite/cpu_watch.sh")"
else
	pass "... and no watcher outlives it"
fi
expect "repeat_cases.sh watch= that is no number" 2 \
	"$tmp/suite/repeat_cases.sh" x/standin:c watch=yes :: "watch='yes': a number"

done_testing
