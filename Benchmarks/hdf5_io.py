#!/usr/bin/env python3
"""h5py peer of `h5pipe-bench hdf5`: the same datasets, chunking and filters, same timings.

  hdf5_io.py prepare --images OUT.u8 --codes OUT.f32   # inputs shared by both sides
  hdf5_io.py run --images IN.u8 --codes IN.f32 [--output-directory DIR] [--repeats N] ...

`run` prints `<name>_write <median seconds>`, `<name>_read ...`, `<name>_bytes <file size>`.
"""
import argparse
import gzip
import os
import statistics
import sys
import time

import h5py
import numpy as np


def find_mnist():
    """train-images-idx3-ubyte.gz under a folder of H5PIPE_DATA_PATH, or None."""
    for folder in filter(None, os.environ.get("H5PIPE_DATA_PATH", "").split(":")):
        path = os.path.join(folder, "mnist", "train-images-idx3-ubyte.gz")
        if os.path.exists(path):
            return path
    return None


def prepare(args):
    mnist = find_mnist()
    if mnist:
        with gzip.open(mnist, "rb") as f:
            images = np.frombuffer(f.read()[16:], dtype=np.uint8)
        print(f"images: MNIST training set from {mnist}", file=sys.stderr)
    else:
        # Synthetic digits-like images: mostly zeros with bright blobs, so gzip sees data shaped
        # like MNIST rather than noise (incompressible) or zeros (trivially compressible).
        rng = np.random.default_rng(0)
        images = np.zeros((60000, 28, 28), dtype=np.uint8)
        ys, xs = np.mgrid[0:28, 0:28]
        for i in range(0, 60000, 1000):
            cy, cx, r = rng.uniform(8, 20), rng.uniform(8, 20), rng.uniform(4, 8)
            ring = np.abs(np.hypot(ys - cy, xs - cx) - r) < 1.5
            block = rng.integers(0, 256, size=(1000, 28, 28), dtype=np.uint8)
            images[i:i + 1000] = np.where(ring, block, 0)
        print("images: synthetic (MNIST not found on H5PIPE_DATA_PATH)", file=sys.stderr)
    images.reshape(-1).tofile(args.images)
    codes = np.random.default_rng(1).standard_normal((10000, 24)).astype("<f4")
    codes.tofile(args.codes)


def measure(name, values, path, chunks, level, shuffle, repeats, batch_rows):
    writes, reads, batches = [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        with h5py.File(path, "w", libver=("v108", "v110")) as f:
            f.create_dataset("data", data=values, chunks=chunks, compression="gzip",
                             compression_opts=level, shuffle=shuffle)
        writes.append(time.perf_counter() - start)
        start = time.perf_counter()
        with h5py.File(path, "r") as f:
            back = f["data"][...]
        reads.append(time.perf_counter() - start)
        if not np.array_equal(back, values):
            sys.exit(f"{path}: read back differs from what was written")
        start = time.perf_counter()
        checksum = 0.0
        with h5py.File(path, "r") as f:
            data = f["data"]
            for first in range(0, len(values), batch_rows):
                checksum += float(data[first:first + batch_rows].flat[0])
        batches.append(time.perf_counter() - start)
    print(f"{name}_write {statistics.median(writes)}")
    print(f"{name}_read {statistics.median(reads)}")
    print(f"{name}_bytes {os.path.getsize(path)}")
    print(f"{name}_batches {statistics.median(batches)}")


def run(args):
    images = np.fromfile(args.images, dtype=np.uint8).reshape(-1, 28, 28)
    codes = np.fromfile(args.codes, dtype="<f4").reshape(-1, 24)
    out = args.output_directory
    measure("images", images, os.path.join(out, "h5py-images.h5"),
            (args.image_chunk_rows, 28, 28), args.image_level, False, args.repeats, args.batch_rows)
    measure("codes", codes, os.path.join(out, "h5py-codes.h5"),
            codes.shape, args.code_level, True, args.repeats, args.batch_rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["prepare", "run"])
    parser.add_argument("--images", required=True)
    parser.add_argument("--codes", required=True)
    parser.add_argument("--output-directory", default="/tmp")
    parser.add_argument("--image-chunk-rows", type=int, default=1337)
    parser.add_argument("--image-level", type=int, default=4)
    parser.add_argument("--code-level", type=int, default=4)
    parser.add_argument("--batch-rows", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    prepare(args) if args.mode == "prepare" else run(args)


if __name__ == "__main__":
    main()
