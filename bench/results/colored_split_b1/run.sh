#!/usr/bin/env bash
# The colored rows split by colour below 4 panel slices (2 panels from a
# quarter slice of gathered state), before (2f11004) and after (0536c5d),
# the builds alternated: er N = 10^6, k = 32, B = 1, bench_step's default
# partitioner, 3 pairs on 1 rank and 1 pair on 2. Each build is a copy of
# libtenor.so* and bench_step in $AB/<name>/, run through LD_LIBRARY_PATH.
set -euo pipefail
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
AB=${AB:-/tmp/ab}
d=$(cd "$(dirname "$0")" && pwd)
run() { # name np pair
  echo "$(date +%T) load $(cut -d' ' -f1 /proc/loadavg) $1 np $2 pair $3" >> $d/log.txt
  mpirun -n $2 -x LD_LIBRARY_PATH=$AB/$1 $AB/$1/bench_step -bench_net er -bench_batch 1 -bench_reps 3 -bench_min_time 1 \
    -tn_progress_every 0 -bench_out $d/er_np$2_$1_$3.json > /dev/null
}
for p in 1 2 3; do for b in 2f11004 0536c5d; do run $b 1 $p; done; done
for b in 2f11004 0536c5d; do run $b 2 1; done
