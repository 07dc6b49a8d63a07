#!/bin/bash
# mkinitramfs on a made-up modules tree: dependency order from modules.dep
# (not a fixed list), decompression of .xz/.zst/.gz, built-in modules, the
# argument file, and what init needs.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

mods=$tmp/lib/modules/9.9.9-test
mkdir -p "$mods/kernel/arch/x86/kvm" "$mods/kernel/virt/lib" "$mods/kernel/drivers/crypto/ccp" \
	"$mods/kernel/crypto" "$tmp/suite"
# Each "module" is a line of text naming itself, compressed as on some kernel.
echo kvm-amd | zstd -q >"$mods/kernel/arch/x86/kvm/kvm-amd.ko.zst"
echo kvm | xz >"$mods/kernel/arch/x86/kvm/kvm.ko.xz"
echo irqbypass | gzip >"$mods/kernel/virt/lib/irqbypass.ko.gz"
echo ccp >"$mods/kernel/drivers/crypto/ccp/ccp.ko"
echo sha-fake >"$mods/kernel/crypto/sha-fake.ko"
cat >"$mods/modules.dep" <<'DEP'
kernel/arch/x86/kvm/kvm-amd.ko.zst: kernel/drivers/crypto/ccp/ccp.ko kernel/arch/x86/kvm/kvm.ko.xz kernel/virt/lib/irqbypass.ko.gz
kernel/arch/x86/kvm/kvm.ko.xz: kernel/virt/lib/irqbypass.ko.gz
kernel/virt/lib/irqbypass.ko.gz:
kernel/drivers/crypto/ccp/ccp.ko: kernel/crypto/sha-fake.ko
kernel/crypto/sha-fake.ko:
DEP
echo kernel/arch/x86/kvm/kvm-intel.ko >"$mods/modules.builtin"
printf '#!/bin/sh\necho "KTAP version 1"\n' >"$tmp/suite/run_tests.sh"
chmod +x "$tmp/suite/run_tests.sh"

extract() {  # extract INITRD DIR: a gzip'd initramfs unpacked into DIR
	mkdir -p "$2" && (cd "$2" && gzip -dc "$1" | cpio -id --quiet)
}

expect "an initramfs is built" 0 "$scripts/vm/mkinitramfs" --out "$tmp/initrd.gz" \
	--suite "$tmp/suite" --modules "$mods" -- x86_64/smoke -- --duration "5 s" ::
extract "$tmp/initrd.gz" "$tmp/root"
printf '%s\n' irqbypass.ko kvm.ko sha_fake.ko ccp.ko "kvm_amd.ko nested=1" >"$tmp/amd.expected"
same "kvm_amd and everything it needs, dependencies first, nested=1 on kvm_amd" \
	"$tmp/amd.expected" "$tmp/root/lib/modules/amd.list"
if [ -f "$tmp/root/lib/modules/intel.list" ] && [ ! -s "$tmp/root/lib/modules/intel.list" ]; then
	pass "a built-in kvm_intel needs no module"
else
	fail "a built-in kvm_intel needs no module" "$(cat "$tmp/root/lib/modules/intel.list" 2>&1)"
fi
bad=
for m in irqbypass kvm ccp kvm_amd sha_fake; do
	[ "$(cat "$tmp/root/lib/modules/$m.ko" 2>&1)" = "${m//_/-}" ] || bad="$bad $m"
