#!/bin/sh
# Make sure what the project needs is installed.
#
#   scripts/deps.sh GROUP...     GROUP: build | check | vm | patches
#
# Missing packages are installed with apt-get when running as root (CI, a
# fresh machine); otherwise the script names the exact command to run and
# fails. Nothing is downloaded except Debian packages through the machine's
# own apt configuration.
set -eu

missing=
need() {  # need PACKAGE TEST...
	pkg=$1; shift
	if ! "$@" >/dev/null 2>&1; then
		case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg" ;; esac
	fi
}
have() { command -v "$1"; }

[ $# -gt 0 ] || { echo "usage: scripts/deps.sh build|check|vm|patches..." >&2; exit 2; }
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
		;;
	patches)   # scripts/kvm-modules/kvm-modules and its self-test
		need git have git
		need util-linux have unshare
		need util-linux have flock
		need binutils have objcopy
		need xz-utils have xz
		;;
	*) echo "scripts/deps.sh: unknown group '$group' (build, check, vm, patches)" >&2; exit 2 ;;
	esac
done
[ -n "$missing" ] || exit 0

if [ "$(id -u)" = 0 ] && have apt-get >/dev/null; then
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	# shellcheck disable=SC2086 # word splitting of the package list is intended
	apt-get install -y -q --no-install-recommends $missing >/dev/null
	exit 0
fi
echo "missing packages:$missing; install them with: sudo apt-get install$missing" >&2
exit 1
