#!/bin/bash
# Quiet A/B: BASE (main before this round, 1f9faee) and NEW (the merged build), interleaved.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
cd "$(dirname "$0")"
log() { echo "$(date +%T) load $(cut -d' ' -f1 /proc/loadavg) $*" >> log.txt; }
STEP="-bench_net lattice2d,er -bench_batch 1,16 -bench_scheme sync,colored -bench_reps 3"
RULE="-bench_reps 3"
for b in BASE NEW; do log "step np1 $b"; ${!b}/bench_step $STEP -bench_out step_np1_$b.json > step_np1_$b.out 2>&1; done
for b in NEW BASE; do log "step np2 $b"; mpirun -n 2 ${!b}/bench_step $STEP -bench_out step_np2_$b.json > step_np2_$b.out 2>&1; done
for b in BASE NEW; do log "rule np1 $b"; ${!b}/bench_rule $RULE -bench_out rule_np1_$b.json > rule_np1_$b.out 2>&1; done
log done
