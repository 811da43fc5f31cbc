# Sourced by the benchmark scripts: `source "$(dirname "$0")/lib.sh"`. Moves to the repository
# root and puts a shared dataset folder beside the checkout on H5PIPE_DATA_PATH (scripts/env.sh).
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/env.sh"

# bench_python MODULE...: makes sure the virtualenv at ${H5PIPE_BENCH_VENV:-Benchmarks/.venv}
# imports every MODULE, creating it and pip-installing the packages when one is missing, and sets
# $python to its interpreter. Write MODULE:PACKAGE where the two names differ
# (sklearn:scikit-learn).
bench_python() {
  local venv=${H5PIPE_BENCH_VENV:-Benchmarks/.venv} spec modules=() packages=()
  for spec in "$@"; do
    modules+=("${spec%%:*}")
    packages+=("${spec#*:}")
  done
  if ! "$venv/bin/python3" -c "import $(IFS=,; echo "${modules[*]}")" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "${packages[@]}"
  fi
  python="$venv/bin/python3"
}

# bench_build PRODUCT...: release build of each product, its log on stderr.
bench_build() {
  local product
  for product in "$@"; do
    swift build -c release --product "$product" >&2
  done
}

# bench_h5pipe: sets $binary to $H5PIPE_BINARY, or else to a fresh release build of h5pipe.
bench_h5pipe() {
  binary="${H5PIPE_BINARY:-}"
  if [ -z "$binary" ]; then
    bench_build h5pipe
    binary="$PWD/.build/release/h5pipe"
  fi
}

# bench_medians FILE: for lines "KEY VALUE", prints "KEY MEDIAN" once per key, keys sorted.
bench_medians() {
  sort -k1,1 -k2,2g "$1" | awk '
    function flush() { if (n) print name, (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2) }
    $1 != name { flush(); name = $1; n = 0 }
    { v[++n] = $2 }
    END { flush() }'
}
