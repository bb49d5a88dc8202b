#!/usr/bin/env python3
"""Generates the Grad-CAM parity fixture used by GradCamParityTest.

Run from the repository root with Debian's PyTorch, after scripts/make_fixtures.py:

    /usr/bin/python3 scripts/make_gradcam_fixtures.py

Writes src/test/resources/fixtures/gradcam.safetensors. The weights are NOT stored again: the
SmallCNN and ResNet-18 weights are read from the existing model fixtures (smallcnn.safetensors,
resnet18.safetensors; the pre-step tensors, i.e. every key without a "fixture." / "after."
prefix), whose names metadata entries record together with the SHA-256 of the file, so that a
regenerated model fixture is detected (make_fixtures.py output is byte-for-byte deterministic). Only inputs and maps are stored, which keeps the file
small (SmallCNN's convolutions alone would be 260 KB).

The reference is independent of the Java split into features()/head(): a forward hook captures
the activation of the layer Grad-CAM reads (SmallCNN: features.8, the last conv's ReLU before the
final max-pool, like relu5_3 in Selvaraju et al.'s VGG-16; ResNet-18: layer4), and the gradient of
the full model's logits with respect to it is taken with torch.autograd.grad.

Per model and per class vector (image 0 gets class c, image 1 class (c + 3) % 10, c = 0..9):
  <model>.coarse   [10, N, h, w]  ReLU(sum_k w_k A_k) / max, at the feature map's resolution
  <model>.cam      [10, N, H, W]  coarse upsampled with F.interpolate(bilinear,
                                  align_corners=False), divided by its max again
  <model>.classes  [10, N]        the class vectors (float)
  <model>.input    [N, C, H, W]
All computed in float64 from float32-exact inputs and weights, stored as float32. The input seed is
the first one whose maps a float32 PyTorch re-run reproduces within F32_ACCEPT and which survive
make_fixtures.GateNoise (ReLU / max-pool decisions taken on slightly perturbed values) within
NOISE_ACCEPT, so the Java float32 run cannot land on the other side of a near-tie.
"""

import hashlib
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402
import reference_models as rm  # noqa: E402

OUT = os.path.join(mf.OUT_DIR, "gradcam.safetensors")
F32_ACCEPT = 1e-5
NOISE_ACCEPT = 2e-5
MAX_ATTEMPTS = 200
CLASSES = 10

# name, weights fixture, class, args (must match the weights fixture), input shape, target
# layer, seed. SmallCNN's classifier fixes the pooled map at 1x1, which admits inputs of 16..19
# pixels per side; 19x18 gives a 3x3 map before the last pool. ResNet-18 is fully convolutional:
# 32x24 gives a non-square 4x3 layer4 map, so a transposed height/width cannot go unnoticed.
CONFIGS = [
    ("smallcnn", "smallcnn.safetensors", rm.SmallCNN,
     dict(in_channels=1, num_classes=10, input_height=17, input_width=16), (2, 1, 19, 18),
     lambda m: m.features[8], 201),
    ("resnet18", "resnet18.safetensors", rm.ResNet18,
     dict(in_channels=3, num_classes=10, width=2), (2, 3, 32, 24), lambda m: m.layer4, 202),
]


def load_weights(fixture):
    """The pre-step weights of a model fixture, and the SHA-256 of that whole file."""
    path = os.path.join(mf.OUT_DIR, fixture)
    tensors, _ = mf.read_safetensors(path)
    weights = {k: v for k, v in tensors.items() if not k.startswith(("fixture.", "after."))}
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return weights, digest


def build(cls, args, weights, dtype):
    model = cls(**args)
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in weights.items()}, strict=True)
    return model.to(dtype).eval()


def grad_cam(model, layer, x, classes):
    """Grad-CAM of x for classes (LongTensor [N]); returns (coarse [N, h, w], cam [N, H, W])."""
    captured = []
    handle = layer(model).register_forward_hook(lambda mod, inp, out: captured.append(out))
    try:
        logits = model(x)
    finally:
        handle.remove()
    (a,) = captured
    seed = F.one_hot(classes, logits.shape[1]).to(logits.dtype)
    (g,) = torch.autograd.grad(logits, a, seed)
    weights = g.mean(dim=(2, 3), keepdim=True)
    # clamp, not F.relu: GateNoise patches F.relu, and the map's own ReLU is not a network gate.
    cam = (weights * a).sum(dim=1, keepdim=True).clamp(min=0).detach()
    coarse = normalise(cam)
    up = normalise(F.interpolate(coarse, size=tuple(x.shape[2:]), mode="bilinear", align_corners=False))
    return coarse[:, 0], up[:, 0]


def normalise(m):
    mx = m.amax(dim=(2, 3), keepdim=True)
    return torch.where(mx > 0, m / torch.where(mx > 0, mx, torch.ones_like(mx)), m)


