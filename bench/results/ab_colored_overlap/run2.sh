#!/bin/bash
# More interleaved rounds: er at 2 ranks (B = 1, 16, sync and colored), and all cells at 1 rank.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
cd "$(dirname "$0")"
log() { echo "$(date +%T) load $(cut -d' ' -f1 /proc/loadavg) $*" >> log.txt; }
ER="-bench_net er -bench_batch 1,16 -bench_scheme sync,colored -bench_reps 3"
STEP="-bench_net lattice2d,er -bench_batch 1,16 -bench_scheme sync,colored -bench_reps 3"
for i in 2 3 4; do
  for b in BASE NEW; do log "er np2 $b $i"; mpirun -n 2 ${!b}/bench_step $ER -bench_out er_np2_${b}_$i.json > er_np2_${b}_$i.out 2>&1; done
done
for i in 2 3; do
  for b in NEW BASE; do log "step np1 $b $i"; ${!b}/bench_step $STEP -bench_out step_np1_${b}_$i.json > step_np1_${b}_$i.out 2>&1; done
done
log done2
