"""matplotlib peer of `h5pipe-bench render`: the recipe's labelled scatter, timed the same way.

Reads the points and labels `h5pipe-bench render --data-directory DIR` wrote (raw little-endian
float32 x, y pairs and uint8 labels), draws the recipe's figure (plasma colours, legend, each
class's number boxed at its mean) and times scatter + savefig to PNG at the same pixel size
(width and height in h5pipe points = pixels at scale 1 = figsize × 100 dpi).
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
    """The recipe's scatter (Benchmarks/recipe_python.py): one `scatter` per class in plasma
    colours, the class number at each class mean in a half-transparent box, a legend."""
    figure = plt.figure(figsize=(args.width / DPI, args.height / DPI), dpi=DPI)
    colors = plt.cm.plasma(np.linspace(0, 1, 10))
    for digit in range(10):
        selected = points[labels == digit]
        plt.scatter(selected[:, 0], selected[:, 1], s=3, color=colors[digit], label=str(digit))
        mean = selected.mean(axis=0)
        plt.text(mean[0], mean[1], str(digit), fontsize=18, bbox=dict(facecolor="white", alpha=0.5))
    if args.legend == "best":
        plt.legend()
    else:  # beside the axes, as h5pipe draws it: no search for the emptiest corner
        plt.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
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
    parser.add_argument("--height", type=float, default=1000)
    parser.add_argument("--scale", type=float, default=1)
    parser.add_argument("--point-size", type=float, help="ignored: the recipe's s=3 is used")
    parser.add_argument("--alpha", type=float, help="ignored: the recipe's opaque points are used")
    parser.add_argument("--legend", choices=["outside", "best"], default="outside",
                        help="outside (as h5pipe places it) or the recipe's plt.legend() search for the best corner")
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
