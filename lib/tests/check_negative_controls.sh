#!/bin/sh
# shellcheck disable=SC2154 # split_to, trim_to and uptime_to assign their variables through eval
# The test of the tests: every negative control a binary declares
# (TEST_CONTROL in include/ktest.h, listed by --list-controls) must make its
# case fail, with the diagnostic it names.
#
#   check_negative_controls.sh [DIR] [collection/binary...]
#
# DIR holds the test binaries as collection/binary (a build directory or an
# installed suite; default: this script's directory when it is an installed
# suite, else ../../build). A selection limits the rows to those binaries.
#
# For each control whose requirements this host meets (probed by running
# cases without a control, TEST_CONTROL_PROBE) the targeted case is run alone with
# --negative-control N; it passes when the case is reported "not ok", a
# diagnostic line matches the row's regex and the binary exits 1. Rows the
# host cannot show are reported as skipped with the reason, never as passed.
# Output: TAP, then "N passed, N failed, N skipped". Exit status: 0 when no
# row failed, 1 otherwise, 2 on bad usage or a malformed declaration.
#
# POSIX sh: runs from a build tree and inside the VM runner's busybox.
set -u
here=$(cd "$(dirname "$0")" && pwd)
usage() { echo "usage: check_negative_controls.sh [DIR] [collection/binary...]" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	-h|--help) usage ;;
	-*) echo "check_negative_controls.sh: unknown option '$1'" >&2; exit 2 ;;
	*) break ;;
	esac
done
dir=
# A directory is DIR; a selection names binaries (files).
if [ $# -gt 0 ] && [ -d "$1" ]; then dir=$1; shift; fi
if [ -z "$dir" ]; then
	if [ -f "$here/kselftest-list.txt" ]; then dir=$here; else dir=$here/../../build; fi
fi
[ -d "$dir" ] || { echo "check_negative_controls.sh: no test directory '$dir'" >&2; exit 2; }
# The VM runner passes the suite's "-- ARGS" along: the rows bring their own.
selection=" "
while [ $# -gt 0 ] && [ "$1" != -- ]; do selection="$selection$1 "; shift; done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/negctl.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT INT TERM
# The host's slowness, measured once for every binary run below (a runner
# such as check_kvm.sh may have measured it already).
if [ -z "${KTEST_TIME_SCALE:-}" ] && [ -c /dev/kvm ] &&
   scale=$("$dir/x86_64/smoke" --time-scale 2>/dev/null); then
	KTEST_TIME_SCALE=$scale
	export KTEST_TIME_SCALE
fi

# The table, from the binaries' own declarations:
#   probe NAME | BINARY | CASE | ARGS | EXPECT
#   BINARY | CASE | CONTROL | ARGS | NEEDS | WHAT | REGEX
table=$tmp/table
: >"$table"
if [ -f "$dir/kselftest-list.txt" ]; then
	binaries=$(sed -e 's#:#/#' "$dir/kselftest-list.txt")
else
	binaries=
	for c in x86_64 hyperv pi exits; do
		for b in "$dir/$c"/*; do
			[ -f "$b" ] && [ -x "$b" ] && binaries="$binaries $c/${b##*/}"
		done
	done
fi
for b in $binaries; do
	if ! "$dir/$b" --list-controls >"$tmp/list" 2>"$tmp/list.err"; then
		echo "check_negative_controls.sh: $b --list-controls failed: $(cat "$tmp/list.err")" >&2
		exit 2
	fi
	grep '^probe ' "$tmp/list" >>"$table"
	grep -v '^probe ' "$tmp/list" | sed "s#^#$b | #" >>"$table"
done

# The table is parsed without processes: in an emulated VM each one costs
# 10-40 ms, and the rows' fields once took a third of the table's time.
# trim_to VAR TEXT: TEXT without its leading and trailing white space, into VAR.
trim_to() {
	_t=$2
	_t=${_t#"${_t%%[![:space:]]*}"}
	_t=${_t%"${_t##*[![:space:]]}"}
	eval "$1=\$_t"
}
# split_to TEXT VAR...: TEXT's "|"-separated fields, trimmed, into the VARs;
# the last VAR takes the rest of the line, "|" included (a regex's).
split_to() {
	_line=$1
	shift
	for _var; do
		if [ $# -gt 1 ]; then
			case $_line in *"|"*) _field=${_line%%|*} _line=${_line#*|} ;; *) _field=$_line _line= ;; esac
		else
			_field=$_line
		fi
		trim_to "$_var" "$_field"
		shift
	done
}
# uptime_to VAR: whole seconds since boot, from /proc/uptime (no process).
uptime_to() { read -r _up _ </proc/uptime; eval "$1=\${_up%%.*}"; }
selected() { [ "$selection" = " " ] || case $selection in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# The helpers below give their results in variables, not on stdout: a
# command substitution forks the shell, and each process costs 10-40 ms in
# an emulated VM, where the rows' forks and greps once took a tenth of the
# table's time. Their own variables start with "_": the rows' must survive.

# Cases run bounded by their binary's own time limit, plus a hard kill.
# run_case OUT BINARY CASE CONTROL ARGS -> binary's exit status; output in OUT
run_case() {
	_out=$1 _bin=$dir/$2 _nc=$4 _args=$5
	if [ ! -x "$_bin" ]; then echo "# no such test binary: $_bin" >"$_out"; return 127; fi
	set -- -t "$3"
	[ "$_nc" = 0 ] || set -- "$@" --negative-control "$_nc"
	# shellcheck disable=SC2086 # ARGS are separate words on purpose
	_limit=$("$_bin" "$@" $_args --time-limit 2>/dev/null) || _limit=300
	# shellcheck disable=SC2086
	timeout -s KILL "$_limit" "$_bin" "$@" $_args >"$_out" 2>&1
}

# case_result_to VAR OUT: the result line of the single case run in OUT,
# as "pass", "fail" or "skip REASON". A binary that skips as a whole (no
# usable /dev/kvm: "1..0 # SKIP REASON") skips the case with that reason.
case_result_to() {
	_rl=$(grep -m 1 -E '^(not ok|ok) 1 |^1\.\.0 # SKIP ' "$2")
	case $_rl in
	"1..0 # SKIP "*) _res="skip ${_rl#1..0 # SKIP }" ;;
	"not ok 1 "*) _res=fail ;;
	*" # SKIP "*) _res="skip ${_rl#* # SKIP }" ;;
	"ok 1 "*) _res=pass ;;
	*) _res="fail (no result line)" ;;
	esac
	eval "$1=\$_res"
}

