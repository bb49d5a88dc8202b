#!/usr/bin/env python3
"""Loads the models that the Java tests exported (target/interop/*.safetensors, written by
InteropExportTest after one training step in the engine) into the PyTorch reference models with
load_state_dict(strict=True) and compares PyTorch's eval logits with the engine's.

    mvn -q verify -Dtest=InteropExportTest && /usr/bin/python3 scripts/check_torch_interop.py

Prints one line per model and exits non-zero on any failure.
"""

import glob
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402
import reference_models as rm  # noqa: E402

CLASSES = {"smallcnn": rm.SmallCNN, "resnet18": rm.ResNet18, "preact_resnet18": rm.PreActResNet18,
           "mobilenetv2": rm.MobileNetV2, "wrn": rm.WideResNet, "densenet121": rm.DenseNet121,
           "unet": rm.UNet, "segnet": rm.SegNet}


def main():
    files = sorted(glob.glob(os.path.join("target", "interop", "*.safetensors")))
    if not files:
        sys.exit("no exported models under target/interop: run the Java InteropExportTest first")
    failed = 0
    for path in files:
        tensors, meta = mf.read_safetensors(path)
        name, args = meta["model"], json.loads(meta["args"])
        if "blocks" in args:
            args["blocks"] = tuple(args["blocks"])
        model = CLASSES[name](**args)
        state = {k: torch.from_numpy(v.copy()) for k, v in tensors.items() if not k.startswith("check.")}
        model.load_state_dict(state, strict=True)
        model.eval()
        with torch.no_grad():
            logits = model(torch.from_numpy(tensors["check.input"].copy()))
        ref = torch.from_numpy(tensors["check.logits"].copy())
        err = ((logits - ref).abs().max() / ref.abs().max().clamp_min(1e-12)).item()
        ok = err <= 1e-4
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name:16s} strict load, logits max|err|/max|ref| = {err:.2e}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
