#!/bin/sh
# gmrf2d n = 1000 (N = 10^6): gradient, local and hebb (as a density model)
# after the same budget, 2 ranks; writes OUT/{gradient,local,hebb}/ and
# OUT/n1000.csv (rule, held-out -log Phi, bits/dim, ratio, wall seconds).
# usage: sh docs/rules/n1000.sh TENOR OUT [NICE]
# Budget: 144 samples (16 held out, 128 training), batch 16, 4 epochs =
# 32 steps for gradient and local (Adam, lr 0.05, cosine: the defaults);
# hebb (average schedule, alpha = 1) 1 epoch = 8 steps: W = C/alpha after
# one pass, and further passes average the same samples again.
set -e
TENOR=$1
OUT=$2
NICE=${3:-15}
mkdir -p "$OUT"
common="-net_n 1000 -data_samples 144 -data_valid_fraction 0.111112 -dyn_batch 16 -train_progress_every 30"
run() {
  name=$1
  shift
  t0=$(date +%s)
  nice -n "$NICE" mpirun -n 2 "$TENOR" train $common "$@" -out_dir "$OUT/$name" >"$OUT/$name.log" 2>&1
  t1=$(date +%s)
  echo "$name $((t1 - t0))" >>"$OUT/wall.txt"
}
: >"$OUT/wall.txt"
run gradient -train_epochs 4
run local -train_epochs 4 -train_rule local
run hebb -train_epochs 1 -train_rule hebb -rule_schedule average -rule_decay 1
echo "rule,heldout_nll_nats,bits_per_dim,ratio,wall_s" >"$OUT/n1000.csv"
for name in gradient local hebb; do
  awk -v name="$name" -v wall="$(awk -v n="$name" '$1 == n { print $2 }' "$OUT/wall.txt")" '
    /^final:/ { for (i = 1; i <= NF; i++) if ($i == "validation") v = $(i + 1) }
    /ratio \(NLL_indep - NLL\)\/\(NLL_indep - H\)/ { r = $NF }
    END { printf "%s,%s,%.5f,%s,%s\n", name, v, v / (1000000 * log(2)), r, wall }' "$OUT/$name.log" >>"$OUT/n1000.csv"
done
cat "$OUT/n1000.csv"
