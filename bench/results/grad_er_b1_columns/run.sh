#!/bin/bash
# The sync backward step at B = 1 on er by rows against by columns (auto's
# choice at this size), one build, one after the other, twice.
# Run from the build directory; writes here.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
out=$(dirname "$0")
for r in 1 2; do
  for t in rows auto; do
    echo "$(date +%T) load $(cut -d' ' -f1 /proc/loadavg) $t r$r" >> "$out/log.txt"
    bench/bench_grad -bench_net er -bench_er_n 1000000 -bench_k 32 -bench_batch 1 -bench_reps 2 \
      -dyn_adjoint_transpose $t -bench_out "$out/${t}_r$r.json" > /dev/null
  done
done
