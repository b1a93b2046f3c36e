#!/usr/bin/env bash
# er N = 10^6, k = 32, B = 16: the sync step with and without its column
# panels next to the colored step (1 rank), and the sync step at 2 ranks
# with the default panel slice, 4 MB and 16 MB. Run from the top of the
# project on a quiet machine after building build/.
set -euo pipefail
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
d=bench/results/colored_er16_panels
exe=build/bench/bench_step
mpirun -n 1 $exe -tn_progress_every 0 -bench_net er -bench_batch 16 -bench_scheme sync,colored -bench_reps 4 -dyn_panel_kb 0 -bench_out $d/step_er16_np1_panels_off.json > /dev/null
mpirun -n 1 $exe -tn_progress_every 0 -bench_net er -bench_batch 16 -bench_scheme sync,colored -bench_reps 4 -bench_out $d/step_er16_np1_panels_default.json > /dev/null
for pk in 4096 16384; do
  mpirun -n 2 $exe -tn_progress_every 0 -bench_net er -bench_batch 16 -bench_scheme sync -bench_reps 4 -dyn_panel_kb $pk -bench_out $d/step_er16_np2_sync_panel_$pk.json > /dev/null
done
mpirun -n 2 $exe -tn_progress_every 0 -bench_net er -bench_batch 16 -bench_scheme sync -bench_reps 4 -bench_out $d/step_er16_np2_sync_panel_default_run2.json > /dev/null
