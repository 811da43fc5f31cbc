"""t-SNE peers and quality metrics for h5pipe's t-SNE benchmark.

Subcommands:
  make-features  PCA of MNIST pixels to 24-d, written as a features artifact (/features f32 [N,24],
                 /labels u8 [N]); a stand-in for the encode stage's output.
  peers          run openTSNE (defaults) and optionally scikit-learn TSNE on a features file; save
                 the embeddings and print wall seconds and KL divergence as JSON lines.
  evaluate       add 10-NN accuracy and trustworthiness to one method's row.
  to-npy         copy /features to a float32 .npy file (the input of h5pipe-bench tsne).
  table          print the side-by-side table from the rows.

Every method is scored by the same code here: 10-NN leave-one-out accuracy in the embedding and
trustworthiness at k = 10 on the same fixed 3,000-point subsample.
"""

import argparse
import gzip
import json
import os
import sys
import time

import numpy as np


def read_idx(path):
    with gzip.open(path, "rb") as handle:
        data = handle.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def make_features(args):
    import h5py

    folder = args.mnist
    test_images = read_idx(os.path.join(folder, "t10k-images-idx3-ubyte.gz")).reshape(10000, -1)
    test_labels = read_idx(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"))
    train_images = read_idx(os.path.join(folder, "train-images-idx3-ubyte.gz")).reshape(60000, -1)
    train_labels = read_idx(os.path.join(folder, "train-labels-idx1-ubyte.gz"))
    images = np.concatenate([train_images, test_images]).astype(np.float64) / 255.0
    labels = np.concatenate([train_labels, test_labels])
    # One PCA basis fitted on all 70,000 images, so the 10k set is the last 10,000 rows of the 70k set.
    mean = images.mean(axis=0)
    centred = images - mean
    covariance = centred.T @ centred / len(images)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    basis = eigenvectors[:, ::-1][:, : args.dimensions]
    features = (centred @ basis).astype(np.float32)
    for path, rows in ((args.out_10k, slice(60000, 70000)), (args.out_70k, slice(0, 70000))):
        with h5py.File(path, "w") as handle:
            handle.create_dataset("/features", data=features[rows])
            handle.create_dataset("/labels", data=labels[rows].astype(np.uint8))
            handle.attrs["class_names"] = "0,1,2,3,4,5,6,7,8,9"
        print(f"wrote {path}: {features[rows].shape}", file=sys.stderr)


def knn_accuracy(embedding, labels, k=10):
    """Leave-one-out k-NN classification accuracy (majority vote, ties to the smallest label)."""
    from sklearn.neighbors import NearestNeighbors

    index = NearestNeighbors(n_neighbors=k + 1).fit(embedding)
    _, neighbours = index.kneighbors(embedding)
    neighbour_labels = labels[neighbours[:, 1:]]
    votes = np.zeros((len(labels), int(labels.max()) + 1), dtype=np.int64)
    for column in range(k):
        np.add.at(votes, (np.arange(len(labels)), neighbour_labels[:, column]), 1)
    return float(np.mean(np.argmax(votes, axis=1) == labels))


def subsample(count, size=3000, seed=0):
    """The fixed subsample every method is scored on: the first `size` of a seeded permutation."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.permutation(count)[: min(size, count)])


def trustworthiness(features, embedding, k=10):
    from sklearn.manifold import trustworthiness as sk_trustworthiness

    rows = subsample(len(features))
    return float(sk_trustworthiness(features[rows], embedding[rows], n_neighbors=k))


def load_features(path):
    import h5py

    with h5py.File(path, "r") as handle:
        features = np.asarray(handle["/features"], dtype=np.float32)
        labels = np.asarray(handle["/labels"]) if "/labels" in handle else None
    return features, labels


def report(method, features, labels, embedding, seconds, kl, extra=None):
    row = {
        "method": method,
        "n": int(len(features)),
        "seconds": seconds,
        "kl": kl,
        "knn_accuracy": knn_accuracy(embedding, labels) if labels is not None else None,
        "trustworthiness": trustworthiness(features, embedding),
    }
    row.update(extra or {})
    print(json.dumps(row), flush=True)


def peers(args):
    """Runs the peers on the features; saves each embedding as <save-dir>/<method>.npy and prints
    {"method", "seconds", "kl"} per peer (metrics are added by `evaluate`)."""
    features, _ = load_features(args.features)
    runs = []
    if not args.skip_opentsne:
        from openTSNE import TSNE as OpenTSNE

        start, cpu = time.perf_counter(), time.process_time()
        embedding = OpenTSNE(n_jobs=args.threads, random_state=args.seed).fit(features)
        runs.append(("openTSNE", time.perf_counter() - start, time.process_time() - cpu,
                     float(embedding.kl_divergence), np.asarray(embedding)))
    if args.sklearn:
        from threadpoolctl import threadpool_limits
        from sklearn.manifold import TSNE as SklearnTSNE

        with threadpool_limits(limits=args.threads):
            start, cpu = time.perf_counter(), time.process_time()
            model = SklearnTSNE(n_components=2, n_jobs=args.threads, random_state=args.seed)
            embedding = model.fit_transform(features)
            runs.append(("scikit-learn", time.perf_counter() - start, time.process_time() - cpu,
                         float(model.kl_divergence_), embedding))
    for method, seconds, cpu_seconds, kl, embedding in runs:
        path = os.path.join(args.save_dir, f"{method}.npy")
        np.save(path, np.ascontiguousarray(embedding, dtype=np.float32))
        print(json.dumps({"method": method, "seconds": seconds, "cpu_seconds": cpu_seconds, "kl": kl,
                          "embedding": path}), flush=True)


def evaluate(args):
    """Prints one result row: the given timings and KL plus 10-NN accuracy and trustworthiness."""
    features, labels = load_features(args.features)
    if args.embedding.endswith(".npy"):
        embedding = np.load(args.embedding).astype(np.float64)
    else:
        import h5py

        with h5py.File(args.embedding, "r") as handle:
            embedding = np.asarray(handle["/embedding"], dtype=np.float64)
    row = {"n": int(len(features))}
    for extra in args.extra:
        row.update(json.loads(extra))
    row["method"] = args.method
    row["knn_accuracy"] = knn_accuracy(embedding, labels) if labels is not None else None
    row["trustworthiness"] = trustworthiness(features, embedding)
    print(json.dumps(row), flush=True)


def to_npy(args):
    features, _ = load_features(args.features)
    np.save(args.output, np.ascontiguousarray(features, dtype=np.float32))
    print(len(features))


def table(args):
    """Prints the side-by-side table, with each method's wall time over openTSNE's."""
    rows = [json.loads(line) for line in open(args.rows) if line.strip().startswith("{")]
    reference = {row["n"]: row["seconds"] for row in rows if row["method"] == "openTSNE"}
    reference_kl = {row["n"]: row.get("exact_kl") for row in rows if row["method"] == "openTSNE"}
    reference_cpu = {row["n"]: row.get("cpu_seconds") for row in rows if row["method"] == "openTSNE"}
    header = (f"{'N':>6} {'method':<13} {'wall s':>8} {'kNN+P s':>8} {'optim s':>8} {'/openTSNE':>9} "
              f"{'CPU s':>8} {'/openTSNE':>9} "
              f"{'KL (own)':>9} {'KL exact':>9} {'vs oTSNE':>8} {'10-NN acc':>9} {'trust@10':>9}")
    print(header)
    print("-" * len(header))

    def number(value, width, digits):
        return f"{value:>{width}.{digits}f}" if isinstance(value, (int, float)) else f"{'-':>{width}}"

    for row in sorted(rows, key=lambda r: (r["n"], r["method"] != "h5pipe", r["method"])):
        n = row["n"]
        ratio = row["seconds"] / reference[n] if n in reference else None
        cpu_ratio = (row["cpu_seconds"] / reference_cpu[n]
                     if reference_cpu.get(n) and row.get("cpu_seconds") else None)
        kl_ratio = (row["exact_kl"] / reference_kl[n]
                    if reference_kl.get(n) and row.get("exact_kl") else None)
        print(f"{n:>6} {row['method']:<13} {number(row['seconds'], 8, 2)} "
              f"{number(row.get('affinity_seconds'), 8, 2)} {number(row.get('optimization_seconds'), 8, 2)} "
              f"{number(ratio, 9, 3)} {number(row.get('cpu_seconds'), 8, 2)} {number(cpu_ratio, 9, 3)} "
              f"{number(row.get('kl'), 9, 4)} {number(row.get('exact_kl'), 9, 4)} "
              f"{number(kl_ratio, 8, 3)} {number(100 * row['knn_accuracy'] if row.get('knn_accuracy') is not None else None, 9, 2)} "
              f"{number(row['trustworthiness'], 9, 4)}")
    print()
    print("wall s: wall-clock seconds of the whole fit; CPU s: CPU seconds of all its threads (user + system),")
    print("        a fairer measure when other work shares the machine.")
    print("KL (own): as each program reports it (an estimate for FFT/Barnes-Hut).")
    print("KL exact: every embedding scored on one objective: P from exact kNN (perplexity 30), Z over all pairs.")
    print("10-NN acc: leave-one-out accuracy (%) in 2-D; trust@10: trustworthiness on the same 3,000-point subsample.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    make = commands.add_parser("make-features")
    make.add_argument("--mnist", required=True, help="folder with the four MNIST IDX .gz files")
    make.add_argument("--dimensions", type=int, default=24)
    make.add_argument("--out-10k", required=True)
    make.add_argument("--out-70k", required=True)
    make.set_defaults(run=make_features)

    peer = commands.add_parser("peers")
    peer.add_argument("features")
    peer.add_argument("--save-dir", required=True)
    peer.add_argument("--threads", type=int, default=2)
    peer.add_argument("--seed", type=int, default=0)
    peer.add_argument("--sklearn", action="store_true", help="also run scikit-learn's TSNE")
    peer.add_argument("--skip-opentsne", action="store_true")
    peer.set_defaults(run=peers)

    score = commands.add_parser("evaluate")
    score.add_argument("features")
    score.add_argument("embedding", help=".npy [N, 2] or an HDF5 artifact with /embedding")
    score.add_argument("--method", default="h5pipe")
    score.add_argument("--extra", action="append", default=[], help="JSON object merged into the row")
    score.set_defaults(run=evaluate)

    convert = commands.add_parser("to-npy")
    convert.add_argument("features")
    convert.add_argument("output")
    convert.set_defaults(run=to_npy)

    summary = commands.add_parser("table")
    summary.add_argument("rows", help="JSON lines written by `evaluate`")
    summary.set_defaults(run=table)

    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
