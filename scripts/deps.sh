#!/bin/sh
# Make sure what the project needs is installed.
#
#   scripts/deps.sh GROUP...     GROUP: build | check | vm | bochs | lava | patches | kernel
#
# Missing packages are installed with apt-get when running as root (CI, a
# fresh machine); otherwise the script names the exact command to run and
# fails. Nothing is downloaded except Debian packages through the machine's
# own apt configuration. A package lock held by another process (apt, dpkg,
# unattended-upgrades) is waited for, up to DEPS_LOCK_TIMEOUT seconds (300).
# All messages go to stderr: stdout stays free for the suite's KTAP.
set -eu

missing=
need() {  # need PACKAGE TEST...
	pkg=$1; shift
	if ! "$@" >/dev/null 2>&1; then
		case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg" ;; esac
	fi
}
have() { command -v "$1"; }

[ $# -gt 0 ] || { echo "usage: scripts/deps.sh build|check|vm|bochs|lava|patches|kernel..." >&2; exit 2; }
for group in "$@"; do
	case $group in
	build)
		need gcc have gcc
		need make have make
		need libc6-dev test -f /usr/include/stdio.h
		need linux-libc-dev test -f /usr/include/linux/kvm.h
		need libnuma-dev test -f /usr/include/numa.h
		;;
	check)
		need perl have prove
		need util-linux have setpriv
		need python3 have python3
		need libxml2-utils have xmllint
		;;
	vm)
		need qemu-system-x86 have qemu-system-x86_64
		need busybox-static test -x /bin/busybox
		need cpio have cpio
		need xz-utils have xz
		need zstd have zstd
		need kmod have depmod
		need debian-archive-keyring test -r /usr/share/keyrings/debian-archive-keyring.gpg
		need python3 have python3      # results JSON/JUnit and the matrix
		need procps have pkill         # vm-run's watchdog; pgrep in the runner's tests
		;;
	lava)      # scripts/tests/test-lava.sh: a real LAVA job (lava-run)
		need lava-dispatcher have lava-run
		;;
	bochs)     # vm-run --emulator bochs: Bochs built from source, an ISO to boot
		need g++ have g++
		need make have make
		need patch have patch
		need xz-utils have xz
		need xorriso have xorriso
		need isolinux test -f /usr/lib/ISOLINUX/isolinux.bin
		need syslinux-common test -f /usr/lib/syslinux/modules/bios/ldlinux.c32
		;;
	patches)   # scripts/kvm-modules/kvm-modules and its self-test
		need git have git
		need util-linux have unshare
		need util-linux have flock
		need binutils have objcopy
		need xz-utils have xz
		;;
	kernel)    # scripts/bisect/bisect-step, or your own kernel for vm-run --kernel PATH:
		   # the host tools of an x86_64 defconfig build (objtool needs
		   # libelf, the certificate tools OpenSSL)
		need gcc have gcc
		need make have make
		need flex have flex
		need bison have bison
		need bc have bc
		need perl have perl
		need libelf-dev test -f /usr/include/gelf.h
		need libssl-dev test -f /usr/include/openssl/opensslv.h
		;;
	*) echo "scripts/deps.sh: unknown group '$group' (build, check, vm, bochs, lava, patches, kernel)" >&2; exit 2 ;;
	esac
done
[ -n "$missing" ] || exit 0

apt_get=${DEPS_APT_GET:-apt-get}     # the self-test puts a fake here
if [ "$(id -u)" = 0 ] && have "$apt_get" >/dev/null; then
	# Another apt or dpkg (unattended-upgrades, a second make) may hold the
	# package locks: wait for them, bounded, instead of failing at once.
	# apt-get waits for the dpkg lock itself (DPkg::Lock::Timeout); the
	# package lists' lock of "apt-get update" it does not wait for: retried here.
	wait_s=${DEPS_LOCK_TIMEOUT:-300}
	log=$(mktemp "${TMPDIR:-/tmp}/kvm-regress-deps.XXXXXX")
	trap 'rm -f "$log"' EXIT
	echo "deps: installing$missing (apt-get; waits up to $wait_s s for a package lock another process holds)" >&2
	export DEBIAN_FRONTEND=noninteractive
	start=$(date +%s)
	said=
	until "$apt_get" -o "DPkg::Lock::Timeout=$wait_s" update -q >"$log" 2>&1; do
		if grep -q 'Could not get lock\|Unable to lock' "$log" &&
			[ $(($(date +%s) - start)) -lt "$wait_s" ]; then
			[ -n "$said" ] || echo "deps: waiting for the package lists' lock: $(grep -m 1 'Could not get lock' "$log" | sed 's/^E: //')" >&2
			said=1
			sleep 1         # a failed try costs nothing: the lock is seen at once
			continue
		fi
		cat "$log" >&2
		echo "deps: apt-get update failed$( [ -z "$said" ] || echo " (waited $(($(date +%s) - start)) s for its lock)")" >&2
		exit 1
	done
	# apt-get says on stdout when it waits for the dpkg lock: passed on, once.
	# shellcheck disable=SC2086 # word splitting of the package list is intended
	{ "$apt_get" -o "DPkg::Lock::Timeout=$wait_s" install -y -q --no-install-recommends $missing 2>&1
		echo "$?" >"$log.rc"; } |
		awk -v out="$log" '{ print >out }
			/Waiting for cache lock: / && !said++ {
				sub(/.*Waiting for cache lock: /, ""); sub(/\.\.\.$/, "")
				print "deps: waiting for the dpkg lock: " $0 >"/dev/stderr"
			}'
	if [ "$(cat "$log.rc")" != 0 ]; then
		rm -f "$log.rc"
		cat "$log" >&2
		echo "deps: apt-get install$missing failed" >&2
		exit 1
	fi
	rm -f "$log.rc"
	exit 0
fi
echo "missing packages:$missing; install them with: sudo apt-get install$missing" >&2
exit 1
