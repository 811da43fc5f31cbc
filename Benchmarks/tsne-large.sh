#!/usr/bin/env bash
# t-SNE at 70k, 250k and 1M points against openTSNE, side by side: wall time, peak memory, KL and
# 10-NN accuracy on a fixed 20,000-query sample, then the ratios and how time grows with N.
#
# The points are MNIST digits, shifted and noised beyond the 70,000 originals, through PCA-50
# (Benchmarks/make_points.py; made once into data/bench/). h5pipe runs `pipelines/import-tsne.json`
# (import → tsne → evaluate → scatter) and its time is the tsne stage's; openTSNE runs with its
# defaults (Annoy neighbours, FFT gradients). Both on H5PIPE_BENCH_THREADS threads (default 2).
#
# usage: Benchmarks/tsne-large.sh [N ...]        (default: 70000 250000 1000000)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
root=$PWD
threads=${H5PIPE_BENCH_THREADS:-2}
[ $# -gt 0 ] && counts=("$@") || counts=(70000 250000 1000000)
bench_python numpy h5py sklearn:scikit-learn openTSNE:opentsne
bench_h5pipe
export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads NUMBA_NUM_THREADS=$threads
mkdir -p data/bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rows=$work/rows.txt

# peak_kib FILE: the "Maximum resident set size" of a /usr/bin/time -v report.
peak_kib() { awk -F': ' '/Maximum resident set size/ { print $2 }' "$1"; }

for count in "${counts[@]}"; do
    points=$root/data/bench/points-$count.h5
    if [ ! -f "$points" ]; then
        mnist=
        IFS=: read -ra folders <<< "$H5PIPE_DATA_PATH"
        for folder in "${folders[@]}"; do [ -f "$folder/mnist/train-images-idx3-ubyte.gz" ] && mnist=$folder/mnist && break; done
        "$python" Benchmarks/make_points.py "${mnist:?no mnist/ folder on H5PIPE_DATA_PATH}" "$points" "$count"
    fi
    echo "== $count points, $threads threads; load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

    artifacts=$work/artifacts-$count
    /usr/bin/time -v -o "$work/h5pipe.time" "$binary" run pipelines/import-tsne.json --plain \
        --artifacts "$artifacts" --threads "$threads" --set "import.file=$points" >&2
    run_json=$(ls "$artifacts"/*/run.json)
    h5pipe_seconds=$("$python" -c '
import json, sys
run = json.load(open(sys.argv[1]))
print(next(s["seconds"] for s in run["stages"] if s["stage"] == "tsne"))' "$run_json")
    tsne_h5=$(dirname "$run_json")/tsne.h5
    h5pipe_kl=$("$python" -c 'import h5py, sys; print(float(h5py.File(sys.argv[1])["/"].attrs["kl_divergence"]))' "$tsne_h5")
    h5pipe_accuracy=$("$python" Benchmarks/tsne_large.py score "$points" "$tsne_h5")
    h5pipe_peak=$(peak_kib "$work/h5pipe.time")

    /usr/bin/time -v -o "$work/opentsne.time" "$python" Benchmarks/tsne_large.py opentsne "$points" \
        "$work/opentsne.npy" --threads "$threads" > "$work/opentsne.json"
    peer_seconds=$("$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["seconds"])' "$work/opentsne.json")
    peer_kl=$("$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["kl"])' "$work/opentsne.json")
    peer_accuracy=$("$python" Benchmarks/tsne_large.py score "$points" "$work/opentsne.npy")
    peer_peak=$(peak_kib "$work/opentsne.time")

    accuracy() { "$python" -c 'import json, sys; print(json.loads(sys.argv[1])["knn_accuracy"])' "$1"; }
    echo "$count h5pipe $h5pipe_seconds $h5pipe_peak $h5pipe_kl $(accuracy "$h5pipe_accuracy")" >> "$rows"
    echo "$count openTSNE $peer_seconds $peer_peak $peer_kl $(accuracy "$peer_accuracy")" >> "$rows"
    tail -2 "$rows" >&2
    rm -rf "$artifacts"
done

"$python" - "$rows" <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1])]
table = {}
for count, method, seconds, peak, kl, accuracy in rows:
    table[(int(count), method)] = (float(seconds), int(peak) / 2**20, float(kl), float(accuracy))
print(f"{'N':>9} {'method':>9} {'seconds':>9} {'peak GiB':>9} {'KL':>7} {'10-NN acc':>9}")
for (count, method), (seconds, peak, kl, accuracy) in sorted(table.items()):
    print(f"{count:>9} {method:>9} {seconds:>9.1f} {peak:>9.2f} {kl:>7.3f} {accuracy:>9.4f}")
print()
print(f"{'N':>9} {'time ratio':>11} {'memory ratio':>13} {'accuracy diff (points)':>23}")
counts = sorted({count for count, _ in table})
for count in counts:
    ours, peer = table.get((count, "h5pipe")), table.get((count, "openTSNE"))
    if ours and peer:
        print(f"{count:>9} {ours[0] / peer[0]:>11.3f} {ours[1] / peer[1]:>13.3f} {100 * (ours[3] - peer[3]):>23.2f}")
for method in ("h5pipe", "openTSNE"):
    times = [(count, table[(count, method)][0]) for count in counts if (count, method) in table]
    for (n1, t1), (n2, t2) in zip(times, times[1:]):
        print(f"{method}: {n1} → {n2} points ({n2 / n1:.1f}×): time ×{t2 / t1:.2f}")
PY