# key_to VAR TEXT: TEXT with every character but letters, digits and "_"
# made "-" (a file name), into VAR.
key_to() {
	_rest=$2 _key=
	while [ -n "$_rest" ]; do
		_c=${_rest%"${_rest#?}"}
		_rest=${_rest#?}
		case $_c in [A-Za-z0-9_]) _key=$_key$_c ;; *) _key=$_key- ;; esac
	done
	eval "$1=\$_key"
}

# baseline_to VAR BINARY CASE ARGS: the result of the case without a
# control (as case_result_to gives it), run once per binary/case/args; its
# output is in $base_out.
baseline_to() {
	key_to _bkey "$2_$3_$4"
	base_out=$tmp/base.$_bkey.out
	if [ ! -f "$tmp/base.$_bkey" ]; then
		run_case "$base_out" "$2" "$3" 0 "$4"
		case_result_to _bres "$base_out"
		printf '%s\n' "$_bres" >"$tmp/base.$_bkey"
	fi
	read -r _bres <"$tmp/base.$_bkey"
	eval "$1=\$_bres"
}

# probe_def_to VAR NAME: "BINARY | CASE | ARGS | EXPECT" of the first probe
# NAME of the table, or nothing.
probe_def_to() {
	_def=
	while IFS= read -r _p; do
		case $_p in probe[[:space:]]*) ;; *) continue ;; esac
		split_to "${_p#probe}" _pname _pdef
		[ "$_pname" = "$2" ] && { _def=$_pdef; break; }
	done <"$table"
	eval "$1=\$_def"
}

describe() {  # a case result in words
	case $1 in pass) echo passes ;; skip*) echo "skips: ${1#skip }" ;; fail*) echo "fails" ;; *) echo "$1" ;; esac
}

