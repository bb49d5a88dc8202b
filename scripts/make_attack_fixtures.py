#!/usr/bin/env python3
"""PyTorch reference runs of FGSM, PGD (fixed start), the survey's CW-margin PGD and APGD-CE.

Run from the repository root with Debian's PyTorch:

    /usr/bin/python3 scripts/make_attack_fixtures.py

Trains a SmallCNN (1x17x16 input, 10 outputs) briefly on a procedural 4-class task so that its
input gradients are meaningful, then writes src/test/resources/fixtures/attacks.safetensors: the
weights (float32-exact, stored as F32 under their state_dict names), a batch of inputs, its
labels, and each attack's adversarial batch. Everything runs in float64 (so sign(grad) ties cannot flip a step
between implementations) and is stored as F64. The attacks are written here from their papers,
independently of the Java code, with the conventions the Java attacks document:
  - every attack ascends the sum over samples of a per-sample loss;
  - projection = clip to [x0 - eps, x0 + eps], then to [0, 1];
  - APGD: eta0 = 2 eps, momentum 0.75 (1 on the first step), checkpoints after 0.22 N steps,
    then 0.03 N closer each time (at least 0.06 N); at a checkpoint a sample halves its step and
    restarts from its best point and gradient if fewer than 0.75 of the steps since the last
    checkpoint increased its loss, or if its step was not halved last time and its best loss did
    not improve; output: the first misclassified point found, else the best-loss point.
"""

import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402
import reference_models as rm  # noqa: E402

FIXTURES = os.path.join("src", "test", "resources", "fixtures")
# Large enough that the network is fooled on some samples but not all, so APGD's success
# bookkeeping is exercised.
EPS = 0.08


def blobs(n, gen):
    """Class k in 0..3: a bright blob in quadrant k, on noise."""
    y = torch.arange(n) % 4
    x = 0.3 * torch.rand(n, 1, 17, 16, generator=gen)
    hh, ww = torch.meshgrid(torch.arange(17.0), torch.arange(16.0), indexing="ij")
    for i in range(n):
        ch, cw_ = (4.0 if y[i] < 2 else 12.0), (4.0 if y[i] % 2 == 0 else 11.0)
        ch += torch.rand(1, generator=gen).item() * 2 - 1
        x[i, 0] += 0.6 * torch.exp(-((hh - ch) ** 2 + (ww - cw_) ** 2) / 6.0)
    return x.clamp(0, 1), y


def trained_smallcnn():
    torch.manual_seed(7)
    gen = torch.Generator().manual_seed(11)
    model = rm.SmallCNN(in_channels=1, num_classes=10, input_height=17, input_width=16)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(40):   # short: a confident-but-not-saturated model (see main)
        x, y = blobs(64, gen)
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.float())   # float32-exact, so the F32 file holds exactly these weights
    return model.double().eval()


def project(x, x0, eps):
    return torch.clamp(torch.min(torch.max(x, x0 - eps), x0 + eps), 0.0, 1.0)


def ce(logits, y):
    return F.cross_entropy(logits, y, reduction="none")


def cw(logits, y, kappa=50.0):
    true = logits.gather(1, y[:, None])[:, 0]
    other = logits.masked_fill(F.one_hot(y, logits.shape[1]).bool(), float("-inf")).max(1)[0]
    return -torch.relu(true - other + kappa)


def loss_grad(model, x, y, loss_fn):
    x = x.clone().requires_grad_(True)
    logits = model(x)
    loss = loss_fn(logits, y)
    (g,) = torch.autograd.grad(loss.sum(), x)
    return loss.detach(), g.detach(), logits.detach()


def fgsm(model, x0, y):
    _, g, _ = loss_grad(model, x0, y, ce)
    return project(x0 + EPS * g.sign(), x0, EPS)


def pgd(model, x0, y, loss_fn, steps, alpha):
    x = x0.clone()
    for _ in range(steps):
        _, g, _ = loss_grad(model, x, y, loss_fn)
        x = project(x + alpha * g.sign(), x0, EPS)
    return x


