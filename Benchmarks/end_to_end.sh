#!/usr/bin/env bash
# The whole MNIST recipe, cold: `h5pipe run pipelines/mnist.json` (release) against the Python
# recipe (PyTorch training + scikit-learn TSNE + matplotlib, Benchmarks/recipe_python.py) on the
# same files and threads; then an unchanged rerun and `--stage tsne --force`.
# Usage: Benchmarks/end_to_end.sh [--threads T] [--pipeline FILE]
# The Python recipe trains for as many epochs as the pipeline's `train` stage (on all images).
# Env: H5PIPE_BENCH_VENV (default Benchmarks/.venv), H5PIPE_DATA_PATH (folder with mnist/).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

threads=2
pipeline=pipelines/mnist.json
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --pipeline) pipeline=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

bench_python numpy torch sklearn:scikit-learn matplotlib
bench_build h5pipe
h5pipe=$PWD/.build/release/h5pipe
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "load before: $(uptime)" >&2

ours_start=$(date +%s.%N)
"$h5pipe" run "$pipeline" --artifacts "$work/artifacts" --plain --threads "$threads" --jobs "$threads" >"$work/cold.log" 2>&1
ours_end=$(date +%s.%N)
name=$("$python" -c "import json,sys; print(json.load(open(sys.argv[1]))['name'])" "$pipeline")
cp "$work/artifacts/$name/run.json" "$work/cold-run.json"
rerun_start=$(date +%s.%N)
"$h5pipe" run "$pipeline" --artifacts "$work/artifacts" --plain >"$work/rerun.log" 2>&1
rerun_end=$(date +%s.%N)
force_start=$(date +%s.%N)
"$h5pipe" run "$pipeline" --artifacts "$work/artifacts" --plain --stage tsne --force --threads "$threads" >"$work/force.log" 2>&1
force_end=$(date +%s.%N)

epochs=$("$python" -c "import json,sys; print(json.load(open(sys.argv[1]))['stages']['train'].get('params', {}).get('epochs', 20))" "$pipeline")
"$python" Benchmarks/recipe_python.py --epochs "$epochs" --threads "$threads" --out "$work/python" >"$work/python.json" 2>"$work/python.log"
echo "load after: $(uptime)" >&2

"$python" - "$work/cold-run.json" "$work/python.json" "$ours_start" "$ours_end" \
  "$rerun_start" "$rerun_end" "$force_start" "$force_end" <<'PY'
import json, sys
record = json.load(open(sys.argv[1]))
python = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])["seconds"]
ours_total = float(sys.argv[4]) - float(sys.argv[3])
rerun = float(sys.argv[6]) - float(sys.argv[5])
force = float(sys.argv[8]) - float(sys.argv[7])
stages = record["stages"]
print(f"cold end-to-end: h5pipe {ours_total:.1f} s, Python recipe {python['total']:.1f} s, "
      f"ratio {ours_total / python['total']:.3f}")
print(f"{'h5pipe stage':<18}{'seconds':>9}{'share':>8}")
for stage in stages:
    seconds = stage.get("seconds") or 0
    print(f"{stage['stage']:<18}{seconds:>9.2f}{seconds / ours_total:>8.1%}")
print(f"{'Python phase':<18}{'seconds':>9}{'share':>8}")
for phase, seconds in python.items():
    if phase != "total":
        print(f"{phase:<18}{seconds:>9.2f}{seconds / python['total']:>8.1%}")
print(f"unchanged rerun: {rerun:.3f} s;  --stage tsne --force: {force:.2f} s")
PY
