#!/bin/sh
# make bench: run the bench binary, time the whole suite, print one table
# and write results/bench.json (and results/bench.md, the same table).
#
#   bench.sh [-d BUILD_DIR] [-s 0|1] [-o RESULTS_DIR] [-- BENCH_ARGS...]
#   bench.sh -k KTAP_FILE [-l LABEL] [-o RESULTS_DIR]
#
#   -d DIR   build directory holding scripts/bench/bench and the suite
#            (default: build)
#   -s 0|1   also measure the whole suite: a build from clean (into a
#            temporary directory, make -j2) and `make run_tests` with each
#            binary's wall time (default 1)
#   -o DIR   where bench.json and bench.md go (default: results)
#   -k FILE  do not run anything: read a KTAP stream that contains the bench
#            binary's output (e.g. results/vm-sid.ktap from scripts/vm/vm-run)
#            and write DIR/bench-LABEL.json and .md (the VM path, see
#            scripts/bench/vm-bench)
#   -l NAME  label for -k (default: the KTAP file's name)
#   BENCH_ARGS go to the bench binary (e.g. --iterations 100 --duration 5).
#
# POSIX sh and awk only. Timings are for reading, never for pass/fail: the
# exit status is non-zero only when the bench binary itself failed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=build
suite=1
out=results
ktap=
label=

usage() { sed -n '2,/^set -eu/{/^set -eu/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	-d) [ $# -ge 2 ] || usage; build=$2; shift 2 ;;
	-s) [ $# -ge 2 ] || usage; suite=$2; shift 2 ;;
	-o) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
	-k) [ $# -ge 2 ] || usage; ktap=$2; shift 2 ;;
	-l) [ $# -ge 2 ] || usage; label=$2; shift 2 ;;
	-h|--help) usage ;;
	--) shift; break ;;
	*) echo "bench.sh: unknown argument '$1'" >&2; usage ;;
	esac
done

mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# Nanoseconds (GNU date); busybox date may lack %N, then whole seconds.
now_ns() {
	t=$(date +%s%N)
	case $t in *N) echo $(( $(date +%s) * 1000000000 )) ;; *) echo "$t" ;; esac
}
json_str() { printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"; }

# --- where it ran ----------------------------------------------------------------
host_facts() {
	kvm_module=none
	for m in kvm_intel kvm_amd kvm_pvm; do
		[ -d "/sys/module/$m" ] && kvm_module=$m
	done
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	ncpu=$(grep -c '^processor' /proc/cpuinfo)
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	halt_poll=$(cat /sys/module/kvm/parameters/halt_poll_ns 2>/dev/null || echo unknown)
	printf '"date": %s, "host": %s, "kernel": %s, "cpu": %s, "cpus": %s, "kvm_module": %s, "halt_poll_ns": %s, "loadavg_at_start": %s' \
		"$(json_str "$(date -u +%Y-%m-%dT%H:%M:%SZ)")" "$(json_str "$(uname -n)")" \
		"$(json_str "$(uname -r)")" "$(json_str "$cpu")" "$ncpu" "$(json_str "$kvm_module")" \
		"$(json_str "$halt_poll")" "$(json_str "$load")"
	table_host="$(uname -n), Linux $(uname -r), $kvm_module, $cpu, $ncpu CPUs, load $load"
}

# --- the table -------------------------------------------------------------------
table_head() {
	echo "| figure | iterations | library median | library p99 | floor median | floor p99 | ratio | block spread (lib / floor) |"
	echo "|---|---|---|---|---|---|---|---|"
}

# BENCH lines, wherever they are (own output or nested KTAP, indented).
extract() { sed -n "s/^[[:space:]]*# $1 //p" "$2"; }

figures_json() {
	extract BENCH-JSON "$1" | awk 'NR > 1 { printf ",\n" } { printf "    %s", $0 } END { if (NR) printf "\n" }'
}

# ----------------------------------------------------------------------------------
if [ -n "$ktap" ]; then
	[ -f "$ktap" ] || { echo "bench.sh: no KTAP file '$ktap'" >&2; exit 2; }
	[ -n "$label" ] || label=$(basename "$ktap" .ktap)
	grep -q 'BENCH-JSON' "$ktap" || { echo "bench.sh: no bench figures in $ktap" >&2; exit 1; }
	# Per-binary times as the VM's run_tests.sh printed them (whole seconds).
	bins=$(sed -n 's/^\(not \)\{0,1\}ok [0-9]* \([a-z0-9_]*\/[^ ]*\) # \([0-9]*\)s$/\2 \3/p' "$ktap")
	{
		echo "{"
		printf '  "label": %s, "source": %s, "measured_in": "VM, see the console log for the kernel",\n' \
			"$(json_str "$label")" "$(json_str "$ktap")"
		echo '  "figures": ['
		figures_json "$ktap"
		echo '  ],'
		echo '  "suite_binaries_s": ['
		echo "$bins" | awk 'NF == 2 { if (n++) printf ",\n"; printf "    {\"binary\": \"%s\", \"wall_s\": %s}", $1, $2 } END { if (n) printf "\n" }'
		echo '  ]'
		echo "}"
	} >"$out/bench-$label.json"
	{
		echo "Measured in a VM ($label), from $ktap:"
		echo
		table_head
		extract BENCH-ROW "$ktap"
		if [ -n "$bins" ]; then
			echo "$bins" | awk 'NF == 2 { printf "| 5. %s (whole binary, in the VM) | 1 | %s s | - | - | - | - | - |\n", $1, $2 }'
		fi
	} >"$out/bench-$label.md"
	cat "$out/bench-$label.md"
	echo "bench.sh: wrote $out/bench-$label.json and $out/bench-$label.md" >&2
	exit 0
fi

bin=$build/scripts/bench/bench
[ -x "$bin" ] || { echo "bench.sh: no $bin (run make first)" >&2; exit 2; }
host_facts >/dev/null   # sets table_host
echo "bench.sh: $table_host" >&2
echo "bench.sh: running $bin $*" >&2
status=0
"$bin" "$@" >"$tmp/bench.ktap" 2>&1 || status=$?
grep -v '^# BENCH-' "$tmp/bench.ktap" >&2 || true

# --- 5. whole-suite cost ------------------------------------------------------------
suite_json=null
suite_rows=
if [ "$suite" = 1 ]; then
	echo "bench.sh: 5. build from clean (make -j2 into a temporary directory)" >&2
	t0=$(now_ns)
	if make -s -C "$repo" -j2 O="$tmp/clean-build" all >"$tmp/build.log" 2>&1; then
		build_ns=$(( $(now_ns) - t0 ))
	else
		cat "$tmp/build.log" >&2
		echo "bench.sh: the clean build failed" >&2
		exit 1
	fi
	rm -rf "$tmp/clean-build"

	echo "bench.sh: 5. make run_tests (each binary timed)" >&2
	# run_tests.sh prints "# coll/bin (time limit Ns)" just before a binary
	# starts and "ok N coll/bin ..." just after it ends: time those lines.
	t0=$(now_ns)
	rt_status=0
	{ make -s -C "$repo" O="$build" run_tests 2>&1; echo $? >"$tmp/rt.rc"; } | {
		while IFS= read -r line; do
			case $line in
			"# "*/*" (time limit "*)
				b=${line#"# "}; b=${b%% *}; echo "start $b $(now_ns)" >>"$tmp/rt.times" ;;
			"ok "[0-9]*" "*/*|"not ok "[0-9]*" "*/*)
				b=${line#*ok }; b=${b#* }; b=${b%% *}; v=${line##*# }
				echo "end $b $(now_ns) $v" >>"$tmp/rt.times" ;;
			esac
			printf '%s\n' "$line" >>"$tmp/run_tests.ktap"
		done
	}
	rt_ns=$(( $(now_ns) - t0 ))
	rt_status=$(cat "$tmp/rt.rc")
	summary=$(tail -n 1 "$tmp/run_tests.ktap" 2>/dev/null || true)
	[ -f "$tmp/rt.times" ] || : >"$tmp/rt.times"
	# One object per binary: wall time in ns and the runner's verdict.
	awk '$1 == "start" { s[$2] = $3; order[++n] = $2 }
	     $1 == "end" { e[$2] = $3; v[$2] = ""; for (i = 4; i <= NF; i++) v[$2] = v[$2] (i > 4 ? " " : "") $i }
	     END { for (i = 1; i <= n; i++) { b = order[i]; if (!(b in e)) continue
		   printf "%s %.0f %s\n", b, e[b] - s[b], v[b] } }' "$tmp/rt.times" >"$tmp/rt.bins"
	suite_json=$(
		printf '{"build_from_clean": {"jobs": 2, "wall_ns": %s},\n' "$build_ns"
		printf '    "run_tests": {"wall_ns": %s, "exit_status": %s, "summary": %s,\n' \
			"$rt_ns" "$rt_status" "$(json_str "$summary")"
		printf '      "binaries": ['
		awk '{ if (n++) printf ", "; v = ""; for (i = 3; i <= NF; i++) v = v (i > 3 ? " " : "") $i
		       gsub(/"/, "", v); printf "{\"binary\": \"%s\", \"wall_ns\": %s, \"verdict\": \"%s\"}", $1, $2, v }' "$tmp/rt.bins"
		printf ']}}'
	)
	fmt_ms() { awk -v ns="$1" 'BEGIN { printf "%d.%03d s", ns / 1000000000, (ns / 1000000) % 1000 }'; }
	suite_rows=$(
		echo "| 5. build from clean (make -j2) | 1 | $(fmt_ms "$build_ns") | - | - | - | - | - |"
		echo "| 5. make run_tests ($summary) | 1 | $(fmt_ms "$rt_ns") | - | - | - | - | - |"
		while read -r b ns v; do
			echo "| 5. $b | 1 | $(fmt_ms "$ns") | - | - | - | - | - |"
		done <"$tmp/rt.bins"
	)
fi

# --- results ----------------------------------------------------------------------
{
	echo "{"
	printf '  %s,\n' "$(host_facts)"
	printf '  "bench_args": %s, "bench_exit_status": %s,\n' "$(json_str "$*")" "$status"
	echo '  "units": "ns; ratio_x1000 = library median * 1000 / floor median; block_spread_x1000 = (max - min) of the medians of 5 consecutive blocks * 1000 / median",'
	echo '  "figures": ['
	figures_json "$tmp/bench.ktap"
	echo '  ],'
	printf '  "suite": %s\n' "$suite_json"
	echo "}"
} >"$out/bench.json"
{
	echo "$(date -u +%Y-%m-%d), $table_host:"
	echo
	table_head
	extract BENCH-ROW "$tmp/bench.ktap"
	[ -z "$suite_rows" ] || echo "$suite_rows"
} >"$out/bench.md"
echo
cat "$out/bench.md"
echo
echo "bench.sh: wrote $out/bench.json and $out/bench.md" >&2
grep -q 'UNSTABLE' "$out/bench.md" &&
	echo "bench.sh: figures marked UNSTABLE: their block medians differ by more than 5%; rerun on a quieter machine or with more --iterations/--duration" >&2
exit "$status"
