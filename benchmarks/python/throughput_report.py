#!/usr/bin/env python3
"""Tables for benchmarks/throughput_compare.sh from its JSON lines (any python3; no torch needed).

    python3 benchmarks/python/throughput_report.py benchmarks/out/throughput-<time>.jsonl

Ratios are speed ratios: > 1 means advmia is faster. GFLOP/s counts the nominal conv + linear
work of each row from the forward FLOPs per image F (PyTorch forward hooks): a PGD step is a
forward plus an input-gradient backward (2F), a training pass forward + backward-data +
backward-filter (3F). PGD-k: 2kF; NAT: 3F; PGD-AT: 20F + 3F; TRADES: F (clean probabilities) + 20F
+ 6F (two forward passes and their backward); Fast-AT: 2F + 3F; APGD-CE + APGD-T with S steps and
T targets: 2(S + 1)(1 + T)F. The CPU-time ratio (same work, process CPU seconds of each side) is
steadier than wall time when other processes share the cores, but it also counts threads that
spin while waiting. The sgemm peak is the best 1024^3 / 2048^3 product through the engine.
"""
import json
import sys

# Goals from issue #8: >= 2x PyTorch on these rows of SmallCNN, >= 1x elsewhere.
TWO_X = {("smallcnn", "pgd20"), ("smallcnn", "nat"), ("smallcnn", "pgd-at")}
FLOP_MULT = {"pgd10": 20, "pgd20": 40, "nat": 3, "pgd-at": 23, "trades": 27, "fast-at": 5}
LABEL = {"pgd10": "PGD-10 images/s", "pgd20": "PGD-20 images/s", "autoattack": "APGD-CE+APGD-T s / 1000 img",
         "nat": "NAT epoch s", "pgd-at": "PGD-AT epoch s", "trades": "TRADES epoch s", "fast-at": "Fast-AT epoch s"}


def main(path):
    rows = [json.loads(l) for l in open(path) if l.strip()]
    get = {}
    for r in rows:
        get[(r["impl"], r.get("model"), r["row"], r.get("size"))] = r
    peak = max((r["gflops_best"] for r in rows if r["row"] == "sgemm"), default=None)
    sg = [r for r in rows if r["row"] == "sgemm"]
    if sg:
        print("\nsgemm through the engine (OpenBLAS, 2 threads): " + ", ".join(
            f"{r['size']}^3 median {r['gflops_median']:.0f} / best {r['gflops_best']:.0f} GFLOP/s" for r in sg)
              + f"; peak used below: {peak:.0f} GFLOP/s")
    models = list(dict.fromkeys(r["model"] for r in rows if r.get("model")))
    budget = next((r["budget"] for r in rows if r["row"] == "autoattack"), None)

    print("\n| model | row | advmia | PyTorch | ratio (ours faster if > 1) | goal | met | ratio by process CPU time | advmia GFLOP/s | % of sgemm peak | PyTorch GFLOP/s |")
    print("|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for m in models:
        f = get.get(("torch", m, "flops", None), {}).get("fwd_flops_per_image")
        for row in ["pgd10", "pgd20", "autoattack", "nat", "pgd-at", "trades", "fast-at"]:
            o, t = get.get(("advmia", m, row, None)), get.get(("torch", m, row, None))
            if not o or not t:
                continue
            if row.startswith("pgd") and row != "pgd-at":
                ov, tv, ratio = o["images_per_s"], t["images_per_s"], o["images_per_s"] / t["images_per_s"]
                fmt = "{:.1f}"
            elif row == "autoattack":
                ov, tv, ratio = o["seconds_per_1000"], t["seconds_per_1000"], t["seconds_per_1000"] / o["seconds_per_1000"]
                fmt = "{:.1f}"
            else:
                ov, tv, ratio = o["seconds"], t["seconds"], t["seconds"] / o["seconds"]
                fmt = "{:.2f}"
            goal = 2.0 if (m, row) in TWO_X else 1.0
            cpu_ratio = (f"{t['cpu_seconds'] / o['cpu_seconds']:.2f}"
                         if o.get("cpu_seconds") and t.get("cpu_seconds") else "")
            og = tg = share = ""
            if f and row in FLOP_MULT:
                per_s_o = (o["images_per_s"]) * FLOP_MULT[row] * f / 1e9
                per_s_t = (t["images_per_s"]) * FLOP_MULT[row] * f / 1e9
                og, tg = f"{per_s_o:.0f}", f"{per_s_t:.0f}"
                share = f"{100 * per_s_o / peak:.0f} %" if peak else ""
            print(f"| {m} | {LABEL[row]} | {fmt.format(ov)} | {fmt.format(tv)} | **{ratio:.2f}** | {goal:.1f} | "
                  f"{'yes' if ratio >= goal else 'no'} | {cpu_ratio} | {og} | {share} | {tg} |")
    if budget:
        print(f"\nAutoAttack row budget (both sides): {budget}; FAB-T and Square are not compared.")

    print("\n| model | impl | Fast-AT / NAT wall (CPU time) | PGD-AT / NAT | TRADES / NAT |")
    print("|---|---|---:|---:|---:|")
    for m in models:
        for impl in ("advmia", "torch"):
            nat = get.get((impl, m, "nat", None))
            if not nat:
                continue
            cells = []
            for row in ("fast-at", "pgd-at", "trades"):
                r = get.get((impl, m, row, None))
                cpu = (f" ({r['cpu_seconds'] / nat['cpu_seconds']:.2f}x CPU)"
                       if r and r.get("cpu_seconds") and nat.get("cpu_seconds") else "")
                cells.append(f"{r['seconds'] / nat['seconds']:.2f}x{cpu}" if r else "")
            print(f"| {m} | {impl} | " + " | ".join(cells) + " |")

    steps = [r for r in rows if r["row"] == "pgdstep"]
    if steps:
        print("\n| model | fwd + input-grad bwd ms | one PGD step ms | ratio (wall) | ratio (process CPU time) |")
        print("|---|---:|---:|---:|---:|")
        for r in steps:
            print(f"| {r['model']} b{r['batch']} | {r['fwd_bwd_seconds'] * 1e3:.1f} | {r['pgd_step_seconds'] * 1e3:.1f} | "
                  f"{r['step_over_fwd_bwd']:.2f} | {r['step_over_fwd_bwd_cpu']:.2f} |")

    rss = {(r["impl"], r["model"]): r["peak_rss_kb"] for r in rows if r["row"] == "rss"}
    if rss:
        print("\n| model | advmia peak RSS MB | PyTorch peak RSS MB | ours <= PyTorch |")
        print("|---|---:|---:|---|")
        for m in models:
            o, t = rss.get(("advmia", m)), rss.get(("torch", m))
            if o is None or t is None:
                continue
            print(f"| {m} | {o / 1024:.0f} | {t / 1024:.0f} | {'yes' if o <= t else 'no'} |")


if __name__ == "__main__":
    main(sys.argv[1])
