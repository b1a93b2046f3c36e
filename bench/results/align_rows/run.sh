#!/usr/bin/env bash
# Two A/Bs, each build a copy of build/libtenor.so* and build/bench/bench_step
# in its own folder, run through LD_LIBRARY_PATH, builds alternated:
#
# chunk/: the colored step's phi chunk, TN_COLORED_CHUNK = 1024 (c1024, the
#   build before), 128 (c128, kept: 10fce9c) and 32 doubles (c32), three
#   rounds of
#     bench_step -bench_net lattice2d -bench_batch 1,16 -bench_reps 5 -bench_min_time 1.0
#
# the rest: the kernels' row buffers aligned to the cache line. c128 is
#   10fce9c (the build before), align is 04000b7 (pbuf, ybuf, ubuf, lambda,
#   save slots), alignG is 6f52945 (also the ghost copy G). 1 rank, two
#   rounds each:
#     bench_step -bench_net er -bench_batch 16 -bench_reps 3 -bench_min_time 1.0   (er_*)
#     bench_step -bench_net lattice2d -bench_batch 1,16 -bench_reps 5 -bench_min_time 1.0   (lat_*)
#   2 ranks, c128 against alignG, two rounds:
#     mpirun -n 2 bench_step -bench_net er,lattice2d -bench_batch 1,16 -bench_reps 3 -bench_min_time 1.0   (np2_*)
#   and er B = 1 again, two more rounds (np2b1_*).
set -euo pipefail
run() { local v=$1; shift; LD_LIBRARY_PATH=$SNAP/$v mpirun -x LD_LIBRARY_PATH "$@"; }
echo "builds are snapshots in \$SNAP/<name>; see the comment above for the commands"
#
# rule/: the rules' ghost copy and oja's row buffer aligned too. alignG is
#   6f52945, rulealign the commit after it; 2 ranks, two rounds:
#     mpirun -n 2 bench_rule -bench_net er -bench_batch 16 -bench_rules hebb,oja -bench_reps 5
#
# grad/: the gradient, c128 (10fce9c) against alignG (6f52945), alternated twice:
#     bench_grad -bench_net er -bench_er_n 1000000 -bench_k 32 -bench_batch 16 -bench_reps 2
