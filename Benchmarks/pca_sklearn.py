"""scikit-learn's PCA of the 70,000 MNIST pixel vectors (0-255, float32), fit + transform, for
Benchmarks/pca.sh. Prints one JSON line per solver: median wall seconds and the kept variance."""
import argparse, gzip, json, os, time

import numpy as np
import sklearn
from sklearn.decomposition import PCA


def read_images(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    count, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    return np.frombuffer(data, np.uint8, offset=16).reshape(count, rows * cols)


parser = argparse.ArgumentParser()
parser.add_argument("directory")
parser.add_argument("--components", type=int, default=50)
parser.add_argument("--repeats", type=int, default=3)
parser.add_argument("--solvers", nargs="+", default=["auto", "covariance_eigh", "randomized"])
args = parser.parse_args()
pixels = np.concatenate([read_images(os.path.join(args.directory, name)) for name in
                         ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz")]).astype(np.float32)
for solver in args.solvers:
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        model = PCA(n_components=args.components, svd_solver=solver, random_state=0)
        model.fit_transform(pixels)
        seconds.append(time.perf_counter() - start)
    print(json.dumps({"side": f"scikit-learn {sklearn.__version__}", "solver": solver, "n": len(pixels),
                      "d": pixels.shape[1], "k": args.components, "seconds": sorted(seconds)[len(seconds) // 2],
                      "explained": float(model.explained_variance_ratio_.sum())}))
