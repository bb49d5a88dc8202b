#!/usr/bin/env python3
"""PyTorch CPU baseline for benchmarks/compare.sh: one forward + backward per iteration.

Each iteration: train-mode forward, mean cross-entropy, backward to the weights AND the input
(the input requires grad, as in adversarial training), gradients zeroed first. Warm-up
iterations, then the median of N timed ones. One JSON line per model on stdout.

Run with Debian's PyTorch (not the pyenv python on PATH):

    /usr/bin/python3 benchmarks/python/forward_backward.py [--threads 2] [--warmup 5] [--iters 20]

The architectures are written out here (torchvision naming) so the baseline does not depend on
torchvision or on the project's own reference scripts:
  * smallcnn: conv32-relu-conv32-relu-maxpool2-conv64-relu-conv64-relu-maxpool2 (3x3, no padding),
    fc200-relu-dropout0.5-fc200-relu-fc(classes); 28x28x1, batch 128.
  * resnet18: torchvision BasicBlock ResNet-18, CIFAR stem (3x3 stride-1 conv1, no max-pool),
    width 64; 32x32x3, batch 64.
"""

import argparse
import json
import platform
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class SmallCNN(nn.Module):
    def __init__(self, in_channels=1, num_classes=10, height=28, width=28):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3), nn.ReLU(),
            nn.Conv2d(32, 32, 3), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(),
            nn.Conv2d(64, 64, 3), nn.ReLU(),
            nn.MaxPool2d(2))
        fh, fw = ((height - 4) // 2 - 4) // 2, ((width - 4) // 2 - 4) // 2
        self.classifier = nn.Sequential(
            nn.Linear(64 * fh * fw, 200), nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(200, 200), nn.ReLU(),
            nn.Linear(200, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class BasicBlock(nn.Module):
    def __init__(self, inp, out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out)
        self.conv2 = nn.Conv2d(out, out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out)
        self.downsample = None
        if stride != 1 or inp != out:
            self.downsample = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    def __init__(self, in_channels=3, num_classes=10, width=64):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        inp = width
        for i in range(4):
            out, stride = width << i, 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(inp, out, stride), BasicBlock(out, out, 1)))
            inp = out
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(inp, num_classes)

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        for i in range(4):
            h = getattr(self, f"layer{i + 1}")(h)
        return self.fc(torch.flatten(self.avgpool(h), 1))


def conv_linear_flops(model, x):
    """Forward multiply-add FLOPs (2 per MAC) of every Conv2d and Linear, by forward hooks."""
    total = [0]

    def conv_hook(m, inp, out):
        k = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
        total[0] += 2 * out.numel() * k

    def linear_hook(m, inp, out):
        total[0] += 2 * out.numel() * m.in_features

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return total[0]


def bench(name, model, shape, classes, warmup, iters):
    torch.manual_seed(0)
    x = torch.rand(*shape)
    y = torch.randint(0, classes, (shape[0],))
    model.train()
    fwd_flops = conv_linear_flops(model, x)

    def step():
        model.zero_grad(set_to_none=True)
        xi = x.clone().requires_grad_(True)
        loss = F.cross_entropy(model(xi), y)
        loss.backward()
        return xi.grad

    for _ in range(warmup):
        step()
    times, cpu = [], []
    for _ in range(iters):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    ms = statistics.median(times)
    # forward + backward-data + backward-filter: 3x the forward FLOPs (backward-data of the
    # first conv is needed too, since the input gradient is requested).
    flops = 3 * fwd_flops
    return {
        "impl": "torch", "model": name, "batch": shape[0], "input": list(shape[1:]),
        "threads": torch.get_num_threads(), "warmup": warmup, "iters": iters,
        "ms_median": round(ms, 3), "ms_min": round(min(times), 3), "ms_max": round(max(times), 3),
        "images_per_s": round(shape[0] / ms * 1e3, 1),
        "gflop_per_iter": round(flops / 1e9, 3), "gflops": round(flops / ms / 1e6, 1),
        "cpu_ms_median": round(statistics.median(cpu), 3),
        "torch": torch.__version__,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--models", default="smallcnn,resnet18")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    configs = {
        "smallcnn": lambda: (SmallCNN(1, 10, 28, 28), (128, 1, 28, 28), 10),
        "resnet18": lambda: (ResNet18(3, 10, 64), (64, 3, 32, 32), 10),
    }
    for name in a.models.split(","):
        model, shape, classes = configs[name]()
        print(json.dumps(bench(name, model, shape, classes, a.warmup, a.iters)), flush=True)


if __name__ == "__main__":
    main()
