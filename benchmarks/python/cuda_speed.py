#!/usr/bin/env python3
"""PyTorch eager baseline for the GPU speed harness: PGD-20 images/s, or one PGD-AT epoch.

    python3 benchmarks/python/cuda_speed.py --device cuda --model resnet18 --size 32 --batch 128 --mode pgd
    python3 benchmarks/python/cuda_speed.py --device cpu --model smallcnn --size 28 --mode pgd-at --images 256

Same settings as the engine's half (org.advmia.backend.cuda.CudaSpeed): SmallCNN (28 px, 1 channel)
or the CIFAR-style ResNet-18 of scripts/reference_models.py (3x3 stem, no max-pool) at any size;
L-inf eps 8/255, step 2/255, random start, CE loss; PGD-20 with frozen eval-mode weights; PGD-AT =
PGD-10 per batch then one SGD step (lr 0.01, momentum 0.9, weight decay 5e-4) in train mode.
TF32 is off (as in the engine). Prints one JSON line, including the forward GFLOP per image
(2 x multiply-adds of every conv and linear layer, counted with hooks) and the FLOP model used:
a PGD step costs forward + input-gradient backward ~ 2 x forward; a training step ~ 3 x forward.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
from forward_backward import SmallCNN  # noqa: E402
from reference_models import ResNet18  # noqa: E402


def forward_flops(model, x):
    """2 x multiply-adds of conv and linear layers for one image."""
    total = [0]

    def conv_hook(m, inp, out):
        k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
        total[0] += 2 * out.numel() // out.shape[0] * k

    def linear_hook(m, inp, out):
        total[0] += 2 * m.in_features * m.out_features

    hooks = [m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    hooks += [m.register_forward_hook(linear_hook) for m in model.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        model.eval()(x[:1])
    for h in hooks:
        h.remove()
    return total[0]


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


def pgd_at_step(model, opt, x, y):
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    adv = pgd(model, x, y, 8 / 255, 2 / 255, 10)
    model.train()
    for p in model.parameters():
        p.requires_grad_(True)
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(model(adv), y).backward()
    opt.step()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    ap.add_argument("--model", default="smallcnn", choices=["smallcnn", "resnet18"])
    ap.add_argument("--size", type=int, default=28)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--mode", default="pgd", choices=["pgd", "pgd-at"])
    ap.add_argument("--images", type=int, default=1024, help="images in one PGD-AT epoch")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="CPU threads (device cpu)")
    a = ap.parse_args()
    if a.device == "cuda" and not torch.cuda.is_available():
        sys.exit("cuda_speed.py: --device cuda but torch.cuda.is_available() is False")
    torch.set_num_threads(a.threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    dev = torch.device(a.device)
    channels = 1 if a.model == "smallcnn" else 3
    model = (SmallCNN(1, 10, a.size, a.size) if a.model == "smallcnn" else ResNet18(3, 10)).to(dev)
    x = torch.rand(a.batch, channels, a.size, a.size, device=dev)
    y = (torch.arange(a.batch, device=dev) % 10)
    flops = forward_flops(model, x)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    if a.mode == "pgd":
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        per_round = a.batch
        work = lambda: pgd(model, x, y, 8 / 255, 2 / 255, 20)  # noqa: E731
        warm = lambda: pgd(model, x, y, 8 / 255, 2 / 255, 2)  # noqa: E731
        flop_per_image = 20 * 2 * flops
    else:
        per_round = max(a.batch, a.images // a.batch * a.batch)

        def work():
            for _ in range(per_round // a.batch):
                pgd_at_step(model, opt, x, y)

        warm = lambda: pgd_at_step(model, opt, x, y)  # noqa: E731
        flop_per_image = 10 * 2 * flops + 3 * flops
    warm()
    sync()
    times = []
    for _ in range(a.rounds):
        t0 = time.perf_counter()
        work()
        sync()
        times.append(time.perf_counter() - t0)
    s = statistics.median(times)
    ips = per_round / s
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(json.dumps({"impl": "torch", "device": name, "mode": a.mode, "model": a.model, "size": a.size,
                      "batch": a.batch, "images": per_round, "seconds": round(s, 4), "images_per_s": round(ips, 1),
                      "forward_gflop_per_image": round(flops / 1e9, 4), "flop_per_image": flop_per_image,
                      "tflops": round(ips * flop_per_image / 1e12, 3), "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
