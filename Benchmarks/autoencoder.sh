#!/usr/bin/env bash
# h5pipe's NeuralNet vs PyTorch: the MNIST convolutional autoencoder (Adam 0.0005, L1, batch 100)
# trained on the same MNIST files with the same thread count.
#
# For each seed, three trainings:
#   pytorch      PyTorch from its own seeded weights and shuffles (which it writes out);
#   same start   h5pipe from PyTorch's initial weights, visiting the images in PyTorch's orders:
#                the same optimisation problem, so its losses compare directly with PyTorch's;
#   own seed     h5pipe from its own seeded weights and shuffles (what `h5pipe run` does).
# Prints seconds per epoch (median over every epoch of every run of a side), ours/PyTorch, train
# L1 per epoch, test L1 at the end, peak memory, and which runs got stuck (the "dying ReLU"
# collapse: h5pipe reports epochs in which some layer received no gradient; a PyTorch run is marked
# when its final loss is within 1% of a blank output's).
# Usage: Benchmarks/autoencoder.sh [--epochs N] [--threads T] [--seeds "0 1 2"]
# Env: H5PIPE_BENCH_VENV (default Benchmarks/.venv), H5PIPE_DATA_PATH (folder with mnist/).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

epochs=20
threads=2
seeds=0
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) epochs=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
data="${H5PIPE_DATA_PATH:-../shared/datasets}"
data="${data%%:*}/mnist"

bench_python numpy torch
bench_build h5pipe-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "load before: $(uptime)" >&2
for seed in $seeds; do
  echo "seed $seed: pytorch" >&2
  "$python" Benchmarks/autoencoder_torch.py --data "$data" --epochs "$epochs" --threads "$threads" --seed "$seed" \
    --export-initial "$work/initial.f32" --export-orders "$work/orders.i64" | tail -1 >"$work/torch-$seed.json"
  echo "seed $seed: h5pipe from PyTorch's start" >&2
  .build/release/h5pipe-bench autoencoder --data "$data" --epochs "$epochs" --threads "$threads" \
    --initial-parameters "$work/initial.f32" --orders "$work/orders.i64" | tail -1 >"$work/same-$seed.json"
  echo "seed $seed: h5pipe from its own seed" >&2
  .build/release/h5pipe-bench autoencoder --data "$data" --epochs "$epochs" --threads "$threads" --seed "$seed" \
    | tail -1 >"$work/own-$seed.json"
done
echo "load after: $(uptime)" >&2

"$python" - "$work" "$data" $seeds <<'PY'
import gzip, json, os, statistics, sys
import numpy as np

work, data, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]
load = lambda kind, seed: json.load(open(os.path.join(work, f"{kind}-{seed}.json")))
torch = {s: load("torch", s) for s in seeds}
same = {s: load("same", s) for s in seeds}
own = {s: load("own", s) for s in seeds}
with gzip.open(os.path.join(data, "train-images-idx3-ubyte.gz")) as f:
    blank = np.frombuffer(f.read(), dtype=np.uint8, offset=16).mean() / 255  # L1 of an all-black output

def pooled(runs, key):
    return [v for run in runs for v in run[key]]

def stuck(run):
    if "frozen_layers" in run:
        return any(run["frozen_layers"])
    return abs(run["train_loss"][-1] - blank) < 0.01 * blank

ours_runs = list(same.values()) + list(own.values())
a, b = statistics.median(pooled(ours_runs, "epoch_seconds")), statistics.median(pooled(torch.values(), "epoch_seconds"))
c, d = statistics.median(pooled(ours_runs, "epoch_cpu_seconds")), statistics.median(pooled(torch.values(), "epoch_cpu_seconds"))
first = torch[seeds[0]]
print(f"MNIST autoencoder, {first['threads']} threads, {len(first['epoch_seconds'])} epochs, seeds {' '.join(seeds)}; "
      f"h5pipe vs {first['name']}")
print(f"{'measure':<30}{'h5pipe':>12}{'pytorch':>12}{'ratio':>8}")
print(f"{'seconds/epoch (median)':<30}{a:>12.3f}{b:>12.3f}{a / b:>8.3f}")
print(f"{'CPU seconds/epoch (median)':<30}{c:>12.3f}{d:>12.3f}{c / d:>8.3f}")
peak_ours = max(r["peak_rss_mib"] for r in ours_runs)
peak_torch = max(r["peak_rss_mib"] for r in torch.values())
print(f"{'peak memory (MiB)':<30}{peak_ours:>12.1f}{peak_torch:>12.1f}{peak_ours / peak_torch:>8.3f}")
print(f"h5pipe convolutions: {statistics.median(r['gflops_per_second'] for r in ours_runs):.1f} GFLOP/s at the median epoch")
print("epoch seconds are wall-clock; CPU seconds include both sides' threads (and any spinning)")
print()
print(f"final losses (a blank output scores L1 {blank:.5f}; * = stuck)")
print(f"{'seed':<6}{'pytorch train':>14}{'same start':>12}{'ratio':>8}{'pytorch test':>14}{'same start':>12}"
      f"{'ratio':>8}{'own seed train':>16}{'test':>9}")
mark = lambda run: "*" if stuck(run) else " "
for s in seeds:
    t, m, o = torch[s], same[s], own[s]
    print(f"{s:<6}{t['train_loss'][-1]:>13.5f}{mark(t)}{m['train_loss'][-1]:>11.5f}{mark(m)}"
          f"{m['train_loss'][-1] / t['train_loss'][-1]:>8.3f}{t['test_loss']:>14.5f}{m['test_loss']:>12.5f}"
          f"{m['test_loss'] / t['test_loss']:>8.3f}{o['train_loss'][-1]:>15.5f}{mark(o)}{o['test_loss']:>9.5f}")
if len(seeds) > 1:
    med = lambda runs, key: statistics.median(r[key][-1] if isinstance(r[key], list) else r[key] for r in runs)
    print(f"{'median':<6}{med(torch.values(), 'train_loss'):>13.5f} {med(same.values(), 'train_loss'):>11.5f} "
          f"{med(same.values(), 'train_loss') / med(torch.values(), 'train_loss'):>8.3f}"
          f"{med(torch.values(), 'test_loss'):>14.5f}{med(same.values(), 'test_loss'):>12.5f}"
          f"{med(same.values(), 'test_loss') / med(torch.values(), 'test_loss'):>8.3f}"
          f"{med(own.values(), 'train_loss'):>15.5f} {med(own.values(), 'test_loss'):>9.5f}")
    print(f"stuck runs: pytorch {sum(map(stuck, torch.values()))}/{len(seeds)}, same start "
          f"{sum(map(stuck, same.values()))}/{len(seeds)}, own seed {sum(map(stuck, own.values()))}/{len(seeds)}")
print()
s = seeds[0]
print(f"train L1 per epoch, seed {s}")
print(f"{'epoch':<8}{'h5pipe s':>10}{'pytorch s':>11}{'pytorch L1':>12}{'same start':>12}{'own seed':>10}")
for i, (sa, sb, lt, lm, lo) in enumerate(zip(same[s]["epoch_seconds"], torch[s]["epoch_seconds"], torch[s]["train_loss"],
                                              same[s]["train_loss"], own[s]["train_loss"])):
    print(f"{i + 1:<8}{sa:>10.3f}{sb:>11.3f}{lt:>12.5f}{lm:>12.5f}{lo:>10.5f}")
PY
