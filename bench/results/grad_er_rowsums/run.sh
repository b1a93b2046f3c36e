#!/usr/bin/env bash
# bench_grad on er N = 10^6, k = 32, B = 16, sync, 1 rank, 2 reps, for three
# builds, each a copy of build/libtenor.so* and build/bench/bench_grad in
# /tmp/ab/NAME run through LD_LIBRARY_PATH: base = 0cead6b; kernels = 8b7af50
# (the row sums in registers); diag = the backward step's dL/dW_jj log-det
# terms by node (the commit after 8b7af50). base, then diag and kernels back
# to back; then stf (the columns' sums in place, no stack copy) and diag
# alternated twice (the second pair quiet: diag_2.json, stf.json).
set -euo pipefail
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
for n in base diag kernels; do
  LD_LIBRARY_PATH=/tmp/ab/$n /tmp/ab/$n/bench_grad -bench_net er -bench_er_n 1000000 -bench_k 32 -bench_batch 16 -bench_scheme sync -bench_reps 2 -tn_progress_every 0 -bench_out bench/results/grad_er_rowsums/$n.json > /dev/null
done
