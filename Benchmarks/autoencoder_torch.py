"""PyTorch peer of `h5pipe-bench autoencoder`: the same convolutional autoencoder, data and
hyperparameters, timed per epoch on a fixed number of threads.

Prints one JSON object on the last line of stdout:
{"epoch_seconds": [...], "train_loss": [...], "test_loss": float, "peak_rss_mib": float, ...}
"""
import argparse
import gzip
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    count, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, 1, rows, cols)


def autoencoder():
    def down(cin, cout, k):
        return [nn.Conv2d(cin, cout, k, stride=1 if k == 2 else 2, bias=False),
                nn.BatchNorm2d(cout), nn.LeakyReLU(0.2)]

    def up(cin, cout, k, last=False):
        layers = [nn.ConvTranspose2d(cin, cout, k, stride=1 if k == 2 else 2, bias=False),
                  nn.BatchNorm2d(cout)]
        return layers if last else layers + [nn.ReLU()]

    return nn.Sequential(
        *down(1, 3, 2), *down(3, 6, 3), *down(6, 6, 3), *down(6, 6, 4),
        *up(6, 6, 4), *up(6, 6, 3), *up(6, 3, 3), *up(3, 1, 2, last=True))


def train_epoch(model, optimizer, loss_fn, images, batch_size, orders=None, batch_losses=None, order=None):
    """One epoch over `images` in `order`, or a fresh random one; returns the mean loss over its batches.

    The order is appended to `orders` and each batch's loss to `batch_losses` when given."""
    model.train()
    if order is None:
        order = torch.randperm(len(images))
    if orders is not None:
        orders.append(order.numpy().astype("<i8"))
    total, batches = 0.0, 0
    for first in range(0, len(images), batch_size):
        batch = images[order[first:first + batch_size]]
        optimizer.zero_grad()
        loss = loss_fn(model(batch), batch)
        loss.backward()
        optimizer.step()
        total += loss.item()
        batches += 1
        if batch_losses is not None:
            batch_losses.append(loss.item())
    return total / batches


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.path.join(
        os.environ.get("H5PIPE_DATA_PATH", "../shared/datasets").split(":")[0], "mnist"))
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=0.0005)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--initial", help="start from these weights (float32, state_dict order)")
    parser.add_argument("--orders", help="visit the images in these orders (int64, one permutation per epoch)")
    parser.add_argument("--export-initial", help="write the initial weights here (float32, state_dict order)")
    parser.add_argument("--export-orders", help="write each epoch's shuffle here (int64)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train = torch.from_numpy(read_idx_images(os.path.join(args.data, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255)
    test = torch.from_numpy(read_idx_images(os.path.join(args.data, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255)

    model = autoencoder()
    if args.initial:
        values = torch.from_numpy(np.fromfile(args.initial, dtype="<f4"))
        offset = 0
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(values[offset:offset + p.numel()].reshape(p.shape))
                offset += p.numel()
        assert offset == len(values), f"{args.initial} holds {len(values)} floats, the model has {offset}"
    given_orders = None
    if args.orders:
        given_orders = torch.from_numpy(np.fromfile(args.orders, dtype="<i8")).reshape(-1, len(train))
    if args.export_initial:
        weights = [p.detach().numpy().ravel() for p in model.parameters()]
        np.concatenate(weights).astype("<f4").tofile(args.export_initial)
    orders, batch_losses = [], []
    optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate)
    loss_fn = nn.L1Loss()
    epoch_seconds, epoch_cpu_seconds, train_loss = [], [], []
    for epoch in range(args.epochs):
        start, cpu_start = time.perf_counter(), time.process_time()
        train_loss.append(train_epoch(
            model, optimizer, loss_fn, train, args.batch_size, orders, batch_losses,
            None if given_orders is None else given_orders[epoch]))
        epoch_seconds.append(time.perf_counter() - start)
        epoch_cpu_seconds.append(time.process_time() - cpu_start)
        print(f"epoch {epoch + 1}/{args.epochs} {epoch_seconds[-1]:.3f} s (CPU {epoch_cpu_seconds[-1]:.3f} s) train L1 {train_loss[-1]:.5f}",
              file=sys.stderr, flush=True)

    if args.export_orders:
        np.concatenate(orders).tofile(args.export_orders)
    model.eval()
    with torch.no_grad():
        total = 0.0
        for first in range(0, len(test), 1000):
            batch = test[first:first + 1000]
            total += (model(batch) - batch).abs().sum().item()
        test_loss = total / test.numel()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"name": "pytorch " + torch.__version__, "threads": args.threads,
                      "epoch_seconds": epoch_seconds, "epoch_cpu_seconds": epoch_cpu_seconds, "train_loss": train_loss,
                      "batch_loss": batch_losses, "test_loss": test_loss, "peak_rss_mib": peak}))


if __name__ == "__main__":
    main()
