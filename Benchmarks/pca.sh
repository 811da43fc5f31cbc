#!/usr/bin/env bash
# PCA of the 70,000 MNIST images (784 pixels) to 50 components, fit + projection: h5pipe's exact
# and randomized solvers against scikit-learn's auto (covariance_eigh here), covariance_eigh and
# randomized, in one run, equal threads (H5PIPE_BENCH_THREADS, default 2), medians of 3. Prints
# each side's JSON line, then the time ratios h5pipe / scikit-learn.
# Usage: Benchmarks/pca.sh [components]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
threads=${H5PIPE_BENCH_THREADS:-2}
components=${1:-50}
bench_python numpy sklearn:scikit-learn
bench_build h5pipe-bench
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
mnist=
IFS=: read -ra folders <<< "$H5PIPE_DATA_PATH"
for folder in "${folders[@]}"; do [ -f "$folder/mnist/train-images-idx3-ubyte.gz" ] && mnist=$folder/mnist && break; done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.build/release/h5pipe-bench pca --directory "${mnist:?no mnist/ folder on H5PIPE_DATA_PATH}" \
  --components "$components" --threads "$threads" | tee "$work/ours.jsonl"
"$python" Benchmarks/pca_sklearn.py "$mnist" --components "$components" | tee "$work/theirs.jsonl"
"$python" - "$work/ours.jsonl" "$work/theirs.jsonl" <<'PY'
import json, sys
ours = {row["solver"]: row for row in map(json.loads, open(sys.argv[1]))}
theirs = {row["solver"]: row for row in map(json.loads, open(sys.argv[2]))}
print()
print(f"{'h5pipe':>12} {'scikit-learn':>16} {'time ratio':>11} {'kept variance (ours / theirs)':>32}")
for mine, peer in (("exact", "auto"), ("exact", "covariance_eigh"), ("randomized", "randomized")):
    if mine in ours and peer in theirs:
        a, b = ours[mine], theirs[peer]
        print(f"{mine:>12} {peer:>16} {a['seconds'] / b['seconds']:>11.3f} {a['explained']:>15.6f} / {b['explained']:.6f}")
PY
