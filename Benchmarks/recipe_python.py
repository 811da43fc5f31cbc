"""The recipe h5pipe's MNIST pipeline reproduces, written the way people run it in Python:
PyTorch trains the convolutional autoencoder, scikit-learn's TSNE embeds the 24-d test codes,
matplotlib draws the scatter, the loss curve and the reconstructions.

Prints each phase's wall seconds and, on the last line, one JSON object with them.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from autoencoder_torch import autoencoder, read_idx_images, train_epoch  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.path.join(
        os.environ.get("H5PIPE_DATA_PATH", "../shared/datasets").split(":")[-1], "mnist"))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="artifacts/recipe-python")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    seconds = {}

    start = time.perf_counter()
    train = torch.from_numpy(read_idx_images(os.path.join(args.data, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255)
    test = torch.from_numpy(read_idx_images(os.path.join(args.data, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255)
    import gzip
    with gzip.open(os.path.join(args.data, "t10k-labels-idx1-ubyte.gz"), "rb") as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
    seconds["ingest"] = time.perf_counter() - start

    start = time.perf_counter()
    model = autoencoder()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.0005)
    loss_fn = nn.L1Loss()
    history = []
    for epoch in range(args.epochs):
        history.append(train_epoch(model, optimizer, loss_fn, train, 100))
        print(f"epoch {epoch + 1}/{args.epochs} train L1 {history[-1]:.5f}", file=sys.stderr, flush=True)
    seconds["train"] = time.perf_counter() - start

    start = time.perf_counter()
    model.eval()
    encoder = model[:12]
    with torch.no_grad():
        codes = encoder(test).reshape(len(test), -1).numpy()
        reconstructions = model(test[:16]).numpy()
    seconds["encode"] = time.perf_counter() - start

    start = time.perf_counter()
    from sklearn.manifold import TSNE
    embedding = TSNE(n_components=2, n_jobs=args.threads).fit_transform(codes)
    seconds["tsne"] = time.perf_counter() - start

    start = time.perf_counter()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    colors = plt.cm.plasma(np.linspace(0, 1, 10))
    plt.figure(figsize=(10, 10))
    for digit in range(10):
        points = embedding[labels == digit]
        plt.scatter(points[:, 0], points[:, 1], s=3, color=colors[digit], label=str(digit))
        mean = points.mean(axis=0)
        plt.text(mean[0], mean[1], str(digit), fontsize=18,
                 bbox=dict(facecolor="white", alpha=0.5))
    plt.legend()
    plt.savefig(os.path.join(args.out, "scatter.png"))
    plt.close()
    plt.figure()
    plt.plot(range(1, len(history) + 1), history, "k--")
    plt.xlabel("epoch")
    plt.ylabel("train L1")
    plt.savefig(os.path.join(args.out, "loss.png"))
    plt.close()
    figure, axes = plt.subplots(4, 8, figsize=(8, 4))
    for index in range(16):
        axes[index // 4, index % 4].imshow(test[index, 0], cmap="gray")
        axes[index // 4, 4 + index % 4].imshow(reconstructions[index, 0], cmap="gray")
    for axis in axes.flat:
        axis.axis("off")
    plt.savefig(os.path.join(args.out, "reconstructions.png"))
    plt.close()
    seconds["plot"] = time.perf_counter() - start

    seconds["total"] = sum(seconds.values())
    for phase, value in seconds.items():
        print(f"{phase:8s} {value:8.2f} s", file=sys.stderr)
    print(json.dumps({"seconds": seconds, "final_train_l1": history[-1]}))


if __name__ == "__main__":
    main()
