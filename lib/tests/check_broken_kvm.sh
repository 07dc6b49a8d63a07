#!/bin/bash
# Negative controls at the kernel level: KVM rebuilt with one path broken on
# purpose must make exactly the cases that claim that path fail, with the
# diagnostic that names the failure, and leave the cases that do not depend
# on it passing. A case that still passes on such a KVM proves nothing about
# the path its sentence names.
#
#   lib/tests/check_broken_kvm.sh [--kernel K] [--results DIR] [--suite DIR] [PATCH...]
#
# PATCH: lib/tests/broken-kvm/*.patch by default. Each patch's description
# holds its expectations, one per line:
#   Expect-fail: collection/binary:case REGEX   the case fails, a diagnostic matches
#   Expect-pass: collection/binary:case         the case passes
# The cases of one patch run in one VM booted with Debian's kernel K
# (default sid) and its KVM modules rebuilt with the patch (scripts/vm/vm-run
# --patches; the patches are made against sid's kernel). A case that skips
# there is reported as skipped, with its reason. Output: TAP, then the
# counts line; exit 1 when an expectation did not hold, 2 on bad usage.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tap.sh
. "$top/lib/tests/tap.sh"

usage() {
	echo "usage: lib/tests/check_broken_kvm.sh [--kernel K] [--results DIR] [--suite DIR] [PATCH...]" >&2
	exit 2
}
kernel=sid results=$top/results/broken-kvm suite=
while [ $# -gt 0 ]; do
	case $1 in
	--kernel|--results|--suite)
		[ $# -ge 2 ] && [ -n "$2" ] || { echo "check_broken_kvm.sh: $1 needs a value" >&2; exit 2; }
		case $1 in --kernel) kernel=$2 ;; --results) results=$2 ;; --suite) suite=$2 ;; esac
		shift 2 ;;
	-h|--help) usage ;;
	-*) echo "check_broken_kvm.sh: unknown option '$1'" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || set -- "$top"/lib/tests/broken-kvm/*.patch
for p in "$@"; do
	[ -f "$p" ] || { echo "check_broken_kvm.sh: no such patch '$p'" >&2; exit 2; }
	grep -qE '^Expect-(fail|pass): ' "$p" || {
		echo "check_broken_kvm.sh: $p has no Expect-fail:/Expect-pass: lines" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/broken-kvm.XXXXXX") || exit 2
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

for p in "$@"; do
	name=$(basename "$p" .patch)
	sed -n -E 's/^Expect-(fail|pass): ([^ ]+) ?(.*)$/\1 \2 \3/p' "$p" >"$tmp/expect"
	mapfile -t cases < <(cut -d' ' -f2 "$tmp/expect")
	echo "# $name: ${#cases[@]} cases in a $kernel VM with KVM rebuilt with $(basename "$p")"
	start=$(date +%s)
	args=(--kernel "$kernel" --patches "$p" --results "$results/$name")
	[ -z "$suite" ] || args+=(--suite "$suite")
	"$top/scripts/vm/vm-run" "${args[@]}" "${cases[@]}" >"$tmp/run.out" 2>&1
	rc=$?
	echo "# $name: vm-run exit $rc in $(($(date +%s) - start)) s"
	# vm-run names a patched run's files after the series' hash: the newest.
	ktap=
	for f in "$results/$name/vm-$kernel-patched"*.ktap; do
		[ -s "$f" ] || continue
		{ [ -z "$ktap" ] || [ "$f" -nt "$ktap" ]; } && ktap=$f
	done
	if [ "$rc" -eq 2 ] || [ -z "$ktap" ]; then
		result fail "$name: the VM ran the cases" "vm-run exit $rc; its last lines:" \
			"$(tail -n 15 "$tmp/run.out" | sed 's/^/    /')"
		continue
	fi
	split_ktap <"$ktap"
	while read -r want id regex; do
		f=$(grep -lx -- "$id" "$tmp"/case/* 2>/dev/null | head -n 1)
		what="$name: $id $( [ "$want" = fail ] && echo fails || echo passes )"
		if [ -z "$f" ]; then
			result fail "$what" "no result for $id in $ktap"
			continue
		fi
		status=$(head -n 1 "$f")
		case $want/$status in
		*/skip\ *) result skip "$what" "${status#skip }" ;;
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
	done <"$tmp/expect"
done
echo "1..$tap_n"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
