#!/bin/bash
# Which scheme should a user pick? For one lattice and one random (er)
# network of N = 10^6 nodes, on 1 and 2 ranks, log Phi of the same samples by
# every scheme, against the continuous-time flow integrated at rtol 1e-12:
# the error, the cost per sample in synaptic updates, and the wall time.
# Writes docs/schemes/results.csv (and runs/); plot.py draws the figure.
# Usage: bash docs/schemes/study.sh [BUILD_DIR]   (about 20 minutes here)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
tenor=$(cd "$build" && pwd)/tenor
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
out=$here/runs
mkdir -p "$out"
T=1
nets=("lattice2d:-net_type lattice2d -net_n 1000" "er:-net_type er -net_n 1000000 -net_k 16")
if [ -n "${STUDY_SMALL:-}" ]; then # a quick check of the scripts, N = 900
  nets=("lattice2d:-net_type lattice2d -net_n 30" "er:-net_type er -net_n 900 -net_k 16"); out=$(mktemp -d)
fi
# name : options (T = 1 throughout)
cases=(
  "reference:-dyn_scheme continuous -dyn_steps 1 -dyn_T $T -dyn_rtol 1e-12 -dyn_atol 1e-12"
  "sync_diag_K10:-dyn_scheme sync -logdet_type diag -dyn_steps 10 -dyn_T $T"
  "sync_diag_K40:-dyn_scheme sync -logdet_type diag -dyn_steps 40 -dyn_T $T"
  "sync_trace_K10:-dyn_scheme sync -logdet_type trace -dyn_steps 10 -dyn_T $T"
  "sync_trace_K40:-dyn_scheme sync -logdet_type trace -dyn_steps 40 -dyn_T $T"
  "colored_K10:-dyn_scheme colored -dyn_steps 10 -dyn_T $T"
  "colored_K40:-dyn_scheme colored -dyn_steps 40 -dyn_T $T"
  "continuous_rtol1e-6:-dyn_scheme continuous -dyn_steps 1 -dyn_T $T -dyn_rtol 1e-6 -dyn_atol 1e-8"
  "continuous_rtol1e-9:-dyn_scheme continuous -dyn_steps 1 -dyn_T $T -dyn_rtol 1e-9 -dyn_atol 1e-11"
  "continuous_rk4_K10:-dyn_scheme continuous -dyn_adapt 0 -dyn_steps 10 -dyn_T $T"
  "continuous_rk4_K40:-dyn_scheme continuous -dyn_adapt 0 -dyn_steps 40 -dyn_T $T"
)
for net in "${nets[@]}"; do
  nname=${net%%:*}; nopt=${net#*:}
  for np in 1 2; do
    for c in "${cases[@]}"; do
      cname=${c%%:*}; copt=${c#*:}
      d=$out/${nname}_np${np}_$cname
      echo "== $nname np=$np $cname" >&2
      mpirun -n $np --oversubscribe "$tenor" logdensity $nopt $copt -data_samples 4 -dyn_batch 4 \
        -tn_progress_every 0 -out_dir "$d" > "$d.log" 2>&1 || { echo "FAILED: see $d.log" >&2; exit 1; }
    done
  done
done
if [ -n "${STUDY_SMALL:-}" ]; then python3 "$here/summarize.py" "$out"; exit 0; fi
python3 "$here/summarize.py" "$out" > "$here/results.csv"
cat "$here/results.csv"
