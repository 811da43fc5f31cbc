"""umap-learn as a user runs it, and the scores both sides get, for Benchmarks/umap.sh.

  umap_peer.py fit FEATURES.h5 OUT.npy --threads T   import time, a cold fit (numba compiles),
                                                     a warm second fit; saves the warm embedding
  umap_peer.py score FEATURES.h5 EMBEDDING           10-NN accuracy (leave-one-out, all points)
                                                     and trustworthiness@10 on a seeded 3,000 sample
EMBEDDING is a .npy file or raw float32 [N, 2]."""
import json, sys, time

start = time.perf_counter()
import h5py
import numpy as np


def load(path):
    with h5py.File(path, "r") as f:
        return f["/features"][...].astype(np.float32), f["/labels"][...]


if sys.argv[1] == "fit":
    features, _ = load(sys.argv[2])
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 2
    import_start = time.perf_counter()
    import umap
    import_seconds = time.perf_counter() - import_start
    times = []
    for _ in range(2):
        t = time.perf_counter()
        # random_state makes umap-learn single-threaded; n_jobs uses the threads without one.
        embedding = umap.UMAP(n_jobs=threads).fit_transform(features)
        times.append(time.perf_counter() - t)
    np.save(sys.argv[3], embedding.astype(np.float32))
    print(json.dumps({"version": umap.__version__, "import": import_seconds, "cold": times[0], "warm": times[1],
                      "n": len(features)}))
else:
    from sklearn.manifold import trustworthiness
    from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors
    features, labels = load(sys.argv[2])
    path = sys.argv[3]
    embedding = np.load(path) if path.endswith(".npy") else np.fromfile(path, np.float32).reshape(-1, 2)
    neighbours = NearestNeighbors(n_neighbors=11).fit(embedding).kneighbors(embedding, return_distance=False)[:, 1:]
    votes = labels[neighbours]
    predicted = np.array([np.bincount(row, minlength=labels.max() + 1).argmax() for row in votes])
    sample = np.random.RandomState(0).choice(len(features), min(3000, len(features)), replace=False)
    print(json.dumps({"knn_accuracy": float((predicted == labels).mean()),
                      "trustworthiness": float(trustworthiness(features[sample], embedding[sample], n_neighbors=10))}))
