#!/usr/bin/env python3
"""Feeds an advmia / MedMNIST-format .npz to PyTorch exactly as advmia sees it.

advmia's loaders give images as float32 NCHW in [0, 1] (uint8 / 255) and labels as class
indices [N], 0/1 targets [N, L] or masks [N, H, W]. This script builds the same tensors from a
.npz (one written by `NpzExporter`, or a MedMNIST download) so that a PyTorch baseline trains
and evaluates on identical data:

    python3 scripts/npz_to_torch.py lesions.npz            # summary of every split
    python3 scripts/npz_to_torch.py lesions.npz --torch    # also build torch TensorDatasets

Without --torch only numpy is needed. In your own code:

    from npz_to_torch import load_split
    x, y = load_split("lesions.npz", "val")   # numpy float32 NCHW in [0, 1], labels
"""
import argparse
import hashlib

import numpy as np


def load_split(path, split):
    """(images float32 [N, C, H, W] in [0, 1], labels) for split in train / val / test."""
    with np.load(path) as z:
        images, labels = z[split + "_images"], z[split + "_labels"]
    if images.dtype != np.uint8:
        raise ValueError(f"{path}: {split}_images has dtype {images.dtype}, expected uint8")
    x = images.astype(np.float32) / np.float32(255)  # the same k / 255 floats as advmia
    x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)
    if labels.ndim == 2 and labels.shape[1] == 1:
        y = labels[:, 0].astype(np.int64)  # single-label: class indices
    elif labels.ndim == 2:
        y = labels.astype(np.float32)  # multi-label: 0/1 targets
    else:
        y = labels.astype(np.int64)  # segmentation: class index per pixel
    return np.ascontiguousarray(x), y


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("npz")
    ap.add_argument("--torch", action="store_true", help="also build torch.utils.data.TensorDataset objects")
    args = ap.parse_args()
    with np.load(args.npz) as z:
        names = [str(n) for n in z["class_names"]] if "class_names" in z.files else None
    print(f"{args.npz}: classes {names}")
    for split in ("train", "val", "test"):
        x, y = load_split(args.npz, split)
        digest = hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()[:16]
        print(f"  {split}: images {x.shape} in [{x.min():.3f}, {x.max():.3f}], labels {y.shape} {y.dtype}, "
              f"image sha256 {digest}")
        if args.torch:
            import torch
            ds = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
            print(f"    torch TensorDataset of {len(ds)} samples")


if __name__ == "__main__":
    main()
