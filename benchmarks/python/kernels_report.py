#!/usr/bin/env python3
"""Table for benchmarks/kernels.sh from JMH's JSON result file (any python3).

    python3 benchmarks/python/kernels_report.py benchmarks/out/kernels-<time>.json

Work per call, from the shape parameter the benchmark ran (label:numbers):
  conv  (n, c, h, w, cout, k, stride, pad, groups): 2 n cout oh ow (c / groups) k^2 FLOPs for each of
        forward, backward-data and backward-filter.
  gemm  (m, n, k): 2 m n k FLOPs.
  batch norm (n, c, h, w): minimum traffic, forward 2 x 4 B per element (read x, write y),
        backward 3 x 4 B (read x and gy, write gx).
  attack step (n, c, h, w): 4 x 4 B per element (read x0, x, g; write x).
  losses (n, classes): forward reads logits and labels, writes the loss; backward reads logits,
        labels and the loss gradient, writes the logit gradient.
"""
import json
import sys


def conv_flops(d):
    n, c, h, w, cout, k, s, p, g = d
    oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    return 2.0 * n * cout * oh * ow * (c // g) * k * k


def work(bench, method, d):
    """('GFLOP/s' or 'GB/s', amount per call)."""
    if bench == "ConvBenchmark":
        return "GFLOP/s", conv_flops(d)
    if bench == "GemmBenchmark":
        m, n, k = d
        return "GFLOP/s", 2.0 * m * n * k
    elems = 1
    for v in d:
        elems *= v
    if bench == "BatchNormBenchmark":
        return "GB/s", elems * 4 * (2 if method == "forward" else 3)
    if bench == "AttackStepBenchmark":
        return "GB/s", elems * 4 * 4
    if bench == "LossBenchmark":
        n, c = d
        if method.endswith("Forward"):
            return "GB/s", 4 * (n * c + n + n)
        return "GB/s", 4 * (n * c + n + n + n * c)
    return "", 0


def main(path):
    rows = json.load(open(path))
    print("\n| kernel | shape | op | us per call (JMH mean) | error (99.9 %) us | rate |")
    print("|---|---|---|---:|---:|---:|")
    for r in rows:
        full = r["benchmark"].split(".")
        bench, method = full[-2], full[-1]
        param = next(iter(r.get("params", {}).values()), "")
        label, *nums = param.split(":")
        d = [int(v) for v in nums]
        pm = r["primaryMetric"]
        us = pm["score"]
        unit, amount = work(bench, method, d)
        rate = f"{amount / (us * 1e-6) / 1e9:.1f} {unit}" if amount else ""
        err = pm.get("scoreError")
        err = f"{err:.1f}" if isinstance(err, (int, float)) and err == err else ""
        print(f"| {bench.replace('Benchmark', '')} | {label} ({'x'.join(nums)}) | {method} | {us:.1f} | {err} | {rate} |")


if __name__ == "__main__":
    main(sys.argv[1])
