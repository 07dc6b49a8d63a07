#!/bin/bash
# Bad input to vm-run and vm-matrix: exit status 2 and one clear line,
# before anything is downloaded or booted.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

run=$scripts/vm/vm-run
: >"$tmp/bzImage"

usage "unknown option" "^vm-run: unknown option '--bogus'" "$run" --bogus
usage "memory not a number" "^vm-run: --mem 'lots': a number of MB" "$run" --mem lots
usage "zero vCPUs" "^vm-run: --smp '0': a number from 1 to 64" "$run" --smp 0
usage "NUMA with an odd number of vCPUs" "^vm-run: --numa needs an even --smp" "$run" --numa --smp 3
usage "timeout not a number" "^vm-run: --timeout '1m'" "$run" --timeout 1m
usage "--run with a path" "^vm-run: --run '/bin/sh': a script name in the installed suite" "$run" --run /bin/sh
usage "unknown accelerator" "^vm-run: --accel 'hvf': auto, tcg, tcg-multi or kvm" "$run" --accel hvf
usage "trace events that are not SYSTEM:EVENT" "^vm-run: --trace 'kvm_exit': comma-separated tracefs events" \
	"$run" --trace kvm_exit
usage "trace events through --cmdline" "^vm-run: --cmdline 'kvmregress_trace=kvm:kvm_exit': use --trace EVENTS" \
	"$run" --cmdline 'kvmregress_trace=kvm:kvm_exit'
usage "module parameter that is not MODULE.PARAM=VALUE" \
	"^vm-run: --modparam 'kvm_amd.vgif': MODULE.PARAM=VALUE for kvm, kvm_amd or kvm_intel" \
	"$run" --modparam kvm_amd.vgif
usage "module parameter for a module the VM does not load for KVM" \
	"^vm-run: --modparam 'ext4.foo=1': MODULE.PARAM=VALUE for kvm, kvm_amd or kvm_intel" \
	"$run" --modparam ext4.foo=1
usage "option without its value" "^vm-run: --kernel needs a value" "$run" --kernel
usage "unknown kernel" "^vm-run: --kernel 'buster': not bookworm, trixie, sid or a kernel image file" \
	"$run" --kernel buster
usage "modules with a Debian kernel" "^vm-run: --modules goes with --kernel PATH" \
	"$run" --kernel sid --modules "$tmp"
usage "modules directory without modules.dep" "^vm-run: --modules '$tmp': no modules.dep" \
	"$run" --kernel "$tmp/bzImage" --modules "$tmp"
usage "selection that is not collection/binary" "^vm-run: selection 'smoke': expected collection/binary" \
	"$run" smoke
# A selection or ARGS the suite's binaries reject fail before a boot, with
# the binary's own line (a stand-in suite: vm-run asks each binary for
# --time-limit with the ARGS).
mkdir -p "$tmp/suite/x86_64"
: >"$tmp/suite/run_tests.sh"
echo "x86_64:smoke" >"$tmp/suite/kselftest-list.txt"
cat >"$tmp/suite/x86_64/smoke" <<'STANDIN'
#!/bin/sh
for a; do
	case $a in --time-limit|-t|entry) ;; *) echo "$0: unknown option '$a' (see $0 -h)" >&2; exit 2 ;; esac
done
echo 40
STANDIN
chmod +x "$tmp/suite/x86_64/smoke"
usage "a selection naming no binary of the suite" \
	"^vm-run: selection 'x86_64/nosuch': no test binary x86_64/nosuch in the suite$" \
	"$run" --suite "$tmp/suite" x86_64/nosuch
usage "ARGS a binary rejects: its own line, before a boot" \
	"^vm-run: x86_64/smoke: unknown option '--bogus'" \
	"$run" --suite "$tmp/suite" x86_64/smoke:entry -- --bogus
# The VM has no shared libraries: a dynamically linked binary is refused on
# the host (its ELF names a program interpreter); a static one (busybox,
# which then rejects --time-limit) gets past that check.
cp "$(type -P true)" "$tmp/suite/x86_64/dynamic"
usage "a dynamically linked binary in --suite, before a boot" \
	"^vm-run: --suite '$tmp/suite': x86_64/dynamic is dynamically linked \(interpreter /.*ld-linux.*\) and cannot run in the VM; install a static build: make STATIC=1 install" \
	"$run" --suite "$tmp/suite" x86_64/dynamic
