#!/usr/bin/env bash
# Labelled t-SNE-style scatter to PNG: h5pipe (Plot, release) vs matplotlib (Agg, scatter +
# savefig), same points, same pixel size, same elements (plasma colours, legend, boxed class
# numbers, title), both single-threaded. Prints median seconds per point count and ours/matplotlib.
# Usage: Benchmarks/render.sh [--points 10000 70000] [--repeats N] [--width W] [--height H] [--scale S]
# Env: H5PIPE_BENCH_VENV (default Benchmarks/.venv), H5PIPE_BENCH_ROUNDS (default 3): the two
#      sides alternate this many times so a load spike on a shared machine hits both; each figure
#      is the median over rounds of per-round medians.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_python numpy matplotlib
bench_build h5pipe-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

args=("$@")
# Writes the points once (and times nothing) so both sides read identical data.
.build/release/h5pipe-bench render --repeats 1 --data-directory "$work" "${args[@]}" >/dev/null
extract() { sed -nE 's/.*n=([0-9]+) .*median ([0-9.]+) s.*/\1 \2/p'; }
for _ in $(seq "${H5PIPE_BENCH_ROUNDS:-3}"); do
  .build/release/h5pipe-bench render "${args[@]}" | extract >>"$work/swift-rounds.txt"
  "$python" Benchmarks/render_matplotlib.py --data-directory "$work" "${args[@]}" | extract >>"$work/matplotlib-rounds.txt"
done
bench_medians "$work/swift-rounds.txt" >"$work/swift.txt"
bench_medians "$work/matplotlib-rounds.txt" >"$work/matplotlib.txt"

echo "scatter to PNG: h5pipe (cairo $(pkg-config --modversion cairo 2>/dev/null || echo '?')) vs matplotlib $("$python" -c 'import matplotlib; print(matplotlib.__version__)') Agg; seconds, median"
printf '%-8s %10s %12s %8s\n' points h5pipe matplotlib ratio
join <(sort "$work/swift.txt") <(sort "$work/matplotlib.txt") | sort -n | while read -r count ours theirs; do
  printf '%-8s %10.4f %12.4f %8.3f\n' "$count" "$ours" "$theirs" "$(echo "$ours / $theirs" | bc -l)"
done
