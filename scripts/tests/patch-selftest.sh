#!/bin/bash
# `make patch_selftest`: scripts/kvm-modules/kvm-modules and `vm-run --patches` end to end
# on Debian's $KERNEL (default sid). Slow the first time (downloads Debian's
# toolchain and source, builds KVM once: minutes); seconds per build after.
#
#   - a series that does not apply, does not build, or reaches outside KVM's
#     modules stops with the patch's name and the first error;
#   - Documentation/ and tools/ changes are left out with a note;
#   - a header the series changes wins over the linux-headers package's copy
#     (patch/header/ uses a define only the patched header has);
#   - Debian's own source, rebuilt in the chroot, gives the same machine code
#     as Debian's modules (and the tree is back to pristine after the failed
#     series above);
#   - the self-test series (patch/good/: a KVM_CHECK_EXTENSION value in
#     kvm.ko, a parameter in kvm-amd.ko) is seen by marker_probe in a VM that
#     boots the stock kernel with the rebuilt modules, where the suite's smoke
#     test passes too;
#   - negative controls: marker_probe fails in a VM with Debian's own modules,
#     and on this host's stock KVM.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

kernel=${KERNEL:-sid}
repo=$(dirname "$scripts")
patchdir=$tests/patch
# Every build here builds (what the tree does is under test); the reuse of a
# kept build is checked on its own below.
export KVM_MODULES_REUSE=0
km() { "$scripts/kvm-modules/kvm-modules" --out "$tmp/modules" "$kernel" "$@"; }

# --- the series' errors (the first call also sets up the cache) ---------------
start=$(date +%s)
expect "a patch that does not apply is named, with git's error (exit 4)" 4 km "$patchdir/stale" :: \
	'^kvm-modules: patch 1 of 1, 0001-KVM-marker-against-another-kernel.patch, does not apply to Debian' \
	'^    error: patch failed: virt/kvm/kvm_main.c:[0-9]+$'
echo "# first kvm-modules run: $(($(date +%s) - start)) s (includes the one-time download and clean build)"
grep -E '^(fetch-kernel: .*(downloaded|MiB)|kvm-modules: (downloaded|toolchain|clean build took|kernel built|chroot compiler))' \
	"$tmp/out" | sed 's/^/# /' || true
expect "a patch outside KVM's modules and headers is refused, naming the file (exit 3)" 3 km "$patchdir/outside" :: \
	'^kvm-modules: patch 1 of 1, 0001-x86-kvm-guest-change.patch, changes files outside' \
	'^    arch/x86/kernel/kvm.c$'
expect "a patch that does not build is named, with the compiler's first error (exit 5)" 5 km "$patchdir/broken" :: \
	'^kvm-modules: the series does not build: first error in virt/kvm/kvm_main.c \(last changed by 0001-KVM-marker-that-does-not-compile.patch\):$' \
	"error: 'KVM_REGRESS_NO_SUCH_MARKER' undeclared"
expect "Documentation/ and tools/ changes are left out with a note" 0 km "$patchdir/docs-only" :: \
	'left out \(not part of the modules\): Documentation/virt/kvm/kvm-regress-note.rst tools/testing/selftests/kvm/kvm_regress_note.c$'

start=$(date +%s)
expect "a header the series changes is the one the modules are built with (a marker only it has)" 0 \
	km "$patchdir/good" "$patchdir/header" :: \
	'^kvm-modules: applied 3 patch\(es\): 0001-.* 0002-.* 0003-KVM-SVM-use-a-marker-from-a-patched-header.patch$' \
	'^kvm-modules: note: the series changes headers' \
	'^    0003-KVM-SVM-use-a-marker-from-a-patched-header.patch: arch/x86/include/asm/sev.h$' \
	'^kvm-modules: build tree: trees/h[0-9a-f]{12} '
echo "# build with the header series: $(($(date +%s) - start)) s"

# --- Debian's own source: the same code as Debian's modules --------------------
# What bisect-step --stock compares a tree's base with: the unpatched
# source, untouched by the series above.
expect "--print-source names Debian's unpatched source" 0 \
	"$scripts/kvm-modules/kvm-modules" --print-source "$kernel" :: '/pristine$'
pristine=$(tail -n 1 "$tmp/out")
if [ -f "$pristine/arch/x86/kvm/svm/svm.c" ] && [ -f "$pristine/virt/kvm/kvm_main.c" ] &&
	! grep -rqs KVM_REGRESS "$pristine/arch/x86/kvm" "$pristine/virt/kvm"; then
	pass "... with arch/x86/kvm and virt/kvm, and no self-test marker in them"
else
	fail "... with arch/x86/kvm and virt/kvm, and no self-test marker in them" "in '$pristine'"
