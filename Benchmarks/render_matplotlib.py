"""matplotlib peer of `h5pipe-bench render`: the same labelled scatter, timed the same way.

Reads the points and labels `h5pipe-bench render --data-directory DIR` wrote (raw little-endian
float32 x, y pairs and uint8 labels), draws the recipe's figure (plasma colours, legend, each
class's number boxed at its mean) and times scatter + savefig to PNG at the same pixel size.
Prints one line per count: `matplotlib render-scatter n=N ...: median S s`.
"""
import argparse
import io
import os
import statistics
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

DPI = 100  # one figure point of h5pipe = one pixel at scale 1 = 0.72 matplotlib points at 100 dpi


def draw(points, labels, args):
    figure = plt.figure(figsize=(args.width / DPI, args.height / DPI), dpi=DPI)
    axes = figure.add_subplot(1, 1, 1)
    marker_points = args.point_size * 72 / DPI
    scatter = axes.scatter(points[:, 0], points[:, 1], c=labels, cmap="plasma", s=marker_points**2,
                           alpha=args.alpha, edgecolors="none")
    for value in np.unique(labels):
        centre = points[labels == value].mean(axis=0)
        axes.text(centre[0], centre[1], str(value), fontsize=12, ha="center", va="center",
                  bbox=dict(facecolor="white", alpha=0.5))
    axes.legend(*scatter.legend_elements(), loc="upper left", bbox_to_anchor=(1.01, 1))
    figure.suptitle("t-SNE of synthetic clusters")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI * args.scale)
    plt.close(figure)
    return buffer.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-directory", required=True)
    parser.add_argument("--points", type=int, nargs="+", default=[10_000, 70_000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--width", type=float, default=1000)
    parser.add_argument("--height", type=float, default=900)
    parser.add_argument("--scale", type=float, default=1)
    parser.add_argument("--point-size", type=float, default=3)
    parser.add_argument("--alpha", type=float, default=0.6)
    parser.add_argument("--figure-directory")
    args = parser.parse_args()
    for count in args.points:
        points = np.fromfile(os.path.join(args.data_directory, f"points-{count}.f32"), dtype="<f4").reshape(-1, 2)
        labels = np.fromfile(os.path.join(args.data_directory, f"labels-{count}.u8"), dtype=np.uint8)
        draw(points, labels, args)  # warm-up: font cache and first-use imports
        seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            png = draw(points, labels, args)
            seconds.append(time.perf_counter() - start)
        if args.figure_directory:
            os.makedirs(args.figure_directory, exist_ok=True)
            with open(os.path.join(args.figure_directory, f"matplotlib-scatter-{count}.png"), "wb") as file:
                file.write(png)
        print(f"matplotlib render-scatter n={count} png {args.width:.0f}x{args.height:.0f} scale {args.scale:.1f}: "
              f"median {statistics.median(seconds):.4f} s (min {min(seconds):.4f}, {len(seconds)} runs, {len(png)} bytes)")


if __name__ == "__main__":
    main()
