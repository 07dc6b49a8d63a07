#!/bin/sh
# Round trip of scripts/runner/ktap-results: known KTAP in, JUnit XML that xmllint
# validates against the usual JUnit shape, and JSON that a JSON parser
# reads back with the expected records, out.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
data=$top/lib/tests/data
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$top/scripts/runner/ktap-results" --junit "$tmp/r.xml" --json "$tmp/r.json" "$data/sample.ktap"
xmllint --noout --schema "$data/junit.xsd" "$tmp/r.xml"
python3 - "$tmp/r.json" "$tmp/r.xml" <<'PY'
import json, sys, xml.etree.ElementTree as ET
doc = json.load(open(sys.argv[1]))
assert doc["host"] == "ci-box" and doc["kernel"] == "7.2.13+deb14-amd64", doc
got = [(r["binary"], r["id"], r["case"], r["result"], r["reason"], r["duration_ms"])
       for r in doc["results"]]
nm = "KVM_GUESTDBG_EXIT_USERSPACE not merged"
want = [
    ("x86_64/smoke", "entry", "a vCPU starts in 64-bit mode", "pass", "", 12),
    ("x86_64/smoke", "sync_values", "sync messages carry their values", "fail",
     'lib/run.c:181: vCPU 0: expected <GUEST_DONE> & "more"', 5),
    ("x86_64/smoke", "hang", "a hung vCPU", "fail", "TIMEOUT 2 s", None),
    ("hyperv/tlb_flush", "target_slow", "a flush reaches the target", "skip",
     "KVM_CAP_HYPERV not supported", 3),
    ("hyperv/tlb_flush", "ring_overflow", "the ring overflows safely", "pass", "", 250),
    ("pi/wakeup", None, "(all)", "skip", "cannot open /dev/kvm: Permission denied", None),
    ("exits/guest_debug_exit", "exit_userspace", "a debug exit reaches userspace", "skip", nm, None),
    ("exits/guest_debug_exit", "exit_userspace_l2", "a debug exit from L2 reaches userspace",
     "skip", nm, None),
]
assert got == want, "JSON records:\n%s\nexpected:\n%s" % (got, want)
# A skipped binary says why: its "1..0 # SKIP" reason, else its cases' one reason.
runs = [(b["binary"], b["result"], b["reason"]) for b in doc["binaries"]]
assert runs == [("x86_64/smoke", "fail", "exit=1"), ("hyperv/tlb_flush", "pass", ""),
                ("pi/wakeup", "skip", "cannot open /dev/kvm: Permission denied"),
                ("exits/guest_debug_exit", "skip", nm)], runs
root = ET.parse(sys.argv[2]).getroot()
suites = root.findall("testsuite")
assert [s.get("name") for s in suites] == ["x86_64/smoke", "hyperv/tlb_flush", "pi/wakeup",
                                          "exits/guest_debug_exit"]
smoke = suites[0]
assert smoke.get("failures") == "2" and smoke.get("tests") == "3"
# classname is the binary, name the case id, the sentence its description.
tc = [(c.get("classname"), c.get("name"),
       [p.get("value") for p in c.findall("properties/property[@name='description']")])
      for c in smoke.findall("testcase")]
assert tc == [("x86_64/smoke", "entry", ["a vCPU starts in 64-bit mode"]),
              ("x86_64/smoke", "sync_values", ["sync messages carry their values"]),
              ("x86_64/smoke", "hang", ["a hung vCPU"])], tc
fail = smoke.findall("testcase")[1].find("failure")
assert fail is not None and 'expected <GUEST_DONE> & "more"' in fail.get("message")
assert suites[1].findall("testcase")[0].find("skipped").get("message") == "KVM_CAP_HYPERV not supported"
print("round trip ok: %d records" % len(got))
PY
# A single binary's own output converts too.
printf 'KTAP version 1\n1..1\nok 1 alone\n' |
	"$top/scripts/runner/ktap-results" --binary x86_64/one --json "$tmp/one.json"
grep -q '"binary": "x86_64/one"' "$tmp/one.json"
# Without "# case:" lines (older KTAP) the sentence stands in for the id in
# JUnit, and the JSON's id is null.
printf 'KTAP version 1\n1..1\nok 1 alone\n' |
	"$top/scripts/runner/ktap-results" --binary x86_64/one --junit "$tmp/one.xml" --json "$tmp/one.json"
