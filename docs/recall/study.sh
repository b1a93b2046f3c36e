#!/bin/bash
# The Hopfield memory study (docs/recall.md): tenor recall from each stored
# pattern itself (noise 0) over a grid of alpha = p/k, for
#   full: the classic network (overlap form, asynchronous node by node),
#         N in $SIZES, several pattern sets ($SEEDS) each;
#   er:     diluted networks (explicit W, synchronous) of N = $ER_N nodes
#           with in-degree k in $ER_KS, on $ER_NP ranks;
#   ladder: k/N from 1 down at N = $LADDER_N (the full net and er with k in
#           $LADDER_KS), synchronous;
#   er1e6:  er nets of N = $BIG_N nodes with in-degree k in $BIG_KS on
#           $BIG_NP ranks, synchronous, the whole grid $BIG_ALPHAS on one
#           network per k (tenor recall -recall_alphas: the net is built
#           once), $BIG_TESTS start patterns, $BIG_SWEEPS sweeps at most.
# Synchronous for the diluted nets: the extremely diluted theory (Derrida,
# Gardner, Zippelius) is for parallel updates, and no colouring is needed.
# Each run appends one line to results.csv (from its recall.json); the runs'
# own files stay under runs/. A sweep over alpha stops once the mean overlap
# has been below $STOP twice (diluted nets: m goes to 0) or below 0.6 four
# times (above alpha_c a full net ends near a spurious state, m about 0.3). analyze.py makes the figures and the fit.
# Usage: docs/recall/study.sh [TENOR] [OUTDIR]
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
TENOR=${1:-$HERE/../../build/tenor}
OUT=${2:-$HERE}
SIZES=${SIZES:-500 1000 2000 4000 8000 16000}
SEEDS=${SEEDS:-1 2 3 4 5}
FULL_ALPHAS=${FULL_ALPHAS:-0.11 0.12 0.13 0.14 0.15 0.16 0.17 0.18 0.19 0.20 0.22 0.24}
TESTS=${TESTS:-40}
ER_N=${ER_N:-1000000}
ER_KS=${ER_KS:-10 20 50}
ER_NP=${ER_NP:-2}
ER_TESTS=${ER_TESTS:-2}
ER_ALPHAS=${ER_ALPHAS:-0.2 0.3 0.4 0.5 0.6 0.7}
LADDER_N=${LADDER_N:-2000}
LADDER_KS=${LADDER_KS:-1000 500 200 50 20}
LADDER_SEEDS=${LADDER_SEEDS:-1 2}
LADDER_TESTS=${LADDER_TESTS:-10}
LADDER_ALPHAS=${LADDER_ALPHAS:-0.10 0.12 0.14 0.16 0.18 0.20 0.25 0.30 0.35 0.40 0.45 0.50 0.55 0.60 0.65 0.70}
BIG_N=${BIG_N:-1000000}
BIG_KS=${BIG_KS:-50 20 100}
BIG_NP=${BIG_NP:-2}
BIG_TESTS=${BIG_TESTS:-2}
BIG_SWEEPS=${BIG_SWEEPS:-20}
BIG_ALPHAS=${BIG_ALPHAS:-0.3,0.4,0.5,0.55,0.6,0.65,0.7,0.75,0.8,0.9,1.0}
STOP=${STOP:-0.15}
PARTS=${PARTS:-full er ladder}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$OUT/runs"
RES=$OUT/results.csv
[ -s "$RES" ] || echo "study,type,update,N,k,seed,p,alpha,tests,overlap_mean,overlap_sd,fraction_retrieved,sweeps_mean,fraction_converged,seconds" >"$RES"

val() { sed -n "s/^  \"$2\": \([-0-9.eE+]*\).*/\1/p" "$1" | head -1; }

# one STUDY NP UPDATE TESTS SEED P ARGS...: one run, one line of results.csv
# Every run colours in the random order (-dyn_coloring_order random), the
# default when the figures in docs/recall were made, so that they reproduce.
one() {
  local study=$1 np=$2 upd=$3 tests=$4 seed=$5 p=$6; shift 6
  local dir="$OUT/runs/${study}_$(echo "$@" | tr -d ' -' | tr '_' '.')_u${upd}_s${seed}_p${p}"
  local launch=(mpirun -n "$np" --oversubscribe)
  [ "$np" -eq 1 ] && launch=() # one rank: no launcher (half a second less per run)
  "${launch[@]}" "$TENOR" recall -recall_patterns "$p" -recall_tests "$tests" -recall_seed "$seed" \
    -recall_update "$upd" -dyn_coloring_order random -out_dir "$dir" "$@" >"$dir.log" 2>&1 || { echo "failed: $dir (see $dir.log)"; return 1; }
  local j=$dir/recall.json
  echo "$study,$(sed -n 's/.*"type": "\([a-z0-9]*\)".*/\1/p' "$j" | head -1),$upd,$(val "$j" N),$(val "$j" k),$seed,$p,$(val "$j" alpha),$(val "$j" tests),$(val "$j" overlap_mean),$(val "$j" overlap_sd),$(val "$j" fraction_retrieved),$(val "$j" sweeps_mean),$(val "$j" fraction_converged),$(sed -n 's/.*"total": \([-0-9.eE+]*\).*/\1/p' "$j" | head -1)" >>"$RES"
  LAST=$(val "$j" overlap_mean)
  echo "$study N=$(val "$j" N) k=$(val "$j" k) seed=$seed p=$p alpha=$(val "$j" alpha): m=$LAST"
}

