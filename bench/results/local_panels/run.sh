#!/bin/bash
# The local rule with its states stored: node-major records (the build before, 90ca983: libraries and
# bench_rule copied to $BASE) against step-major records summed through the step's column panels
# (c012b72, copied to $NEW), alternated; bench_rule -bench_rules local at B = $BS on $NETS, $NP rank(s)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
np=${NP:-1}; nets=${NETS:-lattice2d,er}; bs=${BS:-16}; rounds=${ROUNDS:-2}; out=${OUT:-bench/results/local_panels}
for r in $(seq 1 $rounds); do for b in base new; do
  lib=$([ $b = new ] && echo $NEW || echo $BASE)
  echo "== $b round $r np $np $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  mpirun -n $np -x LD_LIBRARY_PATH=$lib $lib/bench_rule -bench_net $nets -bench_batch $bs -bench_rules local -bench_reps 3 -bench_out $out/${b}_np${np}_$r.json > /dev/null 2>&1
  python3 -c "
import json; d=json.load(open('$out/${b}_np${np}_$r.json'))
for c in d['cases']: print('  %-9s B=%-2d fwd %.4f local %.4f ratio %.2f' % (c['net'], c['B'], c['forward']['s_best'], c['local']['s_best'], c['local']['ratio_to_forward']))"
done; done