def class_vectors(n):
    return [torch.tensor([(c + 3 * i) % CLASSES for i in range(n)], dtype=torch.int64) for c in range(CLASSES)]


def all_maps(model, layer, x):
    coarse, cam = [], []
    for classes in class_vectors(x.shape[0]):
        c, u = grad_cam(model, layer, x, classes)
        coarse.append(c)
        cam.append(u)
    return torch.stack(coarse), torch.stack(cam)


def max_rel(a, ref):
    return mf.rel_err(a.double().numpy(), ref.double().numpy())


def make(name, fixture, cls, args, shape, layer, seed):
    weights, digest = load_weights(fixture)
    ref_model = build(cls, args, weights, torch.float64)
    for attempt in range(MAX_ATTEMPTS):
        s = seed + 1000 * attempt
        gen = torch.Generator().manual_seed(s)
        x = mf.to_f32_exact(torch.rand(shape, generator=gen, dtype=torch.float64))
        coarse, cam = all_maps(ref_model, layer, x)
        # A map that is zero everywhere (no positive evidence for that class) tests only the
        # zero branch. On random weights and noise inputs the map has nearly one sign everywhere,
        # so about half the classes give zero maps; at least half must be real.
        zero_maps = int((coarse.flatten(2).amax(dim=2) <= 0).sum())
        if zero_maps > coarse.shape[0] * coarse.shape[1] // 2:
            if mf.VERBOSE:
                print("  %s: seed %d rejected (%d all-zero maps)" % (name, s, zero_maps))
            continue
        f32_model = build(cls, args, weights, torch.float32)
        c32, u32 = all_maps(f32_model, layer, x.float())
        f32err = max(max_rel(c32, coarse), max_rel(u32, cam))
        noise = 0.0
        for trial in range(mf.NOISE_TRIALS):
            with mf.GateNoise(mf.NOISE_SIGMA, s * 100 + trial):
                cn, un = all_maps(build(cls, args, weights, torch.float64), layer, x)
            noise = max(noise, max_rel(cn, coarse), max_rel(un, cam))
        if f32err <= F32_ACCEPT and noise <= NOISE_ACCEPT:
            break
        if mf.VERBOSE:
            print("  %s: seed %d rejected (f32 %.1e, noise %.1e)" % (name, s, f32err, noise))
    else:
        raise SystemExit("%s: no well-conditioned input seed found" % name)
    tensors = {
        name + ".input": x.numpy().astype(np.float32),
        name + ".classes": torch.stack(class_vectors(shape[0])).numpy().astype(np.float32),
        name + ".coarse": coarse.numpy().astype(np.float32),
        name + ".cam": cam.numpy().astype(np.float32),
    }
    meta = {
        name + ".weights": fixture,
        name + ".weights_sha256": digest,
        name + ".args": ",".join("%s=%s" % (k, mf.fmt_arg(v)) for k, v in sorted(args.items())),
        name + ".seed": str(s),
        name + ".zero_maps": "%d of %d maps are all zero" % (zero_maps, coarse.shape[0] * coarse.shape[1]),
        name + ".check": "torch float32 re-run: max|err|/max|ref| = %.1e (<= %.0e); gate-noise (sigma %.0e, "
                         "%d trials): %.1e (<= %.0e)" % (f32err, F32_ACCEPT, mf.NOISE_SIGMA, mf.NOISE_TRIALS,
                                                        noise, NOISE_ACCEPT),
    }
    print("%-9s seed=%-6d input=%-10s map=%dx%d all-zero maps=%d/%d f32err=%.1e noise=%.1e" % (
        name, s, "x".join(str(d) for d in shape), coarse.shape[2], coarse.shape[3], zero_maps,
        coarse.shape[0] * coarse.shape[1], f32err, noise))
    return tensors, meta


def main():
    torch.set_num_threads(1)
    tensors = {}
    meta = {
        "format": "advmia-gradcam-fixture-v1",
        "algorithm": "Grad-CAM (Selvaraju et al. 2017): w_k = spatial mean of d logit_c / d A_k; "
                     "coarse = relu(sum_k w_k A_k) / max (all-zero stays zero); cam = "
                     "F.interpolate(coarse, (H, W), bilinear, align_corners=False) / max",
        "classes": "row c: image i gets class (c + 3 * i) % 10",
        "precision": "computed in float64 from float32-exact weights and input; stored as F32",
        "generator": "scripts/make_gradcam_fixtures.py (torch %s)" % torch.__version__.split("+")[0],
    }
    for cfg in CONFIGS:
        t, m = make(*cfg)
        tensors.update(t)
        meta.update(m)
    mf.write_safetensors(OUT, tensors, meta)
    got, got_meta = mf.read_safetensors(OUT)
    assert got_meta == meta and all(np.array_equal(got[k], v) for k, v in tensors.items()), "round trip"
    print("wrote %s (%.1f KB)" % (OUT, os.path.getsize(OUT) / 1024.0))


if __name__ == "__main__":
    main()