# need WORD BINARY CASE ARGS: status 0 when met, else why not in $why;
# status 2 when the row must fail (its own case fails without the control:
# that run's output is then in $why_out).
need() {
	why= why_out=
	case $1 in
	any) return 0 ;;
	passes)
		baseline_to _r "$2" "$3" "$4"
		case $_r in
		pass) return 0 ;;
		skip*) why="the case skips without the control: ${_r#skip }"; return 1 ;;
		*) why="the case fails without the control too, so the control proves nothing; that run:"
		   why_out=$base_out; return 2 ;;
		esac ;;
	esac
	probe_def_to _def "$1"
	[ -n "$_def" ] || { why="unknown requirement '$1' (no TEST_CONTROL_PROBE of that name)"; return 2; }
	split_to "$_def" _pbin _pcase _pargs _pwant
	[ "$_pargs" = - ] && _pargs=
	baseline_to _r "$_pbin" "$_pcase" "$_pargs"
	case $_pwant in
	pass)
		[ "$_r" = pass ] && return 0
		why="needs $1 ($_pbin:$_pcase passes), but it $(describe "$_r")"; return 1 ;;
	pass-without\ *)
		_re=${_pwant#pass-without }
		_seen=$(grep -E '^#' "$base_out" | grep -m 1 -E -- "$_re")
		[ "$_r" = pass ] && [ -z "$_seen" ] && return 0
		[ "$_r" = pass ] && _r="passes, printing: $_seen"
		why="needs $1 ($_pbin:$_pcase passes without a diagnostic matching /$_re/), but it $(describe "$_r")"; return 1 ;;
	skip\ *)
		_re=${_pwant#skip }
		case $_r in
		skip*) if printf '%s\n' "${_r#skip }" | grep -Eq -- "$_re"; then return 0; fi ;;
		esac
		why="needs $1 ($_pbin:$_pcase skips with /$_re/), but it $(describe "$_r")"; return 1 ;;
	*) why="probe $1: expected 'pass' or 'skip REGEX', got '$_pwant'"; return 2 ;;
	esac
}

# ---- the rows ----
grep -Ev '^[[:space:]]*(#|$|probe[[:space:]])' "$table" >"$tmp/rows"
: >"$tmp/selected"
while IFS= read -r row; do
	split_to "$row" bin _rest
	selected "$bin" && printf '%s\n' "$row" >>"$tmp/selected"
done <"$tmp/rows"
total=$(wc -l <"$tmp/selected" | tr -d ' ')

echo "TAP version 13"
echo "# host: $(uname -n), kernel: $(uname -r), controls declared by the binaries in $dir"
echo "1..$total"
n=0; passed=0; failed=0; skipped=0; start_all=$(date +%s)
while IFS= read -r row; do
	n=$((n + 1))
	split_to "$row" bin case_ nc args needs what re
	[ "$args" = - ] && args=
	name="$bin:$case_ --negative-control $nc${args:+ $args} ($what)"
	case $nc in ''|*[!0-9]*) nc=bad ;; esac
	if [ -z "$case_" ] || [ "$nc" = bad ] || [ -z "$needs" ] || [ -z "$re" ]; then
		echo "not ok $n $name"
		echo "# malformed control declaration: $row"
		failed=$((failed + 1)); continue
	fi

	why=; verdict=
	for word in $needs; do
		need "$word" "$bin" "$case_" "$args"
		case $? in 0) ;; 1) verdict=skip; break ;; *) verdict=fail; break ;; esac
	done
	if [ "$verdict" = skip ]; then
		echo "ok $n $name # SKIP $why"; skipped=$((skipped + 1)); continue
	elif [ "$verdict" = fail ]; then
		echo "not ok $n $name"; echo "# $why"
		[ -z "$why_out" ] || sed 's/^/#   /' "$why_out"
		failed=$((failed + 1)); continue
	fi

	uptime_to t0
	run_case "$tmp/out" "$bin" "$case_" "$nc" "$args"
	rc=$?
	uptime_to t1
	secs=$((t1 - t0))
	case_result_to r "$tmp/out"
	problem=
	case $r in
	fail*) ;;
	skip*)
		# "any" host means any host with a usable KVM: a binary that
		# skips as a whole cannot show anything.
		if [ "$needs" != any ] || grep -q '^1\.\.0 # SKIP ' "$tmp/out"; then
			echo "ok $n $name # SKIP the control run skips: ${r#skip }"
			skipped=$((skipped + 1)); continue
		fi
		problem="the control run skipped (${r#skip }), but it is declared observable on any host" ;;
	pass) problem="the control did NOT make the case fail" ;;
	esac
	matched=
	[ -n "$problem" ] || matched=$(grep -E '^#' "$tmp/out" | grep -m 1 -E -- "$re")
	if [ -z "$problem" ] && [ -z "$matched" ]; then
		problem="the case failed, but no diagnostic matches /$re/"
	fi
	if [ -z "$problem" ] && [ "$rc" -ne 1 ]; then
		problem="the case failed, but the binary exited $rc instead of 1"
	fi
	if [ -z "$problem" ]; then
		echo "ok $n $name"
		echo "# ${secs}s: ${matched#"# "}"
		passed=$((passed + 1))
	else
		echo "not ok $n $name"
		echo "# $problem; the run (exit $rc, ${secs}s):"
		sed 's/^/#   /' "$tmp/out"
		failed=$((failed + 1))
	fi
done <"$tmp/selected"
echo "# $total rows in $(($(date +%s) - start_all)) s"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
