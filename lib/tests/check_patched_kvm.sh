#!/bin/bash
# The suite's cases against KVM rebuilt with a patch series, each series
# stating what the cases must do there:
# - KVM broken on purpose (lib/tests/broken-kvm/): exactly the cases that
#   claim the broken path fail, with the diagnostic that names the failure,
#   and the cases that do not depend on it pass. A case that still passes on
#   such a KVM proves nothing about the path its sentence names.
# - KVM with the proposed interfaces (lib/tests/proposed-kvm/, the suite's
#   own port of their posted semantics): the proposed cases run, and pass.
# - KVM with a race window widened (lib/tests/kvm-windows/: a delay, timing
#   only): the case that sees the race fails there, and passes with a fix
#   of the race on top (Base:).
#
#   lib/tests/check_patched_kvm.sh [--kernel K] [--results DIR] [--suite DIR] [SERIES...]
#
# SERIES: one patch file, or a directory of them (applied in name order, as
# vm-run --patches takes it); by default each lib/tests/broken-kvm/*.patch,
# lib/tests/proposed-kvm/ and each series in lib/tests/kvm-windows/ (a
# directory or a *.patch). The patches' descriptions hold the
# expectations and settings, one per line:
#   Expect-fail: collection/binary:case REGEX   the case fails, a diagnostic matches
#   Expect-pass: collection/binary:case         the case passes
#   Cmdline: OPTIONS      kernel options for the VM (vm-run --cmdline): module
#                         parameters (kvm_amd.PARAM=V) too, and NAME=VALUE
#                         with no dot reaches the suite as an environment
#                         variable (KTEST_DENY_QUIRKS, include/host.h)
#   Skip-fails: yes       a case that skips breaks its expectation (for the
#                         proposed interfaces: a skip means the probe missed them)
#   Kernels: R...         the Debian releases the series is made for (default:
#                         all); on another its cases are reported skipped
#   Base: DIR             the patch goes on top of the series in DIR (relative
#                         to the repository): a bug of a posted series, say;
#                         the expectations are the patch's own
# The cases of a series run in a VM booted with Debian's kernel K (default
# sid) and its KVM modules rebuilt with the series (scripts/vm/vm-run
# --patches; the patches are made against sid's kernel). Series that need
# the same kernel command line share one VM: it boots with the first one's
# modules, and before each next series its kvm.ko and kvm-<vendor>.ko
# replace the loaded ones (patched_kvm_series.sh, in the VM). Otherwise a
# case that skips there is reported as skipped, with its reason. The VM's
# files go to DIR/NAME (default results/broken-kvm/), or DIR/NAME+NAME...
# for a shared VM, whose KTAP has a "### kvm-regress series NAME ###" line
# before each series' part. Output: TAP, then the counts line; exit 1 when
# an expectation did not hold, 2 on bad usage.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tap.sh
. "$top/lib/tests/tap.sh"

