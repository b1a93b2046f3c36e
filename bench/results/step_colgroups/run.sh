#!/usr/bin/env bash
# bench_step at its defaults (lattice2d N = 10^6 and er N = 10^6, k = 32;
# B = 1 and 16; sync and colored in rounds), 5 rounds of 1.5 s timings, on
# 1 and 2 ranks: the build before (cur = 6aee2ce) and after (grp = a942609), one after
# the other in one session. Each build is a copy of build/libtenor.so* and
# build/bench/bench_step in /tmp/ab/NAME, run through LD_LIBRARY_PATH.
set -euo pipefail
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
d=bench/results/step_colgroups
for n in cur grp; do
  for np in 1 2; do
    echo "$(date +%T) load $(cut -d' ' -f1 /proc/loadavg) $n np $np" >> $d/log.txt
    mpirun -n $np -x LD_LIBRARY_PATH=/tmp/ab/$n /tmp/ab/$n/bench_step -tn_progress_every 0 -bench_reps 5 -bench_min_time 1.5 -bench_out $d/${n}_np$np.json > /dev/null
  done
done
