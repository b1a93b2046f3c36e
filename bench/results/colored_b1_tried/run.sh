#!/bin/bash
# The colored step at er N = 10^6, k = 32, B = 1, 1 rank: three trials against e98c659 (none kept).
# BASE and TRY: directories with a build's libtenor.so* and bench_step. TRY is e98c659 with rows4.patch
# (four rows' sums interleaved in the split's passes; base_3/nopf4_3: the same without its prefetch)
# or gather8.patch (eight synapses a masked AVX-512 gather, switched on by TN_G8=1 in the same build).
# def/pk0: e98c659 itself, its default split by colour against -dyn_panel_kb 0 (unsplit).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
step() { # name, build directory, extra mpirun/bench arguments
  mpirun -n 1 -x LD_LIBRARY_PATH=$2 $3 $2/bench_step -bench_net er -bench_batch 1 -bench_scheme sync,colored \
    -bench_reps 3 -bench_min_time 1 -tn_progress_every 0 $4 -bench_out $1.json > /dev/null 2>&1
  python3 -c "
import json; d=json.load(open('$1.json'))
print('$1', ' '.join('%s %.4f/%.4f' % (c['scheme'], c['step_s_best'], c['step_s_median']) for c in d['cases']), 'colored/sync %.2f' % d['cases'][1]['rate_vs_sync_median'])"
}
case ${1:-rows4} in
rows4) for i in 1 2; do step base_$i $BASE; step new_$i $TRY; done ;;
nopf4) step nopf4_3 $TRY; step base_3 $BASE ;;
split) for i in 1 2; do step def_$i $BASE; step pk0_$i $BASE "" "-dyn_panel_kb 0"; done ;;
gather8) for i in 1 2; do step g_base_$i $TRY; step g_g8_$i $TRY "-x TN_G8=1"; done ;;
esac
