#!/bin/bash
# tenor train with the local rules (-train_rule hebb|oja, docs/rules.md):
#  1. hebb, input activity, average schedule: after whole passes W = C/alpha
#     on the pattern, C = <r r^T> (r = tanh x) computed here by awk from the
#     samples file and compared with the model's W: relative error <= 1e-3
#     at 1 and 3 ranks;
#  2. evolved activity trains and gives another W;
#  3. hebb with alpha = 0 runs away: stopped, reported (message, status,
#     exit 1), the last good state saved, no NaN;
#  4. a checkpoint restart (SIGKILL-free: a shorter run, then -train_restart
#     with the full budget) ends bitwise on the uninterrupted parameters, on
#     the same and on another rank count; a restart with another rule or
#     another eta is refused naming both;
#  5. oja through train: every row of W reaches unit norm;
#  6. steps that break invertibility (sync scheme, large hebb weights) are
#     shrunk or skipped and reported;
#  7. the shared-signal gain study (tools/rule_gain.sh): after hebb the
#     linear network's gain to the shared signal is above 2 and above twice
#     that to the independent noise (both 1 before).
# Usage: rules.sh TENOR WORKDIR
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
json() { grep -o "\"$2\": [^,}]*" "$1" | head -1 | sed 's/.*: //'; }
# row col theta of a model, one parameter per line, full precision
dump() {
  for d in row col theta; do h5dump -m "%.17g" -y -w 0 -d /$d "$1" | sed -n '/DATA {/,/}/p' | sed '1d;$d' | tr ',' '\n' | tr -d ' ' | sed '/^$/d' >"$d.tmp"; done
  paste -d' ' row.tmp col.tmp theta.tmp
}
# S samples of N nodes: a shared signal plus noise, x_is = 0.9 z_s u_i + 0.5 e_is (u_i = +-1)
awk -v seed=3 -v S=256 -v N=36 'BEGIN { srand(seed); pi = atan2(0, -1)
  for (s = 0; s < S; s++) { z = nrm(); line = ""
    for (i = 0; i < N; i++) { u = (i % 3 == 0) ? -1 : 1; line = line (i ? "," : "") sprintf("%.17g", 0.9 * z * u + 0.5 * nrm()) }
    print line } }
  function nrm(  a, b) { a = rand(); b = rand(); if (a < 1e-300) a = 1e-300; return sqrt(-2 * log(a)) * cos(2 * pi * b) }' >x.csv
# ||W - C/alpha||_P / ||C/alpha||_P and the largest entry error, C = <tanh(x) tanh(x)^T> over the file's samples
fixed_point() {
  awk -v alpha="$1" 'FNR == NR { S += 0; n = split($0, f, ","); for (i = 1; i <= n; i++) r[S, i - 1] = th(f[i]); S++; next }
    { if ($2 < 0) next; c = 0; for (s = 0; s < S; s++) c += r[s, $1] * r[s, $2]; c /= S * alpha; e2 += ($3 - c)^2; n2 += c^2; if (($3 - c)^2 > m) m = ($3 - c)^2 }
    END { printf "%.3e %.3e\n", sqrt(e2 / n2), sqrt(m) }
    function th(x) { return x > 20 ? 1 : x < -20 ? -1 : (exp(2 * x) - 1) / (exp(2 * x) + 1) }' x.csv "$2"
}
COMMON="-net_n 6 -data_file x.csv -dyn_act tanh -dyn_batch 32"

# 1. the hebb fixed point, 1 and 3 ranks
for np in 1 3; do
  mpirun -n $np --oversubscribe "$TENOR" train $COMMON -data_valid_fraction 0 -train_rule hebb -rule_decay 0.5 -rule_schedule average -train_epochs 2 -out_dir fp$np >fp$np.log 2>&1 || { cat fp$np.log; exit 1; }
  grep -q "^training by the local rule: hebb, eta .*, decay 0.5, average schedule, input activity" fp$np.log || { echo "FAIL the rule is not shown"; cat fp$np.log; fail=1; }
  grep -q "^step 16/16 .* | hebb eta 0.125 max|W| " fp$np.log || { echo "FAIL no rule progress line"; fail=1; }
  [ "$(json fp$np/train.json status)" = '"done"' ] || { echo "FAIL status"; fail=1; }
  dump fp$np/model.h5 >w$np.txt
  read -r rel emax < <(fixed_point 0.5 w$np.txt)
  echo "hebb fixed point at $np rank(s): |W - C/alpha|_P / |C/alpha|_P = $rel, max entry error $emax"
  awk -v r="$rel" 'BEGIN { exit !(r <= 1e-3) }' || { echo "FAIL hebb did not reach C/alpha at $np rank(s)"; fail=1; }
