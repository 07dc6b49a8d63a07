#!/bin/bash
# debian-mirror picks the Debian archive out of sample apt configurations
# (deb822 and one-line), never the security archive or a third party.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

mirror() { "$scripts/vm/debian-mirror" --etc "$1"; }
default=/usr/share/keyrings/debian-archive-keyring.gpg

expect "deb822: the entry with bookworm, not nodesource nor security" 0 \
	mirror "$data/apt/deb822" :: "^http://mirror\.example\.org/debian $default\$"

# The one-line sample names its keyring by a placeholder: a file that exists.
cp -r "$data/apt/oneline" "$tmp/oneline"
: >"$tmp/own-keyring.gpg"
sed -i "s#@KEYRING@#$tmp/own-keyring.gpg#" "$tmp/oneline/sources.list"
expect "one-line: skips cdrom, security, deb-src; keeps the entry's signed-by" 0 \
	mirror "$tmp/oneline" :: "^https://mirror\.example\.net/debian $tmp/own-keyring\.gpg\$"
if [ "$(wc -l <"$tmp/out")" -eq 1 ]; then pass "one line of output"; else fail "one line of output" "$(cat "$tmp/out")"; fi

expect "deb822: a disabled entry is skipped; an inline key means Debian's keyring" 0 \
	mirror "$data/apt/mixed" :: "^http://inline\.example\.org/debian $default\$"
expect "no Debian archive entry: one clear error" 1 mirror "$data/apt/foreign" :: \
	'^debian-mirror: no Debian archive entry'
cp -r "$data/apt/oneline" "$tmp/nokey"
sed -i "s#@KEYRING@#$tmp/missing.gpg#" "$tmp/nokey/sources.list"
expect "a keyring that is not there: one clear error" 1 mirror "$tmp/nokey" :: \
	"^debian-mirror: keyring '$tmp/missing\.gpg' not readable"
expect "a missing configuration directory: one clear error" 1 mirror "$tmp/nowhere" :: \
	"^debian-mirror: no apt configuration directory"
done_testing
