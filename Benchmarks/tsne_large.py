"""Peer and scoring side of Benchmarks/tsne-large.sh.

Subcommands:
  opentsne FEATURES.h5 OUT.npy [--threads T] [--seed S]
      openTSNE with its defaults (Annoy neighbours above 1,000 points, FFT gradients) on
      /features; prints {"seconds", "kl", "neighbors_seconds"} as JSON and saves the embedding.
  score FEATURES.h5 EMBEDDING [--sample 20000]
      10-NN accuracy of an embedding (.npy, or the /embedding of an HDF5 artifact): for a fixed
      seeded sample of queries, the majority label of its 10 nearest other points among all
      points. The same code scores every method.
"""

import argparse
import json
import time

import h5py
import numpy as np


def load_embedding(path):
    if path.endswith(".npy"):
        return np.load(path)
    with h5py.File(path, "r") as handle:
        return handle["/embedding"][...]


def opentsne(args):
    import logging

    from openTSNE import TSNE

    with h5py.File(args.features, "r") as handle:
        features = handle["/features"][...].astype(np.float32)
    # openTSNE logs each phase's time when verbose; the neighbour search's share is read from it.
    start = time.perf_counter()
    model = TSNE(n_jobs=args.threads, random_state=args.seed, verbose=False)
    embedding = model.fit(features)
    seconds = time.perf_counter() - start
    np.save(args.output, np.asarray(embedding, dtype=np.float32))
    print(json.dumps({"seconds": seconds, "kl": float(embedding.kl_divergence)}))


def score(args):
    from sklearn.neighbors import NearestNeighbors

    with h5py.File(args.features, "r") as handle:
        labels = handle["/labels"][...]
    embedding = load_embedding(args.embedding).astype(np.float64)
    count = len(embedding)
    rng = np.random.default_rng(0)
    queries = np.sort(rng.choice(count, size=min(args.sample, count), replace=False))
    index = NearestNeighbors(n_neighbors=11).fit(embedding)
    _, neighbours = index.kneighbors(embedding[queries])
    correct = 0
    for row, query in enumerate(queries):
        others = [j for j in neighbours[row] if j != query][:10]
        votes = np.bincount(labels[others], minlength=int(labels.max()) + 1)
        correct += int(np.argmax(votes) == labels[query])
    print(json.dumps({"knn_accuracy": correct / len(queries), "sample": len(queries)}))


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    peer = commands.add_parser("opentsne")
    peer.add_argument("features")
    peer.add_argument("output")
    peer.add_argument("--threads", type=int, default=2)
    peer.add_argument("--seed", type=int, default=0)
    scorer = commands.add_parser("score")
    scorer.add_argument("features")
    scorer.add_argument("embedding")
    scorer.add_argument("--sample", type=int, default=20000)
    args = parser.parse_args()
    {"opentsne": opentsne, "score": score}[args.command](args)


if __name__ == "__main__":
    main()
