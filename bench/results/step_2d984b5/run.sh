#!/bin/bash
# How the files here were made (1 rank and 2 ranks on this 2-core machine).
# Each build was a copy of build/libtenor.so* and build/bench/* in its own
# directory, run with LD_LIBRARY_PATH pointing there.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
# ab/: bench_step at its defaults, b7e05cd (before) and 2d984b5 (after),
# in the order 1 rank b7e05cd, 2d984b5, 2d984b5, b7e05cd; 2 ranks b7e05cd, 2d984b5.
for spec in "1 b7e05cd a" "1 2d984b5 a" "1 2d984b5 b" "1 b7e05cd b" "2 b7e05cd a" "2 2d984b5 a"; do
  set -- $spec
  mpirun -n $1 -x LD_LIBRARY_PATH=$PWD/build_$2 build_$2/bench_step -bench_reps 3 -bench_min_time 1 -bench_out ab/np$1_$2_$3.json
done
# grad_huge/: bench_grad on er, both builds alternated (2d984b5 had the sync
# adjoint's transpose and the gradient's states in huge pages; 32d71e5 took
# them out again).
for spec in "b7e05cd a" "2d984b5 a" "2d984b5 b" "b7e05cd b"; do
  set -- $spec
  LD_LIBRARY_PATH=$PWD/build_$1 build_$1/bench_grad -bench_net er -bench_er_n 1000000 -bench_k 32 -bench_batch 16 -bench_scheme sync -bench_reps 2 -bench_steps 8 -bench_out grad_huge/$1_$2.json
done
# final_32d71e5/: bench_step at its defaults on 32d71e5, 1 rank three times, 2 ranks once.
for r in a b c; do mpirun -n 1 build/bench/bench_step -bench_reps 3 -bench_min_time 1 -bench_out final_32d71e5/step_np1_$r.json; done
mpirun -n 2 build/bench/bench_step -bench_reps 3 -bench_min_time 1 -bench_out final_32d71e5/step_np2.json
# grad_colored_b1/: the colored gradient at B = 1 on b5ba82b, the default
# (no split at B < 8 then) and -dyn_panel_kb 4096 (2 panels) alternated twice.
for r in a b; do
  build/bench/bench_grad -bench_net er -bench_er_n 1000000 -bench_k 32 -bench_batch 1 -bench_scheme colored -bench_reps 2 -bench_steps 8 -bench_out grad_colored_b1/unsplit_$r.json
  build/bench/bench_grad -bench_net er -bench_er_n 1000000 -bench_k 32 -bench_batch 1 -bench_scheme colored -bench_reps 2 -bench_steps 8 -dyn_panel_kb 4096 -bench_out grad_colored_b1/split_$r.json
done
