#!/usr/bin/env bash
# End-to-end throughput, advmia vs plain PyTorch, side by side (issue #8; issue #4's PGD step ratio;
# issue #5's epoch times and NAT multiples). Same machine, batch, threads (2), float32, data.
#
#   benchmarks/throughput_compare.sh [--models smallcnn,resnet18,mobilenetv2]
#       [--rows pgd10,pgd20,pgdstep,autoattack,nat,pgd-at,trades,fast-at] [--rounds 2]
#       [--train-images N] [--aa-steps 10] [--aa-targets 3] [--threads 2] [--no-build]
#
# For each model, one advmia JVM and one PyTorch process run every selected row, each under
# /usr/bin/time -v (peak RSS per process). The sgemm peak is measured through the engine
# (OpenBLAS) in the same command. Prints markdown tables: ours, PyTorch, ratio (> 1: we are
# faster), achieved GFLOP/s and its share of the sgemm peak, NAT multiples, the PGD step ratio and
# peak RSS; raw JSON lines go to benchmarks/out/throughput-<time>.jsonl.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
MODELS=smallcnn,resnet18,mobilenetv2
ROWS=pgd10,pgd20,pgdstep,autoattack,nat,pgd-at,trades,fast-at
ROUNDS=2
TRAIN=0
AA_STEPS=10
AA_TARGETS=3
THREADS=2
BUILD=1
TORCH_PY=/usr/bin/python3   # Debian's python3-torch, not the pyenv python3 on PATH
while [ $# -gt 0 ]; do
  case "$1" in
    --models) MODELS="$2"; shift 2 ;;
    --rows) ROWS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --train-images) TRAIN="$2"; shift 2 ;;
    --aa-steps) AA_STEPS="$2"; shift 2 ;;
    --aa-targets) AA_TARGETS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "throughput_compare.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if ! "$TORCH_PY" -c 'import torch' 2>/dev/null; then
  echo "throughput_compare.sh: $TORCH_PY cannot import torch (apt-get install -y python3-torch libopenblas0-pthread)" >&2
  exit 1
fi
if ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  echo "throughput_compare.sh: WARNING: libopenblas0-pthread is not installed; torch's Linear layers would use the reference BLAS" >&2
fi
if [ "$BUILD" = 1 ]; then
  echo "[throughput] building (mvn -q -B -DskipTests test-compile)..." >&2
  mvn -q -B -DskipTests test-compile >&2
fi
CP="$ROOT/target/classes:$ROOT/target/test-classes:$(cat "$ROOT/target/runtime-classpath.txt")"
mkdir -p "$ROOT/benchmarks/out"
STAMP=$(date +%Y%m%d-%H%M%S)
OUT="$ROOT/benchmarks/out/throughput-$STAMP.jsonl"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# pgdstep has no PyTorch counterpart; flops (per-image forward FLOPs) has no advmia one.
PY_ROWS=$(echo "$ROWS" | tr ',' '\n' | grep -v '^pgdstep$' | paste -sd, -)
PY_ROWS=${PY_ROWS:+$PY_ROWS,}flops
COMMON=(--rounds "$ROUNDS" --train-images "$TRAIN" --aa-steps "$AA_STEPS" --aa-targets "$AA_TARGETS")

peak_rss() {  # time -v output file, impl, model -> JSON line
  local kb
  kb=$(sed -n 's/^\s*Maximum resident set size (kbytes): //p' "$1")
  echo "{\"impl\": \"$2\", \"row\": \"rss\", \"model\": \"$3\", \"peak_rss_kb\": ${kb:-0}}"
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T0=$(date +%s)
echo "[throughput] sgemm peak (advmia, OpenBLAS)" >&2
ADVMIA_THREADS=$THREADS java -cp "$CP" org.advmia.bench.ThroughputBenchmark --models smallcnn --rows sgemm 2>/dev/null \
  | grep '^{' >>"$OUT"
for m in ${MODELS//,/ }; do
  echo "[throughput] $m: advmia ($ROWS)" >&2
  ADVMIA_THREADS=$THREADS /usr/bin/time -v -o "$TMP/java.time" java -cp "$CP" org.advmia.bench.ThroughputBenchmark \
    --models "$m" --rows "$ROWS" "${COMMON[@]}" 2> >(grep -v 'Versions of org.bytedeco' >&2) | grep '^{' >>"$OUT"
  peak_rss "$TMP/java.time" advmia "$m" >>"$OUT"
  echo "[throughput] $m: torch ($PY_ROWS)" >&2
  OMP_NUM_THREADS=$THREADS /usr/bin/time -v -o "$TMP/py.time" "$TORCH_PY" "$ROOT/benchmarks/python/throughput.py" \
    --threads "$THREADS" --models "$m" --rows "$PY_ROWS" "${COMMON[@]}" | grep '^{' >>"$OUT"
  peak_rss "$TMP/py.time" torch "$m" >>"$OUT"
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)   machine: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores)   threads: $THREADS"
echo "load average before: $LOAD0   after: $LOAD1   wall: $(( $(date +%s) - T0 )) s   raw: ${OUT#$ROOT/}"
echo "command: benchmarks/throughput_compare.sh --models $MODELS --rows $ROWS --rounds $ROUNDS --train-images $TRAIN --aa-steps $AA_STEPS --aa-targets $AA_TARGETS --threads $THREADS"
python3 "$ROOT/benchmarks/python/throughput_report.py" "$OUT"
