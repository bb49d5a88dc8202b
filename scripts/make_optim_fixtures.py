#!/usr/bin/python3
"""Writes src/test/resources/fixtures/optim.json: PyTorch reference values for the optimizers and
learning-rate schedules in org.advmia.optim (read by OptimizerParityTest and ScheduleParityTest).

Run from the repository root with the system Python, which has torch 1.13:
    /usr/bin/python3 scripts/make_optim_fixtures.py

Contents:
  schedules:    for each config, the lr the optimizer holds before each of `steps` optimizer steps
                when the torch scheduler is stepped once after every optimizer step (index t is
                the rate of step t, i.e. scheduler.last_epoch == t).
  trajectories: a 7-value float64 parameter updated by torch.optim.SGD / Adam / AdamW from a fixed
                sequence of 5 gradients; `params[t]` is the parameter after step t. A null gradient
                means the parameter had no gradient in that step (p.grad = None), which PyTorch
                skips without touching the parameter's state.
Everything is float64 and written with repr(), so the JSON numbers are exact.
"""
import json
import os
import warnings

import numpy as np
import torch
from torch.optim import lr_scheduler

OUT = os.path.join("src", "test", "resources", "fixtures", "optim.json")
STEPS = 50


def lr_sequence(make_scheduler, base_lr, steps=STEPS):
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = make_scheduler(opt)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()  # no gradient: nothing moves, but the scheduler sees the usual call order
        sched.step()
    return lrs


def momentum_sequence(args, steps):
    """SGD momentum per step under OneCycleLR's default momentum cycling (0.85 <-> 0.95)."""
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=args["max_lr"], momentum=0.9)
    sched = lr_scheduler.OneCycleLR(opt, cycle_momentum=True, base_momentum=0.85, max_momentum=0.95, **args)
    momenta = []
    for _ in range(steps):
        momenta.append(opt.param_groups[0]["momentum"])
        opt.step()
        sched.step()
    return momenta


def schedules():
    out = []

    def onecycle(name, max_lr, total, **kw):
        args = dict(max_lr=max_lr, total_steps=total, pct_start=0.3, anneal_strategy="cos", div_factor=25.0,
                    final_div_factor=1e4, three_phase=False)
        args.update(kw)
        lrs = lr_sequence(lambda o: lr_scheduler.OneCycleLR(o, cycle_momentum=False, **args), max_lr, total)
        out.append({"name": name, "kind": "onecycle", "args": args, "lrs": lrs,
                    "momenta": momentum_sequence(args, total)})

    onecycle("onecycle_default", 0.1, STEPS)
    onecycle("onecycle_linear", 0.2, STEPS, anneal_strategy="linear", pct_start=0.25, div_factor=10.0,
             final_div_factor=100.0)
    onecycle("onecycle_three_phase", 0.05, STEPS, three_phase=True)
    onecycle("onecycle_three_phase_linear", 0.3, 37, three_phase=True, anneal_strategy="linear", pct_start=0.4)

    def cosine(name, base_lr, t_max, eta_min):
        lrs = lr_sequence(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=t_max, eta_min=eta_min), base_lr)
        out.append({"name": name, "kind": "cosine", "args": {"base_lr": base_lr, "T_max": t_max, "eta_min": eta_min},
                    "lrs": lrs})

    cosine("cosine_to_zero", 0.1, STEPS, 0.0)
    cosine("cosine_past_tmax", 0.05, 20, 1e-3)  # 50 steps run 2.5 half-periods: down, up, down

    def step(name, base_lr, step_size, gamma):
        lrs = lr_sequence(lambda o: lr_scheduler.StepLR(o, step_size=step_size, gamma=gamma), base_lr)
        out.append({"name": name, "kind": "step", "args": {"base_lr": base_lr, "step_size": step_size,
                                                            "gamma": gamma}, "lrs": lrs})

    step("step_half", 0.1, 7, 0.5)
    step("step_tenth", 0.4, 15, 0.1)

    def piecewise(name, knots, rates):
        # LambdaLR with base lr 1 multiplies by exactly 1, so these are numpy.interp's values.
        lrs = lr_sequence(lambda o: lr_scheduler.LambdaLR(o, lambda t: float(np.interp([t], knots, rates)[0])), 1.0)
        out.append({"name": name, "kind": "piecewise", "args": {"steps": knots, "lrs": rates}, "lrs": lrs})

    # The TRADES / robust-overfitting triangle: 0 -> max at 0.4 E -> 0 at E.
    piecewise("piecewise_triangle", [0.0, 0.4 * STEPS, float(STEPS)], [0.0, 0.2, 0.0])
    # Fractional knots, constant stretches and clamping after the last knot.
    piecewise("piecewise_steps", [2.5, 10.0, 17.5, 30.0, 41.0], [0.1, 0.1, 0.01, 0.01, 0.001])
    return out


def trajectories():
    gen = torch.Generator().manual_seed(1234)
    p0 = torch.randn(7, generator=gen, dtype=torch.float64)
    grads = [torch.randn(7, generator=gen, dtype=torch.float64) * s for s in (1.0, 0.5, 2.0, 0.1, 1.5)]
    onecycle_lrs = lr_sequence(lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.3, total_steps=5, cycle_momentum=False),
                               0.3, 5)
    configs = [
        ("sgd_plain", "sgd", dict(lr=0.1), None),
        ("sgd_momentum", "sgd", dict(lr=0.1, momentum=0.9), None),
        ("sgd_momentum_dampening", "sgd", dict(lr=0.1, momentum=0.9, dampening=0.1), None),
        ("sgd_nesterov", "sgd", dict(lr=0.1, momentum=0.9, nesterov=True), None),
        ("sgd_weight_decay", "sgd", dict(lr=0.1, weight_decay=5e-4), None),
        ("sgd_momentum_weight_decay_onecycle", "sgd", dict(lr=0.3, momentum=0.9, weight_decay=5e-4), onecycle_lrs),
        ("sgd_momentum_dampening_skip", "sgd", dict(lr=0.1, momentum=0.9, dampening=0.1), None),
        ("adam", "adam", dict(lr=1e-2), None),
        ("adam_weight_decay", "adam", dict(lr=1e-2, weight_decay=1e-2), None),
        ("adam_betas_skip", "adam", dict(lr=5e-2, betas=(0.8, 0.99), eps=1e-6), None),
        ("adamw", "adamw", dict(lr=1e-2, weight_decay=1e-2), None),
        ("adamw_strong_decay", "adamw", dict(lr=0.1, betas=(0.5, 0.9), weight_decay=0.5), None),
    ]
    out = []
    for name, kind, args, lrs in configs:
        skip = {2} if name.endswith("_skip") else set()  # step index without a gradient
        p = p0.clone().requires_grad_(True)
        opt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind]([p], **args)
        params, step_grads = [], []
        for t, g in enumerate(grads):
            if lrs is not None:
                opt.param_groups[0]["lr"] = lrs[t]
            p.grad = None if t in skip else g.clone()
            step_grads.append(None if t in skip else t)
            opt.step()
            params.append(p.detach().tolist())
        jargs = dict(args)
        if "betas" in jargs:
            jargs["betas"] = list(jargs["betas"])
        out.append({"name": name, "kind": kind, "args": jargs, "lrs": lrs, "grad_index": step_grads,
                    "params": params})
    return {"p0": p0.tolist(), "grads": [g.tolist() for g in grads], "configs": out}


def main():
    warnings.simplefilter("ignore")
    torch.set_default_dtype(torch.float64)
    data = {"torch_version": torch.__version__, "schedules": schedules(), "trajectories": trajectories()}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
