#!/bin/bash
# tenor quick start, step 2: the whole test suite (unit tests at 1-4 ranks,
# end-to-end runs of the program, format check). Builds first if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh --no-run
BUILD=${TENOR_BUILD:-build}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
ctest --test-dir "$BUILD" --output-on-failure -j2 "$@"
