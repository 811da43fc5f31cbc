#!/usr/bin/env bash
# The Slurm executor against local execution, on a throw-away single-node Slurm started here
# (scripts/slurm-cluster): per-stage overhead on a chain of trivial command stages, and the wall
# time of a pipeline (pipelines/mnist.json unless PIPELINE is set).
#
#  1. a 20-stage chain of trivial `command` stages (each copies its input), run forced with
#     --executor local and --executor slurm, REPEATS times alternating; the added seconds per
#     stage = (median slurm wall - median local wall) / 20 (goal: under 1.5 s);
#  2. PIPELINE cold with each executor, PIPELINE_REPEATS times alternating (this machine's noise
#     moves a 70 s run by 10 s between runs); the ratio is the median of the ratios of adjacent
#     pairs (goal: slurm within 10 % of local).
#
# Usage: Benchmarks/slurm.sh               (builds .build/release/h5pipe unless H5PIPE_BINARY is set)
#        REPEATS=5 PIPELINE_REPEATS=1 PIPELINE=pipelines/mnist-quick.json Benchmarks/slurm.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_h5pipe
repeats=${REPEATS:-3}
pipeline_repeats=${PIPELINE_REPEATS:-3}
pipeline=$(realpath "${PIPELINE:-pipelines/mnist.json}")
work=$(mktemp -d)
cluster="$work/cluster"
slurm_cluster="$PWD/scripts/slurm-cluster"
trap '"$slurm_cluster" stop "$cluster" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
eval "$("$slurm_cluster" start "$cluster")"
# The scheduler's first pass comes about 3 s after slurmctld starts: let it pass before timing.
sbatch --parsable --wait --output=/dev/null --wrap true >/dev/null

cd "$work"
printf 'PATH /data\nINPUT-CLASS TEXTIN\nRANK 1\nDIMENSION-SIZES 3\nOUTPUT-CLASS IN\nOUTPUT-SIZE 32\n' > ints.cfg
{
  echo '{"name": "chain", "stages": {'
  echo '  "s0": {"uses": "command", "params": {"run": ["sh", "-c", "echo 1 2 3 > $0.txt && h5import $0.txt -c ints.cfg -o $0", "{output}"], "files": ["ints.cfg"]}},'
  for i in $(seq 1 19); do
    comma=$([ "$i" -lt 19 ] && echo , || true)
    echo "  \"s$i\": {\"uses\": \"command\", \"inputs\": {\"data\": \"s$((i - 1))\"}, \"params\": {\"run\": [\"cp\", \"{inputs.data}\", \"{output}\"]}}$comma"
  done
  echo '}}'
} > chain.json

wall() { # wall seconds of `h5pipe run ARGS...`
  local start end
  start=$(date +%s.%N)
  "$binary" run "$@" --plain >/dev/null 2>"$work/last.err" || { cat "$work/last.err" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}

times="$work/times"
: > "$times"
for _ in $(seq 1 "$repeats"); do
  for executor in local slurm; do
    echo "chain-$executor $(wall chain.json --executor "$executor" --force --artifacts "a-$executor")" >> "$times"
  done
done
ratios="$work/ratios"
: > "$ratios"
for i in $(seq 1 "$pipeline_repeats"); do
  for executor in local slurm; do
    rm -rf "p-$executor"
    t=$(wall "$pipeline" --executor "$executor" --artifacts "p-$executor")
    echo "pipeline-$executor $t" >> "$times"
    eval "t_$executor=$t"
  done
  echo "pipeline-ratio $(awk -v a="$t_local" -v b="$t_slurm" 'BEGIN { printf "%.3f", b / a }')" | tee -a "$ratios"
done
bench_medians "$times" > "$work/medians"
bench_medians "$ratios" >> "$work/medians"
cat "$work/medians"
awk '
  { m[$1] = $2 }
  END {
    printf "20-stage chain, forced: local %.2f s, slurm %.2f s: %.2f s added per stage (goal < 1.5 s)\n",
      m["chain-local"], m["chain-slurm"], (m["chain-slurm"] - m["chain-local"]) / 20
    printf "pipeline, cold: local %.1f s, slurm %.1f s (medians): median ratio of adjacent pairs %.3f (goal <= 1.10)\n",
      m["pipeline-local"], m["pipeline-slurm"], m["pipeline-ratio"]
  }' "$work/medians"