fi
start=$(date +%s)
expect "Debian's source, rebuilt without patches, gives modules" 0 km :: \
	'^kvm-modules: built kvm.ko kvm-amd.ko kvm-intel.ko for '
echo "# rebuild after the failed series: $(($(date +%s) - start)) s"
kdir=$("$scripts/vm/fetch-kernel" "$kernel" 2>/dev/null)
kver=$(cat "$kdir/version")
differ=()
# shellcheck source=../vm/kernel-module
. "$scripts/vm/kernel-module"
for m in kvm kvm-amd kvm-intel; do
	stock=$(find "$kdir/lib/modules/$kver" -name "$m.ko*" | head -n 1)
	if ! copy_module "$stock" "$tmp/stock.ko"; then
		differ+=("$m.ko (Debian's '$stock' not read)"); continue
	fi
	objcopy -O binary --only-section=.text "$tmp/stock.ko" "$tmp/stock.text"
	objcopy -O binary --only-section=.text "$tmp/modules/$m.ko" "$tmp/rebuilt.text"
	cmp -s "$tmp/stock.text" "$tmp/rebuilt.text" || differ+=("$m.ko")
done
if [ ${#differ[@]} -eq 0 ]; then
	pass "the rebuilt kvm.ko, kvm-amd.ko, kvm-intel.ko have Debian's machine code (.text identical)"
else
	fail "the rebuilt kvm.ko, kvm-amd.ko, kvm-intel.ko have Debian's machine code (.text identical)" \
		".text differs from Debian's in: ${differ[*]} (another compiler, or the tree is not pristine)"
fi
# The header series kept its own tree: back to it, nothing is rebuilt (one
# shared tree would recompile nearly every object, the headers put back).
expect "a series that changes headers keeps its own build tree across a stock build" 0 \
	km "$patchdir/good" "$patchdir/header" :: \
	'^kvm-modules: build tree: trees/h[0-9a-f]{12} ' '^kvm-modules: 0 file\(s\) differ from the last build$'
# That build came seconds after the stock one: nothing the stock build left
# behind (its progress ticker's sleep once did, for up to 20 s) may hold the
# cache's lock.
if grep -q '^kvm-modules: waiting for another build' "$tmp/out"; then
	fail "... taking the cache's lock at once: nothing of the build before holds it" "$(grep '^kvm-modules:' "$tmp/out")"
else
	pass "... taking the cache's lock at once: nothing of the build before holds it"
fi
# The same series again takes the modules that build kept, identical, with
# no make at all.
rm -rf "$tmp/built-before" && cp -a "$tmp/modules" "$tmp/built-before"
expect "the same series again takes its kept build: nothing rebuilt" 0 \
	env KVM_MODULES_REUSE=1 "$scripts/kvm-modules/kvm-modules" --out "$tmp/modules" "$kernel" \
	"$patchdir/good" "$patchdir/header" :: \
	'^kvm-modules: applied 3 patch\(es\): 0001-.* 0002-.* 0003-KVM-SVM-use-a-marker-from-a-patched-header.patch$' \
	'^kvm-modules: built kvm.ko kvm-amd.ko kvm-intel.ko for .* \(this series. build of .*, kept: nothing to rebuild\)$'
if grep -qE '^kvm-modules: ([0-9]+ file\(s\) differ|build tree)' "$tmp/out"; then
	fail "... without looking at the build tree" "$(grep '^kvm-modules:' "$tmp/out")"
elif ! diff -r -x series "$tmp/built-before" "$tmp/modules" >"$tmp/diff" 2>&1; then
	fail "... the very same modules" "$(cat "$tmp/diff")"
else
	pass "... the very same modules, without looking at the build tree"
fi
# A patch whose text changed is built, not taken (here only a trailing line
# git does not read changes, a new one each run: the tree then has nothing
# to rebuild).
cp -a "$patchdir/header" "$tmp/header-changed"
for p in "$tmp/header-changed"/*.patch; do echo "kvm-regress: text outside the diff, $(date +%s.%N) $$" >>"$p"; done
expect "... and a patch whose text changed is built again, not taken" 0 \
	env KVM_MODULES_REUSE=1 "$scripts/kvm-modules/kvm-modules" --out "$tmp/modules" "$kernel" \
	"$patchdir/good" "$tmp/header-changed" :: '^kvm-modules: 0 file\(s\) differ from the last build$'

# --- the self-test series, seen in a VM -----------------------------------------
obj=$repo/build/vm-static
# install.sh also installs lib/tests/harness_negative (for check_kvm.sh), so
# it is built too: a fresh build/vm-static has nothing else.
if ! make -s -C "$repo" STATIC=1 O="$obj" OBJ="$repo/build" "$obj/x86_64/smoke" "$obj/scripts/tests/patch/marker_probe" \
	"$obj/lib/tests/harness_negative" >"$tmp/make.log" 2>&1; then
	cat "$tmp/make.log" >&2
	fail "the static smoke test and marker_probe build"
	done_testing
fi
suite=$tmp/suite
"$scripts/runner/install.sh" "$obj" "$suite" x86_64/smoke
mkdir -p "$suite/patch"
cp "$obj/scripts/tests/patch/marker_probe" "$suite/patch/"
echo "patch:marker_probe" >>"$suite/kselftest-list.txt"
echo "patch:marker_probe $("$suite/patch/marker_probe" --time-limit)" >>"$suite/time-limits.txt"

# Kept for a look after a failure: vm-<kernel>[-patched-<series hash>].* in results/patch-selftest
# (make check: its own results folder, see scripts/check.sh)
results=${PATCH_SELFTEST_RESULTS:-$repo/results/patch-selftest}
start=$(date +%s)
# What the VM sees is under test here, not the build (the steps above test
# that): a build of this series kept by an earlier run is taken (the make
# after the series above takes 10 s); the first run builds it.
expect "with the patched modules, the VM sees the series and the smoke test passes" 0 \
	env KVM_MODULES_REUSE=1 "$scripts/vm/vm-run" --kernel "$kernel" --patches "$patchdir/good" --suite "$suite" \
	--results "$results" x86_64/smoke patch/marker_probe :: \
	'^kvm-modules: applied 2 patch\(es\): 0001-KVM-report-a-marker-for-KVM_CAP_CHECK_EXTENSION_VM.patch 0002-KVM-SVM-marker-module-parameter.diff$' \
	'^mkinitramfs: kvm.ko from .* instead of the kernel.s$' \
	'^mkinitramfs: kvm-amd.ko from .* instead of the kernel.s$' \
	'^kvm-regress: kvm_amd: .* kvm_regress_marker=7042669' \
	'^    # /dev/kvm: KVM_CHECK_EXTENSION\(KVM_CAP_CHECK_EXTENSION_VM\) = 0x6b766d$' \
	'^    ok 1 KVM_CHECK_EXTENSION\(KVM_CAP_CHECK_EXTENSION_VM\) answers with the patch.s marker' \
	'^    ok 2 kvm_amd has the patch.s read-only parameter kvm_regress_marker, holding the marker$' \
	'^ok 1 x86_64/smoke' '^ok 2 patch/marker_probe' \
	'^# tested: kvm modules: patched: 2 patch\(es\) 0001-KVM-report-a-marker-for-KVM_CAP_CHECK_EXTENSION_VM.patch 0002-KVM-SVM-marker-module-parameter.diff \(series sha256 [0-9a-f]{64}\); kvm-amd\.ko sha256 [0-9a-f]{64}, ' \
	"^vm-run: console log: .*/vm-$kernel-patched-[0-9a-f]{8}\.console\.log, " \
	"^vm-run: $kernel-patched \(.*\): PASS$"
grep -E '^vm-run: .*VM ran' "$tmp/out" | sed 's/^/# /' || true
# A failed case of the suite, with its diagnostics (expect shows only the tail).
grep -B 8 -E '^    not ok' "$results/vm-$kernel-patched-"*.ktap 2>/dev/null | sed 's/^/# /' || true
echo "# modules (kept or built) + boot + run with the series: $(($(date +%s) - start)) s"

# --- negative controls: the probe on stock KVM ------------------------------------
start=$(date +%s)
expect "negative control: in a VM with Debian's own modules the probe fails both cases" 1 \
	"$scripts/vm/vm-run" --kernel "$kernel" --suite "$suite" --results "$results" patch/marker_probe :: \
	'^    # .*reports 0x1 for KVM_CAP_CHECK_EXTENSION_VM, expected the marker 0x6b766d \(the stock value' \
	'^    not ok 1 KVM_CHECK_EXTENSION' \
	'^    # .*kvm_amd has no parameter kvm_regress_marker .*the loaded kvm-amd.ko is not the patched one$' \
	'^    not ok 2 kvm_amd has' "^vm-run: $kernel \(.*\): FAIL$"
echo "# stock boot + run: $(($(date +%s) - start)) s"
if [ -c /dev/kvm ] && [ -w /dev/kvm ]; then
	expect "negative control: on this host's stock KVM the probe fails, naming the stock value" 1 \
		"$suite/patch/marker_probe" -t check_extension_marker :: \
		'expected the marker 0x6b766d \(the stock value: this KVM is not the patched kvm.ko\)' \
		'^not ok 1 KVM_CHECK_EXTENSION'
else
	pass "negative control: on this host's stock KVM the probe fails # SKIP no usable /dev/kvm here"
fi
done_testing
