#!/usr/bin/env python3
"""End-to-end throughput in plain PyTorch, the baseline side of benchmarks/throughput_compare.sh.

The same rows as org.advmia.bench.ThroughputBenchmark, one JSON line each:

  pgd10, pgd20  torchattacks-style L-inf PGD (eps 8/255, alpha 2/255, random start, CE), eval mode,
                frozen weights, one batch; images/s.
  autoattack    APGD-CE, then APGD-T (--aa-targets targets), --aa-steps steps each, both on every
                image of the batch (no early exit); seconds per 1000 images. Written here after
                Croce and Hein (2020), the same schedule as the engine's: momentum 0.75, step
                2 eps halved at checkpoints (0.22 N, then 0.03 N closer, at least 0.06 N) when
                fewer than 75 % of the steps increased the loss or the best loss stalled, restart
                from the best point. FAB-T and Square are not part of the comparison.
  nat, pgd-at, trades, fast-at
                one epoch of SGD (lr 0.01, momentum 0.9, weight decay 5e-4) over --train-images
                synthetic images in batches of the model's batch size: the usual training loops.
                PGD-AT: PGD-10 in eval mode, CE in train mode. TRADES (beta 6): 10 sign steps on
                KL(f(x) || f(x')) from x + 0.001 N(0, 1) in eval mode (clean probabilities computed
                once per batch, as the engine does), then CE(f(x)) + beta KL in train mode.
                Fast-AT: one FGSM step of 1.25 eps from a uniform start in eval mode, then CE.
  flops         forward conv + linear FLOPs per image (hooks), for the GFLOP/s columns.

Synthetic data: uniform [0, 1) images, labels i mod 10, fixed seed. Models: SmallCNN 28x28x1 b128,
ResNet-18 (CIFAR stem) 32x32x3 b64, MobileNetV2 (torchvision layout, CIFAR strides) 32x32x3 b64.

    /usr/bin/python3 benchmarks/python/throughput.py --models smallcnn --rows pgd20,nat --rounds 2
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from forward_backward import ResNet18, SmallCNN, conv_linear_flops  # noqa: E402

EPS, ALPHA = 8 / 255, 2 / 255
ALL_ROWS = ["pgd10", "pgd20", "autoattack", "nat", "pgd-at", "trades", "fast-at"]


def make_divisible(v, divisor=8):
    r = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return r + divisor if r < 0.9 * v else r


def conv_bn_relu6(inp, out, k, stride, groups=1):
    return nn.Sequential(nn.Conv2d(inp, out, k, stride, (k - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(out), nn.ReLU6())


class InvertedResidual(nn.Module):
    def __init__(self, inp, out, stride, expand):
        super().__init__()
        hidden = inp * expand
        self.residual = stride == 1 and inp == out
        layers = [] if expand == 1 else [conv_bn_relu6(inp, hidden, 1, 1)]
        layers += [conv_bn_relu6(hidden, hidden, 3, stride, hidden),
                   nn.Conv2d(hidden, out, 1, 1, 0, bias=False), nn.BatchNorm2d(out)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.residual else self.conv(x)


class MobileNetV2(nn.Module):
    """torchvision's MobileNetV2 with CIFAR strides (stem and second stage stride 1), as the engine's."""
    SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, in_channels=3, num_classes=10):
        super().__init__()
        inp, last = 32, 1280
        feats = [conv_bn_relu6(in_channels, inp, 3, 1)]
        for t, c, n, s in self.SETTINGS:
            out = make_divisible(c)
            for i in range(n):
                feats.append(InvertedResidual(inp, out, s if i == 0 else 1, t))
                inp = out
        feats.append(conv_bn_relu6(inp, last, 1, 1))
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


MODELS = {
    "smallcnn": (lambda: SmallCNN(1, 10, 28, 28), (1, 28, 28), 128, 1024),
    "resnet18": (lambda: ResNet18(3, 10, 64), (3, 32, 32), 64, 256),
    "mobilenetv2": (lambda: MobileNetV2(3, 10), (3, 32, 32), 64, 256),
}


def data(shape, n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((n,) + shape, generator=g)
    y = torch.arange(n) % 10
    return x, y


def freeze(model, frozen):
    for p in model.parameters():
        p.requires_grad_(not frozen)


def pgd(model, x, y, eps, alpha, steps):
    """torchattacks.PGD's loop."""
    adv = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1).detach()
    for _ in range(steps):
        adv.requires_grad_(True)
        loss = F.cross_entropy(model(adv), y)
        (g,) = torch.autograd.grad(loss, adv)
        with torch.no_grad():
            adv = adv + alpha * g.sign()
            adv = torch.min(torch.max(adv, x - eps), x + eps).clamp(0, 1)
    return adv.detach()


