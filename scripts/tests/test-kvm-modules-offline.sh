#!/bin/bash
# The patch-series path without the archive: mkinitramfs --kvm-modules puts
# the rebuilt modules in place of the kernel's (and refuses one that replaces
# nothing), and vm-run / kvm-modules reject bad input before any download.
# (The real thing, with a build and a boot: scripts/tests/patch-selftest.sh.)
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

mods=$tmp/lib/modules/9.9.9-test
mkdir -p "$mods/kernel/arch/x86/kvm" "$mods/kernel/virt/lib" "$tmp/suite" "$tmp/rebuilt"
echo kvm | xz >"$mods/kernel/arch/x86/kvm/kvm.ko.xz"
echo kvm-amd | xz >"$mods/kernel/arch/x86/kvm/kvm-amd.ko.xz"
echo kvm-intel | xz >"$mods/kernel/arch/x86/kvm/kvm-intel.ko.xz"
echo irqbypass | xz >"$mods/kernel/virt/lib/irqbypass.ko.xz"
cat >"$mods/modules.dep" <<'DEP'
kernel/arch/x86/kvm/kvm-amd.ko.xz: kernel/arch/x86/kvm/kvm.ko.xz kernel/virt/lib/irqbypass.ko.xz
kernel/arch/x86/kvm/kvm-intel.ko.xz: kernel/arch/x86/kvm/kvm.ko.xz kernel/virt/lib/irqbypass.ko.xz
kernel/arch/x86/kvm/kvm.ko.xz: kernel/virt/lib/irqbypass.ko.xz
kernel/virt/lib/irqbypass.ko.xz:
DEP
printf '#!/bin/sh\necho "KTAP version 1"\n' >"$tmp/suite/run_tests.sh"
chmod +x "$tmp/suite/run_tests.sh"
echo kvm-rebuilt >"$tmp/rebuilt/kvm.ko"
echo kvm-amd-rebuilt >"$tmp/rebuilt/kvm-amd.ko"
echo kvm-intel-rebuilt >"$tmp/rebuilt/kvm-intel.ko"

mk() { "$scripts/vm/mkinitramfs" --out "$tmp/initrd.gz" --suite "$tmp/suite" "$@"; }
expect "--kvm-modules replaces the kernel's kvm, kvm-amd and kvm-intel" 0 \
	mk --modules "$mods" --kvm-modules "$tmp/rebuilt" :: \
	'^mkinitramfs: kvm.ko from .* instead of the kernel.s$' \
	'^mkinitramfs: kvm-amd.ko from .* instead of the kernel.s$' \
	'^mkinitramfs: kvm-intel.ko from .* instead of the kernel.s$'
mkdir "$tmp/root"
(cd "$tmp/root" && gzip -dc "$tmp/initrd.gz" | cpio -id --quiet)
got=$(cd "$tmp/root/lib/modules" && for m in irqbypass kvm kvm_amd kvm_intel; do printf '%s=%s ' "$m" "$(cat "$m.ko")"; done)
want="irqbypass=irqbypass kvm=kvm-rebuilt kvm_amd=kvm-amd-rebuilt kvm_intel=kvm-intel-rebuilt "
if [ "$got" = "$want" ]; then
	pass "the initramfs carries the rebuilt modules and the kernel's others"
else
	fail "the initramfs carries the rebuilt modules and the kernel's others" "got:  $got" "want: $want"
fi
printf '%s\n' irqbypass.ko kvm.ko "kvm_amd.ko nested=1" >"$tmp/amd.expected"
same "the load order is the kernel's modules.dep order" "$tmp/amd.expected" "$tmp/root/lib/modules/amd.list"

echo x >"$tmp/rebuilt/kvm-arm.ko"
expect "a replacement that replaces no module is an error" 1 \
	mk --modules "$mods" --kvm-modules "$tmp/rebuilt" :: \
	'^mkinitramfs: --kvm-modules: kvm-arm.ko replaces none of the KVM modules of '
rm "$tmp/rebuilt/kvm-arm.ko"
expect "--kvm-modules without the kernel's modules is an error" 1 mk --kvm-modules "$tmp/rebuilt" :: \
	'^mkinitramfs: --kvm-modules needs --modules'
expect "--kvm-modules with no modules in it is an error" 1 mk --modules "$mods" --kvm-modules "$tmp/suite" :: \
	'^mkinitramfs: no \*.ko in --kvm-modules'

: >"$tmp/bzImage"
mkdir -p "$tmp/empty"
usage "vm-run: --patches that is not there" "^vm-run: --patches '$tmp/nowhere': no such file or directory$" \
	"$scripts/vm/vm-run" --suite "$tmp/suite" --patches "$tmp/nowhere"
usage "vm-run: --patches with your own kernel" "^vm-run: --patches goes with a Debian release" \
	"$scripts/vm/vm-run" --suite "$tmp/suite" --kernel "$tmp/bzImage" --patches "$tmp/empty"
usage "kvm-modules: unknown release" "^kvm-modules: unknown Debian release 'buster'" \
	"$scripts/kvm-modules/kvm-modules" buster
usage "kvm-modules: a directory without patches" "^kvm-modules: no \*.patch or \*.diff files \(and no series file\) in '$tmp/empty'$" \
	"$scripts/kvm-modules/kvm-modules" sid "$tmp/empty"
printf '0001-a.patch\nmissing.patch\n' >"$tmp/empty/series"
: >"$tmp/empty/0001-a.patch"
usage "kvm-modules: a series file naming a missing patch" "^kvm-modules: $tmp/empty/series names 'missing.patch', which is not in " \
	"$scripts/kvm-modules/kvm-modules" sid "$tmp/empty"
usage "kvm-modules: --jobs 0" "^kvm-modules: --jobs '0': a positive number$" "$scripts/kvm-modules/kvm-modules" --jobs 0 sid
usage "kvm-modules: --print-source with patches" "^kvm-modules: --print-source takes no patches$" \
	"$scripts/kvm-modules/kvm-modules" --print-source sid "$tmp/empty/0001-a.patch"
done_testing
