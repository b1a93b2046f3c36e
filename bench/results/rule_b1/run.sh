#!/usr/bin/env bash
# hebb and oja at B = 1 (pieces across the rows, four like rows at once)
# and W's storage in huge pages: bench_rule before (base: main at da78aa4,
# built in $BASE_BUILD, with the bench_rule of this commit so that both take
# the same options) and after (build/, at ab67a90), alternated, at the defaults (all
# four cells, 5 reps): 1 rank base, new, base, new; then 2 ranks base, new.
# Run from the top of the project on a quiet machine.
set -euo pipefail
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
d=bench/results/rule_b1
base=${BASE_BUILD:?set BASE_BUILD to a build of da78aa4}/bench/bench_rule
new=build/bench/bench_rule
run() { mpirun -n "$1" "$2" -bench_batch 1,16 -bench_reps 5 -bench_out "$d/$3.json" 2>&1 | grep "B=" | tee -a "$d/log.txt"; }
for r in 1 2; do run 1 "$base" np1_base_r$r; run 1 "$new" np1_new_r$r; done
run 2 "$base" np2_base; run 2 "$new" np2_new
# Then hebb's on-process synapses while the halo is in flight: 2 ranks, er,
# ab67a90 (in $AB_BUILD) and 7e68ce4 (build/) alternated, hebb and oja only
# (log_np2_er_halo.txt, np2_er_<commit>_<order>.json).
i=0
for b in ab67a90 7e68ce4 ab67a90 7e68ce4; do
  i=$((i + 1))
  case $b in ab67a90) exe=${AB_BUILD:?}/bench/bench_rule ;; *) exe=build/bench/bench_rule ;; esac
  mpirun -n 2 "$exe" -bench_net er -bench_batch 1,16 -bench_reps 5 -bench_rules hebb,oja -bench_out "$d/np2_er_${b}_$i.json" 2>&1 | grep "B=" | tee -a "$d/log_np2_er_halo.txt"
done
