#!/usr/bin/env bash
# Builds and runs depthwise_bench.cpp (see its header) with the same flags as build-native.sh.
#   benchmarks/cpp/depthwise_bench.sh [threads] [rounds] [layer-name filter] [float|double]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT="$ROOT/target/depthwise_bench"
mkdir -p "$ROOT/target"
g++ -O3 -march=x86-64-v3 -fopenmp -std=c++17 -fno-math-errno -I"$ROOT/src/main/cpp" \
  "$ROOT/benchmarks/cpp/depthwise_bench.cpp" -o "$OUT" -ldl -lpthread
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$OUT" "$@"
