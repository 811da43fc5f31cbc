#!/usr/bin/env bash
# HDF5 layer vs h5py: write and read back uint8 [60000, 28, 28] (chunks of 1337 rows, gzip 4)
# and float32 [10000, 24] (one chunk, gzip 4 + shuffle). Prints median seconds and ours/h5py.
# Usage: Benchmarks/hdf5.sh [--repeats N] [--image-level L] [--code-level L] [--image-chunk-rows R]
# Env: H5PIPE_BENCH_VENV (default Benchmarks/.venv), H5PIPE_DATA_PATH (folder with mnist/),
#      H5PIPE_BENCH_ROUNDS (default 3): the two sides alternate this many times so a load spike
#      on a shared machine hits both; each figure is the median over rounds of per-round medians.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_python numpy h5py
bench_build h5pipe-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" Benchmarks/hdf5_io.py prepare --images "$work/images.u8" --codes "$work/codes.f32"

common=(--images "$work/images.u8" --codes "$work/codes.f32" --output-directory "$work" "$@")
# Both sides single-threaded (HDF5 and zlib are), same inputs, same chunking and filters.
for _ in $(seq "${H5PIPE_BENCH_ROUNDS:-3}"); do
  .build/release/h5pipe-bench hdf5 "${common[@]}" >>"$work/swift-rounds.txt"
  "$python" Benchmarks/hdf5_io.py run "${common[@]}" >>"$work/h5py-rounds.txt"
done
bench_medians "$work/swift-rounds.txt" >"$work/swift.txt"
bench_medians "$work/h5py-rounds.txt" >"$work/h5py.txt"

echo "HDF5 $(pkg-config --modversion hdf5 2>/dev/null || echo '?') (h5pipe) vs h5py $("$python" -c 'import h5py; print(h5py.__version__, "HDF5", h5py.version.hdf5_version)')"
printf '%-14s %12s %12s %8s\n' measure h5pipe h5py ratio
join <(sort "$work/swift.txt") <(sort "$work/h5py.txt") | sort -r | while read -r name ours theirs; do
  printf '%-14s %12.4g %12.4g %8.2f\n' "$name" "$ours" "$theirs" "$(echo "$ours / $theirs" | bc -l)"
done
