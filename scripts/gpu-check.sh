#!/usr/bin/env bash
# GPU verification of the CUDA backend, and the GPU speed harness, runnable on any Linux machine with an
# NVIDIA GPU and no JDK or Maven (the bare GPU machine: see ../shared/gpu/README.md). Three steps:
#
#   scripts/gpu-check.sh prepare   # HERE (JDK, Maven, nvcc): build, then write .gpu/ with a jlink'd JRE, the
#                                  # runtime jars, the test classes and the JUnit console launcher
#   scripts/gpu-check.sh           # THERE, carrying .gpu: every CUDA test, then the engine's parity/attack/
#                                  # gradient suites with -Dadvmia.device=cuda; prints a pass/fail table
#   scripts/gpu-check.sh speed     # THERE: PGD-20 and PGD-AT throughput, ours vs PyTorch eager, ratio, TFLOP/s
#
# Without a GPU (or with --cpu) the same commands run their CPU half: the CUDA tests report as skipped,
# the engine suites run on the CPU as a control, and the speed harness runs one small CPU configuration.
# Results go to $OUT (the GPU machine's returned folder) or target/gpu-check. Exit status: 0 when no test
# failed. Environment: RUN_SH (the GPU-side launcher; default ../shared/gpu/run.sh), SPEED_CONFIGS (see speed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
top=$(pwd)
mode=${1:-check}
out=${OUT:-$top/target/gpu-check}
mkdir -p "$out"
junit_version=1.10.2

has_gpu() { [ "${FORCE_CPU:-}" != 1 ] && command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; }

# java with the bundle's classpath: the local JDK where there is one, else the carried JRE via run.sh.
jrun() {
  if command -v java >/dev/null 2>&1; then java -Xss4m -cp "$top/.gpu/lib/*" "$@"; else bash "$top/.gpu/run.sh" "$@"; fi
}

