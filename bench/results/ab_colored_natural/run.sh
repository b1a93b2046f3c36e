#!/bin/bash
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
# The quiet A/B of results/ab_colored_natural: BEFORE and AFTER are the
# bench folders of the two builds (3ddf708 and the merged build).
B=${BEFORE:?set BEFORE to the bench folder of the build before}; N=${AFTER:?set AFTER to the bench folder of the build after}
STEP="-bench_net lattice2d,er -bench_batch 1,16 -bench_scheme sync,colored -bench_reps 3"
log() { echo "$(date +%T) load $(cut -d' ' -f1 /proc/loadavg) $*" >> log.txt; }
for i in 1 2; do
  log "step base $i"; $B/bench_step $STEP -bench_out step_base_$i.json > step_base_$i.out 2>&1
  log "step new $i";  $N/bench_step $STEP -bench_out step_new_$i.json > step_new_$i.out 2>&1
done
log "step new np2"; mpirun -n 2 $N/bench_step $STEP -bench_out step_new_np2.json > step_new_np2.out 2>&1
log "step base np2"; mpirun -n 2 $B/bench_step $STEP -bench_out step_base_np2.json > step_base_np2.out 2>&1
GRAD="-bench_net er -bench_er_n 200000 -bench_batch 16 -bench_scheme sync -bench_steps 8 -bench_reps 3"
for i in 1 2; do
  log "grad base $i"; $B/bench_grad $GRAD -bench_out grad_base_$i.json > grad_base_$i.out 2>&1
  log "grad new $i";  $N/bench_grad $GRAD -bench_out grad_new_$i.json > grad_new_$i.out 2>&1
done
log "rule new"; $N/bench_rule -bench_out rule_new.json > rule_new.out 2>&1
log "rule base"; $B/bench_rule -bench_out rule_base.json > rule_base.out 2>&1
log done
