#!/bin/bash
# scripts/bisect/bisect-step end to end without building Linux: a fake kernel tree
# whose "kernel" is a script printing the suite's KTAP (fake-suite-ktap.sh), a fake VM runner
# that "boots" it, and a small git history with good, unbuildable, skipping
# and bad commits. Checks each exit code, then lets `git bisect run` find
# the first bad commit.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
tree=$tmp/linux
mkdir -p "$tree/scripts/kconfig"
cd "$tree"
git init -q
git config user.email bisect@test.invalid
git config user.name "bisect test"

# The fake kbuild: merge_config and the make targets the step uses.
printf '#!/bin/sh\n[ "$1" = -m ] && cat "$3" >>"$2"\n' >scripts/kconfig/merge_config.sh
chmod +x scripts/kconfig/merge_config.sh
cat >Makefile <<'MK'
defconfig olddefconfig: ; @touch .config
bzImage:
	@test "$$(cat state)" != broken || { echo "error: this commit does not build"; exit 1; }
	@test "$$(cat state)" != notool || { echo "/bin/sh: 1: flex: not found"; exit 127; }
	@mkdir -p arch/x86/boot
	@{ echo '#!/bin/sh'; echo "exec $(FAKE_SUITE) $$(cat state) \"\$$@\""; } >arch/x86/boot/bzImage
	@chmod +x arch/x86/boot/bzImage
modules: ;
modules_install: ; @mkdir -p $(INSTALL_MOD_PATH)/lib/modules/fake-1.0
kernelrelease: ; @echo fake-1.0
.PHONY: bzImage modules
MK
# The "kernel" prints the runner's KTAP for the selection, per its state.
export FAKE_SUITE=$top/lib/tests/fake-suite-ktap.sh
# The fake VM runner: same options as scripts/vm/vm-run, "boots" the bzImage.
cat >"$tmp/fake-vm-run" <<'VR'
#!/bin/sh
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=$2; shift 2 ;;
	--modules) test -d "$2" || { echo "no modules dir $2" >&2; exit 2; }; shift 2 ;;
	--results) results=$2; shift 2 ;;
	--) shift; break ;;
	*) echo "fake-vm-run: unexpected $1" >&2; exit 2 ;;
	esac
done
mkdir -p "$results"
"$kernel" "$@" | tee "$results/vm-fake.ktap"
VR
chmod +x "$tmp/fake-vm-run"
echo "CONFIG_KVM=m" >"$tmp/fragment.config"

commit() { echo "$1" >state; echo "$2" >>history; git add -A; git commit -qm "$2"; git rev-parse --short HEAD; }
c1=$(commit good "good: first")
c2=$(commit broken "does not build")
commit good "good again" >/dev/null
c4=$(commit bad "the regression")
c5=$(commit bad "later, still bad")
c6=$(commit skips "the cases skip here")
c7=$(commit noboot "panics before the suite")
c8=$(commit notool "needs a tool this machine lacks")

# The step on the checked-out commit, from its own .config.
step() {
	rm -f .config
	"$top/scripts/bisect/bisect-step" --config "$tmp/fragment.config" --runner "$tmp/fake-vm-run" "$@" \
		hyperv/tlb_flush:space_fast x86_64/kick
}
# shellcheck source=bisect_expect.sh
. "$top/lib/tests/bisect_expect.sh"
expect_step "$c1" 0 "passing cases are good"
expect_step "$c2" 125 "a commit that does not build is skipped"
expect_step "$c4" 1 "a failing case is bad"
expect_step "$c6" 125 "cases that all skip are skipped"
expect_step "$c7" 125 "a kernel that never reaches the suite is skipped"
# A build that fails for want of a tool fails on every commit: skipping
# them all would end the bisection with nothing found. It aborts instead.
expect_step "$c8" 255 "a tool this machine lacks aborts the bisection, naming it" :: \
	'^bisect-step: the kernel build failed: this machine lacks the command flex \(scripts/deps.sh kernel installs'
git checkout -q master 2>/dev/null || git checkout -q main
rc=0; "$top/scripts/bisect/bisect-step" --bogus x >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 255 ] || { echo "not ok - bad usage: exit $rc, expected 255 (aborts git bisect)"; exit 1; }
echo "ok - bad usage aborts the bisection: exit 255"

expect_bisect_finds "git bisect run finds the first bad commit" "$c5" "$c1" "$c4" \
	--config "$tmp/fragment.config" --runner "$tmp/fake-vm-run" hyperv/tlb_flush:space_fast
