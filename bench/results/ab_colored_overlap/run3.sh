#!/bin/bash
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
cd "$(dirname "$0")"
log() { echo "$(date +%T) load $(cut -d' ' -f1 /proc/loadavg) $*" >> log.txt; }
while ! grep -q "done2$" log.txt; do sleep 5; done
for b in NEW BASE; do log "rule np1 $b 2"; ${!b}/bench_rule -bench_reps 3 -bench_out rule_np1_${b}_2.json > rule_np1_${b}_2.out 2>&1; done
log done3
