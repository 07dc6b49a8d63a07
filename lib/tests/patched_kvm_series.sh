#!/bin/sh
# In a VM of check_patched_kvm.sh: the cases of several KVM patch series
# that need the same kernel command line, one series after another, in one
# boot (a boot is most of what a series with a few short cases costs).
#
#   patched_kvm_series.sh      run by the VM's init (vm-run --run), from the
#                              suite directory, which holds:
#   series/list                "NAME CASE..." per series, in order
#   series/NAME/*.ko           the series' modules (kvm.ko, kvm_amd.ko, ...)
#
# The VM booted with the first series' modules. For each later one, the
# modules it replaces are unloaded (last loaded first) and its own are
# loaded with the parameters init gave the ones they replace
# (/lib/modules/loaded: nested=1 and the command line's). Loading them adds
# no taint: the first series' modules, built the same way, already set it.
# Each series' run_tests.sh KTAP follows a line
#   ### kvm-regress series NAME ###
# and a series whose modules could not be put in place has instead
#   ### kvm-regress series NAME: not run: REASON ###
# Exit status: 1 when a series could not run or run_tests.sh failed for
# one (as it does for a broken KVM's cases), else 0.
#
# POSIX sh (the VM's busybox).
set -u
here=$(cd "$(dirname "$0")" && pwd)
loaded=/lib/modules/loaded
[ -f "$loaded" ] || { echo "patched_kvm_series.sh: no $loaded: not in a VM runner's VM" >&2; exit 2; }

# swap DIR: DIR's modules in place of the loaded ones of the same name;
# prints why not and fails when that cannot be done.
swap() {
	dir=$1
	gone=
	while read -r file _; do
		[ -f "$dir/$file" ] && gone="${file%.ko} $gone"
	done <"$loaded"
	[ -n "$gone" ] || { echo "$dir replaces none of the loaded modules"; return 1; }
	for m in $gone; do
		out=$(rmmod "$m" 2>&1) || { echo "rmmod $m: $out"; return 1; }
	done
	while read -r file params; do
		[ -f "$dir/$file" ] || continue
		# shellcheck disable=SC2086 # params are separate words on purpose
		out=$(insmod "$dir/$file" $params 2>&1) || { echo "insmod $file $params: $out"; return 1; }
	done <"$loaded"
	[ -c /dev/kvm ] || { echo "no /dev/kvm after loading $dir's modules"; return 1; }
}

first=1 status=0
while read -r name cases; do
	if [ "$first" = 0 ] && ! why=$(swap "$here/series/$name"); then
		echo "### kvm-regress series $name: not run: $why ###"
		status=1
		# The next series' modules may still go in where these did not.
		continue
	fi
	first=0
	echo "### kvm-regress series $name ###"
	# shellcheck disable=SC2086 # cases are separate words on purpose
	"$here/run_tests.sh" $cases </dev/null   # not the list
	case $? in 0|4) ;; *) status=1 ;; esac
done <"$here/series/list"
exit "$status"