def dlr_targeted(z, y, t):
    s, _ = z.sort(dim=1)
    zy, zt = z.gather(1, y[:, None])[:, 0], z.gather(1, t[:, None])[:, 0]
    return -(zy - zt) / (s[:, -1] - 0.5 * (s[:, -3] + s[:, -4]) + 1e-12)


def apgd(model, x0, y, eps, steps, loss_fn):
    """One APGD run (L-inf), per-sample loss_fn(logits) -> [N]; returns the adversarial batch."""
    n = x0.shape[0]
    view = (n,) + (1,) * (x0.dim() - 1)
    checkpoint = max(int(0.22 * steps), 1)
    min_gap, shrink = max(int(0.06 * steps), 1), max(int(0.03 * steps), 1)

    def grad_at(x):
        x = x.clone().requires_grad_(True)
        logits = model(x)
        loss = loss_fn(logits)
        (g,) = torch.autograd.grad(loss.sum(), x)
        return g.detach(), loss.detach(), logits.detach()

    def project(x):
        return torch.min(torch.max(x, x0 - eps), x0 + eps).clamp(0, 1)

    t = 2 * torch.rand_like(x0) - 1
    x = project(x0 + t / (t.abs().amax(dim=tuple(range(1, x0.dim())), keepdim=True) / eps + 1e-12))
    eta = torch.full(view, 2 * eps)
    grad, loss, logits = grad_at(x)
    loss_best, loss_prev = loss.clone(), loss.clone()
    found = logits.argmax(1) != y
    best_adv, best, best_grad, x_prev = x.clone(), x.clone(), grad.clone(), x.clone()
    increases = torch.zeros(n)
    loss_at_check, reduced = loss_best.clone(), torch.zeros(n, dtype=torch.bool)
    since = 0
    for step in range(steps):
        with torch.no_grad():
            z = project(x + eta * grad.sign())
            a = 1.0 if step == 0 else 0.75
            nxt = project(a * z + 2 * (1 - a) * x - (1 - a) * x_prev)
            x_prev, x = x, nxt
        grad, loss, logits = grad_at(x)
        with torch.no_grad():
            fresh = (logits.argmax(1) != y) & ~found
            best_adv[fresh] = x[fresh]
            found |= fresh
            increases += (loss > loss_prev).float()
            loss_prev = loss
            better = loss > loss_best
            best[better] = x[better]
            best_grad[better] = grad[better]
            loss_best = torch.max(loss_best, loss)
            since += 1
            if since == checkpoint:
                oscillating = increases <= checkpoint * 0.75
                stalled = ~reduced & (loss_at_check >= loss_best)
                reduced = oscillating | stalled
                eta[reduced] /= 2
                x[reduced] = best[reduced]
                grad[reduced] = best_grad[reduced]
                loss_at_check = loss_best.clone()
                increases.zero_()
                since = 0
                checkpoint = max(checkpoint - shrink, min_gap)
    return torch.where(found.view(view), best_adv, best)


def apgd_ce_then_t(model, x, y, steps, targets):
    adv = apgd(model, x, y, EPS, steps, lambda z: F.cross_entropy(z, y, reduction="none"))
    with torch.no_grad():
        ranked = model(x).argsort(dim=1, descending=True)
    for k in range(1, targets + 1):
        tgt = torch.where(ranked[:, k] == y, ranked[:, 0], ranked[:, k])
        trial = apgd(model, x, y, EPS, steps, lambda z, tgt=tgt: dlr_targeted(z, y, tgt))
        with torch.no_grad():
            newly = (model(trial).argmax(1) != y) & (model(adv).argmax(1) == y)
            adv[newly] = trial[newly]
    return adv


def trades_adversary(model, x, steps, eps, alpha):
    with torch.no_grad():
        p_clean = F.softmax(model(x), dim=1)
    adv = (x + 0.001 * torch.randn_like(x)).detach()
    for _ in range(steps):
        adv.requires_grad_(True)
        kl = F.kl_div(F.log_softmax(model(adv), dim=1), p_clean, reduction="sum")
        (g,) = torch.autograd.grad(kl, adv)
        with torch.no_grad():
            adv = torch.min(torch.max(adv + alpha * g.sign(), x - eps), x + eps).clamp(0, 1)
    return adv.detach()


