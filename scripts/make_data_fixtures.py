#!/usr/bin/env python3
"""Writes the small numpy-made archives that NpzFormatTest reads, so the pure-Java .npy/.npz
reader is checked against numpy's own writer (not only against our writer).

Run from the repository root with any Python that has numpy:
    python3 scripts/make_data_fixtures.py
Outputs (a few KiB, committed): src/test/resources/data/numpy_dtypes.npz (np.savez, stored) and
src/test/resources/data/numpy_medmnist.npz (np.savez_compressed, a tiny MedMNIST-layout archive).
"""
import numpy as np

OUT = "src/test/resources/data/"

a = np.arange(24).reshape(2, 3, 4)
np.savez(
    OUT + "numpy_dtypes.npz",
    u1=a.astype(np.uint8),
    i4=(a - 10).astype(np.int32),
    i8=(a - 10).astype(np.int64),
    f4=(a / 4).astype(np.float32),
    f8=(a / 8).astype(np.float64),
    b1=(a % 3 == 0),
    fortran=np.asfortranarray(a.astype(np.int64)),
    scalar=np.array(7, dtype=np.int64),
    names=np.array(["benign", "malignant"]),
    bigendian=a.astype(">f4"),
    objects=np.array([1, "x"], dtype=object),
)

rng = np.random.default_rng(0)
arrays = {}
for split, n in (("train", 6), ("val", 2), ("test", 3)):
    arrays[split + "_images"] = rng.integers(0, 256, size=(n, 28, 28, 3), dtype=np.uint8)
    arrays[split + "_labels"] = rng.integers(0, 7, size=(n, 1), dtype=np.uint8)
arrays["train_labels"][0, 0] = 6  # so that 7 classes are seen
np.savez_compressed(OUT + "numpy_medmnist.npz", **arrays)
print("wrote", OUT + "numpy_dtypes.npz", OUT + "numpy_medmnist.npz")
