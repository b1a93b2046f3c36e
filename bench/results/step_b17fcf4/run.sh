#!/usr/bin/env bash
# bench_step at its defaults (lattice2d N = 10^6 and er N = 10^6, k = 32;
# B = 1 and 16; sync and colored in rounds), 3 rounds of 1 s timings, on 1
# and 2 ranks: dbb769b (before) and b17fcf4 (the colored state in the colour
# order through an evaluation at B < 8; stride-2 slice rows), one build after
# the other, twice. Each build is a copy of libtenor.so* and bench_step in
# $AB/<name> (AB defaults to /tmp/ab). Run from the source directory.
set -euo pipefail
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
AB=${AB:-/tmp/ab}
d=bench/results/step_b17fcf4
for np in 1 2; do
  for rep in 1 2; do
    for b in dbb769b b17fcf4; do
      echo "$(date +%T) load $(cut -d' ' -f1 /proc/loadavg) $b np $np rep $rep" >> $d/log.txt
      mpirun -n $np -x LD_LIBRARY_PATH=$AB/$b $AB/$b/bench_step -tn_progress_every 0 -bench_reps 3 -bench_min_time 1 -bench_out $d/${b}_np${np}_$rep.json > /dev/null
    done
  done
done
