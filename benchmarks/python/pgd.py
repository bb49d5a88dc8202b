#!/usr/bin/env python3
"""PGD-20 throughput in plain PyTorch (a torchattacks-style loop): SmallCNN, L-inf eps 8/255,
alpha 2/255, random start, 20 steps, CE loss, model in eval mode with frozen weights.

    /usr/bin/python3 benchmarks/python/pgd.py [--threads 2] [--batch 128] [--rounds 3]

Prints one JSON line: seconds per PGD-20 batch (median over rounds) and images/s.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from forward_backward import SmallCNN  # noqa: E402


def pgd(model, x, y, eps, alpha, steps):
    adv = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)
    for _ in range(steps):
        adv.requires_grad_(True)
        loss = F.cross_entropy(model(adv), y)
        (g,) = torch.autograd.grad(loss, adv)
        with torch.no_grad():
            adv = adv + alpha * g.sign()
            adv = torch.min(torch.max(adv, x - eps), x + eps).clamp(0, 1)
    return adv.detach()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = SmallCNN(1, 10, 28, 28).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    x = torch.rand(a.batch, 1, 28, 28)
    y = torch.randint(0, 10, (a.batch,))
    pgd(model, x, y, 8 / 255, 2 / 255, 2)   # warm-up
    times = []
    for _ in range(a.rounds):
        t0 = time.perf_counter()
        pgd(model, x, y, 8 / 255, 2 / 255, 20)
        times.append(time.perf_counter() - t0)
    s = statistics.median(times)
    print(json.dumps({"impl": "torch", "attack": "pgd-20", "model": "smallcnn", "batch": a.batch,
                      "threads": a.threads, "seconds": round(s, 4), "images_per_s": round(a.batch / s, 1),
                      "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