prepare() {
  # The same layout as ../shared/gpu/bundle.sh (.gpu/jre.tgz, .gpu/lib/*.jar, .gpu/run.sh), built here
  # because the JRE must also hold what the JUnit launcher and the test classes need.
  local runsh=${RUN_SH:-$top/../shared/gpu/run.sh}
  [ -f "$runsh" ] || { echo "gpu-check prepare: no GPU-side launcher at $runsh (set RUN_SH)" >&2; exit 2; }
  [ -x /usr/local/cuda/bin/nvcc ] || echo "gpu-check prepare: warning: no nvcc here, the bundle will hold no CUDA kernels" >&2
  mvn -q -B -DskipTests package
  rm -rf .gpu target/gpu-check-jars && mkdir -p .gpu/lib target/gpu-check-jars
  mvn -q -B dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$top/.gpu/lib" >/dev/null
  # No GPU check decodes images (OpenCV, 32 MB) or writes a results database (sqlite-jdbc, 14 MB): the
  # carry limit is 64 MiB with the working tree.
  rm -f .gpu/lib/opencv-*.jar .gpu/lib/sqlite-jdbc-*.jar
  mvn -q -B dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:$junit_version \
    -DoutputDirectory="$top/target/gpu-check-jars" >/dev/null
  # Test classes only: the fixtures travel with the working tree (tests read src/test/resources/...).
  # Only the test packages the checks run (the others pull in java.desktop for image tests).
  (cd target/test-classes && find ./org/advmia/backend ./org/advmia/autograd ./org/advmia/nn ./org/advmia/attack \
    -name '*.class' > ../gpu-check-classes.txt && jar cf ../gpu-check-jars/advmia-tests.jar @../gpu-check-classes.txt)
  cp target/advmia-*.jar target/gpu-check-jars/*.jar .gpu/lib/
  rm -f .gpu/lib/*-sources.jar .gpu/lib/*-javadoc.jar
  local jdk mods
  jdk=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
  # Per jar: one jdeps run over all of them reports modules none of them needs alone (java.desktop, 10 MB).
  mods=$(for j in .gpu/lib/*.jar; do "$jdk/bin/jdeps" --ignore-missing-deps --print-module-deps --multi-release 17 "$j" \
    2>/dev/null || true; done | tr ',' '\n' | grep . | sort -u | paste -sd, -)
  mods=$(echo "java.base,jdk.unsupported,java.logging,java.management${mods:+,$mods}" | tr ',' '\n' | sort -u | paste -sd, -)
  rm -rf "target/gpu-jre" && "$jdk/bin/jlink" --add-modules "$mods" --strip-debug --no-man-pages --no-header-files \
    --output target/gpu-jre/jre
  tar -C target/gpu-jre -czf .gpu/jre.tgz jre
  cp "$runsh" .gpu/run.sh
  echo "gpu-check prepare: .gpu/ ready ($(du -sh .gpu | cut -f1); modules $mods)"
  echo "on the GPU machine, carrying .gpu: bash scripts/gpu-check.sh; bash scripts/gpu-check.sh speed"
}

# One JUnit console run; the XML report lands in $out/junit-$1.
suite() {
  local name=$1 device=$2
  shift 2
  local args=()
  for c in "$@"; do args+=(--select-class "$c"); done
  echo "== $name (advmia.device=$device): $*"
  jrun -Dadvmia.device="$device" org.junit.platform.console.ConsoleLauncher execute --disable-banner \
    --details=summary --reports-dir "$out/junit-$name" "${args[@]}" > "$out/junit-$name.log" 2>&1 || true
  tail -n 15 "$out/junit-$name.log" | grep -E "tests (successful|failed|skipped|aborted)" || tail -n 5 "$out/junit-$name.log"
}

table() {
  python3 - "$out" <<'PY'
import glob, os, sys, xml.etree.ElementTree as ET
rows, bad = [], 0
for d in sorted(glob.glob(os.path.join(sys.argv[1], "junit-*"))):
    if not os.path.isdir(d):
        continue
    per = {}
    for f in glob.glob(os.path.join(d, "*.xml")):
        for tc in ET.parse(f).getroot().iter("testcase"):
            c = tc.get("classname", "?").rsplit(".", 1)[-1]
            s = per.setdefault(c, [0, 0, 0, 0])
            s[0] += 1
            if tc.find("failure") is not None or tc.find("error") is not None:
                s[2] += 1
            elif tc.find("skipped") is not None:
                s[3] += 1
            else:
                s[1] += 1
    for c, s in sorted(per.items()):
        verdict = "FAIL" if s[2] else ("SKIPPED" if s[3] == s[0] else "pass")
        bad += s[2]
        rows.append((os.path.basename(d)[6:], c, *s, verdict))
if not rows:
    print("no JUnit reports found"); sys.exit(1)
w = max(len(r[1]) for r in rows)
print(f"{'suite':<16} {'test class':<{w}} {'tests':>5} {'pass':>5} {'fail':>5} {'skip':>5}  verdict")
for r in rows:
    print(f"{r[0]:<16} {r[1]:<{w}} {r[2]:>5} {r[3]:>5} {r[4]:>5} {r[5]:>5}  {r[6]}")
print(f"failed tests: {bad}")
sys.exit(1 if bad else 0)
PY
}

check() {
  [ -d .gpu/lib ] || { echo "gpu-check: no .gpu/ bundle; run 'scripts/gpu-check.sh prepare' on the build machine first" >&2; exit 2; }
  rm -rf "$out"/junit-*
  local device=cpu
  if has_gpu; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
    device=cuda
  else
    echo "gpu-check: no NVIDIA GPU visible: running the CPU half (CUDA tests skip, engine suites run on the CPU)"
  fi
  suite cuda-ops auto org.advmia.backend.cuda.CudaHostValidationTest org.advmia.backend.cuda.CudaKernelEmulationTest \
    org.advmia.backend.cuda.DeviceSelectionTest \
    org.advmia.backend.cuda.CudaBackendParityTest org.advmia.backend.cuda.CudaModelParityTest \
    org.advmia.backend.cuda.CudaGraphTest org.advmia.backend.BackendConformanceTest
  suite engine-$device "$device" org.advmia.nn.models.ModelParityTest org.advmia.attack.AttackInvariantsTest \
    org.advmia.attack.AttackParityTest org.advmia.autograd.OpsGradientTest org.advmia.autograd.NnOpsGradientTest \
    org.advmia.autograd.LossesGradientTest org.advmia.autograd.MultiPassGraphTest
  echo
  table | tee "$out/table.txt"
}

# The first Python that has PyTorch: $PYTHON, python3, then Debian's /usr/bin/python3.
torch_python() {
  for p in ${PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import torch' >/dev/null 2>&1; then echo "$p"; return; fi
  done
  echo "gpu-check speed: no Python with PyTorch found (set PYTHON)" >&2
  echo python3
}

# SPEED_CONFIGS: "model:size:batch:mode[:images]" entries. The default set fits one 10-minute GPU call.
speed() {
  local py
  py=$(torch_python)
  local configs device=cpu
  if has_gpu; then
    device=cuda
    configs=${SPEED_CONFIGS:-"smallcnn:28:256:pgd resnet18:32:128:pgd resnet18:64:128:pgd resnet18:224:32:pgd smallcnn:28:256:pgd-at:2048 resnet18:32:128:pgd-at:1024"}
    nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/gpu.txt"
  else
    configs=${SPEED_CONFIGS:-"smallcnn:28:16:pgd"}
    echo "gpu-check speed: no NVIDIA GPU visible: CPU half only ($configs); these are not GPU numbers"
  fi
  : > "$out/speed.jsonl"
  for c in $configs; do
    IFS=: read -r model size batch mode images <<< "$c"
    local rounds=3
    [ "$device" = cpu ] && rounds=1
    jrun -Dadvmia.device="$device" org.advmia.backend.cuda.CudaSpeed --model "$model" --size "$size" --batch "$batch" \
      --mode "$mode" --images "${images:-1024}" --rounds "$rounds" 2>>"$out/speed.log" | tail -n 1 >> "$out/speed.jsonl" || true
    "$py" benchmarks/python/cuda_speed.py --device "$device" --model "$model" --size "$size" --batch "$batch" \
      --mode "$mode" --images "${images:-1024}" --rounds "$rounds" 2>>"$out/speed.log" | tail -n 1 >> "$out/speed.jsonl" || true
  done
  python3 - "$out/speed.jsonl" <<'PY' | tee "$out/speed.txt"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
key = lambda r: (r["model"], r["size"], r["batch"], r["mode"])
ours = {key(r): r for r in rows if r["impl"] == "advmia"}
torch = {key(r): r for r in rows if r["impl"] == "torch"}
print(f"{'config':<30} {'advmia img/s':>13} {'torch img/s':>12} {'ratio':>6} {'advmia TFLOP/s':>15} {'torch TFLOP/s':>14}")
for k in sorted(set(ours) | set(torch), key=str):
    o, t = ours.get(k), torch.get(k)
    flop = t["flop_per_image"] if t else None
    oi = o["images_per_s"] if o else None
    ti = t["images_per_s"] if t else None
    ratio = f"{oi / ti:.2f}" if oi and ti else "-"
    otf = f"{oi * flop / 1e12:.3f}" if oi and flop else "-"
    print(f"{'%s %dpx b%d %s' % k:<30} {oi if oi else '-':>13} {ti if ti else '-':>12} {ratio:>6} {otf:>15} "
          f"{t['tflops'] if t else '-':>14}")
dev = next((r["device"] for r in rows if r["impl"] == "advmia"), "?")
print(f"device: {dev}; ratio = advmia / torch images/s (same machine, same moment); TFLOP/s from the torch script's FLOP count")
PY
}

case "$mode" in
  prepare) prepare ;;
  check|--cpu) [ "$mode" = --cpu ] && export FORCE_CPU=1; check ;;
  speed) speed ;;
  *) echo "usage: scripts/gpu-check.sh [prepare|check|speed|--cpu]" >&2; exit 2 ;;
esac
