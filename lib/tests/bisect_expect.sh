# shellcheck shell=bash
# The bisect tests' checks (sourced): one step on a commit, and a whole
# git bisect run. The test defines step [OPTION...], bisect-step with its
# fakes on the checked-out commit.
bisect_step=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/bisect/bisect-step

# expect_step COMMIT CODE WHAT [OPTION...] [:: ERE]: the step on COMMIT exits
# CODE, and with ERE one of its messages matches it.
expect_step() {
	local commit=$1 code=$2 what=$3 rc=0 opts=() out
	shift 3
	while [ $# -gt 0 ] && [ "$1" != :: ]; do opts+=("$1"); shift; done
	[ $# -eq 0 ] || shift
	git checkout -q "$commit"
	out=$(step "${opts[@]}" 2>&1 >/dev/null) || rc=$?
	if [ "$rc" -ne "$code" ] || { [ $# -gt 0 ] && ! grep -qE -e "$1" <<<"$out"; }; then
		echo "not ok - $what: exit $rc, expected $code${1:+, and a line matching /$1/}"; echo "$out"; exit 1
	fi
	echo "ok - $what: exit $code"
}

# expect_bisect_finds WHAT BAD GOOD FIRST_BAD STEP_ARGS...: git bisect run
# of bisect-step STEP_ARGS... between BAD and GOOD names FIRST_BAD.
expect_bisect_finds() {
	local what=$1 bad=$2 good=$3 want=$4 out
	shift 4
	git checkout -q "$bad"
	git bisect start "$bad" "$good" >/dev/null
	out=$(git bisect run "$bisect_step" "$@" 2>&1) || true
	git bisect reset >/dev/null 2>&1 || true
	if ! grep -q "^${want}[0-9a-f]* is the first bad commit" <<<"$out"; then
		echo "not ok - $what: it did not find $want:"; echo "$out"; exit 1
	fi
	echo "ok - $what ($want)"
}
