#!/bin/bash
# bench_grad er N = 10^6, k = 32, B = 16, K = 8, 2 reps, and bench_step er B = 16: the build before (b42fa56, libs in $BASE)
# and after (f1ed0da and on, $NEW), one after the other, 1 rank then 2; run from the repository's top
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
out=bench/results/grad_offcols
for np in 1 2; do
  for b in new base; do
    lib=$([ $b = new ] && echo $NEW || echo $BASE)
    echo "== np $np $b $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
    mpirun -n $np -x LD_LIBRARY_PATH=$lib build/bench/bench_grad -bench_net er -bench_er_n 1000000 -bench_k 32 -bench_batch 16 -bench_scheme sync -bench_reps 2 -bench_steps 8 -bench_out $out/grad_np${np}_$b.json -log_view :$out/grad_np${np}_$b.logview > /dev/null 2>&1
    grep -o '"forward_s": {[^}]*}\|"grad_none_s": {[^}]*}\|"ratio_none": [0-9.]*' $out/grad_np${np}_$b.json | tr '\n' ' '; echo
    awk '/^DynAdjointStep /{printf "backward step %.4f s (DynAdjointStep mean)\n", $4/$2}' $out/grad_np${np}_$b.logview
    mpirun -n $np -x LD_LIBRARY_PATH=$lib build/bench/bench_step -bench_net er -bench_batch 16 -bench_reps 3 -bench_out $out/step_np${np}_$b.json > /dev/null 2>&1
    python3 -c "
import json; d=json.load(open('$out/step_np${np}_$b.json')); print(' '.join('%s %.4f/%.4f'%(c['scheme'], c['step_s_best'], c['step_s_median']) for c in d['cases']))"
  done
done
