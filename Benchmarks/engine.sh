#!/usr/bin/env bash
# Engine benchmarks (release build of h5pipe; needs h5import from hdf5-tools and python3):
#
#  1. wall time of `h5pipe run` on an unchanged 5-stage pipeline whose artifacts total 60 MB
#     (goal: under 0.3 s); for scale, the time to hash those artifacts once with sha256sum;
#  2. engine overhead per stage on a 100-stage chain of trivial `command` stages: the run's wall
#     time minus the time the stages themselves took (from run.json), per stage, for a forced
#     run (execute + provenance + hash + publish) and for an unchanged run (plan + cache check).
#
# Usage: Benchmarks/engine.sh            (builds .build/release/h5pipe unless H5PIPE_BINARY is set)
#        REPEATS=20 Benchmarks/engine.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_h5pipe
command -v h5import >/dev/null || { echo "engine.sh: h5import (hdf5-tools) is required" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

H5PIPE="$binary" REPEATS="${REPEATS:-10}" WORK="$work" python3 - <<'PYTHON'
import json, os, resource, statistics, subprocess, time

binary, repeats, work = os.environ["H5PIPE"], int(os.environ["REPEATS"]), os.environ["WORK"]
os.chdir(work)

cpu_times = []  # user + system CPU seconds of each run, less sensitive to a busy machine than wall time

def run(*args):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run([binary, *args, "--plain"], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_times.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if result.returncode != 0:
        raise SystemExit(f"h5pipe {' '.join(args)} failed:\n{result.stderr}")
    return elapsed

startup_cpu = []

def start_only():
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([binary, "--version"], capture_output=True, check=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    startup_cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return elapsed

def record(name):
    with open(f"artifacts/{name}/run.json") as file:
        return json.load(file)

# 1. Five stages of 12 MB each (3M random int32 values, stored uncompressed).
with open("random.cfg", "w") as file:
    file.write("PATH /data\nINPUT-CLASS IN\nINPUT-SIZE 32\nRANK 1\nDIMENSION-SIZES 3000000\nOUTPUT-CLASS IN\nOUTPUT-SIZE 32\n")
make = 'head -c 12000000 /dev/urandom > "$H5PIPE_SCRATCH/raw" && h5import "$H5PIPE_SCRATCH/raw" -c random.cfg -o "$0"'
stages = {}
for index in range(5):
    stage = {"uses": "command", "params": {"run": ["sh", "-c", make, "{output}"], "files": ["random.cfg"]}}
    if index > 0:
        stage["inputs"] = {"previous": f"s{index - 1}"}
    stages[f"s{index}"] = stage
with open("large.json", "w") as file:
    json.dump({"version": 1, "name": "large", "stages": stages}, file, indent=1)
run("run", "large.json")
sizes = sum(os.path.getsize(f"artifacts/large/s{index}.h5") for index in range(5))
cpu_times.clear()
unchanged = [run("run", "large.json") for _ in range(repeats)]
unchanged_cpu = statistics.median(cpu_times)
startup = [start_only() for _ in range(repeats)]
assert all(entry["outcome"] == "cached" for entry in record("large")["stages"])
started = time.perf_counter()
subprocess.run(["sha256sum"] + [f"artifacts/large/s{index}.h5" for index in range(5)], check=True, capture_output=True)
hashing = time.perf_counter() - started
print(f"unchanged 5-stage pipeline, artifacts {sizes / 1e6:.1f} MB: "
      f"h5pipe run median {statistics.median(unchanged) * 1000:.1f} ms "
      f"(min {min(unchanged) * 1000:.1f}, max {max(unchanged) * 1000:.1f}, {repeats} runs); "
      f"hashing the artifacts once with sha256sum: {hashing * 1000:.1f} ms; "
      f"process start alone (h5pipe --version): median {statistics.median(startup) * 1000:.1f} ms "
      f"({statistics.median(startup_cpu) * 1000:.1f} ms CPU); "
      f"CPU time of the unchanged run: median {unchanged_cpu * 1000:.1f} ms")

# 2. A chain of 100 trivial stages: each copies its input (a 4-value HDF5 file).
with open("tiny.cfg", "w") as file:
    file.write("PATH /data\nINPUT-CLASS TEXTIN\nRANK 1\nDIMENSION-SIZES 4\nOUTPUT-CLASS IN\nOUTPUT-SIZE 32\n")
stages = {"c0": {"uses": "command", "params": {
    "run": ["sh", "-c", 'echo 1 2 3 4 > "$H5PIPE_SCRATCH/t" && h5import "$H5PIPE_SCRATCH/t" -c tiny.cfg -o "$0"', "{output}"],
    "files": ["tiny.cfg"]}}}
for index in range(1, 100):
    stages[f"c{index}"] = {"uses": "command", "inputs": {"previous": f"c{index - 1}"},
                           "params": {"run": ["cp", "{inputs.previous}", "{output}"]}}
with open("chain.json", "w") as file:
    json.dump({"version": 1, "name": "chain", "stages": stages}, file)
run("run", "chain.json", "--jobs", "1")

forced_overheads, forced_walls = [], []
for _ in range(max(3, repeats // 3)):
    wall = run("run", "chain.json", "--force", "--jobs", "1")
    stage_seconds = sum(entry["seconds"] for entry in record("chain")["stages"])
    forced_walls.append(wall)
    forced_overheads.append((wall - stage_seconds) / 100)
cpu_times.clear()
unchanged_chain = [run("run", "chain.json", "--jobs", "1") / 100 for _ in range(repeats)]
chain_cpu = statistics.median(cpu_times)
print(f"100-stage chain, forced (execute every stage): wall median {statistics.median(forced_walls):.2f} s; "
      f"engine overhead per stage (wall - stage time) median {statistics.median(forced_overheads) * 1000:.2f} ms")
chain_run = statistics.median(unchanged_chain) * 100
print(f"100-stage chain, unchanged (plan + cache check): {chain_run * 1000:.1f} ms per run, "
      f"{chain_run * 10:.2f} ms per stage with process start, "
      f"{(chain_run - statistics.median(startup)) * 10:.2f} ms per stage without it; "
      f"CPU time {chain_cpu * 1000:.1f} ms per run")
PYTHON
