# Sourced by the scripts: puts a shared dataset folder beside the checkout on H5PIPE_DATA_PATH.
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -d "$repo_root/../shared/datasets" ]; then
  shared=$(cd "$repo_root/../shared/datasets" && pwd)
  export H5PIPE_DATA_PATH="${H5PIPE_DATA_PATH:+$H5PIPE_DATA_PATH:}$shared"
fi
cd "$repo_root"
