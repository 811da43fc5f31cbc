#!/usr/bin/env bash
# ingest-idx on full MNIST (60k + 10k images from the .gz files) vs numpy's usual loader
# (gzip + frombuffer) in the same run. Release build, medians of fresh runs, equal thread counts
# (numpy's gzip is single-threaded, so the stage gets 1 thread unless --threads says otherwise).
# Measures: `h5pipe run pipelines/ingest-only.json` from a cold cache (an empty artifacts
# folder, a new process each time, wall seconds and peak resident memory from /usr/bin/time);
# the stage alone inside one process (h5pipe-bench ingest); the IDX read alone; numpy's read;
# numpy's read plus an h5py write of the same artifact; the sizes of both artifacts.
# Usage: Benchmarks/ingest.sh [--repeats N] [--threads T]
# Env: H5PIPE_BENCH_VENV (default Benchmarks/.venv), H5PIPE_DATA_PATH (folder with mnist/).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

repeats=5
threads=1
while [ $# -gt 0 ]; do
  case "$1" in
    --repeats) repeats=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

bench_python numpy h5py
bench_build h5pipe-bench h5pipe
bench=.build/release/h5pipe-bench
h5pipe=$PWD/.build/release/h5pipe
pipeline=$PWD/pipelines/ingest-only.json
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bench" ingest --repeats "$repeats" --threads "$threads" --output-directory "$work" >"$work/swift.txt"
directory=$(awk '$1 == "directory" { print $2 }' "$work/swift.txt")
"$python" Benchmarks/ingest_numpy.py --directory "$directory" --repeats "$repeats" >"$work/numpy.txt"

# Cold pipeline runs: a new process and an empty artifacts folder each time. The dataset is
# found through H5PIPE_DATA_PATH (the folder above the one h5pipe-bench used).
for _ in $(seq "$repeats"); do
  rm -rf "$work/run" && mkdir "$work/run"
  (cd "$work/run" && H5PIPE_DATA_PATH="$(dirname "$directory")" /usr/bin/time -f "cold_run %e %M %U %S" \
    "$h5pipe" run "$pipeline" --threads "$threads" --plain >/dev/null 2>>"$work/cold.txt")
done
echo "cold_run_artifact_bytes $(stat -c %s "$work/run/artifacts/ingest-only/ingest.h5")" >>"$work/swift.txt"
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
echo "cold_run_seconds $(awk '$1 == "cold_run" { print $2 }' "$work/cold.txt" | median)" >>"$work/swift.txt"
echo "cold_run_cpu_seconds $(awk '$1 == "cold_run" { print $4 + $5 }' "$work/cold.txt" | median)" >>"$work/swift.txt"
echo "cold_run_peak_kib $(awk '$1 == "cold_run" { print $3 }' "$work/cold.txt" | sort -n | tail -1)" >>"$work/swift.txt"
# numpy's peak memory for reference.
/usr/bin/time -v "$python" Benchmarks/ingest_numpy.py --directory "$directory" --repeats 1 --read-only \
  >/dev/null 2>"$work/time-numpy.txt"

value() { awk -v key="$1" '$1 == key { print $2 }' "$work/swift.txt" "$work/numpy.txt"; }
ratio() { echo "$(value "$1") / $(value "$2")" | bc -l; }
peak() { awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"; }

echo "MNIST IDX files: $directory; $threads thread(s); medians of $repeats runs; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "CPU seconds count every thread of the process: steadier than wall seconds on a busy machine."
row() { printf '%-46s %9.3f %9.3f\n' "$1" "$(value "$2")" "$(value "$3")"; }
printf '%-46s %9s %9s\n' measure wall-s cpu-s
row "h5pipe run ingest-only.json, cold process" cold_run_seconds cold_run_cpu_seconds
row "ingest-idx stage (read, hash, write HDF5)" stage_seconds stage_cpu_seconds
row "IDX read only (LabelledImages.read)" read_seconds read_cpu_seconds
row "numpy read (gzip + frombuffer)" numpy_read_seconds numpy_read_cpu_seconds
row "numpy read + h5py write of the same artifact" numpy_h5py_seconds numpy_h5py_cpu_seconds
printf '%-46s %9.3f\n' "ingest-idx stage, first run in the process" "$(value stage_first_seconds)"
ratios() { printf '%-46s %9.2f %9.2f\n' "$1" "$(ratio "$2" "$4")" "$(ratio "$3" "$5")"; }
ratios "ratio cold run / numpy read" cold_run_seconds cold_run_cpu_seconds numpy_read_seconds numpy_read_cpu_seconds
ratios "ratio stage / numpy read" stage_seconds stage_cpu_seconds numpy_read_seconds numpy_read_cpu_seconds
ratios "ratio IDX read / numpy read" read_seconds read_cpu_seconds numpy_read_seconds numpy_read_cpu_seconds
ratios "ratio stage / (numpy read + h5py write)" stage_seconds stage_cpu_seconds numpy_h5py_seconds numpy_h5py_cpu_seconds
printf '%-46s %9.1f\n' "peak memory, cold run (MiB)" "$(echo "$(value cold_run_peak_kib) / 1024" | bc -l)"
printf '%-46s %9s\n' "peak memory, numpy read (MiB)" "$(peak "$work/time-numpy.txt")"
printf '%-46s %9.2f\n' "artifact size, h5pipe (MB)" "$(echo "$(value cold_run_artifact_bytes) / 1000000" | bc -l)"
printf '%-46s %9.2f\n' "artifact size, h5py, gzip level 1 (MB)" "$(echo "$(value numpy_h5py_artifact_bytes) / 1000000" | bc -l)"
