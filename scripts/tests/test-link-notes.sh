#!/bin/bash
# scripts/link-notes drops libnuma's getaddrinfo note from a static link and
# nothing else; the link's exit status passes through.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

note_where="/usr/bin/ld: /usr/lib/x86_64-linux-gnu/libnuma.a(affinity.o): in function \`affinity_ip':"
note_what="(.text+0x7b5): warning: Using 'getaddrinfo' in statically linked applications requires at runtime the shared libraries from the glibc version used for linking"
other_where="/usr/bin/ld: x.o: in function \`main':"
other_what="x.c:(.text+0x1): warning: the \`gets' function is dangerous and should not be used."
link() {  # link STATUS LINE...: a "linker" printing LINEs on stderr
	local rc=$1; shift
	"$scripts/link-notes" sh -c 'rc=$1; shift; echo "to stdout"; printf "%s\n" "$@" >&2; exit "$rc"' sh "$rc" "$@"
}
link 0 "$note_where" "$note_what" "$note_where" "$note_what" >"$tmp/stdout" 2>"$tmp/stderr"
if [ ! -s "$tmp/stderr" ] && [ "$(cat "$tmp/stdout")" = "to stdout" ]; then
	pass "the libnuma getaddrinfo note is dropped, stdout passes"
else
	fail "the libnuma getaddrinfo note is dropped, stdout passes" "$(cat "$tmp/stdout" "$tmp/stderr")"
fi
link 0 "$other_where" "$other_what" "$note_where" "warning: something else" "$note_where" >/dev/null 2>"$tmp/stderr"
printf '%s\n' "$other_where" "$other_what" "$note_where" "warning: something else" "$note_where" >"$tmp/want"
same "other warnings, and libnuma's lines before another message, pass" "$tmp/want" "$tmp/stderr"
expect "a failed link keeps its exit status" 1 link 1 "ld: cannot find -lnuma" :: '^ld: cannot find -lnuma$'
done_testing