done
cmp -s w1.txt w3.txt || { echo "FAIL the hebb model differs between 1 and 3 ranks"; fail=1; }

# 2. evolved activity: phi(a_k) along the evolution, another fixed point
mpirun -n 2 "$TENOR" train $COMMON -data_valid_fraction 0 -train_rule hebb -rule_decay 0.5 -rule_schedule average -rule_activity evolved -dyn_steps 3 -train_epochs 1 -out_dir ev >ev.log 2>&1 || { cat ev.log; exit 1; }
grep -q "evolved activity" ev.log || { echo "FAIL evolved activity not shown"; fail=1; }
dump ev/model.h5 >wev.txt
grep -qi nan wev.txt && { echo "FAIL NaN in the evolved model"; fail=1; }
read -r rel _ < <(fixed_point 0.5 wev.txt)
awk -v r="$rel" 'BEGIN { exit !(r > 1e-2) }' || { echo "FAIL evolved activity gave the input activity's W (rel $rel)"; fail=1; }

# 3. alpha = 0: the weights run away; stopped, reported, last good state kept
mpirun -n 2 "$TENOR" train $COMMON -data_valid_fraction 0 -train_rule hebb -rule_decay 0 -rule_eta 1 -rule_max_weight 5 -train_epochs 20 -out_dir run >run.log 2>&1 && { echo "FAIL a runaway run exited 0"; fail=1; }
grep -q "weights are running away: step [0-9]* would make max |W_ij| exceed the limit (limit -rule_max_weight 5.); the step was not applied. Pure Hebbian learning (-rule_decay 0) has no fixed point: use a decay alpha > 0" run.log || { echo "FAIL no runaway message"; cat run.log; fail=1; }
[ "$(grep -c "running away" run.log)" -ge 1 ] && [ "$(grep -c "^error" run.log)" -le 1 ] || { echo "FAIL the runaway error is not reported once"; cat run.log; fail=1; }
[ "$(json run/train.json status)" = '"weights_running_away"' ] || { echo "FAIL status is not weights_running_away"; fail=1; }
[ -s run/model.h5 ] && [ -s run/ckpt.h5 ] || { echo "FAIL the last good state was not saved"; fail=1; }
dump run/model.h5 >wrun.txt
grep -qi nan wrun.txt && { echo "FAIL NaN in the runaway model"; fail=1; }
awk '$2 >= 0 { w = $3 < 0 ? -$3 : $3; if (w > m) m = w } END { exit !(m > 2.5 && m <= 5) }' wrun.txt || { echo "FAIL the saved weights are not the last ones within the limit"; fail=1; }
grep -qi "nan" run.log && { echo "FAIL NaN in the runaway log"; fail=1; }

# 4. restarts: bitwise on the same (2) and on another (3) rank count; another rule is refused
RUN="$COMMON -data_valid_fraction 0.125 -train_rule hebb -rule_eta 0.05 -rule_decay 1 -train_valid_every 5 -train_ckpt_every 10"
mpirun -n 2 "$TENOR" train $RUN -train_steps 40 -out_dir full >full.log 2>&1 || { cat full.log; exit 1; }
for np in 2 3; do
  mpirun -n 2 "$TENOR" train $RUN -train_steps 20 -out_dir re$np >re$np.log 2>&1 || { cat re$np.log; exit 1; }
  mpirun -n $np --oversubscribe "$TENOR" train $RUN -train_steps 40 -train_restart -out_dir re$np >re$np.2.log 2>&1 || { cat re$np.2.log; exit 1; }
  grep -q "resumed from re$np/ckpt.h5 at step 20" re$np.2.log || { echo "FAIL no resume at $np ranks"; fail=1; }
  h5diff full/model.h5 re$np/model.h5 /theta >/dev/null || { echo "FAIL hebb restarted on $np ranks differs from the uninterrupted run"; fail=1; }
  [ $np = 3 ] || cmp -s <(cut -d, -f1-9 full/train_metrics.csv) <(cut -d, -f1-9 re$np/train_metrics.csv) || { echo "FAIL metrics of the hebb restart differ"; fail=1; }