def fast_adversary(model, x, y, eps):
    delta = torch.empty_like(x).uniform_(-eps, eps)
    delta = (torch.clamp(x + delta, 0, 1) - x).requires_grad_(True)
    (g,) = torch.autograd.grad(F.cross_entropy(model(x + delta), y), delta)
    with torch.no_grad():
        delta = torch.clamp(delta + 1.25 * eps * g.sign(), -eps, eps)
        return torch.clamp(x + delta, 0, 1)


def train_step(model, opt, defense, x, y):
    if defense != "nat":
        model.eval()
        freeze(model, True)
        if defense == "pgd-at":
            x_adv = pgd(model, x, y, EPS, ALPHA, 10)
        elif defense == "trades":
            x_adv = trades_adversary(model, x, 10, EPS, ALPHA)
        else:
            x_adv = fast_adversary(model, x, y, EPS)
        freeze(model, False)
    model.train()
    if defense == "nat":
        loss = F.cross_entropy(model(x), y)
    elif defense == "trades":
        logits = model(x)
        kl = F.kl_div(F.log_softmax(model(x_adv), dim=1), F.softmax(logits, dim=1), reduction="sum") / x.shape[0]
        loss = F.cross_entropy(logits, y) + 6.0 * kl
    else:
        loss = F.cross_entropy(model(x_adv), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()


CPU = []   # process CPU seconds of the last timed() call's rounds


def timed(fn, rounds):
    t = []
    CPU.clear()
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        t.append(time.perf_counter() - t0)
        CPU.append(time.process_time() - c0)
    return statistics.median(t), min(t)


def row_json(name, row, batch, threads, **fields):
    out = {"impl": "torch", "row": row, "model": name, "batch": batch, "threads": threads}
    if CPU and row != "flops":
        fields["cpu_seconds"] = statistics.median(CPU)
    out.update({k: (round(v, 6) if isinstance(v, float) else v) for k, v in fields.items()})
    print(json.dumps(out), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default="smallcnn,resnet18,mobilenetv2")
    ap.add_argument("--rows", default=",".join(ALL_ROWS + ["flops"]))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--train-images", type=int, default=0)
    ap.add_argument("--aa-steps", type=int, default=10)
    ap.add_argument("--aa-targets", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    threads = torch.get_num_threads()
    for name in a.models.split(","):
        if name not in MODELS:
            sys.exit(f"throughput.py: --models: unknown model '{name}' ({', '.join(MODELS)})")
        build, shape, batch, default_train = MODELS[name]
        for row in a.rows.split(","):
            torch.manual_seed(0)
            model = build()
            x, y = data(shape, batch, 1)
            if row == "flops":
                row_json(name, row, batch, threads, fwd_flops_per_image=conv_linear_flops(model.eval(), x[:1]))
            elif row in ("pgd10", "pgd20"):
                steps = 10 if row == "pgd10" else 20
                model.eval()
                freeze(model, True)
                pgd(model, x, y, EPS, ALPHA, 2)
                s, best = timed(lambda: pgd(model, x, y, EPS, ALPHA, steps), a.rounds)
                row_json(name, row, batch, threads, seconds=s, seconds_min=best, images_per_s=batch / s, rounds=a.rounds)
            elif row == "autoattack":
                model.eval()
                freeze(model, True)
                apgd_ce_then_t(model, x, y, 2, 1)
                s, best = timed(lambda: apgd_ce_then_t(model, x, y, a.aa_steps, a.aa_targets), a.rounds)
                row_json(name, row, batch, threads, budget=f"APGD-CE {a.aa_steps} steps + APGD-T {a.aa_targets} targets x "
                         f"{a.aa_steps} steps, all images", seconds=s, seconds_per_1000=s * 1000 / batch, rounds=a.rounds)
            elif row in ("nat", "pgd-at", "trades", "fast-at"):
                images = a.train_images or default_train
                nb = images // batch
                if nb < 1:
                    sys.exit(f"throughput.py: --train-images {images} is below one batch of {batch}")
                xs, ys = data(shape, nb * batch, 2)
                batches = [(xs[i * batch:(i + 1) * batch], ys[i * batch:(i + 1) * batch]) for i in range(nb)]
                opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
                for xb, yb in batches[:2]:   # warm-up
                    train_step(model, opt, row, xb, yb)

                def epoch():
                    for xb, yb in batches:
                        train_step(model, opt, row, xb, yb)
                s, best = timed(epoch, a.rounds)
                row_json(name, row, batch, threads, images=nb * batch, seconds=s, seconds_min=best,
                         images_per_s=nb * batch / s, rounds=a.rounds)
            else:
                sys.exit(f"throughput.py: --rows: unknown row '{row}' ({', '.join(ALL_ROWS + ['flops'])})")


if __name__ == "__main__":
    main()
