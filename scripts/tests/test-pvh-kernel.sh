#!/bin/bash
# scripts/vm/pvh-kernel: the uncompressed kernel of a bzImage, for QEMU's PVH
# boot, from made-up bzImages (a payload with and without the PVH note, a
# damaged one) and from Debian's kernel ($KERNEL, default sid; fetched once,
# then cached). What the VM runner does with it, a real boot, is in
# test-vm-boot.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

pvh=$scripts/vm/pvh-kernel
# le32 N: N as 4 little-endian bytes, for printf.
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
# bzimage OUT PAYLOAD_FILE COMPRESSOR...: a bzImage as the boot protocol
# lays it out (2.15: setup sectors, "HdrS", payload offset and length), with
# PAYLOAD_FILE compressed and its size appended, as the kernel's build does.
bzimage() {
	local out=$1 payload=$2
	shift 2
	"$@" <"$payload" >"$tmp/z"
	# shellcheck disable=SC2059 # le32 prints escapes for printf
	printf "$(le32 "$(stat -c %s "$payload")")" >>"$tmp/z"
	head -c $((5 * 512)) /dev/zero >"$out"    # 4 setup sectors and the boot sector
	printf '\x04' | dd of="$out" bs=1 seek=$((0x1f1)) conv=notrunc status=none
	printf 'HdrS\x0f\x02' | dd of="$out" bs=1 seek=$((0x202)) conv=notrunc status=none
	# shellcheck disable=SC2059
	printf "$(le32 16)$(le32 "$(stat -c %s "$tmp/z")")" | dd of="$out" bs=1 seek=$((0x248)) conv=notrunc status=none
	head -c 16 /dev/zero >>"$out"
	cat "$tmp/z" >>"$out"
}
# An "ELF kernel": the ELF magic, some text, and (elf_with_note) the note
# QEMU looks for: Xen's PHYS32_ENTRY, type 18, an 8-byte entry address.
printf '\x7fELF\x02\x01\x01%s' "$(head -c 3000 /dev/zero | tr '\0' k)" >"$tmp/elf"
{ cat "$tmp/elf"; printf '\x04\x00\x00\x00\x08\x00\x00\x00\x12\x00\x00\x00Xen\x00\x30\xe0\x9c\x03\x00\x00\x00\x00'; } >"$tmp/elf_with_note"

bzimage "$tmp/gz.bz" "$tmp/elf_with_note" gzip -9
bzimage "$tmp/zst.bz" "$tmp/elf_with_note" zstd -q -c
expect "a gzip payload with the PVH note gives the ELF, byte for byte" 0 "$pvh" "$tmp/gz.bz" "$tmp/gz.elf" ::
same "... (its content)" "$tmp/elf_with_note" "$tmp/gz.elf"
expect "a zstd payload with the PVH note gives the ELF" 0 "$pvh" "$tmp/zst.bz" "$tmp/zst.elf" ::
same "... (its content)" "$tmp/elf_with_note" "$tmp/zst.elf"
touch -d '2 minutes ago' "$tmp/gz.bz"
before=$(stat -c %Y "$tmp/gz.elf")
touch -d '1 minute ago' "$tmp/gz.elf"
expect "an extracted kernel newer than its image is kept, not extracted again" 0 "$pvh" "$tmp/gz.bz" "$tmp/gz.elf" ::
if [ "$(stat -c %Y "$tmp/gz.elf")" -lt "$before" ]; then pass "... (its time is unchanged)"; else fail "... (its time is unchanged)" "$(ls -l --full-time "$tmp/gz.elf")"; fi

bzimage "$tmp/nonote.bz" "$tmp/elf" gzip -9
expect "a kernel without the PVH note is refused, saying so" 1 "$pvh" "$tmp/nonote.bz" "$tmp/nonote.elf" :: \
	'^pvh-kernel: .*/nonote\.bz: the kernel has no PVH entry point \(built without CONFIG_PVH\)$'
# Damaged: 100 bytes in the middle of a compressed stream of 20 KiB overwritten.
{ cat "$tmp/elf_with_note"; head -c 20000 /dev/urandom; } >"$tmp/big_elf"
bzimage "$tmp/bad.bz" "$tmp/big_elf" zstd -q -c
head -c 100 /dev/zero | dd of="$tmp/bad.bz" bs=1 seek=$(($(stat -c %s "$tmp/bad.bz") - 10000)) conv=notrunc status=none
expect "a damaged payload is refused, saying so" 1 "$pvh" "$tmp/bad.bz" "$tmp/bad.elf" :: \
	'^pvh-kernel: .*/bad\.bz: (zstd could not decompress the payload|the payload gave [0-9]+ bytes, the image says [0-9]+)$'
left=$(find "$tmp" -name 'nonote.elf*' -o -name 'bad.elf*')
if [ -z "$left" ]; then pass "... and neither refusal leaves a kernel or a partial file"; else fail "... and neither refusal leaves a kernel or a partial file" "$left"; fi
expect "a file that is not a bzImage is refused, saying so" 1 "$pvh" "$tmp/elf" "$tmp/x.elf" :: \
	'^pvh-kernel: .*/elf: not a bzImage \(no HdrS boot header\)$'
expect "a wrong call gives its usage" 1 "$pvh" "$tmp/elf" :: '^pvh-kernel: usage: pvh-kernel BZIMAGE OUT$'

# Debian's kernel: the ELF has the size the image gives and the note.
kernel=${KERNEL:-sid}
if kdir=$("$scripts/vm/fetch-kernel" "$kernel" 2>"$tmp/fetch.err"); then
	if "$pvh" "$kdir/vmlinuz" "$tmp/debian.elf" 2>"$tmp/out" && [ "$(head -c 4 "$tmp/debian.elf" | od -An -c | tr -d ' ')" = 177ELF ] &&
		LC_ALL=C grep -qaP '\x04\x00\x00\x00[\x04\x08]\x00\x00\x00\x12\x00\x00\x00Xen\x00' "$tmp/debian.elf"; then
		pass "Debian's $kernel kernel has a PVH entry, extracted ($(($(stat -c %s "$tmp/debian.elf") / 1048576)) MiB)"
	else
		fail "Debian's $kernel kernel has a PVH entry, extracted" "$(cat "$tmp/out")"
	fi
else
	pass "Debian's $kernel kernel has a PVH entry, extracted # SKIP no $kernel kernel: $(tail -n 1 "$tmp/fetch.err")"
fi
done_testing
