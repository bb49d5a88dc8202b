#!/usr/bin/env bash
# PGD-20 images/s: advmia vs a plain PyTorch PGD loop (torchattacks-style), SmallCNN b128 28x28x1,
# L-inf eps 8/255, alpha 2/255, 2 threads each, run back to back on this machine.
#   benchmarks/pgd_compare.sh [--no-build]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ "${1:-}" = "--no-build" ] || mvn -q -DskipTests test-compile
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
ours=$(ADVMIA_THREADS=2 java -cp "target/classes:target/test-classes:$(cat target/runtime-classpath.txt)" org.advmia.bench.PgdBenchmark 128 3 2>/dev/null | tail -1)
torch=$(/usr/bin/python3 benchmarks/python/pgd.py --threads 2 --batch 128 --rounds 3 | tail -1)
echo "$ours"
echo "$torch"
python3 - "$ours" "$torch" <<'PY'
import json, sys
o, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"PGD-20 SmallCNN b128: advmia {o['images_per_s']} img/s, PyTorch {t['images_per_s']} img/s, "
      f"ratio (ours / torch) {o['images_per_s'] / t['images_per_s']:.2f}")
PY
