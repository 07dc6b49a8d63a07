# make bench: what the suite costs, next to the raw-ioctl floor (see
# scripts/bench/bench.c and scripts/bench/bench.sh).
#
#   make bench [BENCH_ARGS="--iterations N --duration S"] [BENCH_SUITE=0]
#
# Prints a table and writes results/bench.json. BENCH_SUITE=0 leaves out the
# whole-suite figures (run_tests and a clean build), which take longest.

BENCH_BIN   := $(O)/scripts/bench/bench
BENCH_SUITE ?= 1
BENCH_ARGS  ?=

bench: all $(BENCH_BIN)
	@scripts/bench/bench.sh -d $(O) -s $(BENCH_SUITE) -- $(BENCH_ARGS)

.PHONY: bench
