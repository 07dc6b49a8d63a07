#!/bin/bash
# The matrix builder on canned KTAP of three kernels (through the same JSON
# that scripts/runner/ktap-results writes for dashboards): one failed with
# results, one passed, one left no KTAP at all.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

m=$data/matrix
# The matrix is built from the JSON a run's KTAP gives dashboards.
for k in bookworm sid; do
	"$scripts/runner/ktap-results" --json "$tmp/$k.json" "$m/$k.ktap"
done
expect "matrix builds from three kernels" 0 "$scripts/vm/matrix" --md "$tmp/m.md" --json "$tmp/m.json" \
	"bookworm:6.1.0-50-amd64:FAIL:$tmp/bookworm.json" "sid:7.2.13+deb14-amd64:PASS:$tmp/sid.json" \
	"trixie:unknown:FAIL:$tmp/none.json" ::
same "markdown: cases by kernel, skip and failure reasons, '-' where a kernel has no row" \
	"$m/expected.md" "$tmp/m.md"
same "JSON: the same content" "$m/expected.json" "$tmp/m.json"
if command -v python3 >/dev/null; then
	expect "the JSON parses" 0 python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$tmp/m.json" ::
fi
expect "an entry without its four fields is refused" 2 "$scripts/vm/matrix" --md "$tmp/x.md" \
	--json "$tmp/x.json" "sid:PASS:$tmp/sid.json" :: '^matrix: bad entry'
done_testing