def apgd_ce(model, x0, y, steps):
    n = x0.shape[0]
    ckpt = max(int(0.22 * steps), 1)
    min_gap, shrink = max(int(0.06 * steps), 1), max(int(0.03 * steps), 1)
    eta = torch.full((n, 1, 1, 1), 2 * EPS, dtype=x0.dtype)
    x = x0.clone()
    loss, grad, logits = loss_grad(model, x, y, ce)
    loss_best, loss_prev = loss.clone(), loss.clone()
    best, best_adv, best_grad = x.clone(), x.clone(), grad.clone()
    found = logits.argmax(1) != y
    best_adv[found] = x[found]
    increases = torch.zeros(n, dtype=x0.dtype)
    loss_at_check, reduced = loss_best.clone(), torch.zeros(n, dtype=torch.bool)
    prev, since = x.clone(), 0
    for step in range(steps):
        z = project(x + eta * grad.sign(), x0, EPS)
        a = 1.0 if step == 0 else 0.75
        nxt = project(a * z + 2 * (1 - a) * x - (1 - a) * prev, x0, EPS)
        prev, x = x, nxt
        loss, grad, logits = loss_grad(model, x, y, ce)
        mis = logits.argmax(1) != y
        fresh = mis & ~found
        best_adv[fresh] = x[fresh]
        found |= mis
        increases += (loss > loss_prev).double()
        loss_prev = loss.clone()
        improved = loss > loss_best
        best[improved] = x[improved]
        best_grad[improved] = grad[improved]
        loss_best = torch.max(loss_best, loss)
        since += 1
        if since == ckpt:
            oscillating = increases <= ckpt * 0.75
            stalled = ~reduced & (loss_at_check >= loss_best)
            reduced = oscillating | stalled
            eta[reduced] /= 2
            x[reduced] = best[reduced]
            grad[reduced] = best_grad[reduced]
            loss_at_check = loss_best.clone()
            increases.zero_()
            since = 0
            ckpt = max(ckpt - shrink, min_gap)
    out = best.clone()
    out[found] = best_adv[found]
    return out


def main():
    torch.set_num_threads(1)
    model = trained_smallcnn()
    # Only inputs where the softmax is not saturated: at p_max ~ 1 the CE gradient is ~1e-16 and its
    # sign is round-off noise in any implementation, which would make sign-based steps incomparable.
    pool, _ = blobs(400, torch.Generator().manual_seed(99))
    pool = pool.double()
    with torch.no_grad():
        p_max = F.softmax(model(pool), 1).max(1)[0]
    x0 = pool[p_max < 0.99][:12]
    assert x0.shape[0] == 12, "not enough unsaturated inputs"
    with torch.no_grad():
        y = model(x0).argmax(1)   # attack the model's own predictions: clean accuracy 1
    out = {
        "input": x0, "labels": y.double(),
        "fgsm": fgsm(model, x0, y),
        "pgd": pgd(model, x0, y, ce, steps=10, alpha=EPS / 4),
        "cw": pgd(model, x0, y, cw, steps=30, alpha=EPS / 10),
        "apgd_ce": apgd_ce(model, x0, y, steps=20),
    }
    with torch.no_grad():
        for k in ("fgsm", "pgd", "cw", "apgd_ce"):
            acc = (model(out[k]).argmax(1) == y).double().mean().item()
            print(f"{k:8s} robust accuracy {acc:.3f}  max|delta| {(out[k] - x0).abs().max().item():.5f}")
    meta = {"format": "advmia-attack-fixture-v1", "model": "smallcnn, weights under weights.*",
            "eps": str(EPS), "fgsm": "one step of eps", "pgd": "10 steps, alpha eps/4, no random start, CE",
            "cw": "30 steps, alpha eps/10, kappa 50, no random start", "apgd_ce": "20 steps, no random start",
            "precision": "float64", "generator": "scripts/make_attack_fixtures.py"}
    tensors = {"weights." + k: v.float().numpy() for k, v in model.state_dict().items()}
    tensors.update({k: v.numpy() for k, v in out.items()})
    mf.write_safetensors(os.path.join(FIXTURES, "attacks.safetensors"), tensors, meta)


if __name__ == "__main__":
    main()
