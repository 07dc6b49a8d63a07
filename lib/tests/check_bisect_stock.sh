#!/bin/bash
# scripts/bisect/bisect-step --stock end to end without Debian's packages: a
# fake kernel tree whose base commit is a made-up "Debian source", a fake
# module builder (kvm-modules' options and exit codes) and a fake VM runner
# that applies the step's patch to that source and prints the suite's KTAP
# (fake-suite-ktap.sh) for the state the patched KVM is in. Checks each exit
# code, that a base which is not Debian's source aborts, then lets `git
# bisect run` find the first bad commit.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export FAKE_SUITE=$top/lib/tests/fake-suite-ktap.sh FAKE_TMP=$tmp
export FAKE_SOURCE=$tmp/debian-source
tree=$tmp/linux
# Only KVM's directories and the headers, as a tree made from what
# kvm-modules --print-source names: no Makefile, no kconfig.
mkdir -p "$tree/arch/x86/kvm" "$tree/virt/kvm" "$tree/include/linux"
cd "$tree"
git init -q
git config user.email bisect@test.invalid
git config user.name "bisect test"

# The fake module builder: --print-source, and a build of one patch into
# --out with kvm-modules' exit codes (3 outside KVM, 4 does not apply,
# 5 does not build; FAKE_KM_FAIL=N: a failure with exit status N, such as
# 1 for a download that fails).
cat >"$tmp/fake-kvm-modules" <<'KM'
#!/bin/bash
set -u
if [ "$1" = --print-source ]; then echo "$FAKE_SOURCE"; exit 0; fi
[ "$1" = --out ] && [ "$3" = sid ] || { echo "fake-kvm-modules: unexpected $*" >&2; exit 2; }
out=$2 patch=$4
[ -z "${FAKE_KM_FAIL:-}" ] || { echo "kvm-modules: a made-up failure" >&2; exit "$FAKE_KM_FAIL"; }
outside=$(git apply --numstat "$patch" | cut -f3 | grep -vE '^(arch/x86/kvm|virt/kvm|include|arch/x86/include|Documentation|tools)/' || true)
if [ -n "$outside" ]; then
	echo "kvm-modules: patch 1 of 1, ${patch##*/}, changes files outside KVM's modules and headers:" >&2
	sed 's/^/    /' <<<"$outside" >&2
	exit 3
fi
rm -rf "$out" && cp -r "$FAKE_SOURCE" "$out"
(cd "$out" && git apply "$patch") || exit 4
if [ "$(cat "$out/arch/x86/kvm/state")" = nobuild ]; then
	echo "kvm-modules: the series does not build: first error in arch/x86/kvm/state" >&2
	exit 5
fi
echo "kvm-modules: built kvm.ko for the fake kernel with 1 patch(es) in 0 s" >&2
echo "$out"
KM
# The fake VM runner: Debian's kernel ("sid") with the source as the patch
# makes it; notes its arguments for the checks.
cat >"$tmp/fake-vm-run" <<'VR'
#!/bin/bash
set -u
echo "$*" >"$FAKE_TMP/runner-args"
patches=
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) [ "$2" = sid ] || exit 2; shift 2 ;;
	--patches) patches=$2; shift 2 ;;
	--results) results=$2; shift 2 ;;
	--) shift; break ;;
	*) echo "fake-vm-run: unexpected $1" >&2; exit 2 ;;
	esac
done
vm=$FAKE_TMP/vm-source
rm -rf "$vm" && cp -r "$FAKE_SOURCE" "$vm"
[ -z "$patches" ] || (cd "$vm" && git apply "$patches") || exit 1
mkdir -p "$results"
"$FAKE_SUITE" "$(cat "$vm/arch/x86/kvm/state")" "$@" | tee "$results/vm-sid-patched.ktap"
VR
chmod +x "$tmp/fake-kvm-modules" "$tmp/fake-vm-run"

commit() { git add -A; git commit -qm "$1"; git rev-parse --short HEAD; }
echo good >arch/x86/kvm/state
echo "int kvm_main;" >virt/kvm/kvm_main.c
echo "struct kvm;" >include/linux/kvm_host.h
base=$(commit "Debian's source")
# Debian's source as the module builder keeps it: the base's files, and a
# .gitignore the tree never had (dot files build nothing).
mkdir -p "$FAKE_SOURCE"
git archive "$base" arch virt include | tar -x -C "$FAKE_SOURCE"
echo '*.o' >"$FAKE_SOURCE/arch/x86/kvm/.gitignore"

