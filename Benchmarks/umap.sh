#!/usr/bin/env bash
# UMAP of the 10k test and all 70k MNIST codes: h5pipe (umap-learn's defaults, seed 0) against
# umap-learn in a fresh process each, as a user runs it (import, a cold fit while numba compiles,
# then a warm second fit), equal threads (H5PIPE_BENCH_THREADS, default 2). Both embeddings are
# scored the same way: 10-NN accuracy over all points and trustworthiness@10 on a seeded 3,000
# sample. Prints a table and the ratios h5pipe / umap-learn warm.
# The codes come from pipelines/mnist.json (run here if needed; encode.split=all for the 70k).
# Usage: Benchmarks/umap.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
threads=${H5PIPE_BENCH_THREADS:-2}
bench_python numpy h5py sklearn:scikit-learn umap:umap-learn
bench_build h5pipe-bench
bench_h5pipe
export OMP_NUM_THREADS=$threads NUMBA_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
mkdir -p data/bench
if [ ! -f data/bench/codes-10000.h5 ] || [ ! -f data/bench/codes-70000.h5 ]; then
  "$binary" run pipelines/mnist.json --plain --threads "$threads" >&2
  cp artifacts/mnist/encode.h5 data/bench/codes-10000.h5
  "$binary" run pipelines/mnist.json --plain --threads "$threads" --stage encode --set encode.split=all >&2
  cp artifacts/mnist/encode.h5 data/bench/codes-70000.h5
  "$binary" run pipelines/mnist.json --plain --threads "$threads" --stage encode >&2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for count in 10000 70000; do
  codes=data/bench/codes-$count.h5
  echo "== $count codes, $threads threads; load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  .build/release/h5pipe-bench umap --input "$codes" --output "$work/ours.f32" --threads "$threads" > "$work/ours-$count.json"
  "$python" Benchmarks/umap_peer.py fit "$codes" "$work/theirs.npy" --threads "$threads" > "$work/theirs-$count.json"
  "$python" Benchmarks/umap_peer.py score "$codes" "$work/ours.f32" > "$work/ours-score-$count.json"
  "$python" Benchmarks/umap_peer.py score "$codes" "$work/theirs.npy" > "$work/theirs-score-$count.json"
  cat "$work/ours-$count.json" "$work/theirs-$count.json" >&2
done
"$python" - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
def read(name): return json.load(open(os.path.join(work, name)))
print(f"{'N':>7} {'h5pipe s':>9} {'umap-learn import':>18} {'cold':>7} {'warm':>7} {'ratio (warm)':>13} "
      f"{'10-NN acc ours/theirs':>22} {'trust@10 ours/theirs':>22}")
for count in (10000, 70000):
    ours, theirs = read(f"ours-{count}.json"), read(f"theirs-{count}.json")
    a, b = read(f"ours-score-{count}.json"), read(f"theirs-score-{count}.json")
    print(f"{count:>7} {ours['seconds']:>9.2f} {theirs['import']:>18.1f} {theirs['cold']:>7.1f} {theirs['warm']:>7.2f} "
          f"{ours['seconds'] / theirs['warm']:>13.3f} {a['knn_accuracy']:>10.4f} / {b['knn_accuracy']:.4f} "
          f"{a['trustworthiness']:>10.4f} / {b['trustworthiness']:.4f}")
print(f"umap-learn {theirs['version']}")
PY
