#!/usr/bin/env bash
# The colored scheme's rows split by colour, before (base: main at 4bd5251,
# built in $BASE_BUILD) and after (build/), er N = 10^6, k = 32, B = 16,
# sync and colored timed in rounds: 1 rank three times (r1, r2 base first,
# r3 split first), then 2 ranks once each. Run from the top of the project
# on a quiet machine.
set -euo pipefail
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
d=bench/results/colored_split
base=${BASE_BUILD:?set BASE_BUILD to a build of 4bd5251}/bench/bench_step
split=build/bench/bench_step
run() { mpirun -n "$1" "$2" -tn_progress_every 0 -bench_net er -bench_batch 16 -bench_reps 4 -bench_out "$d/$3.json" > /dev/null; }
for r in 1 2; do run 1 "$base" er16_np1_base_r$r; run 1 "$split" er16_np1_split_r$r; done
run 1 "$split" er16_np1_split_r3; run 1 "$base" er16_np1_base_r3
run 2 "$split" er16_np2_split_r1; run 2 "$base" er16_np2_base_r1
# Then the ghosts' part split too (splitoff: build/ after it; split: the
# build of bbdd9bb in $SPLIT_BUILD), 2 ranks: splitoff, split, base,
# splitoff, split (log_np2_splitoff.txt, *_pair2.json).
i=0
for b in splitoff split base splitoff split; do
  i=$((i + 1))
  case $b in splitoff) exe=build/bench/bench_step ;; split) exe=${SPLIT_BUILD:?}/bench/bench_step ;; base) exe=$base ;; esac
  run 2 "$exe" er16_np2_${b}_${i}_pair2
done
