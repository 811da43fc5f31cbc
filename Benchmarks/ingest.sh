#!/usr/bin/env bash
# ingest-idx on full MNIST (60k + 10k images from the .gz files) vs numpy's usual loader
# (gzip + frombuffer) in the same run. Release build, median seconds of fresh stage runs (each
# one writes its artifact from scratch: no run-cache), equal thread counts (numpy's gzip is
# single-threaded, so the stage gets 1 thread unless --threads says otherwise).
# Prints the seconds, the ratios ours/numpy, and the peak resident memory of one stage run.
# Usage: Benchmarks/ingest.sh [--repeats N] [--threads T]
# Env: H5PIPE_BENCH_VENV (default Benchmarks/.venv), H5PIPE_DATA_PATH (folder with mnist/).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f scripts/env.sh ] && source scripts/env.sh

repeats=5
threads=1
while [ $# -gt 0 ]; do
  case "$1" in
    --repeats) repeats=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

venv=${H5PIPE_BENCH_VENV:-Benchmarks/.venv}
if ! "$venv/bin/python3" -c "import h5py, numpy" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q numpy h5py
fi
python="$venv/bin/python3"

swift build -c release --product h5pipe-bench >&2
bench=.build/release/h5pipe-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bench" ingest --repeats "$repeats" --threads "$threads" --output-directory "$work" >"$work/swift.txt"
directory=$(awk '$1 == "directory" { print $2 }' "$work/swift.txt")
"$python" Benchmarks/ingest_numpy.py --directory "$directory" --repeats "$repeats" >"$work/numpy.txt"

# Peak memory: one cold stage run in a fresh process, and numpy's read for reference.
/usr/bin/time -v "$bench" ingest --stage-only --threads "$threads" --output-directory "$work" \
  >/dev/null 2>"$work/time-swift.txt"
/usr/bin/time -v "$python" Benchmarks/ingest_numpy.py --directory "$directory" --repeats 1 --read-only \
  >/dev/null 2>"$work/time-numpy.txt"

value() { awk -v key="$1" '$1 == key { print $2 }' "$work/swift.txt" "$work/numpy.txt"; }
peak() { awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"; }
stage=$(value stage_seconds)
read=$(value read_seconds)
numpy=$(value numpy_read_seconds)
numpy_h5py=$(value numpy_h5py_seconds)

echo "MNIST IDX files: $directory; $threads thread(s); medians of $repeats runs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %9s\n' measure seconds
printf '%-44s %9.3f\n' "ingest-idx stage (read, hash, write HDF5)" "$stage"
printf '%-44s %9.3f\n' "ingest-idx stage, first run in the process" "$(value stage_first_seconds)"
printf '%-44s %9.3f\n' "IDX read only (LabelledImages.read)" "$read"
printf '%-44s %9.3f\n' "numpy read (gzip + frombuffer)" "$numpy"
printf '%-44s %9.3f\n' "numpy read + h5py write of the same artifact" "$numpy_h5py"
printf '%-44s %9.2f\n' "ratio stage / numpy read" "$(echo "$stage / $numpy" | bc -l)"
printf '%-44s %9.2f\n' "ratio IDX read / numpy read" "$(echo "$read / $numpy" | bc -l)"
printf '%-44s %9.2f\n' "ratio stage / (numpy read + h5py write)" "$(echo "$stage / $numpy_h5py" | bc -l)"
printf '%-44s %9s\n' "peak memory, one stage run (MiB)" "$(peak "$work/time-swift.txt")"
printf '%-44s %9s\n' "peak memory, numpy read (MiB)" "$(peak "$work/time-numpy.txt")"
