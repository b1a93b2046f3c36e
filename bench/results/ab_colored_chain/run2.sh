#!/bin/bash
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
# Follow-up of run.sh: er B = 16 of bench_step for the build before
# (BEFORE, 1a14d0e), the colored commits alone (MINE, c9d25b8) and the merged
# build (AFTER); bench_rule er B = 16 for a0fc863 (LOCAL1) and AFTER.
log() { echo "$(date +%T) load $(cut -d' ' -f1 /proc/loadavg) $*" >> log.txt; }
STEP="-bench_net er -bench_batch 16 -bench_scheme sync,colored -bench_reps 3"
for b in BEFORE MINE AFTER; do
  log "er16 $b"; ${!b}/bench_step $STEP -bench_out step_er16_$b.json > step_er16_$b.out 2>&1
done
RULE="-bench_net er -bench_batch 16 -bench_reps 3"
log "rule er16 a0fc863"; $LOCAL1/bench_rule $RULE -bench_out rule_er16_a0fc863_3.json > rule_er16_a0fc863_3.out 2>&1
log "rule er16 new"; $AFTER/bench_rule $RULE -bench_out rule_er16_new.json > rule_er16_new.out 2>&1
log done2
# Then (run by hand after the above): the merge of the rules' work before the
# huge-page change (a4b6331, RULES) against AFTER, er B = 16 bench_rule:
#   RULES=... AFTER=... bash run2.sh bisect