usage() {
	echo "usage: lib/tests/check_patched_kvm.sh [--kernel K] [--results DIR] [--suite DIR] [SERIES...]" >&2
	exit 2
}
kernel=sid results=$top/results/broken-kvm suite=
while [ $# -gt 0 ]; do
	case $1 in
	--kernel|--results|--suite)
		[ $# -ge 2 ] && [ -n "$2" ] || { echo "check_patched_kvm.sh: $1 needs a value" >&2; exit 2; }
		case $1 in --kernel) kernel=$2 ;; --results) results=$2 ;; --suite) suite=$2 ;; esac
		shift 2 ;;
	-h|--help) usage ;;
	-*) echo "check_patched_kvm.sh: unknown option '$1'" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || set -- "$top"/lib/tests/broken-kvm/*.patch "$top/lib/tests/proposed-kvm" \
	"$top"/lib/tests/kvm-windows/*
# The patches that state a series' expectations: the file, or a directory's
# *.patch in name order.
series_files() {
	if [ -d "$1" ]; then
		find "$1" -maxdepth 1 -name '*.patch' | LC_ALL=C sort
	else
		printf '%s\n' "$1"
	fi
}
# One setting of a series (the first one its patches give).
series_header() {  # series_header SERIES NAME
	series_files "$1" | xargs sed -n -E "s/^$2: (.*)$/\1/p" | head -n 1
}
for p in "$@"; do
	[ -e "$p" ] || { echo "check_patched_kvm.sh: no such patch or series '$p'" >&2; exit 2; }
	[ -n "$(series_files "$p")" ] || { echo "check_patched_kvm.sh: $p holds no *.patch" >&2; exit 2; }
	series_files "$p" | xargs grep -qhE '^Expect-(fail|pass): ' || {
		echo "check_patched_kvm.sh: $p has no Expect-fail:/Expect-pass: lines" >&2; exit 2; }
	base=$(series_header "$p" Base)
	[ -z "$base" ] || [ -d "$top/$base" ] || {
		echo "check_patched_kvm.sh: $p: Base: $base is not a directory of the repository" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/patched-kvm.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0 skipped=0
result() {  # result pass|fail|skip WHAT [DETAIL...]
	local r=$1 what=$2
	shift 2
	case $r in
	pass) check "$what" true; passed=$((passed + 1)) ;;
	skip) skip_check "$what: $1"; skipped=$((skipped + 1)); shift ;;
	*) check "$what" false; failed=$((failed + 1)) ;;
	esac
	[ $# -eq 0 ] || printf '%s\n' "$@" | sed 's/^/#   /'
}

# Split a KTAP stream by top-level result: $tmp/case/<n> holds the status
# line ("ok"/"not ok"/"skip REASON", then the case id) and the case's
# indented lines (its diagnostics), for each case in the stream.
split_ktap() {
	rm -rf "$tmp/case"; mkdir -p "$tmp/case"
	awk -v dir="$tmp/case" '
		/^[ \t]/ { block = block $0 "\n"; next }
		/^(not ok|ok) [0-9]+ / {
			status = ($1 == "not") ? "not ok" : "ok"
			name = status == "ok" ? $3 : $4
			if ($0 ~ / # SKIP /) { status = "skip"; sub(/.* # SKIP /, ""); status = status " " $0 }
			n++; f = dir "/" n
			printf "%s\n%s\n%s", status, name, block > f; close(f)
			block = ""; next
		}'
}

# The series that run, in order, with what each needs.
order=()
# (patches_of: what vm-run --patches gets, the series on its base if it has one)
declare -A series_of=() patches_of=() cmdline_of=() skip_fails_of=() cases_of=() base_of=()
for p in "$@"; do
	name=$(basename "$p" .patch)
	series_files "$p" | xargs sed -n -E 's/^Expect-(fail|pass): ([^ ]+) ?(.*)$/\1 \2 \3/p' >"$tmp/expect.$name"
	kernels=$(series_header "$p" Kernels)
	if [ -n "$kernels" ] && ! grep -qw -- "$kernel" <<<"$kernels"; then
		while read -r want id _; do
			result skip "$name: $id $( [ "$want" = fail ] && echo fails || echo passes )" \
				"the series is made for $kernels, not $kernel"
		done <"$tmp/expect.$name"
		continue
	fi
	order+=("$name")
	series_of[$name]=$p
	cmdline_of[$name]=$(series_header "$p" Cmdline)
	skip_fails_of[$name]=$(series_header "$p" Skip-fails)
	cases_of[$name]=$(cut -d' ' -f2 "$tmp/expect.$name" | paste -sd' ')
	# On a base series: its patches, then this one, in one directory.
	patches_of[$name]=$p
	base=$(series_header "$p" Base)
	base_of[$name]=$base
	if [ -n "$base" ]; then
		patches_of[$name]=$tmp/series-$name
		rm -rf "$tmp/series-$name"; mkdir -p "$tmp/series-$name"
		cp "$top/$base"/*.patch "$tmp/series-$name/"
		cp "$p" "$tmp/series-$name/9999-${p##*/}"
	fi
done

