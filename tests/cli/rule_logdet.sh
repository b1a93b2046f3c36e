#!/bin/bash
# What each -train_rule sets up, and the log-det methods it takes
# (docs/training.md, "Rules"):
#  1. hebb and oja take no gradient of the log-det: with the sync scheme and
#     -logdet_type dense they train (status done, finite losses), report
#     their loss by the dense log-det, and set up no gradient engine (no
#     "gradient: reverse mode" line);
#  2. gradient and local differentiate the local log-det terms: with
#     -logdet_type dense they are refused before training, one message at
#     3 ranks that names the rule, the method and what to use instead;
#  3. local with diag sets up its traces and no trajectory (its own line,
#     no "gradient: reverse mode" line).
# Usage: rule_logdet.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
COMMON="-data_type gmrf2d -net_n 6 -data_samples 96 -dyn_scheme sync -dyn_h 0.2 -dyn_steps 2 -train_steps 3"

# 1. hebb and oja with the dense log-det
for r in hebb oja; do
  mpirun -n 2 "$TENOR" train $COMMON -train_rule $r -logdet_type dense -out_dir $r >$r.log 2>&1 || { echo "FAIL $r with -logdet_type dense:"; cat $r.log; fail=1; continue; }
  grep -q "^log-det: dense" $r.log || { echo "FAIL $r: the dense log-det is not the one used"; fail=1; }
  grep -q "^status: done after 3 steps" $r.log || { echo "FAIL $r: not done"; cat $r.log; fail=1; }
  grep -q "^final: training loss [0-9]" $r.log || { echo "FAIL $r: no finite final loss"; fail=1; }
  grep -q "gradient: reverse mode" $r.log && { echo "FAIL $r set up the gradient engine"; fail=1; }
done

# 2. gradient and local refuse a global log-det, once, before training
for r in gradient local; do
  mpirun -n 3 --oversubscribe "$TENOR" train $COMMON -train_rule $r -logdet_type dense -out_dir d$r >d$r.log 2>&1 && { echo "FAIL $r with -logdet_type dense was accepted"; fail=1; }
  [ "$(grep -c "^tenor: error: -train_rule $r differentiates the local log-det terms (diag, trace), and -logdet_type dense is global: use -logdet_type diag or trace" d$r.log)" = 1 ] || { echo "FAIL $r: not one clear message:"; cat d$r.log; fail=1; }
  grep -q "^step " d$r.log && { echo "FAIL $r: training started before the refusal"; fail=1; }
done

# 3. local with diag: traces or the states, no trajectory
mpirun -n 2 "$TENOR" train $COMMON -train_rule local -dyn_local_store traces -out_dir loc >loc.log 2>&1 || { echo "FAIL local:"; cat loc.log; fail=1; }
grep -q "^local rule: one forward pass carrying the eligibility traces" loc.log || { echo "FAIL local: its set-up line is missing"; cat loc.log; fail=1; }
grep -q "gradient: reverse mode" loc.log && { echo "FAIL local set up the gradient engine"; fail=1; }
mpirun -n 2 "$TENOR" train $COMMON -train_rule local -dyn_local_store states -out_dir los >los.log 2>&1 || { echo "FAIL local, states:"; cat los.log; fail=1; }
grep -q "^local rule: the forward pass's states recorded" los.log || { echo "FAIL local, states: its set-up line is missing"; cat los.log; fail=1; }
grep -q "gradient: reverse mode" los.log && { echo "FAIL local, states, set up the gradient engine"; fail=1; }

[ $fail -eq 0 ] && echo "ok   rule_logdet: hebb/oja train with the dense log-det and no gradient engine; gradient/local refuse it once; local keeps traces or states only"
exit $fail
