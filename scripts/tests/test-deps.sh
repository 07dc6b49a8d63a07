#!/bin/bash
# scripts/deps.sh waits for a package lock another process holds (bounded,
# with a message) instead of failing, and keeps stdout free of messages.
# A fake apt-get (DEPS_APT_GET) stands in for the real one; git and friends
# look missing because PATH holds only the tools deps.sh itself needs.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	pass "deps.sh waits for a held package lock # SKIP deps.sh installs only as root"
	done_testing
fi
mkdir -p "$tmp/bin"
for t in sh grep sed mktemp date sleep cat id rm test awk; do ln -s "$(command -v "$t")" "$tmp/bin/$t"; done
cat >"$tmp/apt-get" <<'FAKE'
#!/bin/sh
# Locked for the first $LOCKED_CALLS calls of "update", then fine.
echo "$*" >>"$FAKE_LOG"
case " $* " in
*" update "*)
	n=$(cat "$FAKE_COUNT" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" >"$FAKE_COUNT"
	if [ "$n" -le "$LOCKED_CALLS" ]; then
		echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)" >&2
		echo "E: Unable to lock directory /var/lib/apt/lists/" >&2
		exit 100
	fi ;;
*" install "*)
	# As apt-get 2.6 does while DPkg::Lock::Timeout lets it wait.
	echo "Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4343 (dpkg)..."
	echo "Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4343 (dpkg)..." ;;
esac
echo "Reading package lists..."
FAKE
chmod +x "$tmp/apt-get"
deps() {
	env -i PATH="$tmp/bin" DEPS_APT_GET="$tmp/apt-get" FAKE_LOG="$tmp/calls" FAKE_COUNT="$tmp/count" \
		LOCKED_CALLS="$1" DEPS_LOCK_TIMEOUT="$2" "$scripts/deps.sh" patches >"$tmp/stdout"
}
expect "a held package-lists lock is waited for, with a message" 0 deps 1 300 :: \
	'^deps: installing git util-linux binutils xz-utils \(apt-get; waits up to 300 s for a package lock' \
	'^deps: waiting for the package lists. lock: Could not get lock /var/lib/apt/lists/lock\. It is held by process 4242 \(apt-get\)$' \
	'^deps: waiting for the dpkg lock: Could not get lock /var/lib/dpkg/lock-frontend\. It is held by process 4343 \(dpkg\)$'
if [ "$(grep -c '^deps: waiting for the dpkg lock' "$tmp/out")" = 1 ]; then
	pass "... said once"
else
	fail "... said once" "$(cat "$tmp/out")"
fi
if [ ! -s "$tmp/stdout" ] && grep -q -- '-o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends git util-linux binutils xz-utils$' "$tmp/calls"; then
	pass "... then the install waits for the dpkg lock itself (DPkg::Lock::Timeout), stdout stays empty"
else
	fail "... then the install waits for the dpkg lock itself (DPkg::Lock::Timeout), stdout stays empty" "$(cat "$tmp/stdout" "$tmp/calls")"
fi
rm -f "$tmp/count" "$tmp/calls"
start=$(date +%s)
expect "a lock held for longer than DEPS_LOCK_TIMEOUT fails, saying how long it waited" 1 deps 1000 3 :: \
	'^deps: apt-get update failed \(waited [0-9]+ s for its lock\)$' '^E: Could not get lock'
took=$(($(date +%s) - start))
# Gave up at its 3 s, not at the default 300 s: the bound leaves room for a
# loaded machine (11 s seen beside four VMs, when deps.sh tried every 5 s).
if [ "$took" -le 60 ] && ! grep -q install "$tmp/calls"; then
	pass "... after ${took} s, without installing"
else
	fail "... after ${took} s, without installing" "$(cat "$tmp/calls")"
fi
done_testing