grep -q 'classname="x86_64/one" name="alone"' "$tmp/one.xml"
grep -q '"id": null' "$tmp/one.json"
# The harness's own output (a binary that needs no KVM) carries the id -t
# takes before each result, in a stream prove accepts, and converts with it.
if [ -n "${1:-}" ]; then
	unit=$1/lib/tests/unit
	"$unit" -t kernel_version -t rng_replays >"$tmp/unit.ktap"
	prove --exec cat "$tmp/unit.ktap" >/dev/null
	"$top/scripts/runner/ktap-results" --binary lib/unit --json "$tmp/unit.json" "$tmp/unit.ktap"
	python3 - "$tmp/unit.json" "$unit" <<'PY'
import json, subprocess, sys
listed = {l.split("\t")[2]: l.split("\t")[0]
          for l in subprocess.check_output([sys.argv[2], "-l"], text=True).splitlines()}
got = [(r["id"], r["case"]) for r in json.load(open(sys.argv[1]))["results"]]
assert [i for i, _ in got] == ["kernel_version", "rng_replays"], got
assert all(listed[c] == i for i, c in got), (got, listed)
PY
	# The harness's stress-work lines, read back: in the JSON, and added up.
	"$unit" -t stress_work_counted -t stress_work_timed >"$tmp/work.ktap"
	"$top/scripts/runner/ktap-results" --binary lib/unit --json "$tmp/work.json" --stress-work \
		"$tmp/work.ktap" >"$tmp/work.txt"
	python3 - "$tmp/work.json" <<'PY'
import json, sys
got = [r["stress_work"] for r in json.load(open(sys.argv[1]))["results"]]
assert got == [{"done": 4400, "count": 12000, "unit": "wakeups"},
               {"done": 345, "count": None, "unit": "flushes"}], got
PY
	printf '%s\n' "lib/unit: 4400 of 12000 wakeups (36%) in 1 case; the time bound ended 1 of them first" \
		"lib/unit: 345 flushes in 1 case, bounded by time only" | diff -u - "$tmp/work.txt"
fi
# Stress work added up per binary and unit, in the runner's stream.
printf '%s\n' 'KTAP version 1' '1..2' '# pi/wakeup (time limit 60s)' '    1..3' \
	'    # stress work: 4400 of 12000 wakeups' '    ok 1 a' '    # stress work: 12000 of 12000 wakeups' \
	'    ok 2 b' '    ok 3 c' 'ok 1 pi/wakeup' '# x86_64/kick_storm (time limit 60s)' '    1..1' \
	'    # stress work: 10000 of 10000 kicks' '    ok 1 storm' 'ok 2 x86_64/kick_storm' |
	"$top/scripts/runner/ktap-results" --stress-work >"$tmp/sum.txt"
printf '%s\n' "pi/wakeup: 16400 of 24000 wakeups (68%) in 2 cases; the time bound ended 1 of them first" \
	"x86_64/kick_storm: 10000 of 10000 kicks (100%) in 1 case; every case reached its count" |
	diff -u - "$tmp/sum.txt"
# A binary run in parts (a VM fed from a queue runs pi/wakeup:a, then
# pi/wakeup:b,c): one line, its parts added up.
printf '%s\n' 'KTAP version 1' '# pi/wakeup:a (time limit 60s)' '    1..1' '    # stress work: 4400 of 12000 wakeups' \
	'    ok 1 a' 'ok 1 pi/wakeup:a # 4s' '# x86_64/kick_storm (time limit 60s)' '    1..1' \
	'    # stress work: 10000 of 10000 kicks' '    ok 1 storm' 'ok 2 x86_64/kick_storm # 9s' \
	'# pi/wakeup:b,c (time limit 60s)' '    1..2' '    # stress work: 12000 of 12000 wakeups' '    ok 1 b' \
	'    # stress work: 100 of 12000 wakeups' '    ok 2 c' 'ok 3 pi/wakeup:b,c # 8s' '1..3' |
	"$top/scripts/runner/ktap-results" --stress-work >"$tmp/parts.txt"
printf '%s\n' "pi/wakeup: 16500 of 36000 wakeups (45%) in 3 cases; the time bound ended 2 of them first" \
	"x86_64/kick_storm: 10000 of 10000 kicks (100%) in 1 case; every case reached its count" |
	diff -u - "$tmp/parts.txt"
