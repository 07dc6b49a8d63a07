#!/bin/bash
# scripts/vm/python3-direct: a python3 that is a shim is looked up once, and
# the interpreter it chose is run directly from then on; a python3 that is
# the interpreter is left alone.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=../vm/python3-direct
. "$scripts/vm/python3-direct"

real=$(python3 -c 'import sys; print(sys.executable)')
# A shim as version managers make them: a script that notes each call and
# runs the interpreter.
mkdir -p "$tmp/shims"
printf '#!/bin/sh\necho call >>"%s"\nexec "%s" "$@"\n' "$tmp/shim-calls" "$real" >"$tmp/shims/python3"
chmod +x "$tmp/shims/python3"

(
	PATH=$tmp/shims:$PATH
	python3_direct "$tmp/direct"
	python3 -c 'pass'; python3 -c 'pass'
	echo "$(command -v python3) $(readlink "$tmp/direct/python3")" >"$tmp/after"
)
read -r found target <"$tmp/after"
if [ "$found" = "$tmp/direct/python3" ] && [ "$target" = "$real" ]; then
	pass "behind a shim, python3 is then a link to the interpreter the shim chose"
else
	fail "behind a shim, python3 is then a link to the interpreter the shim chose" "python3 is $found -> $target; the interpreter: $real"
fi
calls=$(wc -l <"$tmp/shim-calls")
if [ "$calls" -eq 1 ]; then
	pass "... the shim ran once (the look-up), not for the two calls after it"
else
	fail "... the shim ran once (the look-up), not for the two calls after it" "it ran $calls times"
fi
(
	PATH=$(dirname "$real"):$PATH
	before=$PATH
	python3_direct "$tmp/direct2"
	[ "$PATH" = "$before" ] && [ ! -e "$tmp/direct2" ] && echo same >"$tmp/after2"
)
if [ -f "$tmp/after2" ]; then
	pass "a python3 that is the interpreter itself is left alone"
else
	fail "a python3 that is the interpreter itself is left alone"
fi
# A python3 that is no script is not started at all: here a program that
# only notes its calls (where vm-shard has put its link on PATH, each VM's
# vm-run looked the interpreter up again through it).
mkdir -p "$tmp/binary"
printf '#include <stdio.h>\n#include <stdlib.h>\nint main(void) { FILE *f = fopen(getenv("CALLS"), "a"); if (f) fputs("call\\n", f); return 1; }\n' >"$tmp/binary/p.c"
${CC:-cc} -o "$tmp/binary/python3" "$tmp/binary/p.c"
(
	PATH=$tmp/binary:$PATH
	CALLS=$tmp/binary-calls python3_direct "$tmp/direct4"
)
if [ ! -e "$tmp/binary-calls" ] && [ ! -e "$tmp/direct4" ]; then
	pass "a python3 that is no script is not started (nothing to look up)"
else
	fail "a python3 that is no script is not started (nothing to look up)" \
		"it ran $(wc -l <"$tmp/binary-calls" 2>/dev/null || echo 0) time(s)"
fi
# The look-up in the background: the same link, and PATH takes it only
# at the end (a shim's answer is not waited for before then).
(
	PATH=$tmp/shims:$PATH
	: >"$tmp/shim-calls"
	python3_direct_begin "$tmp/direct3"
	echo "$(command -v python3)" >"$tmp/during"
	python3_direct_end "$tmp/direct3"
	python3 -c 'pass'
	echo "$(command -v python3) $(readlink "$tmp/direct3/python3")" >"$tmp/after3"
)
read -r during <"$tmp/during"
read -r found target <"$tmp/after3"
calls=$(wc -l <"$tmp/shim-calls")
if [ "$during" = "$tmp/shims/python3" ] && [ "$found" = "$tmp/direct3/python3" ] && [ "$target" = "$real" ] && [ "$calls" -eq 1 ]; then
	pass "looked up in the background, python3 is the shim until the end, then the link (the shim ran once)"
else
	fail "looked up in the background, python3 is the shim until the end, then the link (the shim ran once)" \
		"during: $during; after: $found -> $target; the shim ran $calls times"
fi
done_testing
