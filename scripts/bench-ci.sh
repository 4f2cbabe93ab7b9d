#!/usr/bin/env bash
# The benchmark pass of CI (scripts/test.sh runs it on the Release build after its tests): a
# short run of signing_bench, store_bench and load_bench, their JSON results (and load_bench's
# HTML plots) in BUILD_DIR/bench-results/, then bench/check_thresholds.py, which fails the
# pass when a ratio of bench/thresholds.json is out of its bound. Every bound is a ratio of
# two figures of the same run, never an absolute time: machines differ. About 70 s on 2 cores.
#
#   scripts/bench-ci.sh [BUILD_DIR]      (default build; the benchmarks must be built there)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=$build/bench-results
rm -rf "$out"
mkdir -p "$out"
start=$SECONDS

# Raw C_Sign, provider and voucher signing at 1 thread, 7 interleaved repetitions of 0.1 s,
# so their ratios compare like with like; thresholds.json takes the medians, which one
# repetition slowed by a neighbour does not move (2 threads on 2 shared cores swing too much
# to bound). The JSON goes to a file: signing_bench prints its own ratio table on the
# console, which --benchmark_format would not change (it has its own display reporter).
"$build/bench/signing_bench" '--benchmark_filter=^BM_(RawCSign|ProviderSign|Voucher)/real_time/threads:1$' \
  --benchmark_min_time=0.1 --benchmark_repetitions=7 --benchmark_enable_random_interleaving=true \
  --benchmark_out="$out/signing_bench.json" --benchmark_out_format=json

# Durable commits of 1 and 16 vouchers and group commit of 16 submitters; not the proofs over
# a million audit entries, which first build a million-entry log.
"$build/store/store_bench" '--benchmark_filter=BM_DurableCommit/(1|16)/|BM_GroupCommit/16/' \
  --benchmark_min_time=0.3 --benchmark_repetitions=3 \
  --benchmark_enable_random_interleaving=true \
  --benchmark_out="$out/store_bench.json" --benchmark_out_format=json
# Bytes handed to pwrite per voucher under masad's request shape (16 requests of 20 vouchers
# a group, on a 30,000-voucher store): a count per voucher, the same on every machine. Once:
# it runs a fixed number of iterations.
"$build/store/store_bench" '--benchmark_filter=BM_MasadLikeDisk/16/' \
  --benchmark_out="$out/store_bench_disk.json" --benchmark_out_format=json

# masad under load: closed loop, then open loop at 80 % of it, 20 s each, then raw C_Sign on
# the same token; load_bench.json holds the ratios, load_bench.html the plots of each phase.
# No gRPC phase (--grpc-calls 0): no bound reads it, and it would add its own 20 s.
"$build/bench/load_bench" --duration 20 --grpc-calls 0 --results-dir "$out"

echo "benchmarks took $((SECONDS - start)) s; results in $out/"
/usr/bin/python3 bench/check_thresholds.py bench/thresholds.json "$out" | tee "$out/check.txt"
