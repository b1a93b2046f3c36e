#!/usr/bin/env bash
# bench_step at its defaults (lattice2d N = 10^6 and er N = 10^6, k = 32;
# B = 1 and 16; sync and colored in rounds), 5 rounds of 1.5 s timings, on
# 1 and 2 ranks, main at 8b7af50 (the row sums in registers, the colored
# earlier-colour groups on-process and for the ghosts). Run from the source
# directory.
set -euo pipefail
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
d=bench/results/step_8b7af50
for np in 1 2; do
  echo "$(date +%T) load $(cut -d' ' -f1 /proc/loadavg) np $np" >> $d/log.txt
  mpirun -n $np build/bench/bench_step -tn_progress_every 0 -bench_reps 5 -bench_min_time 1.5 -bench_out $d/step_np$np.json > /dev/null
done
