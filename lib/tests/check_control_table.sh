#!/bin/sh
# The negative-control checker (check_negative_controls.sh) on a made-up
# binary, whose cases and controls behave as each of the checker's
# verdicts needs: a row passes only when its control makes the case fail
# with the named diagnostic and exit status 1; it skips when the host cannot
# show it (the case skips without the control, or a probe is not met); it
# fails when the control changes nothing, the diagnostic or the exit status
# is wrong, the case fails without the control, or the declaration is bad.
# No KVM needed. POSIX sh.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/control_table.XXXXXX"); trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/suite/x86_64"
echo "x86_64:fake" >"$tmp/suite/kselftest-list.txt"
cat >"$tmp/suite/x86_64/fake" <<'FAKE'
#!/bin/sh
# A test binary's command line, as the checker uses it.
case " $* " in *" --list-controls "*)
	cat <<'LIST'
probe quirky | x86_64/fake | quirky_case | - | pass-without ^# quirk
probe absent | x86_64/fake | absent_case | - | skip feature [a-z]+ is absent
probe present | x86_64/fake | good | - | skip feature [a-z]+ is absent
good | 1 | - | passes | the marker is dropped | marker dropped at step [0-9]+
insensitive | 2 | - | passes | a control that changes nothing | never printed
wrong_diagnostic | 3 | - | passes | the diagnostic is another | marker dropped
wrong_exit | 4 | - | passes | the binary exits 2 | marker dropped
skipper | 5 | - | passes | the case skips without it | marker dropped
failer | 6 | - | passes | the case fails without it | marker dropped
good | 7 | --rounds 3 | passes quirky | a host with a quirk | marker dropped
good | 8 | - | passes absent | a host without the feature | marker dropped at step [0-9]+
good | 9 | - | present | a host with the feature | marker dropped
good | 10 | - | nosuch | an unknown requirement | marker dropped
good | 11 | - | passes |
LIST
	exit 0 ;;
esac
case " $* " in *" --time-limit "*) echo 10; exit 0 ;; esac
case_= control=0
while [ $# -gt 0 ]; do
	case $1 in
	-t) case_=$2; shift 2 ;;
	--negative-control) control=$2; shift 2 ;;
	*) shift ;;
	esac
done
echo "KTAP version 1"
echo "1..1"
result() { echo "$1 1 $case_${2:+ # SKIP $2}"; }
case $case_/$control in
good/0|insensitive/*|wrong_diagnostic/0|wrong_exit/0) result ok ;;
good/*|wrong_diagnostic/3|wrong_exit/4) ;;
absent_case/0) result ok "feature bar is absent"; exit 0 ;;
quirky_case/0) echo "# quirk: interrupts delivered twice"; result ok; exit 0 ;;
skipper/0) result ok "feature foo is absent"; exit 0 ;;
failer/0) echo "# a bug"; result "not ok"; exit 1 ;;
*) echo "# no such case/control"; exit 2 ;;
esac
case $case_/$control in
good/*) echo "# marker dropped at step 4"; result "not ok"; exit 1 ;;
wrong_diagnostic/*) echo "# something else"; result "not ok"; exit 1 ;;
wrong_exit/*) echo "# marker dropped"; result "not ok"; exit 2 ;;
esac
exit 0
FAKE
chmod +x "$tmp/suite/x86_64/fake"

KTEST_TIME_SCALE=1 "$here/check_negative_controls.sh" "$tmp/suite" >"$tmp/out" 2>&1
echo $? >"$tmp/rc"

# row N VERDICT TEXT: row N is VERDICT ("ok", "not ok" or "skip") and its
# lines (the result line and the "#" lines after it) have TEXT.
row() {
	awk -v n="$1" '
		$0 ~ "^(not )?ok " n " " { p = 1; print; next }
		/^(not )?ok [0-9]+ / { p = 0 }
		p && /^#/' "$tmp/out" >"$tmp/row"
	case $2 in
	skip) grep -q "^ok $1 .* # SKIP " "$tmp/row" ;;
	ok) grep -q "^ok $1 " "$tmp/row" && ! grep -q " # SKIP " "$tmp/row" ;;
	*) grep -q "^not ok $1 " "$tmp/row" ;;
	esac && grep -qF -- "$3" "$tmp/row"
}
check "a control that makes its case fail with the diagnostic passes, saying it" \
	row 1 ok "s: marker dropped at step 4"
check "a control that changes nothing fails" row 2 "not ok" "the control did NOT make the case fail"
check "a wrong diagnostic fails, naming the regex" row 3 "not ok" "no diagnostic matches /marker dropped/"
check "an exit status other than 1 fails" row 4 "not ok" "the binary exited 2 instead of 1"
check "a case that skips without its control skips the row, with its reason" \
	row 5 skip "the case skips without the control: feature foo is absent"
check "a case that fails without its control fails the row" \
	row 6 "not ok" "the case fails without the control too, so the control proves nothing"
check "... showing that run" row 6 "not ok" "#   # a bug"
check "a pass-without probe whose diagnostic shows skips the row, quoting it" \
	row 7 skip "but it passes, printing: # quirk: interrupts delivered twice"
check "a skip probe that is met lets the row run" row 8 ok "marker dropped at step 4"
check "a skip probe that is not met skips the row" row 9 skip "needs present (x86_64/fake:good skips with"
check "an unknown requirement fails the row" row 10 "not ok" "unknown requirement 'nosuch'"
check "a declaration without its regex fails as malformed" row 11 "not ok" "malformed control declaration"
check "the counts: 2 passed, 6 failed, 3 skipped" grep -qx "2 passed, 6 failed, 3 skipped" "$tmp/out"
check "... and exit status 1" [ "$(cat "$tmp/rc")" = 1 ]
[ "$tap_fail" = 0 ] || sed 's/^/# /' "$tmp/out"
done_testing
