#!/usr/bin/env bash
# Colored at B = 1, before (fa997d6) and after (9f57178: a slice's log-det
# factors multiplied in a register, the colour chunks on slice boundaries,
# the row loop's gathers prefetched where the columns are scattered), the two
# builds alternated: lattice2d N = 10^6 on 1 and 2 ranks (3 pairs each), er
# N = 10^6, k = 32 on 2 ranks (2 pairs). Each build is a copy of libtenor.so*
# and bench_step in $AB/<name>/, run through LD_LIBRARY_PATH.
set -euo pipefail
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
AB=${AB:-/tmp/ab}
d=$(cd "$(dirname "$0")" && pwd)
run() { # name np net pair
  echo "$(date +%T) load $(cut -d' ' -f1 /proc/loadavg) $1 np $2 $3 pair $4" >> $d/log.txt
  mpirun -n $2 -x LD_LIBRARY_PATH=$AB/$1 $AB/$1/bench_step -bench_net $3 -bench_batch 1 -bench_reps 3 -bench_min_time 1 \
    -tn_progress_every 0 -bench_out $d/$3_np$2_$1_$4.json > /dev/null
}
for np in 1 2; do for p in 1 2 3; do for b in fa997d6 9f57178; do run $b $np lattice2d $p; done; done; done
for p in 1 2; do for b in fa997d6 9f57178; do run $b 2 er $p; done; done
