#!/usr/bin/env bash
# JMH kernel benchmarks (issue #8): convolution forward / backward-data / backward-filter, GEMM,
# batch norm, the fused attack step, cross-entropy and margin losses, at the benchmark models'
# layer shapes, 2 threads. Prints a table with GFLOP/s (conv, GEMM) and GB/s (memory-bound ops).
#
#   benchmarks/kernels.sh [--filter REGEX] [--quick] [--no-build] [-- JMH_ARGS...]
#
#   --filter  JMH benchmark regex, e.g. 'ConvBenchmark' or 'Gemm|BatchNorm' (default: all)
#   --quick   1 warm-up + 2 measured iterations of 0.5 s (default: 2 + 3 of 1 s)
#   JMH_ARGS  passed to JMH as they are, e.g. -- -p layer=smallcnn.conv2:128:32:26:26:32:3:1:0:1
# Runs through `mvn exec:exec@jmh` (exec:java would break JMH's forking). Raw JMH JSON goes to
# benchmarks/out/kernels-<time>.json; the table comes from benchmarks/python/kernels_report.py.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
FILTER='org.advmia.bench.jmh.'
TIMING=""
GOAL=test-compile
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --filter) FILTER="$2"; shift 2 ;;
    --quick) TIMING="-wi 1 -i 2 -w 500ms -r 500ms"; shift ;;
    --no-build) GOAL=""; shift ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "kernels.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p benchmarks/out
JSON="benchmarks/out/kernels-$(date +%Y%m%d-%H%M%S).json"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)
mvn -q -B $GOAL exec:exec@jmh -Djmh.args="$FILTER $TIMING -rf json -rff $ROOT/$JSON ${EXTRA[*]:-}" >&2
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
echo
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)   machine: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores)   threads: 2"
echo "load average before: $LOAD0   after: $LOAD1   wall: $(( $(date +%s) - T0 )) s   raw: $JSON"
echo "command: benchmarks/kernels.sh --filter '$FILTER'${TIMING:+ --quick}${EXTRA[*]:+ -- ${EXTRA[*]}}"
python3 benchmarks/python/kernels_report.py "$JSON"
