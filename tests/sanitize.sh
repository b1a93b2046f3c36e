#!/bin/bash
# tenor under AddressSanitizer and UndefinedBehaviorSanitizer: configures a
# separate build directory with -DTENOR_SANITIZE=ON, builds, and runs the unit
# tests (1-4 ranks) and the fuzzer's small fixed corpus (tests/fuzz/fuzz.py
# --corpus: 4 mutants per reader format at 1 and 2 ranks) with the sanitized
# program. Any sanitizer report fails: ASan aborts at its first error, UBSan
# is made fatal with halt_on_error, and the fuzzer counts a report as noise.
# Opt-in (a second full build, slower unit tests): run it directly or
# as `TENOR_SANITIZE=1 bash tests/run.sh`; docs/architecture.md (Testing).
#
# Leak detection is off (detect_leaks=0): Open MPI, hwloc and the loader keep
# allocations until exit that LeakSanitizer reports (33 reports, 3357
# allocations for one 1-rank `tenor logdensity`, none from tenor's code) and
# turn every exit status into 1. Set TENOR_SANITIZE_LEAKS=1 to see them.
#
# Usage: tests/sanitize.sh [ctest arguments, e.g. -R test_io]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${TENOR_SANITIZE_BUILD:-build-sanitize}
cmake -S . -B "$B" -DTENOR_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-O1 -g" >/dev/null
cmake --build "$B" -j2 --target tenor_exe $(ls tests/unit/test_*.c | xargs -n1 basename | sed 's/\.c$//')
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
leaks=0; [ "${TENOR_SANITIZE_LEAKS:-0}" = 1 ] && leaks=1
export ASAN_OPTIONS="detect_leaks=$leaks:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=0:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
fail=0
ctest --test-dir "$B" --output-on-failure -j2 -R '^test_' "$@" || fail=1
python3 tests/fuzz/fuzz.py "$B/tenor" "$B/fuzz-corpus" --corpus || fail=1
exit $fail
