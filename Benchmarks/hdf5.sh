#!/usr/bin/env bash
# HDF5 layer vs h5py: write and read back uint8 [60000, 28, 28] (chunks of 1337 rows, gzip 4)
# and float32 [10000, 24] (one chunk, gzip 4 + shuffle). Prints median seconds and ours/h5py.
# Usage: Benchmarks/hdf5.sh [--repeats N] [--image-level L] [--code-level L] [--image-chunk-rows R]
# Env: H5PIPE_BENCH_VENV (default Benchmarks/.venv), H5PIPE_DATA_PATH (folder with mnist/),
#      H5PIPE_BENCH_ROUNDS (default 3): the two sides alternate this many times so a load spike
#      on a shared machine hits both; each figure is the median over rounds of per-round medians.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f scripts/env.sh ] && source scripts/env.sh

venv=${H5PIPE_BENCH_VENV:-Benchmarks/.venv}
if ! "$venv/bin/python3" -c "import h5py, numpy" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q numpy h5py
fi
python="$venv/bin/python3"

swift build -c release --product h5pipe-bench >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" Benchmarks/hdf5_io.py prepare --images "$work/images.u8" --codes "$work/codes.f32"

common=(--images "$work/images.u8" --codes "$work/codes.f32" --output-directory "$work" "$@")
# Both sides single-threaded (HDF5 and zlib are), same inputs, same chunking and filters.
for _ in $(seq "${H5PIPE_BENCH_ROUNDS:-3}"); do
  .build/release/h5pipe-bench hdf5 "${common[@]}" >>"$work/swift-rounds.txt"
  "$python" Benchmarks/hdf5_io.py run "${common[@]}" >>"$work/h5py-rounds.txt"
done
median_per_measure() {
  sort -k1,1 -k2,2g "$1" | awk '
    function flush() { if (n) print name, (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2) }
    $1 != name { flush(); name = $1; n = 0 }
    { v[++n] = $2 }
    END { flush() }'
}
median_per_measure "$work/swift-rounds.txt" >"$work/swift.txt"
median_per_measure "$work/h5py-rounds.txt" >"$work/h5py.txt"

echo "HDF5 $(pkg-config --modversion hdf5 2>/dev/null || echo '?') (h5pipe) vs h5py $("$python" -c 'import h5py; print(h5py.__version__, "HDF5", h5py.version.hdf5_version)')"
printf '%-14s %12s %12s %8s\n' measure h5pipe h5py ratio
join <(sort "$work/swift.txt") <(sort "$work/h5py.txt") | sort -r | while read -r name ours theirs; do
  printf '%-14s %12.4g %12.4g %8.2f\n' "$name" "$ours" "$theirs" "$(echo "$ours / $theirs" | bc -l)"
done
