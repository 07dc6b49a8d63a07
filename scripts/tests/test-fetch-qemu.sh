#!/bin/bash
# fetch-qemu's choice, without the network: a system QEMU 10 is used as it
# is; otherwise a QEMU already unpacked in the cache; bad arguments fail.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# A stand-in system QEMU of a given version, first in PATH.
fake_system() {
	mkdir -p "$tmp/bin"
	printf '#!/bin/sh\necho "QEMU emulator version %s (stand-in)"\n' "$1" >"$tmp/bin/qemu-system-x86_64"
	chmod +x "$tmp/bin/qemu-system-x86_64"
}
fake_system 10.1.0
expect "a system QEMU 10 or later is used as it is" 0 \
	env PATH="$tmp/bin:$PATH" "$scripts/vm/fetch-qemu" --cache "$tmp/cache" :: '^qemu-system-x86_64$'

fake_system 7.2.22
mkdir -p "$tmp/cache/qemu/10.0.2+ds-2~bpo12+1"
touch "$tmp/cache/qemu/10.0.2+ds-2~bpo12+1/.complete"
expect "with an older system QEMU, the QEMU unpacked in the cache, without asking the archive" 0 \
	env PATH="$tmp/bin:$PATH" "$scripts/vm/fetch-qemu" --cache "$tmp/cache" :: \
	"^$tmp/cache/qemu/10.0.2\+ds-2~bpo12\+1/qemu-system-x86_64$"

expect "an unknown argument: one line, exit 1" 1 "$scripts/vm/fetch-qemu" --bogus :: \
	"^fetch-qemu: unknown argument '--bogus'"
done_testing