# Series that need the same kernel command line share one VM: it boots with
# the first one's modules, and patched_kvm_series.sh puts each next one's in
# their place (a boot, its look-ups and its initramfs are most of what a
# series of a few short cases costs). Groups in the order of their first.
groups=()
declare -A group_of=()
for name in "${order[@]}"; do
	key=x${cmdline_of[$name]}
	if [ -z "${group_of[$key]:-}" ]; then group_of[$key]=${#groups[@]}; groups+=("$name"); else
		groups[${group_of[$key]}]+=" $name"; fi
done

# group_suite DIR FIRST NAME...: in DIR the suite, patched_kvm_series.sh, the
# series' list and the modules of each series after FIRST (one whose modules
# do not build gets the reason in $tmp/none.NAME and is left out).
group_suite() {
	local dir=$1 first=$2 name f
	shift
	rm -rf "$dir"
	if [ -n "$suite" ]; then cp -a "$suite" "$dir"; else "$top/scripts/vm/build-suite" "$dir"; fi || return 1
	cp "$top/lib/tests/patched_kvm_series.sh" "$dir/" && mkdir -p "$dir/series" || return 1
	[ -n "${kdir:-}" ] || kdir=$("$top/scripts/vm/fetch-kernel" "$kernel") || return 1
	for name; do
		if [ "$name" != "$first" ]; then
			rm -rf "$tmp/modules"
			if ! "$top/scripts/kvm-modules/kvm-modules" --kernel-dir "$kdir" --out "$tmp/modules" \
				"$kernel" "${patches_of[$name]}" >"$tmp/build.out" 2>&1; then
				printf '%s\n' "its modules did not build:" "$(tail -n 5 "$tmp/build.out")" >"$tmp/none.$name"
				continue
			fi
			# Named as the VM's init loads them (kvm-amd.ko is kvm_amd.ko there).
			mkdir -p "$dir/series/$name"
			for f in "$tmp/modules"/*.ko; do
				f=${f##*/}
				cp "$tmp/modules/$f" "$dir/series/$name/${f//-/_}" || return 1
			done
		fi
		echo "$name ${cases_of[$name]}" >>"$dir/series/list"
	done
}

# run_group NAME...: the series' cases in one VM; each series' KTAP into
# $tmp/ktap.NAME, or why there is none into $tmp/none.NAME.
run_group() {
	local first=$1 n=$# dir label start rc ktap f name
	rm -f "$tmp/run.out"
	local cmdline=${cmdline_of[$first]}
	for name; do
		echo "# $name: $(wc -w <<<"${cases_of[$name]}") cases in a $kernel VM with KVM rebuilt with $(series_files "${series_of[$name]}" | xargs -n 1 basename | paste -sd' ')${cmdline:+, booted with $cmdline}"
		[ -z "${base_of[$name]}" ] ||
			echo "# $name: on top of ${base_of[$name]} ($(series_files "$top/${base_of[$name]}" | wc -l) patches)"
		rm -f "$tmp/ktap.$name" "$tmp/none.$name"
	done
	start=$(date +%s)
	label=$(paste -sd+ <<<"$(printf '%s\n' "$@")")
	local -a args=(--kernel "$kernel" --patches "${patches_of[$first]}" --results "$results/$label")
	[ -z "$cmdline" ] || args+=(--cmdline "$cmdline")
	if [ "$n" -eq 1 ]; then
		[ -z "$suite" ] || args+=(--suite "$suite")
		# shellcheck disable=SC2086 # the cases are separate words
		"$top/scripts/vm/vm-run" "${args[@]}" ${cases_of[$first]} >"$tmp/run.out" 2>&1
	else
		dir=$tmp/suite-group
		if ! group_suite "$dir" "$@" 2>>"$tmp/run.out"; then
			for name; do
				printf '%s\n' "the shared VM's suite could not be made:" "$(tail -n 5 "$tmp/run.out")" >"$tmp/none.$name"
			done
			return
		fi
		"$top/scripts/vm/vm-run" "${args[@]}" --suite "$dir" --run patched_kvm_series.sh >>"$tmp/run.out" 2>&1
	fi
	rc=$?
	echo "# $label: vm-run exit $rc in $(($(date +%s) - start)) s$([ "$n" -eq 1 ] || echo ", one VM for the $n series")"
	# What the VM's kernel said about itself (a warning, a taint) is no
	# case's verdict: shown, with where (a shared VM's console log has a
	# line where each series starts).
	grep -E '^vm-run: FAIL: (kernel problem|the run tainted)' "$tmp/run.out" | sed "s/^vm-run: FAIL: /# $label: the VM's kernel: /"
	# vm-run names a patched run's files after the first series' hash: the newest.
	ktap=
	for f in "$results/$label/vm-$kernel-patched"*.ktap; do
		[ -s "$f" ] || continue
		{ [ -z "$ktap" ] || [ "$f" -nt "$ktap" ]; } && ktap=$f
	done
	if [ "$rc" -eq 2 ] || [ -z "$ktap" ]; then
		for name; do
			printf '%s\n' "vm-run exit $rc; its last lines:" "$(tail -n 15 "$tmp/run.out" | sed 's/^/    /')" >"$tmp/none.$name"
		done
	elif [ "$n" -eq 1 ]; then
		cp "$ktap" "$tmp/ktap.$first"
	else
		# Each series' part of the stream, after its marker line.
		awk -v dir="$tmp" '
			/^### kvm-regress series [^ ]+: not run: / {
				name = $4; sub(/:$/, "", name); f = ""
				why = $0; sub(/^.*: not run: /, "", why); sub(/ ###$/, "", why)
				print "the series did not run in the shared VM: " why > (dir "/none." name); next }
			/^### kvm-regress series [^ ]+ ###$/ { f = dir "/ktap." $4; printf "" > f; next }
			f != "" { print > f }' "$ktap"
		for name; do
			[ -f "$tmp/ktap.$name" ] || [ -f "$tmp/none.$name" ] ||
				echo "the series did not run in the shared VM: it ended before this series (vm-run exit $rc)" >"$tmp/none.$name"
		done
	fi
}

