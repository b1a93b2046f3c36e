#!/bin/bash
# The panels' slice on 2 ranks, er N = 10^6, k = 32, B = 16 (run from the repository's top).
# step_kb_log.txt, grad_kb_log.txt: one build (bb1b6f6), -dyn_panel_kb set by hand, in the order of the logs.
# default_ab_log.txt: two builds at their defaults, alternated; NEW and BASE are directories holding each
# build's libtenor.so* and bench_step (c9f666a and bb1b6f6 there, named p16 and base in the log and JSONs).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
out=${OUT:-bench/results/panels_np2}
for kb in 16384 8192 32768 16384 8192 8192 16384 8192 16384; do
  mpirun -n 2 build/bench/bench_step -bench_net er -bench_batch 16 -bench_scheme sync,colored -dyn_panel_kb $kb -bench_out $out/kb$kb.json > /dev/null 2>&1
  python3 -c "
import json; d=json.load(open('$out/kb$kb.json'))
for c in d['cases']: print('kb $kb %s: best %.4f s median %.4f  halo %.4f' % (c['scheme'], c['step_s_best'], c['step_s_median'], c.get('halo_s_per_step',0)))"
done
for kb in 16384 8192 16384 8192; do
  mpirun -n 2 build/bench/bench_grad -bench_net er -bench_er_n 1000000 -bench_k 32 -bench_batch 16 -bench_scheme sync -bench_reps 2 -bench_steps 8 -dyn_panel_kb $kb -bench_out $out/grad$kb.json -log_view :$out/grad$kb.lv > /dev/null 2>&1
  echo "kb $kb $(grep -o '"forward_s": {[^}]*}\|"ratio_none": [0-9.]*' $out/grad$kb.json | tr '\n' ' ') $(awk '/^DynAdjointStep /{printf "bwd %.4f", $4/$2}' $out/grad$kb.lv)"
done
if [ -n "${NEW:-}" ] && [ -n "${BASE:-}" ]; then
  for r in 1 2; do for v in NEW BASE; do
    dir=${!v}
    mpirun -n 2 -x LD_LIBRARY_PATH=$dir $dir/bench_step -bench_net er -bench_batch 16 -bench_scheme sync,colored -bench_out $out/${v}_$r.json > /dev/null 2>&1
    python3 -c "
import json; d=json.load(open('$out/${v}_$r.json'))
for c in d['cases']: print('$v round $r %s: best %.4f s median %.4f  halo %.4f  triad %.1f' % (c['scheme'], c['step_s_best'], c['step_s_median'], c.get('halo_s_per_step',0), d['triad']['GBps']))"
  done; done
fi
