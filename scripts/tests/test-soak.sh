#!/bin/bash
# scripts/vm/soak's failure rates, from canned runs: two suite runs in which one
# case failed once and one skipped once, and a negative-control run.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

suite_run() {  # suite_run DIR RESULT-OF-CASE-2 RESULT-OF-CASE-3
	mkdir -p "$1"
	cat >"$1/vm-sid.ktap" <<KTAP
KTAP version 1
1..1
# x86_64/kick (time limit 490s)
    KTAP version 1
    1..3
    ok 1 a signal ends KVM_RUN
    $2 2 a kick storm keeps every vCPU moving
    $3 3 the proposed ioctl kicks all
ok 1 x86_64/kick # 3s
1 passed, 0 failed, 0 skipped
KTAP
}
suite_run "$tmp/soak/suite-1" "ok" "ok"
suite_run "$tmp/soak/suite-2" "not ok" "ok"
sed -i 's/^    ok 3 the proposed ioctl kicks all$/    ok 3 the proposed ioctl kicks all # SKIP not merged/' "$tmp/soak/suite-2/vm-sid.ktap"
mkdir -p "$tmp/soak/controls-1"
printf 'TAP version 13\n1..1\nok 1 x86_64/kick:stress --negative-control 10 (stall)\n# 3s: made no progress\n' \
	>"$tmp/soak/controls-1/vm-sid-check_negative_controls.ktap"

expect "a case that failed in one of two runs is listed at 50% and fails the soak" 1 \
	"$scripts/vm/soak" --rates "$tmp/soak" :: \
	'^# 3 runs read, 4 cases and control rows$' \
	'^#   1/2 \(50%\)  x86_64/kick: a kick storm keeps every vCPU moving$' \
	'^#   1/2 \(50%\)  x86_64/kick: the proposed ioctl kicks all$' \
	'^3 passed, 1 failed, 0 skipped$'
suite_run "$tmp/clean/suite-1" "ok" "ok"
expect "no failure in any run: exit 0" 0 "$scripts/vm/soak" --rates "$tmp/clean" :: \
	'^# no case failed in any run$' '^3 passed, 0 failed, 0 skipped$'
expect "bad usage: one line, exit 2" 2 "$scripts/vm/soak" --runs many :: "^soak: --runs 'many': a number$"
mkdir -p "$tmp/empty"
expect "a folder with no runs is an error" 2 "$scripts/vm/soak" --rates "$tmp/empty" :: '^soak: no KTAP files below'
done_testing
