#!/bin/bash
# Quiet A/B of two builds, run one after the other: $BUILDS/bbase (the build
# before: commit 98776b3) and $BUILDS/bnew (the merged build, d5b27ca;
# the er runs erb1_* and rule_er1_* with cdd7fd8, whose slices stay off
# on er), both configured with -DCMAKE_BUILD_TYPE=Release.
#   BUILDS=/path/to/builds bash run.sh step1 | step2 | rule | grad
# log.txt: the time and the load average at the start and end of each run;
# tab.py step_*.json prints the table of bench/README.md.
set -u
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
O=${OUT:-results}; mkdir -p $O
log() { echo "$(date -u +%T) $(cut -d' ' -f1-3 /proc/loadavg) $*" | tee -a $O/log.txt; }
step() { # build np tag
  log "start step $1 np$2 $3"
  mpirun -n $2 $BUILDS/b$1/bench/bench_step -bench_reps 5 -bench_min_time 1.5 -bench_out $O/step_$1_np$2_$3.json > /dev/null 2> $O/step_$1_np$2_$3.err
  log "end step $1 np$2 $3"
}
rule() {
  log "start rule $1 $2"
  mpirun -n 1 $BUILDS/b$1/bench/bench_rule -bench_reps 5 -bench_out $O/rule_$1_$2.json > /dev/null 2> $O/rule_$1_$2.err
  log "end rule $1 $2"
}
case "${1:-all}" in
  step1) step base 1 r1; step new 1 r1; step base 1 r2; step new 1 r2 ;;
  step2) step base 2 r1; step new 2 r1 ;;
  rule) rule new r1; rule base r1 ;;
  grad) log "start grad new"; mpirun -n 1 $BUILDS/bnew/bench/bench_grad -bench_net er -bench_er_n 1000000 -bench_k 32 -bench_batch 16 -bench_scheme sync -bench_steps 16 -bench_reps 3 -bench_out $O/grad_new.json > /dev/null 2> $O/grad_new.err; log "end grad new" ;;
esac
# The er B = 1 runs after the fix (cdd7fd8), bnew then bbase, 1 and 2 ranks:
#   mpirun -n P $BUILDS/bX/bench/bench_step -bench_net er -bench_batch 1 -bench_reps 5 -bench_min_time 1.5
#   mpirun -n 1 $BUILDS/bX/bench/bench_rule -bench_net er -bench_batch 1 -bench_reps 5