if [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; then
	cp /bin/busybox "$tmp/suite/x86_64/static"
	"$run" --suite "$tmp/suite" x86_64/static >"$tmp/out" 2>&1 || true
	no_line "... a static binary is not refused as dynamic" 'dynamically linked' "$tmp/out"
	rm -f "$tmp/suite/x86_64/static"
fi
# Program headers that do not follow the ELF header (read apart): a
# 64-byte header whose one header, 2 KiB in, is PT_INTERP naming the
# 15-byte string after it.
python3 - "$tmp/suite/x86_64/dynamic" <<'PY'
import struct, sys
interp = b"/lib/ld-far.so\0"
ehdr = b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0, 2048, 0, 0, 64, 56, 1, 0, 0, 0)
phdr = struct.pack("<IIQQQQQQ", 3, 4, 2048 + 56, 0, 0, len(interp), len(interp), 1)
open(sys.argv[1], "wb").write(ehdr + bytes(2048 - len(ehdr)) + phdr + interp)
PY
usage "... also where its program headers are far from the ELF header" \
	"^vm-run: --suite '$tmp/suite': x86_64/dynamic is dynamically linked \(interpreter /lib/ld-far.so\)" \
	"$run" --suite "$tmp/suite" x86_64/dynamic
rm -f "$tmp/suite/x86_64/dynamic"
usage "watchdog margin not a number" "^vm-run: --watchdog-margin '0': a number of seconds" \
	"$run" --watchdog-margin 0
usage "kernel options with a shell character" \
	"^vm-run: --cmdline 'clearcpuid=monitor;reboot': kernel options are words of letters" \
	"$run" --cmdline 'clearcpuid=monitor;reboot'
usage "kernel options across lines stay one error line" "^vm-run: --cmdline 'a\\\\nb': kernel options are words" \
	"$run" --cmdline $'a\nb'
usage "a kernel option the runner sets" "^vm-run: --cmdline 'quiet console=tty0': 'console=' is set by the runner" \
	"$run" --cmdline quiet --cmdline console=tty0
usage "a kernel option without a name" "^vm-run: --cmdline '=1': '=1' has no option name" "$run" --cmdline =1
usage "kernel options without a value" "^vm-run: --cmdline needs a value" "$run" --cmdline
usage "MWAIT-restricted run: unknown option" "^vm-run: unknown option '--bogus'" \
	"$scripts/vm/vm-mwait-restricted" --bogus
usage "no QEMU" "^vm-run: /nonexistent/qemu not found" env QEMU=/nonexistent/qemu "$run"
usage "suite directory that is no suite" "^vm-run: --suite '$tmp': no run_tests.sh" \
	"$run" --kernel "$tmp/bzImage" --suite "$tmp"
usage "matrix: unknown kernel" "^vm-matrix: --kernels: unknown Debian release 'buster'" \
	"$scripts/vm/vm-matrix" --kernels "sid buster"
usage "matrix: unknown kernel under Bochs" "^vm-matrix: --kernels: unknown Debian release 'buster-bochs'" \
	"$scripts/vm/vm-matrix" --kernels "sid-bochs buster-bochs"
usage "unknown emulator" "^vm-run: --emulator 'vbox': qemu or bochs$" "$run" --emulator vbox
usage "emulator without its value" "^vm-run: --emulator needs a value" "$run" --emulator
usage "an accelerator with Bochs" "^vm-run: --accel 'kvm' goes with QEMU; Bochs has only its own emulation$" \
	"$run" --emulator bochs --accel kvm
usage "NUMA with Bochs" "^vm-run: --numa goes with QEMU; the Bochs VM has one node$" \
	"$run" --emulator bochs --numa
usage "Bochs without xorriso" "^vm-run: /nonexistent/xorriso not found \(make vm_deps EMULATOR=bochs" \
	env XORRISO=/nonexistent/xorriso "$run" --emulator bochs
usage "a queue under Bochs" "^vm-run: --queue goes with QEMU \(its second serial port\)$" \
	"$run" --emulator bochs --queue "$tmp/q"