done
mpirun -n 2 "$TENOR" train $COMMON -data_valid_fraction 0.125 -train_rule oja -train_steps 40 -train_restart -out_dir re2 >bad.log 2>&1 && { echo "FAIL a restart with another rule was accepted"; fail=1; }
grep -q "re2/ckpt.h5 does not match this run: it was written by -train_rule hebb, this run has -train_rule oja" bad.log || { echo "FAIL unclear refusal of another rule:"; cat bad.log; fail=1; }
mpirun -n 2 "$TENOR" train $RUN -rule_eta 0.04 -train_steps 40 -train_restart -out_dir re2 >bad2.log 2>&1 && { echo "FAIL a restart with another eta was accepted"; fail=1; }
grep -q "does not match this run: rule_eta is 0.050000000000000003 in the file but 0.040000000000000001 here (-rule_eta)" bad2.log || { echo "FAIL unclear refusal of another eta:"; cat bad2.log; fail=1; }
mpirun -n 2 "$TENOR" train $COMMON -train_rule oja -rule_schedule average -train_steps 1 -out_dir bad3 >bad3.log 2>&1 && { echo "FAIL oja with the average schedule was accepted"; fail=1; }
grep -q "rule_schedule average .* needs the hebb rule with a decay alpha > 0" bad3.log || { echo "FAIL unclear refusal of oja + average:"; cat bad3.log; fail=1; }
mpirun -n 2 "$TENOR" train $COMMON -train_rule hebb -rule_type oja -train_steps 1 -out_dir bad4 >bad4.log 2>&1 && { echo "FAIL -rule_type against -train_rule was accepted"; fail=1; }
grep -q "rule_type oja contradicts -train_rule hebb" bad4.log || { echo "FAIL unclear refusal of -rule_type:"; cat bad4.log; fail=1; }

# 5. oja: each row of W goes to a unit vector (the principal direction of its inputs)
mpirun -n 2 "$TENOR" train $COMMON -data_valid_fraction 0 -dyn_batch 256 -net_scale 0.3 -train_rule oja -rule_eta 0.05 -train_steps 80 -out_dir oja >oja.log 2>&1 || { cat oja.log; exit 1; }
dump oja/model.h5 >woja.txt
read -r lo hi < <(awk '$2 >= 0 { n[$1] += $3 * $3 } END { lo = 9; hi = 0; for (i in n) { v = sqrt(n[i]); if (v < lo) lo = v; if (v > hi) hi = v } print lo, hi }' woja.txt)
echo "oja: row norms of W in [$lo, $hi]"
awk -v a="$lo" -v b="$hi" 'BEGIN { exit !(a >= 0.999 && b <= 1.001) }' || { echo "FAIL oja rows are not unit vectors"; fail=1; }

# 6. invertibility: the sync scheme's bound caps |W|; hebb's W = C/alpha beyond it is shrunk, then skipped, and reported
mpirun -n 2 "$TENOR" train $COMMON -dyn_scheme sync -dyn_h 0.2 -train_rule hebb -rule_decay 0.1 -rule_eta 0.5 -train_epochs 2 -out_dir inv >inv.log 2>&1 || { cat inv.log; exit 1; }
grep -q "^step .* | shrunk [1-9][0-9]* ([0-9]* halvings) skipped [0-9]* | hebb eta" inv.log || { echo "FAIL shrunk steps not in the progress line"; cat inv.log; fail=1; }
[ "$(json inv/train.json steps_shrunk)" -ge 1 ] || { echo "FAIL train.json does not count shrunk steps"; fail=1; }
grep -q "^status: done after 14 steps ([1-9][0-9]* shrunk for invertibility, [0-9]* skipped)" inv.log || { echo "FAIL status line"; fail=1; }

# 7. the gain study
bash "$SRC/tools/rule_gain.sh" "$TENOR" gain 2 >gain.log 2>&1 || { cat gain.log; exit 1; }
cat gain.log
read -r gs0 gs1 < <(awk '/^shared signal/ { print $(NF - 1), $NF }' gain.log)
read -r gn0 gn1 < <(awk '/^independent noise/ { print $(NF - 1), $NF }' gain.log)
awk -v a="$gs0" -v b="$gn0" -v c="$gs1" -v d="$gn1" 'BEGIN { exit !(a == 1 && b == 1 && c > 2 && c > 2 * d) }' || { echo "FAIL hebb did not amplify the shared signal over the noise"; fail=1; }

[ $fail -eq 0 ] && echo "ok   rules: hebb fixed point (1, 3 ranks), evolved activity, runaway stopped, restarts bitwise (2->2, 2->3), refusals, oja, invertibility shrink, shared-signal gain"
exit $fail
