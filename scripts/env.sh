# Sourced by the scripts: puts a shared dataset folder beside the checkout on H5PIPE_DATA_PATH,
# moves to the repository root, and defines the functions the format scripts share.
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -d "$repo_root/../shared/datasets" ]; then
  shared=$(cd "$repo_root/../shared/datasets" && pwd)
  export H5PIPE_DATA_PATH="${H5PIPE_DATA_PATH:+$H5PIPE_DATA_PATH:}$shared"
fi
cd "$repo_root"

# swift_sources: every Swift file of the repository, one path a line, relative to the root, sorted.
# Paths with a hidden component (.build, .swiftpm, .venv, .git) are left out, so build folders and
# the example's checked-out dependencies are never formatted.
swift_sources() {
  find . -name '*.swift' -not -path '*/.*' -type f | sed 's|^\./||' | LC_ALL=C sort
}

# swift_format ARGUMENT...: the toolchain's swift-format (`swift format`), so that the formatter
# is the one of the Swift version that builds h5pipe.
swift_format() {
  swift format "$@"
}
