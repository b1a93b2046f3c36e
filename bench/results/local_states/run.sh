#!/bin/bash
# A/B: bench_rule -bench_rules local at its defaults, 374a2ff ("old") and the new build, alternated, 1 and 2 ranks
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
for np in 1 2; do for v in old new; do
  echo "== np $np $v $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  LD_LIBRARY_PATH=/tmp/ab/$v mpiexec -n $np -x LD_LIBRARY_PATH /tmp/ab/$v/bench_rule -bench_rules local -bench_reps 3 -bench_out /tmp/ab/res/local_${v}_np$np.json > /tmp/ab/res/local_${v}_np$np.log 2>&1
  python3 -c "
import json;d=json.load(open('/tmp/ab/res/local_${v}_np$np.json'))
print(' '.join('%s/B%d: fwd %.4f local %.4f (%.2f)'%(c['net'],c['B'],c['forward']['s_best'],c['local']['s_best'],c['local']['ratio_to_forward']) for c in d['cases']))"
done; done
# then, er B = 16 on 2 ranks again, the builds alternated twice (er16_np2_*):
#   for rep in 1 2; do for v in old new; do
#     LD_LIBRARY_PATH=/tmp/ab/$v mpiexec -n 2 -x LD_LIBRARY_PATH /tmp/ab/$v/bench_rule -bench_net er -bench_batch 16 -bench_rules local -bench_reps 3 -bench_out er16_np2_${v}_$rep.json
#   done; done
# old: 374a2ff (traces only); new: 81b5faf's library (auto: states at B >= 8), copies of libtenor.so* and bench_rule