for group in "${groups[@]}"; do
	# shellcheck disable=SC2086 # the group's names are separate words
	run_group $group
	# A series the shared VM did not run (the last series' modules would
	# not unload, or the VM ended early) runs again in a VM of its own.
	for name in $group; do
		grep -qs '^the series did not run in the shared VM' "$tmp/none.$name" || continue
		echo "# $name: $(cat "$tmp/none.$name"); in a VM of its own"
		run_group "$name"
	done
	for name in $group; do
		if [ -f "$tmp/none.$name" ]; then
			result fail "$name: the VM ran the cases" "$(cat "$tmp/none.$name")"
			continue
		fi
		split_ktap <"$tmp/ktap.$name"
		while read -r want id regex; do
			f=$(grep -lx -- "$id" "$tmp"/case/* 2>/dev/null | head -n 1)
			what="$name: $id $( [ "$want" = fail ] && echo fails || echo passes )"
			if [ -z "$f" ]; then
				result fail "$what" "no result for $id in the VM's KTAP"
				continue
			fi
			status=$(head -n 1 "$f")
			case $want/$status in
			*/skip\ *)
				if [ "${skip_fails_of[$name]}" = yes ]; then
					result fail "$what" "it skipped on a KVM that has what it needs: ${status#skip }"
				else
					result skip "$what" "${status#skip }"
				fi ;;
			pass/ok) result pass "$what" ;;
			fail/not\ ok)
				if tail -n +3 "$f" | grep -E '^[[:space:]]*#' | grep -qE -- "$regex"; then
					result pass "$what" "$(tail -n +3 "$f" | grep -E -- "$regex" | head -n 1 | sed 's/^[[:space:]]*//')"
				else
					result fail "$what" "it failed, but no diagnostic matches /$regex/:" \
						"$(tail -n +3 "$f" | grep -E '^[[:space:]]*# ' | tail -n 8)"
				fi ;;
			pass/*) result fail "$what" "it failed on a KVM whose breakage it does not claim to see:" \
				"$(tail -n +3 "$f" | grep -E '^[[:space:]]*# ' | tail -n 8)" ;;
			fail/*) result fail "$what" "it passed on a KVM with the path it names broken: it does not depend on that path" ;;
			esac
		done <"$tmp/expect.$name"
	done
done
echo "1..$tap_n"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