usage "a queue for another script" "^vm-run: --queue hands items to run_tests.sh, not to --run 'check_kvm.sh'$" \
	"$run" --run check_kvm.sh --queue "$tmp/q"
usage "a queue without its FIFOs" "^vm-run: --queue '$tmp/q': no FIFOs $tmp/q.in and $tmp/q.out$" \
	"$run" --queue "$tmp/q"
usage "matrix: unknown option" "^vm-matrix: unknown option '--bogus'" "$scripts/vm/vm-matrix" --bogus
# vm-shard and vm-matrix build the suite before they check a selection:
# with nothing to compile the build says nothing, so a bad selection is
# still its one line (make vm_run_tests TESTS=nosuch/x). The first build
# here brings the objects up to date, if they were not.
"$scripts/vm/build-suite" "$tmp/built" >/dev/null 2>&1
installed_at=$(stat -c %.9Y "$tmp/built/kselftest-list.txt")
expect "an up-to-date suite is kept" 0 "$scripts/vm/build-suite" "$tmp/built" ::
no_line "... without a word" '^' "$tmp/out"
expect "... as it was installed (not installed again)" 0 test "$(stat -c %.9Y "$tmp/built/kselftest-list.txt")" = "$installed_at" ::
# Kept only while the install and what it copies are as they were: its
# stamp lists them (the runner, a binary, the install's own files).
expect "... its stamp lists what the install copies and the install itself" 0 \
	grep -c -e '/scripts/runner/run_tests.sh ' -e '/build/vm-static/pi/wakeup ' -e "^$tmp/built/x86_64/smoke " \
	"$tmp/built.stamp" :: '^3$'
rm "$tmp/built/x86_64/smoke"
expect "an install with a file gone is made again" 0 "$scripts/vm/build-suite" "$tmp/built" ::
expect "... and the file is back" 0 test -x "$tmp/built/x86_64/smoke" ::
echo changed >>"$tmp/built.stamp"
"$scripts/vm/build-suite" "$tmp/built" >/dev/null 2>&1
expect "an install whose stamp differs is made again" 0 test "$(stat -c %.9Y "$tmp/built/kselftest-list.txt")" != "$installed_at" ::
expect "... and it is there" 0 test -f "$tmp/built/kselftest-list.txt" ::
# The static build links the ordinary build's objects (OBJ): with those up
# to date, a static binary in a new tree is a link, no compile.
repo=$(dirname "$scripts")
expect "a static build takes the ordinary build's objects: a link, no compile" 0 \
	make -n -C "$repo" --no-print-directory STATIC=1 O="$tmp/static" OBJ="$repo/build" "$tmp/static/x86_64/smoke" :: \
	'CCLD +'"$tmp"'/static/x86_64/smoke'
no_line "... no compile" '(^| |")CC  ' "$tmp/out"
# The advice in vm-run's refusal above: a tree built plainly and then with
# STATIC=1 links its binaries again, statically, rather than calling the
# dynamic ones up to date.
make -s -C "$repo" --no-print-directory O="$tmp/relink" OBJ="$repo/build" "$tmp/relink/x86_64/smoke" >/dev/null 2>&1
expect "after a plain build, STATIC=1 links the binary again" 0 \
	make -C "$repo" --no-print-directory STATIC=1 O="$tmp/relink" OBJ="$repo/build" "$tmp/relink/x86_64/smoke" :: \
	'CCLD +'"$tmp"'/relink/x86_64/smoke'
expect "... statically: no program interpreter" 1 \
	sh -c 'readelf -l "$1" | grep -q "program interpreter"' sh "$tmp/relink/x86_64/smoke" ::
# stall-cpus (QEMU 7.2's fault on purpose) refuses bad input before gdb.
usage "stall-cpus without a process" '^stall-cpus: the QEMU process: a PID' "$scripts/vm/stall-cpus"
usage "stall-cpus with a bad CPU" "^stall-cpus: --cpu 'x': a CPU number$" "$scripts/vm/stall-cpus" --cpu x 1
usage "stall-cpus with a process that is not a QEMU" '^stall-cpus: .* does not export cpu_interrupt: cannot stall its CPUs$' \
	"$scripts/vm/stall-cpus" $$
done_testing
