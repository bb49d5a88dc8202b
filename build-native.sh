#!/usr/bin/env bash
# Builds advmia's native libraries. This script is the single source of truth for native flags:
# `mvn verify` calls it in process-classes (passing the classpath), and it can be run on its own.
#
#   ./build-native.sh                  # standalone: compiles the Java classes first if needed
#   ./build-native.sh --classpath CP   # as Maven calls it
#
# Always builds the CPU kernel library (JNI, via JavaCPP's Builder and g++).
# Builds the CUDA kernel library whenever nvcc exists, unless ADVMIA_CUDA=false.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
CLASSES="$ROOT/target/classes"
NATIVE="$ROOT/target/native"
CP=""
while [ $# -gt 0 ]; do
  case "$1" in
    --classpath) CP="$2"; shift 2 ;;
    *) echo "build-native.sh: unknown argument '$1' (expected --classpath CP)" >&2; exit 2 ;;
  esac
done
if [ -z "$CP" ]; then
  # Standalone: let Maven compile the Java side and tell us the classpath, but not recurse into us.
  mvn -q -DskipTests -Dexec.skip=true compile dependency:build-classpath -Dmdep.outputFile=target/build-classpath.txt
  CP="$CLASSES:$(cat target/build-classpath.txt)"
fi
mkdir -p "$NATIVE"

# Flags shared by every C++ translation unit. x86-64-v3 (AVX2+FMA) runs on every machine we target,
# including the GPU hosts; GEMM itself comes from OpenBLAS, which dispatches to AVX-512 at run time.
CXXFLAGS=(-O3 -march=x86-64-v3 -fopenmp -std=c++17 -fno-math-errno -Wall -Wno-unused-function)
NVCC=${NVCC:-/usr/local/cuda/bin/nvcc}
NVCCFLAGS=(-O3 -std=c++17 -Xcompiler -fPIC
  -gencode=arch=compute_80,code=sm_80
  -gencode=arch=compute_90,code=sm_90
  -gencode=arch=compute_90,code=compute_90)

javacpp() {
  local args=()
  for f in "${CXXFLAGS[@]}"; do args+=(-Xcompiler "$f"); done
  java -cp "$CP" org.bytedeco.javacpp.tools.Builder -classpath "$CLASSES" -d "$1" \
    -Dplatform.includepath="$ROOT/src/main/cpp:$ROOT/src/main/cuda" \
    -Dplatform.linkpath="$NATIVE:/usr/local/cuda/lib64" \
    "${args[@]}" "${@:2}"
}

echo "[build-native] CPU kernels (g++ ${CXXFLAGS[*]})"
javacpp "$CLASSES/org/advmia/backend/cpu/linux-x86_64" org.advmia.backend.cpu.CpuNative

if [ "${ADVMIA_CUDA:-auto}" != "false" ] && [ -x "$NVCC" ]; then
  echo "[build-native] CUDA kernels (nvcc ${NVCCFLAGS[*]})"
  "$NVCC" "${NVCCFLAGS[@]}" -I"$ROOT/src/main/cpp" -lib -o "$NATIVE/libadvmia_cuda.a" "$ROOT"/src/main/cuda/*.cu
  javacpp "$CLASSES/org/advmia/backend/cuda/linux-x86_64" org.advmia.backend.cuda.CudaNative
else
  echo "[build-native] nvcc not found (or ADVMIA_CUDA=false): CUDA kernels skipped"
fi
