#!/usr/bin/env bash
# bench_step at its defaults (lattice2d N = 10^6 and er N = 10^6, k = 32;
# B = 1 and 16; sync and colored in rounds), 5 rounds of 1.5 s timings, on
# 1 and 2 ranks, main at 6b53737; then er B = 1 on 2 ranks with the builds
# of 4bd5251 ($BASE_BUILD), 6b53737 (build/) and cdd7fd8 ($CDD_BUILD).
set -euo pipefail
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
d=bench/results/step_6b53737
for np in 1 2; do
  mpirun -n $np build/bench/bench_step -tn_progress_every 0 -bench_reps 5 -bench_min_time 1.5 -bench_out $d/step_np$np.json > /dev/null
done
e="-tn_progress_every 0 -bench_net er -bench_batch 1 -bench_reps 4"
mpirun -n 2 "${BASE_BUILD:?}/bench/bench_step" $e -bench_out $d/erb1_np2_base_4bd5251.json > /dev/null
mpirun -n 2 build/bench/bench_step $e -bench_out $d/erb1_np2_6b53737.json > /dev/null
mpirun -n 2 "${CDD_BUILD:?}/bench/bench_step" $e -bench_out $d/erb1_np2_cdd7fd8.json > /dev/null
