#!/bin/bash
# bench_rule at its defaults (lattice2d n = 1000 and er N = 10^6 k = 32; B = 1 and 16; hebb, oja, local), 1 rank then 2, at bd7f002
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
for np in 1 2; do
  echo "== np $np $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  mpirun -n $np build/bench/bench_rule -bench_out bench/results/rule_bd7f002/rule_np$np.json > bench/results/rule_bd7f002/rule_np$np.log 2>&1
done
