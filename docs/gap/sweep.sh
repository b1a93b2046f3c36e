#!/bin/bash
# The gap study sweep (docs/gap-study.md): tenor logdet on er networks, gap
# per node of the local log-det methods (diag, trace) against the exact one
# (sparse LU, MUMPS), versus h, reciprocity r, degree k, weight scale g, N,
# and step k. Every run appends one line to results.csv (summary of its
# logdet.json) and keeps its per-step CSV under runs/.
#
# Two weight models for the reciprocal pairs:
#   indep: the er generator's weights (W_ij, W_ji independent, zero mean);
#   sym:   the same pattern with W_ji := W_ij on every reciprocal pair (as a
#          Hebbian rule produces), written by tenor (-gap_write_W), mirrored
#          by symmetrize.py, and read back with -net_W.
# Usage: docs/gap/sweep.sh [TENOR] [OUTDIR]   (about 5 minutes on 2 cores)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
TENOR=${1:-$HERE/../../build/tenor}
OUT=${2:-$HERE}
NP=${NP:-2}
PY=${PY:-/usr/bin/python3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$OUT/runs"
RES=$OUT/results.csv
echo "sweep,weights,N,k,r_requested,r_measured,scale,h,K,samples,method,mean_gap_per_node,sd_gap_per_node,mean_value_per_node,mean_seconds,pred_diag_gap_per_node,pred_trace_gap_per_node" >"$RES"

# run SWEEP WEIGHTS N K R SCALE H STEPS SAMPLES
run() {
  local sweep=$1 wts=$2 N=$3 k=$4 r=$5 g=$6 h=$7 K=$8 S=$9
  local tag="${sweep}_${wts}_N${N}_k${k}_r${r}_g${g}_h${h}_K${K}"
  local dir="$OUT/runs/$tag"
  local net=(-net_type er -net_n "$N" -net_k "$k" -net_reciprocity "$r" -net_scale "$g" -net_seed 1)
  if [ "$wts" = sym ]; then
    mpirun -n 1 "$TENOR" logdet "${net[@]}" -partition_type none -logdet_methods diag -dyn_steps 1 -data_samples 1 \
      -gap_write_W "$dir.indep.mtx" -out_dir "$dir.tmp" >/dev/null
    "$PY" "$HERE/symmetrize.py" "$dir.indep.mtx" "$dir.mtx"
    rm -rf "$dir.indep.mtx" "$dir.tmp"
    net=(-net_W "$dir.mtx")
  fi
  mpirun -n "$NP" --oversubscribe "$TENOR" logdet "${net[@]}" -logdet_methods diag,trace,sparse \
    -dyn_h "$h" -dyn_steps "$K" -data_samples "$S" -dyn_batch "$S" -out_dir "$dir" >"$dir.log" 2>&1 || { cat "$dir.log"; exit 1; }
  rm -f "$dir.mtx"
  "$PY" "$HERE/summarize.py" "$dir" "$sweep" "$wts" "$k" "$r" "$g" >>"$RES"
  echo "$tag: $(grep -E '^  diag ' "$dir.log" | awk '{print "diag gap/node", $3}')"
}

t0=$(date +%s)
# h (K = 1: J_0 depends on h only through h itself)
for wts in indep sym; do for r in 0 1; do for h in 0.01 0.02 0.04 0.08 0.15; do
  run h $wts 1000 8 $r 1 $h 1 4
done; done; done
# reciprocity
for wts in indep sym; do for r in 0 0.25 0.5 0.75 1; do
  run r $wts 1000 8 $r 1 0.1 1 4
done; done
# degree k (r = 1)
for wts in indep sym; do for k in 2 4 8 16 32; do
  run k $wts 1000 $k 1 1 0.1 1 4
done; done
# weight scale g (spectral radius of W about g), r = 1
for wts in indep sym; do for g in 0.25 0.5 1 1.5; do
  run g $wts 1000 8 1 $g 0.1 1 4
done; done
# N (r = 1)
for wts in indep sym; do for N in 250 500 1000 2000 4000; do
  run N $wts $N 8 1 1 0.1 1 2
done; done
# steps k = 0..K-1 along the trajectory (r = 1)
for wts in indep sym; do
  run K $wts 1000 8 1 1 0.1 20 4
done
echo "sweep done in $(($(date +%s) - t0)) s; results in $RES"
