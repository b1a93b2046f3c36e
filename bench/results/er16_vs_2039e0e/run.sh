#!/bin/bash
# er N = 10^6, k = 32, B = 16, sync: bench_step at 2039e0e (the "today") and at the current build, alternated
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
out=${OUT:-bench/results/er16_vs_2039e0e}
for round in 1 2; do for np in 1 2; do for v in old new; do
  b=${OLD:-/tmp/old/build}/bench/bench_step; [ $v = new ] && b=build/bench/bench_step
  mpirun -n $np $b -bench_net er -bench_batch 16 -bench_scheme sync -bench_out $out/${v}_np${np}_r$round.json > $out/${v}_np${np}_r$round.log 2>&1
  python3 -c "
import json; d=json.load(open('$out/${v}_np${np}_r$round.json'))
for c in d['cases']: print('$v np $np round $round: triad %.1f GB/s  best %.4f s  median %s  %%triad %.1f' % (d['triad']['GBps'], c['step_s_best'], c.get('step_s_median'), 100*c['fraction_of_triad']))"
done; done; done