done
if [ -z "$bad" ]; then pass "modules are decompressed (.xz, .zst, .gz, plain)"; else fail "modules are decompressed" "wrong:$bad"; fi
printf '%s\n' x86_64/smoke -- --duration "5 s" >"$tmp/args.expected"
same "the run_tests.sh arguments, one per line, spaces kept" "$tmp/args.expected" "$tmp/root/kvm-regress.args"
missing=
for f in init bin/busybox bin/sh bin/kvm-caps bin/cpu-poke suite/run_tests.sh; do
	[ -x "$tmp/root/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then pass "init, busybox, its helpers and the suite are there"; else fail "init, busybox, its helpers and the suite are there" "missing:$missing"; fi

if [ ! -e "$tmp/root/kvm-regress.run" ]; then pass "without --run init runs run_tests.sh (no /kvm-regress.run)"; else fail "without --run there is no /kvm-regress.run" "$(cat "$tmp/root/kvm-regress.run")"; fi
cp "$tmp/suite/run_tests.sh" "$tmp/suite/other.sh"
expect "--run names another script of the suite" 0 "$scripts/vm/mkinitramfs" --out "$tmp/run.gz" \
	--suite "$tmp/suite" --run other.sh ::
extract "$tmp/run.gz" "$tmp/runroot"
echo other.sh >"$tmp/run.expected"
same "--run is stored in /kvm-regress.run for init" "$tmp/run.expected" "$tmp/runroot/kvm-regress.run"
expect "--uncompressed writes the same files as a plain cpio" 0 "$scripts/vm/mkinitramfs" --uncompressed \
	--out "$tmp/plain.cpio" --suite "$tmp/suite" --run other.sh ::
if ! gzip -t "$tmp/plain.cpio" 2>/dev/null &&
	diff <(cpio -it --quiet <"$tmp/plain.cpio" | sort) <(gzip -dc "$tmp/run.gz" | cpio -it --quiet | sort) >"$tmp/diff"; then
	pass "... not gzip'd, the same list of files"
else
	fail "... not gzip'd, the same list of files" "$(file "$tmp/plain.cpio")" "$(cat "$tmp/diff")"
fi
expect "--run of a script the suite lacks is an error" 1 "$scripts/vm/mkinitramfs" \
	--out "$tmp/x.gz" --suite "$tmp/suite" --run nothere.sh :: "^mkinitramfs: --run 'nothere.sh': no executable"

sed -i '/^kernel\/crypto\/sha-fake.ko:/d' "$mods/modules.dep"
expect "a dependency without its own modules.dep entry is an error" 1 "$scripts/vm/mkinitramfs" \
	--out "$tmp/x.gz" --suite "$tmp/suite" --modules "$mods" :: \
	'^mkinitramfs: modules.dep: kernel/crypto/sha-fake.ko \(needed by kernel/drivers/crypto/ccp/ccp.ko\) has no entry$'
expect "a modules directory without modules.dep is an error" 1 "$scripts/vm/mkinitramfs" \
	--out "$tmp/x.gz" --suite "$tmp/suite" --modules "$tmp" :: '^mkinitramfs: no modules.dep in'
expect "an argument with a newline is refused" 1 "$scripts/vm/mkinitramfs" \
	--out "$tmp/x.gz" --suite "$tmp/suite" -- $'a\nb' :: '^mkinitramfs: arguments with a newline'

# The init's helpers are compiled once per source and compiler, then taken from the
# cache: a "compiler" that gives cc's version but compiles nothing shows it.
printf '#!/bin/sh\n[ "$1" = --version ] && exec cc --version\nexit 1\n' >"$tmp/no-cc"
chmod +x "$tmp/no-cc"
expect "the helpers are compiled when the cache has none" 0 env XDG_CACHE_HOME="$tmp/cache" \
	INITRAMFS_CACHE="$tmp/cache/initramfs" "$scripts/vm/mkinitramfs" --out "$tmp/c1.gz" --suite "$tmp/suite" ::
expect "... and taken from the cache after that: the next build compiles nothing" 0 \
	env XDG_CACHE_HOME="$tmp/cache" INITRAMFS_CACHE="$tmp/cache/initramfs-2" CC="$tmp/no-cc" \
	"$scripts/vm/mkinitramfs" --out "$tmp/c2.gz" --suite "$tmp/suite" ::
same "... the very same helpers" <(gzip -dc "$tmp/c1.gz" | (cd "$tmp" && cpio -i --quiet --to-stdout bin/kvm-caps bin/cpu-poke) | sha256sum) \
	<(gzip -dc "$tmp/c2.gz" | (cd "$tmp" && cpio -i --quiet --to-stdout bin/kvm-caps bin/cpu-poke) | sha256sum)
expect "... and where nothing is cached, a compiler that fails is an error" 1 \
	env XDG_CACHE_HOME="$tmp/cache-empty" INITRAMFS_CACHE="$tmp/cache-empty/initramfs" CC="$tmp/no-cc" "$scripts/vm/mkinitramfs" --out "$tmp/c3.gz" --suite "$tmp/suite" :: \
	'^mkinitramfs: cannot build kvm-caps with .*/no-cc'
# The part every run of a suite shares is built once and kept by content
# (INITRAMFS_CACHE, here one of the test's own, empty).
export INITRAMFS_CACHE=$tmp/kept
kept_parts() { { find "$INITRAMFS_CACHE" -maxdepth 1 -name '*.cpio' 2>/dev/null || true; } | wc -l; }
printf 'int main(void) { return 0; }\n' >"$tmp/tiny.c"
cc -g -O0 -o "$tmp/suite/tiny" "$tmp/tiny.c"
expect "a suite with a binary built with -g" 0 "$scripts/vm/mkinitramfs" --out "$tmp/k1.gz" \
	--suite "$tmp/suite" -- first ::
extract "$tmp/k1.gz" "$tmp/k1"
# (Read whole first: grep -q leaving early would fail readelf's pipe.)
sections=$(readelf -S "$tmp/k1/suite/tiny")
if grep -q '\.symtab' <<<"$sections" && ! grep -q '\.debug_' <<<"$sections"; then
	pass "... goes in without its debug information, its symbol table kept"
else
	fail "... goes in without its debug information, its symbol table kept" "$(grep -E 'debug|symtab' <<<"$sections")"
fi
stray=$(gzip -dc "$tmp/k1.gz" | cpio -it --quiet | grep -vE '^(\.|bin|sbin|usr|proc|sys|dev|tmp|lib|init|suite|kvm-regress\.(args|run))(/|$)' || true)
if [ -z "$stray" ]; then pass "... and nothing else is in it"; else fail "... and nothing else is in it" "$stray"; fi
kept=$(kept_parts)
expect "the same suite again, other arguments" 0 "$scripts/vm/mkinitramfs" --out "$tmp/k2.gz" \
	--suite "$tmp/suite" -- second ::
extract "$tmp/k2.gz" "$tmp/k2"
if [ "$kept" -eq 1 ] && [ "$(kept_parts)" -eq 1 ] &&
	[ "$(cat "$tmp/k2/kvm-regress.args")" = second ] && [ "$(cat "$tmp/k1/kvm-regress.args")" = first ]; then
	pass "... shares the kept part and has its own arguments"
else
	fail "... shares the kept part and has its own arguments" "kept parts: $kept, then $(kept_parts)" \
		"arguments: $(cat "$tmp/k1/kvm-regress.args") / $(cat "$tmp/k2/kvm-regress.args")"
fi
# A changed file of the same size and time: the content is the key.
touch -r "$tmp/suite/run_tests.sh" "$tmp/stamp"
sed -i 's/KTAP version 1/KTAP version 2/' "$tmp/suite/run_tests.sh"
touch -r "$tmp/stamp" "$tmp/suite/run_tests.sh"
expect "a suite file changed (same size and time)" 0 "$scripts/vm/mkinitramfs" --out "$tmp/k3.gz" \
	--suite "$tmp/suite" ::
extract "$tmp/k3.gz" "$tmp/k3"
has_line "... is in the next initramfs, not the kept one" 'KTAP version 2' "$tmp/k3/suite/run_tests.sh"
mkdir "$tmp/suite2" && cp "$tmp/suite/run_tests.sh" "$tmp/suite2/"
# The lock of a build killed hours ago, its part never written.
touch -d '2 hours ago' "$INITRAMFS_CACHE/0123456789abcdef0123456789abcdef.cpio.lock"
expect "another suite, with INITRAMFS_KEEP=1" 0 env INITRAMFS_KEEP=1 "$scripts/vm/mkinitramfs" --out "$tmp/k4.gz" \
	--suite "$tmp/suite2" ::
if [ "$(kept_parts)" -eq 1 ]; then
	pass "... only the newest part is kept"
else
	fail "... only the newest part is kept" "kept parts: $(kept_parts)"
fi
# Each part has a lock file beside it; a pruned part's goes with it, and
# so does a killed build's old one.
locks=$(find "$INITRAMFS_CACHE" -maxdepth 1 -name '*.lock' | wc -l)
if [ "$locks" -eq 1 ]; then
	pass "... and only its lock file"
else
	fail "... and only its lock file" "lock files: $locks" "$(ls "$INITRAMFS_CACHE")"
fi
# Two VMs build their parts side by side and prune side by side: here the
# other VM's prune removes a part after this build's glob and before its
# ls (an ls that removes the old part below when it is given it, then
# lists; not this build's own part, which no prune takes: it is the newest).
mkdir "$tmp/racing-ls" "$tmp/suite-race" && cp "$tmp/suite/run_tests.sh" "$tmp/suite-race/" && echo 3 >"$tmp/suite-race/three"
printf '#!/bin/sh\nfor a; do case $a in */fedcba9876543210fedcba9876543210.cpio) rm -f "$a"; break ;; esac; done\nexec %s "$@"\n' \
	"$(type -P ls)" >"$tmp/racing-ls/ls"
chmod +x "$tmp/racing-ls/ls"
touch -d '1 hour ago' "$INITRAMFS_CACHE/fedcba9876543210fedcba9876543210.cpio"
expect "a part pruned by the other VM while this build prunes" 0 env PATH="$tmp/racing-ls:$PATH" \
	INITRAMFS_KEEP=1 "$scripts/vm/mkinitramfs" --out "$tmp/k-race.gz" --suite "$tmp/suite-race" ::
if [ "$(kept_parts)" -eq 1 ]; then
	pass "... and this build's prune is done"
else
	fail "... and this build's prune is done" "kept parts: $(kept_parts)" "$(ls "$INITRAMFS_CACHE")"
fi
# Where the cache cannot be written (/proc/self: there, but no files can be
# made in it), the initramfs is built for the run alone, without a word.
expect "a cache that cannot be written: built anyway" 0 env INITRAMFS_CACHE=/proc/self \
	"$scripts/vm/mkinitramfs" --out "$tmp/k5.gz" --suite "$tmp/suite" -- fifth ::
no_line "... and without a word" '^' "$tmp/out"
extract "$tmp/k5.gz" "$tmp/k5"
echo fifth >"$tmp/fifth.expected"
same "... with its arguments" "$tmp/fifth.expected" "$tmp/k5/kvm-regress.args"
expect "... and its suite" 0 test -x "$tmp/k5/suite/run_tests.sh" ::
# --only: a selection's binaries, smoke (the time scale) and the rest of the
# suite; the lists name what is there.
mkdir -p "$tmp/suite3/x86_64" "$tmp/suite3/pi" "$tmp/suite3/hyperv" "$tmp/suite3/lib/tests"
for b in x86_64/smoke x86_64/kick pi/wakeup hyperv/tlb_flush lib/tests/harness_negative; do
	printf '#!/bin/sh\necho %s\n' "$b" >"$tmp/suite3/$b"
	chmod +x "$tmp/suite3/$b"
done
cp "$tmp/suite/run_tests.sh" "$tmp/suite3/"
printf '%s\n' x86_64:smoke x86_64:kick pi:wakeup hyperv:tlb_flush >"$tmp/suite3/kselftest-list.txt"
printf '%s\n' "x86_64:smoke 70" "x86_64:kick 879" "pi:wakeup 122" "hyperv:tlb_flush 300" >"$tmp/suite3/time-limits.txt"
expect "--only a selection's binaries" 0 "$scripts/vm/mkinitramfs" --out "$tmp/k6.gz" \
	--suite "$tmp/suite3" --only "pi/wakeup x86_64/kick" -- pi/wakeup:msi_fixed x86_64/kick ::
extract "$tmp/k6.gz" "$tmp/k6"
(cd "$tmp/k6/suite" && find . -type f | LC_ALL=C sort) >"$tmp/k6.files"
printf '%s\n' ./kselftest-list.txt ./lib/tests/harness_negative ./pi/wakeup ./run_tests.sh \
	./time-limits.txt ./x86_64/kick ./x86_64/smoke >"$tmp/k6.expected"
same "... carries them, x86_64/smoke and the suite's other files, no other test binary" "$tmp/k6.expected" "$tmp/k6.files"
printf '%s\n' x86_64:smoke x86_64:kick pi:wakeup "x86_64:smoke 70" "x86_64:kick 879" "pi:wakeup 122" >"$tmp/k6.lists"
cat "$tmp/k6/suite/kselftest-list.txt" "$tmp/k6/suite/time-limits.txt" >"$tmp/k6.lists.got"
same "... and its lists name only those" "$tmp/k6.lists" "$tmp/k6.lists.got"
expect "... and the whole suite the next time, without --only" 0 "$scripts/vm/mkinitramfs" --out "$tmp/k7.gz" \
	--suite "$tmp/suite3" ::
extract "$tmp/k7.gz" "$tmp/k7"
expect "... with every binary" 0 test -x "$tmp/k7/suite/hyperv/tlb_flush" ::
expect "--only a binary the suite lacks is an error" 1 "$scripts/vm/mkinitramfs" --out "$tmp/k8.gz" \
	--suite "$tmp/suite3" --only "pi/nosuch" :: '^mkinitramfs: --only: no test binary pi/nosuch in '
done_testing
