#!/bin/bash
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
# The quiet A/B of results/ab_colored_chain: BEFORE and AFTER are the bench
# folders of the two builds (1a14d0e and the merged build); LOCAL0 and
# LOCAL1 those of 0367571 and a0fc863 (the local rule's er B = 16 change).
B=${BEFORE:?set BEFORE to the bench folder of the build before}; N=${AFTER:?set AFTER to the bench folder of the build after}
STEP="-bench_net lattice2d,er -bench_batch 1,16 -bench_scheme sync,colored -bench_reps 3"
log() { echo "$(date +%T) load $(cut -d' ' -f1 /proc/loadavg) $*" >> log.txt; }
for i in 1 2; do
  log "step base $i"; $B/bench_step $STEP -bench_out step_base_$i.json > step_base_$i.out 2>&1
  log "step new $i";  $N/bench_step $STEP -bench_out step_new_$i.json > step_new_$i.out 2>&1
done
log "step new np2"; mpirun -n 2 $N/bench_step $STEP -bench_out step_new_np2.json > step_new_np2.out 2>&1
log "step base np2"; mpirun -n 2 $B/bench_step $STEP -bench_out step_base_np2.json > step_base_np2.out 2>&1
if [ -n "$LOCAL0" ]; then
  RULE="-bench_net er -bench_batch 16 -bench_reps 3"
  for i in 1 2; do
    log "local before $i"; $LOCAL0/bench_rule $RULE -bench_out rule_er16_0367571_$i.json > rule_er16_0367571_$i.out 2>&1
    log "local after $i";  $LOCAL1/bench_rule $RULE -bench_out rule_er16_a0fc863_$i.json > rule_er16_a0fc863_$i.out 2>&1
  done
fi
log "rule new"; $N/bench_rule -bench_out rule_new.json > rule_new.out 2>&1
log "grad new"; $N/bench_grad -bench_net er -bench_er_n 1000000 -bench_k 32 -bench_batch 16 -bench_scheme sync -bench_steps 16 -bench_reps 2 -bench_out grad_new.json > grad_new.out 2>&1
log done
