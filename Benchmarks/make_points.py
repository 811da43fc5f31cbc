"""Makes the MNIST-derived point sets of the large-N benchmarks: N points of 50 dimensions, the
PCA-50 projection of MNIST digits, written as HDF5 `/features` (float32 [N, 50]) and `/labels`
(uint8 [N]) with the class names in the `class_names` attribute of `/labels`.

The first 70,000 points are the MNIST digits themselves (train, then test). Beyond that, each
point is digit `i % 70000` shifted by up to 2 pixels in each direction (never by zero in both),
its intensity scaled by 0.8–1.2 and Gaussian noise (sigma 8 of 255) added, so that no two points
coincide. The PCA basis is fitted on the 70,000 originals. Deterministic for a given seed.

    python3 make_points.py MNIST_DIR OUTPUT.h5 N [--seed S]
"""

import argparse
import gzip
import os

import h5py
import numpy as np


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mnist")
    parser.add_argument("output")
    parser.add_argument("count", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dimensions", type=int, default=50)
    args = parser.parse_args()

    images = np.concatenate(
        [read_idx(os.path.join(args.mnist, f"{s}-images-idx3-ubyte.gz")) for s in ("train", "t10k")]
    ).reshape(-1, 784)
    labels = np.concatenate([read_idx(os.path.join(args.mnist, f"{s}-labels-idx1-ubyte.gz")) for s in ("train", "t10k")])
    originals = images.astype(np.float32)
    mean = originals.mean(axis=0)
    # PCA by the eigenvectors of the 784 x 784 covariance (float64), largest first.
    centred = originals - mean
    covariance = (centred.T.astype(np.float64) @ centred.astype(np.float64)) / len(centred)
    values, vectors = np.linalg.eigh(covariance)
    basis = vectors[:, ::-1][:, : args.dimensions].astype(np.float32)
    # Fixed signs: the largest-magnitude entry of each component positive.
    basis *= np.sign(basis[np.abs(basis).argmax(axis=0), np.arange(basis.shape[1])])

    rng = np.random.default_rng(args.seed)
    n = args.count
    with h5py.File(args.output, "w") as f:
        features = f.create_dataset("features", (n, args.dimensions), dtype="f4", chunks=(min(n, 16384), args.dimensions))
        label_set = f.create_dataset("labels", (n,), dtype="u1")
        label_set.attrs["class_names"] = np.array([str(d) for d in range(10)], dtype=h5py.string_dtype())
        chunk = 50_000
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            source = np.arange(start, stop) % len(images)
            batch = images[source].reshape(-1, 28, 28).astype(np.float32)
            augmented = np.arange(start, stop) >= len(images)
            if augmented.any():
                count = int(augmented.sum())
                shifts = rng.integers(-2, 3, size=(count, 2))
                zero = (shifts == 0).all(axis=1)
                shifts[zero, 0] = rng.choice([-1, 1], size=int(zero.sum()))
                moved = np.zeros((count, 28, 28), dtype=np.float32)
                originals_batch = batch[augmented]
                for m in range(count):
                    dy, dx = shifts[m]
                    src = originals_batch[m]
                    ys = slice(max(0, dy), 28 + min(0, dy))
                    yd = slice(max(0, -dy), 28 + min(0, -dy))
                    xs = slice(max(0, dx), 28 + min(0, dx))
                    xd = slice(max(0, -dx), 28 + min(0, -dx))
                    moved[m][ys, xs] = src[yd, xd]
                moved *= rng.uniform(0.8, 1.2, size=(count, 1, 1)).astype(np.float32)
                moved += rng.normal(0, 8, size=moved.shape).astype(np.float32)
                batch[augmented] = np.clip(moved, 0, 255)
            features[start:stop] = (batch.reshape(-1, 784) - mean) @ basis
            label_set[start:stop] = labels[source]


if __name__ == "__main__":
    main()
