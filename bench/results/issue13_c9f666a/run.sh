#!/bin/bash
# issue 13's cells at c9f666a: bench_step at its defaults (lattice2d and er N = 10^6, B = 1 and 16, sync and colored, triad), 1 rank then 2;
# bench_grad er N = 10^6, k = 32, B = 16, K = 8, 2 reps, 1 rank then 2 (run from the repository's top, build/ at c9f666a)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
out=${OUT:-bench/results/issue13_c9f666a}
mkdir -p $out
for np in 1 2; do
  echo "== step np $np $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  mpirun -n $np build/bench/bench_step -tn_progress_every 0 -bench_out $out/step_np$np.json > /dev/null 2>&1
  python3 -c "
import json; d=json.load(open('$out/step_np$np.json')); print('  triad %.1f GB/s' % d['triad']['GBps'])
for c in d['cases']: print('  %-9s B=%-2d %-8s best %.4f s  %%triad %.1f' % (c['net'], c['B'], c['scheme'], c['step_s_best'], 100*c['fraction_of_triad']))"
done
for np in 1 2; do
  echo "== grad np $np $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  mpirun -n $np build/bench/bench_grad -bench_net er -bench_er_n 1000000 -bench_k 32 -bench_batch 16 -bench_scheme sync -bench_reps 2 -bench_steps 8 -bench_out $out/grad_np$np.json -log_view :$out/grad_np$np.logview > /dev/null 2>&1
  grep -o '"forward_s": {[^}]*}\|"grad_none_s": {[^}]*}\|"ratio_none": [0-9.]*' $out/grad_np$np.json | tr '\n' ' '; echo
  awk '/^DynAdjointStep /{printf "  backward step %.4f s (DynAdjointStep mean)\n", $4/$2}' $out/grad_np$np.logview
done
