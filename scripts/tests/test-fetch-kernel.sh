#!/bin/bash
# fetch-kernel takes a recent look-up again without asking the archive
# (FETCH_KERNEL_MAX_AGE), waits for a look-up of the same release that is
# under way, and refuses a bad age with one line. Offline: a
# cache made here, with no apt state in it.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# make check hands its own look-up down (FETCH_KERNEL_sid), which would win.
unset FETCH_KERNEL_sid
cache=$tmp/cache
kdir=$cache/kernels/sid/7.0.0-1-amd64_7.0.0-1
mkdir -p "$kdir" "$cache/apt/sid"
echo 7.0.0-1-amd64 >"$kdir/version"
touch "$kdir/.complete"
echo "$(($(date +%s) - 30)) $kdir" >"$cache/apt/sid/last-lookup"
fk() { "$scripts/vm/fetch-kernel" --cache "$cache" sid; }

expect "a look-up 30 s old is taken again, saying how old" 0 fk :: \
	"^fetch-kernel: sid: Debian kernel 7\.0\.0-1-amd64, the newest 3[0-9] s ago \(FETCH_KERNEL_MAX_AGE=900\), in $kdir\$" \
	"^$kdir\$"
if [ -e "$cache/apt/sid/state" ]; then
	fail "... without apt" "the private apt state was made: $(ls "$cache/apt/sid")"
else
	pass "... without apt"
fi
# Two look-ups of one release at once: the second waits for the first and
# takes what it found (side by side, they removed each other's download).
echo "$(($(date +%s) - 2000)) $kdir" >"$cache/apt/sid/last-lookup"
lock=$cache/kernels/sid/.lookup.lock
# shellcheck disable=SC2016 # the inner sh expands them
flock "$lock" sh -c 'sleep 1; echo "$(date +%s) $1" >"$2"' - "$kdir" "$cache/apt/sid/last-lookup" &
holder=$!
# Until the other look-up holds the lock (bounded: a holder that came and
# went unseen would make the check below prove nothing).
tries=0
while flock -n "$lock" true && [ "$tries" -lt 200 ]; do sleep 0.05; tries=$((tries + 1)); done
expect "a look-up while another runs waits for it and takes its answer" 0 fk :: \
	"^fetch-kernel: sid: Debian kernel 7\.0\.0-1-amd64, the newest [0-2] s ago " "^$kdir\$"
wait "$holder"
if [ -e "$cache/apt/sid/state" ]; then
	fail "... without apt" "the private apt state was made: $(ls "$cache/apt/sid")"
else
	pass "... without apt"
fi
expect "a bad FETCH_KERNEL_MAX_AGE: one clear error" 1 env FETCH_KERNEL_MAX_AGE=soon "$scripts/vm/fetch-kernel" \
	--cache "$cache" sid :: "^fetch-kernel: FETCH_KERNEL_MAX_AGE='soon': a number of seconds\$"
if [ "$(wc -l <"$tmp/out")" -eq 1 ]; then pass "... one line"; else fail "... one line" "$(cat "$tmp/out")"; fi
done_testing
