#!/bin/bash
# tenor train -train_rule local (docs/gradient.md, "The local rule"): each
# node follows its own loss terms by eligibility traces, through the same
# optimiser path as the exact gradient.
#  1. gmrf2d on an 8 x 8 lattice, 2 ranks, 3 epochs: runs, says which rule
#     trains, and lowers the training and the validation loss from the first
#     progress line to the last;
#     train.json and model.h5 name the rule;
#  2. the same with the sync scheme (tanh, K = 2) lowers the loss too;
#     at B = 16 the traces and the states stored train the same to 1e-10;
#  3. the continuous scheme is refused before training, one message at 3 ranks.
# Usage: local_rule.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
COMMON="-train_rule local -data_type gmrf2d -net_n 8 -data_samples 512"
# first and last progress line: train and valid losses
losses() { awk '/^step / { for (i = 1; i <= NF; i++) { if ($i == "train") t = $(i + 1); if ($i == "valid") v = $(i + 1) } if (!n++) { t0 = t; v0 = v } } END { print t0, v0, t, v }' "$1"; }

# 1. colored (the trainer's default scheme)
mpirun -n 2 "$TENOR" train $COMMON -train_epochs 3 -out_dir col >col.log 2>&1 || { cat col.log; exit 1; }
grep -q "^training by the local rule (each node's own loss terms, eligibility traces; docs/gradient.md): adam" col.log || { echo "FAIL the rule is not shown"; cat col.log; fail=1; }
read -r t0 v0 t1 v1 < <(losses col.log)
awk -v a="$t0" -v b="$t1" -v c="$v0" -v d="$v1" 'BEGIN { exit !(b < a - 10 && d < c - 5) }' || { echo "FAIL the loss did not go down: train $t0 -> $t1, valid $v0 -> $v1"; fail=1; }
grep -q '"type": "local"' col/train.json || { echo "FAIL train.json does not name the rule"; fail=1; }
h5dump -a /train_rule col/model.h5 2>/dev/null | grep -q '"local"' || { echo "FAIL model.h5 has no train_rule local"; h5dump -A col/model.h5 | head -40; fail=1; }

# 2. sync, tanh, two steps
mpirun -n 2 "$TENOR" train $COMMON -dyn_scheme sync -dyn_act tanh -dyn_steps 2 -dyn_h 0.2 -train_epochs 3 -out_dir syn >syn.log 2>&1 || { cat syn.log; exit 1; }
read -r t0 v0 t1 v1 < <(losses syn.log)
awk -v a="$t0" -v b="$t1" -v c="$v0" -v d="$v1" 'BEGIN { exit !(b < a && d < c) }' || { echo "FAIL sync: the loss did not go down: train $t0 -> $t1, valid $v0 -> $v1"; fail=1; }

# 2b. sync at B = 16 with the traces and with the states stored
#     (-dyn_local_store, docs/gradient.md): the same training to round-off
for st in traces states; do
  mpirun -n 2 "$TENOR" train $COMMON -dyn_scheme sync -dyn_act tanh -dyn_steps 2 -dyn_h 0.2 -dyn_batch 16 -train_epochs 3 -dyn_local_store $st -out_dir st_$st >st_$st.log 2>&1 || { cat st_$st.log; exit 1; }
done
grep -q "^local rule: one forward pass carrying the eligibility traces" st_traces.log || { echo "FAIL traces: not named"; fail=1; }
grep -q "^local rule: the forward pass's states recorded" st_states.log || { echo "FAIL states: not named"; fail=1; }
python3 - st_traces/train.json st_states/train.json <<'PY' || fail=1
import json, sys
a, b = (json.load(open(f))["final"]["valid_loss"] for f in sys.argv[1:3])
if not abs(a - b) <= 1e-10 * abs(a):
    sys.exit("FAIL traces and states trained differently: valid loss %.17g against %.17g" % (a, b))
PY

# 3. continuous refused at set-up, once
mpirun -n 3 --oversubscribe "$TENOR" train $COMMON -dyn_scheme continuous -train_steps 2 -out_dir cont >cont.log 2>&1 && { echo "FAIL the continuous scheme was accepted"; fail=1; }
[ "$(grep -c '^tenor: error: the local rule is implemented for the sync and colored schemes; -dyn_scheme continuous has none' cont.log)" = 1 ] || { echo "FAIL not one clear message for continuous:"; cat cont.log; fail=1; }
grep -q "^step " cont.log && { echo "FAIL training started before the refusal"; fail=1; }

[ $fail -eq 0 ] && echo "ok   local_rule: gmrf2d loss lowered (colored, sync), traces and states the same, rule named in the outputs, continuous refused"
exit $fail
