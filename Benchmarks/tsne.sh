#!/usr/bin/env bash
# Side-by-side t-SNE benchmark: h5pipe (FFT) against openTSNE (defaults) and, up to 10,000 points,
# scikit-learn's TSNE, all on the same threads, on identical features.
#
# usage: Benchmarks/tsne.sh FEATURES.h5 [FEATURES.h5 ...]
#          each file holds /features f32 [N, d] and /labels [N] (the `encode` stage's artifact)
#        Benchmarks/tsne.sh --mnist-pca MNIST_DIR
#          makes 10k and 70k stand-ins first: PCA of the MNIST pixels to 24 dimensions
#
# Environment: H5PIPE_BENCH_VENV (default Benchmarks/.venv; created with the peers if missing),
#              H5PIPE_BENCH_THREADS (default 2).
set -euo pipefail
# Feature paths are taken as given: resolve them before lib.sh moves to the repository root.
features=()
for argument in "$@"; do
    if [ -e "$argument" ]; then features+=("$(cd "$(dirname "$argument")" && pwd)/$(basename "$argument")"); else features+=("$argument"); fi
done
set -- "${features[@]}"
source "$(dirname "$0")/lib.sh"
root=$PWD
threads=${H5PIPE_BENCH_THREADS:-2}
script=$root/Benchmarks/tsne_peers.py
bench_python numpy h5py sklearn:scikit-learn openTSNE:opentsne threadpoolctl

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "${1:-}" = "--mnist-pca" ]; then
    "$python" "$script" make-features --mnist "$2" --out-10k "$work/mnist-pca-10k.h5" --out-70k "$work/mnist-pca-70k.h5"
    set -- "$work/mnist-pca-10k.h5" "$work/mnist-pca-70k.h5"
fi
[ $# -ge 1 ] || { sed -n 2,12p "$0"; exit 2; }

bench_build h5pipe-bench
bench=$root/.build/release/h5pipe-bench
export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads NUMBA_NUM_THREADS=$threads

rows=$work/rows.jsonl
for features in "$@"; do
    count=$("$python" "$script" to-npy "$features" "$work/features.npy")
    echo "== $features: $count points, $threads threads; load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    "$bench" tsne "$work/features.npy" --threads "$threads" --output "$work/h5pipe.npy" > "$work/h5pipe.json"
    echo "h5pipe: $(cat "$work/h5pipe.json")" >&2
    peers=()
    if [ "$count" -le 10000 ]; then peers+=(--sklearn); fi
    "$python" "$script" peers "$features" --threads "$threads" --save-dir "$work" "${peers[@]}" > "$work/peers.jsonl"
    cat "$work/peers.jsonl" >&2
    score() {  # method, embedding .npy, JSON row so far
        local exact
        exact=$("$bench" tsne-kl "$work/features.npy" "$2" --threads "$threads")
        "$python" "$script" evaluate "$features" "$2" --method "$1" --extra "$3" --extra "$exact" >> "$rows"
    }
    score h5pipe "$work/h5pipe.npy" "$(cat "$work/h5pipe.json")"
    while read -r line; do
        method=$("$python" -c 'import json,sys; print(json.loads(sys.argv[1])["method"])' "$line")
        score "$method" "$work/$method.npy" "$line"
    done < "$work/peers.jsonl"
done
"$python" "$script" table "$rows"
