#!/usr/bin/env python3
"""numpy peer of `h5pipe-bench ingest`: read the four MNIST IDX .gz files (gzip + frombuffer),
and the same read followed by an h5py write of the artifact ingest-idx writes (same chunks, gzip
level), with median wall seconds over repeats.

  ingest_numpy.py --directory DIR [--repeats N] [--level L] [--chunk-rows R] [--read-only]

Prints `numpy_read_seconds`, `numpy_h5py_seconds` (median wall seconds),
`numpy_read_cpu_seconds`, `numpy_h5py_cpu_seconds` (median process CPU seconds) and
`numpy_h5py_artifact_bytes` (size of the file h5py wrote).
"""
import argparse
import gzip
import os
import statistics
import tempfile
import time

import numpy as np

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(path):
    """The usual numpy loader: decompress the whole file, view the bytes after the header."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    rank = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(shape)


def read_all(directory):
    return {split: tuple(read_idx(os.path.join(directory, name)) for name in names) for split, names in FILES.items()}


def read_and_write(directory, output, level, chunk_rows):
    import h5py

    splits = read_all(directory)
    with h5py.File(output, "w") as f:
        for split, (images, labels) in splits.items():
            rows = min(len(images), chunk_rows)
            f.create_dataset(f"{split}/images", data=images, chunks=(rows,) + images.shape[1:], compression="gzip",
                             compression_opts=level)
            f.create_dataset(f"{split}/labels", data=labels, chunks=(min(len(labels), 1 << 16),),
                             compression="gzip", compression_opts=level)


def median_seconds(repeats, body):
    """Median wall and process CPU seconds of `body`."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        body()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    return statistics.median(wall), statistics.median(cpu)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--directory", required=True)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--level", type=int, default=1)
    parser.add_argument("--chunk-rows", type=int, default=1337)
    parser.add_argument("--read-only", action="store_true", help="skip the h5py measurement (peak-memory runs)")
    args = parser.parse_args()
    wall, cpu = median_seconds(args.repeats, lambda: read_all(args.directory))
    print(f"numpy_read_seconds {wall}\nnumpy_read_cpu_seconds {cpu}")
    if args.read_only:
        return
    with tempfile.TemporaryDirectory() as work:
        output = os.path.join(work, "ingest.h5")
        wall, cpu = median_seconds(args.repeats, lambda: read_and_write(args.directory, output, args.level, args.chunk_rows))
        print(f"numpy_h5py_seconds {wall}\nnumpy_h5py_cpu_seconds {cpu}")
        print(f"numpy_h5py_artifact_bytes {os.path.getsize(output)}")


if __name__ == "__main__":
    main()
