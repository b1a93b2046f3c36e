#!/bin/bash
# bench_rule at its defaults, 1 rank then 2, with build/ at c012b72; run from the repository's top
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
D=${D:-bench/results/rule_c012b72}
for np in 1 2; do
  echo "== rule np $np $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  mpirun -n $np build/bench/bench_rule -bench_out $D/rule_np$np.json > $D/rule_np$np.log 2>&1
  python3 -c "
import json; d=json.load(open('$D/rule_np$np.json'))
for c in d['cases']: print('  %-9s B=%-2d fwd %.4f  hebb %.2f  oja %.2f  local %.2f (%.4f s)' % (c['net'], c['B'], c['forward']['s_best'], c['hebb']['ratio_to_forward'], c['oja']['ratio_to_forward'], c['local']['ratio_to_forward'], c['local']['s_best']))"
done
