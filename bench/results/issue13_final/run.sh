#!/bin/bash
# issue 13 at its end against its start: bench_step at its defaults (lattice2d and er N = 10^6, B = 1 and 16,
# sync and colored, the triad) and bench_grad on er (N = 10^6, k = 32, B = 16, K = 8), on 1 and 2 ranks, the
# build at 2039e0e (OLD, the issue's "today") and the current one (NEW) alternated in one session.
# Run from the repository's top: OLD=/path/to/2039e0e/build NEW=build bash bench/results/issue13_final/run.sh > log.txt
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
out=${OUT:-bench/results/issue13_final}
OLD=${OLD:?the 2039e0e build directory}
NEW=${NEW:-build}
ORDER=${ORDER:-old new} # a second round: ORDER="new old" R=2
r=${R:+_r$R}
mkdir -p $out
for np in 1 2; do
  for v in $ORDER; do
    b=$OLD; [ $v = new ] && b=$NEW
    echo "== step $v np $np $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
    mpirun -n $np $b/bench/bench_step -tn_progress_every 0 -bench_out $out/step_${v}_np$np$r.json > $out/step_${v}_np$np$r.log 2>&1
    python3 -c "
import json; d=json.load(open('$out/step_${v}_np$np$r.json')); print('  triad %.1f GB/s' % d['triad']['GBps'])
for c in d['cases']: print('  %-9s B=%-2d %-8s best %.4f s  median %.4f s  %%triad %.1f' % (c['net'], c['B'], c['scheme'], c['step_s_best'], c.get('step_s_median', float('nan')), 100*c['fraction_of_triad']))"
  done
done
for np in 1 2; do
  for v in $ORDER; do
    b=$OLD; [ $v = new ] && b=$NEW
    echo "== grad $v np $np $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
    mpirun -n $np $b/bench/bench_grad -bench_net er -bench_er_n 1000000 -bench_k 32 -bench_batch 16 -bench_scheme sync -bench_reps 2 -bench_steps 8 -bench_out $out/grad_${v}_np$np$r.json -log_view :$out/grad_${v}_np$np$r.logview > /dev/null 2>&1
    grep -o '"forward_s": {[^}]*}\|"grad_none_s": {[^}]*}\|"ratio_none": [0-9.]*' $out/grad_${v}_np$np$r.json | tr '\n' ' '; echo
    awk '/^DynAdjointStep /{printf "  backward step %.4f s (DynAdjointStep mean)\n", $4/$2}' $out/grad_${v}_np$np$r.logview
  done
done
