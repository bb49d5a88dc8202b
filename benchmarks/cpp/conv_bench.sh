#!/usr/bin/env bash
# Builds and runs conv_bench.cpp (see its header) with the same flags as build-native.sh.
#   benchmarks/cpp/conv_bench.sh [threads] [rounds] [layer-name filter]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT="${CONV_BENCH_OUT:-$ROOT/target/conv_bench}"
g++ -O3 -march=x86-64-v3 -fopenmp -std=c++17 -fno-math-errno -I"$ROOT/src/main/cpp" \
  "$ROOT/benchmarks/cpp/conv_bench.cpp" -o "$OUT" -ldl -lpthread
OPENBLAS_LIB=${OPENBLAS_LIB:-$(find ~/.javacpp/cache -path '*openblas-*/org/bytedeco/openblas/*' -name 'libopenblas_nolapack.so.0' | head -1)}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
OPENBLAS_LIB="$OPENBLAS_LIB" "$OUT" "$@"
