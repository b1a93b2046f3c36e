#!/usr/bin/env bash
# The rules' activities on cache lines: bench_rule on er N = 10^6, B = 16,
# the build before (02d6f28, a copy of its libtenor.so* and bench_rule in
# $BEFORE) and after (23ae7a4, in $AFTER), one after the other, 1 then 2
# ranks; then the after build at bench_rule's defaults on 1 and 2 ranks.
# Run from the source directory; load average logged at each start.
set -euo pipefail
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
d=bench/results/rule_aligned
BEFORE=${BEFORE:-/tmp/ab/cur0} AFTER=${AFTER:-/tmp/ab/new23}
for np in 1 2; do
  for b in before after; do
    dir=$BEFORE; [ $b = after ] && dir=$AFTER
    echo "$(date +%T) load $(cut -d' ' -f1 /proc/loadavg) np $np $b" >> $d/log.txt
    LD_LIBRARY_PATH=$dir mpirun -n $np -x LD_LIBRARY_PATH $dir/bench_rule -bench_net er -bench_batch 16 -bench_reps 3 -bench_out $d/er16_np${np}_$b.json 2>&1 | grep "B=" | tee -a $d/log.txt
  done
done
for np in 1 2; do
  echo "$(date +%T) load $(cut -d' ' -f1 /proc/loadavg) np $np defaults (after)" >> $d/log.txt
  LD_LIBRARY_PATH=$AFTER mpirun -n $np -x LD_LIBRARY_PATH $AFTER/bench_rule -bench_out $d/rule_np$np.json 2>&1 | grep "B=" | tee -a $d/log.txt
done