echo "int kvm_main = 1;" >virt/kvm/kvm_main.c;          c2=$(commit "KVM: a harmless change")
echo bad >arch/x86/kvm/state;                           c3=$(commit "KVM: the regression")
echo "struct kvm; struct kvm_vcpu;" >include/linux/kvm_host.h; c4=$(commit "KVM: a header, still bad")
echo nobuild >arch/x86/kvm/state;                       c5=$(commit "KVM: does not build")
echo bad >arch/x86/kvm/state; mkdir -p mm; echo x >mm/x.c; c6=$(commit "mm: a change outside KVM")

step() {  # step [OPTION...]: the step in stock mode on the checked-out commit
	"$top/scripts/bisect/bisect-step" --stock sid --kvm-modules "$tmp/fake-kvm-modules" \
		--runner "$tmp/fake-vm-run" "$@" hyperv/tlb_flush:space_fast x86_64/kick
}
# shellcheck source=bisect_expect.sh
. "$top/lib/tests/bisect_expect.sh"
expect_step "$base" 0 "the base itself is good, with Debian's own modules" --base "$base" :: \
	"has the tree of --base: Debian's own modules"
if grep -q -- --patches "$tmp/runner-args"; then
	echo "not ok - ... booted without patched modules: $(cat "$tmp/runner-args")"; exit 1
fi
expect_step "$c2" 0 "a KVM change that keeps the cases passing is good" --base "$base"
grep -q -- "--patches .*/${base:0:7}[0-9a-f]*\.\.$c2\.patch" "$tmp/runner-args" ||
	{ echo "not ok - ... booted with the modules of the diff base..HEAD: $(cat "$tmp/runner-args")"; exit 1; }
expect_step "$c3" 1 "a failing case is bad" --base "$base" :: "sid's kernel with KVM at $c3: 2 named case\(s\) failed"
expect_step "$c4" 1 "a range that changes a header Debian's source has, as the base had it, is tested" --base "$base"
expect_step "$c5" 125 "KVM's modules that do not build are skipped" --base "$base" :: \
	"KVM's modules do not build at $c5"
expect_step "$c6" 125 "a range that changes the kernel image is skipped, naming the file" --base "$base" :: \
	"^bisect-step:   mm/x.c$"
expect_step "$c3" 255 "a base that is not Debian's source aborts the bisection, naming the file" --base "$c2" :: \
	"^bisect-step:   virt/kvm/kvm_main.c$"
echo "struct kvm; /* Debian's */" >"$FAKE_SOURCE/include/linux/kvm_host.h"
expect_step "$c4" 255 "... and so does a header the range changes that Debian's source has otherwise" --base "$base" :: \
	"^bisect-step:   include/linux/kvm_host.h$"
expect_step "$c2" 0 "... but not a header the range leaves alone" --base "$base"
git checkout -q "$base" -- include/linux/kvm_host.h && cp include/linux/kvm_host.h "$FAKE_SOURCE/include/linux/"
git checkout -q "$c3"
FAKE_KM_FAIL=4 expect_step "$c3" 255 "a diff that does not apply to Debian's source although the base matched aborts, saying so" \
	--base "$base" :: "does not apply to Debian's source, though the base matched it"
FAKE_KM_FAIL=1 expect_step "$c3" 255 "a module builder that fails for want of its downloads aborts" --base "$base" :: \
	"the module builder failed \(exit 1\), not for this commit's code"
expect_step "$c3" 255 "--stock without --base is bad usage" :: "--stock needs --base REV"
expect_step "$c3" 255 "--stock with --config is bad usage" --base "$base" --config /dev/null :: "--config has no use with --stock"
rc=0; out=$(cd arch/x86 && "$top/scripts/bisect/bisect-step" --stock sid --base "$base" x86_64/kick 2>&1) || rc=$?
if [ "$rc" -ne 255 ] || ! grep -q "run from the top of a git tree" <<<"$out"; then
	echo "not ok - --stock below the top of the tree: exit $rc, expected 255"; echo "$out"; exit 1
fi
echo "ok - --stock below the top of the tree is bad usage: exit 255"
rc=0; "$top/scripts/bisect/bisect-step" --base "$base" x86_64/kick >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 255 ] || { echo "not ok - --base without --stock: exit $rc, expected 255"; exit 1; }
echo "ok - --base without --stock is bad usage: exit 255"

expect_bisect_finds "git bisect run with --stock finds the first bad commit" "$c4" "$base" "$c3" \
	--stock sid --base "$base" --kvm-modules "$tmp/fake-kvm-modules" --runner "$tmp/fake-vm-run" hyperv/tlb_flush:space_fast
