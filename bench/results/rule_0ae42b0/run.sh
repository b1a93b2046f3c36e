#!/usr/bin/env bash
# bench_rule at its defaults (N = 10^6, lattice2d and er k = 32, B = 1 and
# 16) on 1 and 2 ranks, main at 0ae42b0 (activities on cache lines, the
# gathers asked for into L2). Run from the source directory.
set -euo pipefail
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
d=bench/results/rule_0ae42b0
for np in 1 2; do
  echo "$(date +%T) load $(cut -d' ' -f1 /proc/loadavg) np $np" >> $d/log.txt
  mpirun -n $np build/bench/bench_rule -tn_progress_every 0 -bench_out $d/rule_np$np.json 2>&1 | grep "B=" | tee -a $d/log.txt
done
