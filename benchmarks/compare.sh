#!/usr/bin/env bash
# One command: advmia vs PyTorch CPU, one forward + backward (train mode, CE loss, weight and
# input gradients) of SmallCNN (b128, 28x28x1) and ResNet-18 (width 64, CIFAR stem, b64,
# 32x32x3), 2 threads each, float32, run back to back on this machine.
#
#   benchmarks/compare.sh [--rounds R] [--models smallcnn,resnet18] [--no-build]
#
# Each round runs every model once on each side (ours, then torch), each run doing its own
# warm-up and timing N iterations (median). The table reports, per model, the median over rounds
# of those medians, and the fastest single iteration seen (a hint of the uncontended time when
# other processes share the machine: the load average is printed before and after).
# Raw JSON lines go to benchmarks/out/compare-<time>.jsonl.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
ROUNDS=3
MODELS=smallcnn,resnet18
BUILD=1
THREADS=2
TORCH_PY=/usr/bin/python3   # Debian's python3-torch, not the pyenv python3 on PATH
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    --models) MODELS="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

warmup_iters() {  # model -> "WARMUP ITERS"
  case "$1" in
    smallcnn) echo "5 20" ;;
    resnet18) echo "3 10" ;;
    *) echo "compare.sh: unknown model '$1'" >&2; exit 2 ;;
  esac
}

if ! "$TORCH_PY" -c 'import torch' 2>/dev/null; then
  echo "compare.sh: $TORCH_PY cannot import torch (apt-get install -y python3-torch libopenblas0-pthread)" >&2
  exit 1
fi
if ! dpkg -s libopenblas0-pthread >/dev/null 2>&1; then
  echo "compare.sh: WARNING: libopenblas0-pthread is not installed; torch's Linear layers would use the reference BLAS" >&2
fi
if [ "$BUILD" = 1 ]; then
  echo "[compare] building (mvn -q -B -DskipTests test-compile)..." >&2
  mvn -q -B -DskipTests test-compile >&2
fi
CP="$ROOT/target/classes:$ROOT/target/test-classes:$(cat "$ROOT/target/runtime-classpath.txt")"

mkdir -p "$ROOT/benchmarks/out"
OUT="$ROOT/benchmarks/out/compare-$(date +%Y%m%d-%H%M%S).jsonl"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$ROUNDS"); do
  for m in ${MODELS//,/ }; do
    read -r W N <<<"$(warmup_iters "$m")"
    echo "[compare] round $r/$ROUNDS $m: advmia" >&2
    ADVMIA_THREADS=$THREADS java -cp "$CP" org.advmia.bench.ForwardBackwardBenchmark --models "$m" --warmup "$W" --iters "$N" \
      2> >(grep -v 'Versions of org.bytedeco' >&2) | grep '^{' >>"$OUT"
    echo "[compare] round $r/$ROUNDS $m: torch" >&2
    OMP_NUM_THREADS=$THREADS "$TORCH_PY" "$ROOT/benchmarks/python/forward_backward.py" --models "$m" --threads "$THREADS" \
      --warmup "$W" --iters "$N" | grep '^{' >>"$OUT"
  done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)   machine: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores)   threads: $THREADS"
echo "load average before: $LOAD0   after: $LOAD1   rounds: $ROUNDS   raw: ${OUT#$ROOT/}"
python3 - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
models = list(dict.fromkeys(r["model"] for r in rows))
print()
print("| model | ours ms | torch ms | ratio (torch/ours) | ours best ms | torch best ms | ours GFLOP/s | torch GFLOP/s |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for m in models:
    ours = [r for r in rows if r["model"] == m and r["impl"] == "advmia"]
    torch = [r for r in rows if r["model"] == m and r["impl"] == "torch"]
    if not ours or not torch:
        continue
    o = statistics.median(r["ms_median"] for r in ours)
    t = statistics.median(r["ms_median"] for r in torch)
    ob = min(r["ms_min"] for r in ours)
    tb = min(r["ms_min"] for r in torch)
    gf = ours[0]["gflop_per_iter"]
    print(f"| {m} (b{ours[0]['batch']}) | {o:.1f} | {t:.1f} | {t / o:.2f} | {ob:.1f} | {tb:.1f} | {gf / o * 1e3:.0f} | {gf / t * 1e3:.0f} |")
PY