# line STUDY UPDATE SEED JSON: the line of results.csv of one memory
line() {
  local j=$4
  echo "$1,$(sed -n 's/.*"type": "\([a-z0-9]*\)".*/\1/p' "$j" | head -1),$2,$(val "$j" N),$(val "$j" k),$3,$(val "$j" p),$(val "$j" alpha),$(val "$j" tests),$(val "$j" overlap_mean),$(val "$j" overlap_sd),$(val "$j" fraction_retrieved),$(val "$j" sweeps_mean),$(val "$j" fraction_converged),$(sed -n 's/.*"total": \([-0-9.eE+]*\).*/\1/p' "$j" | head -1)"
}

# grid STUDY NP UPDATE TESTS SEED ALPHAS ARGS...: every alpha of the comma
# list ALPHAS on one network (-recall_alphas), one line of results.csv each
grid() {
  local study=$1 np=$2 upd=$3 tests=$4 seed=$5 alphas=$6; shift 6
  local dir="$OUT/runs/${study}_$(echo "$@" | tr -d ' -' | tr '_' '.')_u${upd}_s${seed}"
  local launch=(mpirun -n "$np" --oversubscribe) j
  [ "$np" -eq 1 ] && launch=()
  "${launch[@]}" "$TENOR" recall -recall_alphas "$alphas" -recall_tests "$tests" -recall_seed "$seed" \
    -recall_update "$upd" -dyn_coloring_order random -out_dir "$dir" "$@" >"$dir.log" 2>&1 || echo "failed: $dir (see $dir.log; the memories before the failure are kept)"
  for j in $(ls "$dir"/p*/recall.json 2>/dev/null | sort -V); do
    line "$study" "$upd" "$seed" "$j" >>"$RES"
    echo "$study N=$(val "$j" N) k=$(val "$j" k) seed=$seed p=$(val "$j" p) alpha=$(val "$j" alpha): m=$(val "$j" overlap_mean)"
  done
}

# sweep STUDY NP UPDATE TESTS SEED K ALPHAS ARGS...: up the alpha grid
sweep() {
  local study=$1 np=$2 upd=$3 tests=$4 seed=$5 k=$6 alphas=$7; shift 7
  local low=0 mid=0 prev=-1 a p t
  for a in $alphas; do
    p=$(awk -v a="$a" -v k="$k" 'BEGIN { p = int(a * k + 0.5); print p < 1 ? 1 : p }')
    [ "$p" = "$prev" ] && continue
    prev=$p
    t=$((tests < p ? tests : p))
    one "$study" "$np" "$upd" "$t" "$seed" "$p" "$@"
    awk -v m="$LAST" -v s="$STOP" 'BEGIN { exit !(m < s) }' && low=$((low + 1))
    awk -v m="$LAST" 'BEGIN { exit !(m < 0.6) }' && mid=$((mid + 1))
    [ $low -ge 2 ] || [ $mid -ge 4 ] && break
  done
  return 0
}

for part in $PARTS; do
  case $part in
  full)
    for N in $SIZES; do
      for seed in $SEEDS; do
        sweep full 1 async "$TESTS" "$seed" $((N - 1)) "$FULL_ALPHAS" -net_type full -net_n "$N"
      done
    done ;;
  er)
    for k in $ER_KS; do
      sweep er "$ER_NP" sync "$ER_TESTS" 1 "$k" "$ER_ALPHAS" -net_type er -net_n "$ER_N" -net_k "$k" -partition_type none -recall_max_sweeps 20
    done ;;
  ladder)
    for seed in $LADDER_SEEDS; do
      sweep ladder 1 sync "$LADDER_TESTS" "$seed" $((LADDER_N - 1)) "$LADDER_ALPHAS" -net_type full -net_n "$LADDER_N" -recall_max_sweeps 20
      for k in $LADDER_KS; do
        sweep ladder 2 sync "$LADDER_TESTS" "$seed" "$k" "$LADDER_ALPHAS" -net_type er -net_n "$LADDER_N" -net_k "$k" -partition_type none -recall_max_sweeps 20
      done
    done ;;
  er1e6)
    for k in $BIG_KS; do
      grid er1e6 "$BIG_NP" sync "$BIG_TESTS" 1 "$BIG_ALPHAS" -net_type er -net_n "$BIG_N" -net_k "$k" -partition_type none -recall_max_sweeps "$BIG_SWEEPS"
    done ;;
  esac
done
echo "wrote $RES"
