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
got = [(r["binary"], r["case"], r["result"], r["reason"], r["duration_ms"]) for r in doc["results"]]
want = [
    ("x86_64/smoke", "a vCPU starts in 64-bit mode", "pass", "", 12),
    ("x86_64/smoke", "sync messages carry their values", "fail",
     'lib/run.c:181: vCPU 0: expected <GUEST_DONE> & "more"', 5),
    ("x86_64/smoke", "a hung vCPU", "fail", "TIMEOUT 2 s", None),
    ("hyperv/tlb_flush", "a flush reaches the target", "skip", "KVM_CAP_HYPERV not supported", 3),
    ("hyperv/tlb_flush", "the ring overflows safely", "pass", "", 250),
    ("pi/wakeup", "(all)", "skip", "cannot open /dev/kvm: Permission denied", None),
]
assert got == want, "JSON records:\n%s\nexpected:\n%s" % (got, want)
root = ET.parse(sys.argv[2]).getroot()
suites = root.findall("testsuite")
assert [s.get("name") for s in suites] == ["x86_64/smoke", "hyperv/tlb_flush", "pi/wakeup"]
smoke = suites[0]
assert smoke.get("failures") == "2" and smoke.get("tests") == "3"
fail = smoke.findall("testcase")[1].find("failure")
assert fail is not None and 'expected <GUEST_DONE> & "more"' in fail.get("message")
assert suites[1].findall("testcase")[0].find("skipped").get("message") == "KVM_CAP_HYPERV not supported"
print("round trip ok: %d records" % len(got))
PY
# A single binary's own output converts too.
printf 'KTAP version 1\n1..1\nok 1 alone\n' |
	"$top/scripts/runner/ktap-results" --binary x86_64/one --json "$tmp/one.json"
grep -q '"binary": "x86_64/one"' "$tmp/one.json"
