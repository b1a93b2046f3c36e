#!/bin/sh
# The rule figures of docs/rules.md, 2 ranks:
#  (a) hebb, input activity, average schedule (iterate averaging), alpha = 1:
#      ||W - C/alpha||_P / ||C/alpha||_P on an n_h x n_h lattice, C from the
#      samples by check_rules.py;
#  (b) oja, full batch, eta = ETA: per sampled row |cos(W_i., v1)| and
#      | ||W_i.|| - 1 |, v1 from numpy.linalg.eigh of C_Pi, at the steps
#      STEPS (one run continued with -train_restart; -train_ckpt_every makes
#      it write the checkpoint at the end of each part; model.h5 copied).
# The samples: gen_samples.py (gmrf2d with per-node scales in [0.5, 1.5]),
# made unless OUT/hebb_x.h5 and OUT/oja_x.h5 (with their .bin) exist.
# usage: sh docs/rules/figures.sh TENOR OUT [n_h S_h n_o S_o]
#        (defaults 1000 64 316 32: N = 10^6 for hebb, 10^5 for oja;
#        n_h = 0: oja only; the environment's STEPS replaces the steps)
set -e
TENOR=$1
OUT=$2
NH=${3:-1000}
SH=${4:-64}
NO=${5:-316}
SO=${6:-32}
ETA=0.3
GAP=0.2
STEPS=${STEPS:-"5 10 15 20 30 40 60 80"}
NICE=${NICE:-15}
D=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
mkdir -p "$OUT"
if [ "$NH" -gt 0 ]; then
t0=$(date +%s)
[ -s "$OUT/hebb_x.h5" ] || nice -n "$NICE" $PY "$D/gen_samples.py" "$NH" "$SH" "$OUT/hebb_x" 1
t1=$(date +%s)
nice -n "$NICE" mpirun -n 2 "$TENOR" train -net_n "$NH" -data_type hdf5 -data_file "$OUT/hebb_x.h5" \
  -data_valid_fraction 0 -dyn_batch 16 -train_epochs 1 -train_keep_best 0 -train_progress_every 30 \
  -train_rule hebb -rule_schedule average -rule_decay 1 -out_dir "$OUT/hebb" >"$OUT/hebb.log" 2>&1
t2=$(date +%s)
nice -n "$NICE" $PY "$D/check_rules.py" hebb "$OUT/hebb_x.bin" "$NH" "$SH" 1 "$OUT/hebb/model.h5" | tee "$OUT/hebb_summary.txt"
t3=$(date +%s)
echo "hebb: samples ${SH} x ${NH}^2 $((t1 - t0)) s, tenor train $((t2 - t1)) s, check $((t3 - t2)) s" | tee -a "$OUT/hebb_summary.txt"
rm -f "$OUT/hebb_x.bin" "$OUT/hebb_x.h5"
fi
t3=$(date +%s)

[ -s "$OUT/oja_x.h5" ] || nice -n "$NICE" $PY "$D/gen_samples.py" "$NO" "$SO" "$OUT/oja_x" 2
snaps=""
for st in $STEPS; do
  nice -n "$NICE" mpirun -n 2 "$TENOR" train -net_n "$NO" -net_scale 0.3 -data_type hdf5 -data_file "$OUT/oja_x.h5" \
    -data_valid_fraction 0 -dyn_batch "$SO" -train_steps "$st" -train_restart -train_ckpt_every 1000000 -train_keep_best 0 -train_progress_every 30 \
    -train_rule oja -rule_eta "$ETA" -out_dir "$OUT/oja" >"$OUT/oja_$st.log" 2>&1
  cp "$OUT/oja/model.h5" "$OUT/oja_$st.h5"
  snaps="$snaps $st:$OUT/oja_$st.h5"
done
t4=$(date +%s)
nice -n "$NICE" $PY "$D/check_rules.py" oja "$OUT/oja_x.bin" "$NO" "$SO" 1000 "$GAP" "$ETA" "$OUT/oja_rows.csv" "$OUT/oja_steps.png" $snaps | tee "$OUT/oja_summary.txt"
echo "oja: eta $ETA, full batch of $SO, tenor train (all restarts) $((t4 - t3)) s" | tee -a "$OUT/oja_summary.txt"
rm -f "$OUT/oja_x.bin" "$OUT/oja_x.h5" "$OUT"/oja_*.h5
