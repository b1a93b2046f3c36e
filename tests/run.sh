#!/bin/bash
# tenor quick start, step 2: the whole test suite (unit tests at 1-4 ranks,
# end-to-end runs of the program, reader fuzzing, format check). Builds first
# if needed. TENOR_SANITIZE=1 then also runs tests/sanitize.sh (a separate
# AddressSanitizer/UBSan build; unit tests and the fuzzer's corpus).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh --no-run
BUILD=${TENOR_BUILD:-build}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
ctest --test-dir "$BUILD" --output-on-failure -j2 "$@"
if [ "${TENOR_SANITIZE:-0}" = 1 ]; then bash tests/sanitize.sh; fi
