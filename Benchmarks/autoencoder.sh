#!/usr/bin/env bash
# h5pipe's NeuralNet vs PyTorch: the MNIST convolutional autoencoder (Adam 0.0005, L1, batch 100)
# trained on the same MNIST files with the same thread count. Prints seconds per epoch (median),
# ours/PyTorch, train L1 per epoch, test L1 at the end and peak memory.
# Usage: Benchmarks/autoencoder.sh [--epochs N] [--threads T]
# Env: H5PIPE_BENCH_VENV (default Benchmarks/.venv), H5PIPE_DATA_PATH (folder with mnist/),
#      H5PIPE_BENCH_ROUNDS (default 1): the two sides alternate this many times so a load spike on
#      a shared machine hits both; per-epoch times are pooled over rounds before the median.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

epochs=20
threads=2
while [ $# -gt 0 ]; do
  case "$1" in
    --epochs) epochs=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
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
for _ in $(seq "${H5PIPE_BENCH_ROUNDS:-1}"); do
  .build/release/h5pipe-bench autoencoder --data "$data" --epochs "$epochs" --threads "$threads" | tail -1 >>"$work/ours.jsonl"
  "$python" Benchmarks/autoencoder_torch.py --data "$data" --epochs "$epochs" --threads "$threads" | tail -1 >>"$work/torch.jsonl"
done
echo "load after: $(uptime)" >&2

"$python" - "$work/ours.jsonl" "$work/torch.jsonl" <<'PY'
import json, statistics, sys
ours = [json.loads(line) for line in open(sys.argv[1])]
torch = [json.loads(line) for line in open(sys.argv[2])]
def pooled(runs, key):
    return [v for run in runs for v in run[key]]
a, b = statistics.median(pooled(ours, "epoch_seconds")), statistics.median(pooled(torch, "epoch_seconds"))
print(f"MNIST autoencoder, {ours[0]['threads']} threads, {len(ours[0]['epoch_seconds'])} epochs, {len(ours)} round(s); "
      f"h5pipe vs {torch[0]['name']}")
print(f"{'measure':<28}{'h5pipe':>12}{'pytorch':>12}{'ratio':>8}")
print(f"{'seconds/epoch (median)':<28}{a:>12.3f}{b:>12.3f}{a / b:>8.3f}")
c, d = statistics.median(pooled(ours, "epoch_cpu_seconds")), statistics.median(pooled(torch, "epoch_cpu_seconds"))
print(f"{'CPU seconds/epoch (median)':<28}{c:>12.3f}{d:>12.3f}{c / d:>8.3f}")
print(f"{'final train L1':<28}{ours[-1]['train_loss'][-1]:>12.5f}{torch[-1]['train_loss'][-1]:>12.5f}"
      f"{ours[-1]['train_loss'][-1] / torch[-1]['train_loss'][-1]:>8.3f}")
print(f"{'test L1 (inference mode)':<28}{ours[-1]['test_loss']:>12.5f}{torch[-1]['test_loss']:>12.5f}"
      f"{ours[-1]['test_loss'] / torch[-1]['test_loss']:>8.3f}")
print(f"{'peak memory (MiB)':<28}{ours[-1]['peak_rss_mib']:>12.1f}{torch[-1]['peak_rss_mib']:>12.1f}"
      f"{ours[-1]['peak_rss_mib'] / torch[-1]['peak_rss_mib']:>8.3f}")
print(f"h5pipe convolutions: {ours[-1]['gflops_per_second']:.1f} GFLOP/s at the median epoch")
print("epoch seconds are wall-clock; CPU seconds include both sides' threads (and any spinning)")
print(f"{'epoch':<8}{'h5pipe s':>10}{'pytorch s':>11}{'h5pipe L1':>11}{'pytorch L1':>12}")
for i, (sa, sb, la, lb) in enumerate(zip(ours[-1]["epoch_seconds"], torch[-1]["epoch_seconds"],
                                          ours[-1]["train_loss"], torch[-1]["train_loss"])):
    print(f"{i + 1:<8}{sa:>10.3f}{sb:>11.3f}{la:>11.5f}{lb:>12.5f}")
PY
