#!/usr/bin/env bash
# Planning with many variants (release build of h5pipe; needs h5import from hdf5-tools):
#
# a pipeline of one `source` stage and a `matrix` of COUNT (1000) variants of a trivial `command`
# stage that copies it; after one cold run, the wall time of `h5pipe status` and of
# `h5pipe run --dry-run` with everything cached (median of REPEATS, goal: status under 0.5 s),
# and of the cached `h5pipe run`. Also the cold run's wall time per variant.
#
# Usage: Benchmarks/variants.sh        (builds .build/release/h5pipe unless H5PIPE_BINARY is set)
#        COUNT=2000 REPEATS=9 Benchmarks/variants.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_h5pipe
command -v h5import >/dev/null || { echo "variants.sh: h5import (hdf5-tools) is required" >&2; exit 1; }
count=${COUNT:-1000}
repeats=${REPEATS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
printf 'PATH /data\nINPUT-CLASS TEXTIN\nRANK 1\nDIMENSION-SIZES 3\nOUTPUT-CLASS IN\nOUTPUT-SIZE 32\n' > ints.cfg
values=$(seq 0 $((count - 1)) | awk '{ printf "%s\"%s\"", (NR > 1 ? "," : ""), $1 }')
cat > many.json <<JSON
{"name": "many", "stages": {
  "source": {"uses": "command", "params": {"run": ["sh", "-c", "echo 1 2 3 > \$0.txt && h5import \$0.txt -c ints.cfg -o \$0", "{output}"], "files": ["ints.cfg"]}},
  "copy": {"uses": "command", "inputs": {"data": "source"}, "params": {"run": ["cp", "{inputs.data}", "{output}"]},
           "matrix": {"env.I": [$values]}}
}}
JSON

seconds() { # wall seconds of `h5pipe ARGS...`
  local start end
  start=$(date +%s.%N)
  "$binary" "$@" --max-variants "$count" >/dev/null 2>"$work/last.err" || { cat "$work/last.err" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}

cold=$(seconds run many.json --plain)
times="$work/times"
: > "$times"
for _ in $(seq 1 "$repeats"); do
  echo "status $(seconds status many.json)" >> "$times"
  echo "dry-run $(seconds run many.json --dry-run)" >> "$times"
  echo "cached-run $(seconds run many.json --plain)" >> "$times"
done
bench_medians "$times" > "$work/medians"
awk -v count="$count" -v cold="$cold" '
  { m[$1] = $2 }
  END {
    printf "%d variants of a command stage (+1 source stage)\n", count
    printf "cold run: %.1f s (%.1f ms per variant)\n", cold, cold * 1000 / (count + 1)
    printf "all cached, medians: status %.3f s (goal < 0.5 s), run --dry-run %.3f s, run %.3f s\n",
      m["status"], m["dry-run"], m["cached-run"]
  }' "$work/medians"
