#!/bin/bash
# The generative classifier end to end (docs/predict.md): tenor train
# -data_labels on 3 classes of 4-dimensional data (standardised, tanh, the
# label nodes 4..6 clamped one-hot by tenor); the model stores the clamp set
# and the priors (h5edit reads them back); tenor predict at 1, 2 and 3 ranks
# writes the same predict.csv (to 1e-12), each row's p(c | x) sums to 1
# within 1e-15 and the predicted class is its argmax, the confusion matrix
# counts every sample and its diagonal is the accuracy; tenor logdensity
# -model with the labels (no -data_clamp) gives predict's log p(x | label);
# tenor sample -model holds the given one-hot label; per-class models
# (-data_class) combine in predict, each column its model's logdensity;
# bad labels, a model
# without classes or with a forged prior, and a symbolic link in the output's
# place each end with one error line at 3 ranks, and no hang.
# Usage: predict.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
# 90 samples: class c = s mod 3 has mean (2c, -c, c, 0) and class-dependent spread
awk 'BEGIN { srand(5); print "a,b,c,d"; for (s = 0; s < 90; s++) { c = s % 3; for (i = 0; i < 4; i++) { z = 0; for (k = 0; k < 12; k++) z += rand(); z -= 6; m = (i == 0 ? 2 * c : i == 1 ? -c : i == 2 ? c : 0); printf "%.6f%s", m + (0.5 + 0.5 * c * (i == 3)) * z, i < 3 ? "," : "\n" } } }' >x.csv
awk 'BEGIN { print "label"; for (s = 0; s < 90; s++) print s % 3 }' >y.csv
NET="-net_type full -net_n 7 -net_scale 0 -dyn_scheme colored -dyn_act tanh -dyn_h 0.5 -dyn_steps 2"
timeout 300 mpirun -n 1 "$TENOR" train -out_dir tr $NET -data_file x.csv -data_labels y.csv -data_standardize -train_epochs 6 -train_lr 0.05 >tr.log 2>&1 || { echo "FAIL train with labels"; cat tr.log; exit 1; }
grep -q "clamped: 3 nodes" tr.log && echo "ok   train clamps the 3 label nodes" || { echo "FAIL train did not clamp the label nodes"; cat tr.log; fail=1; }
if [ -n "${TN_H5EDIT:-}" ]; then
  cl=$("$TN_H5EDIT" tr/model.h5 len clamp); p0=$("$TN_H5EDIT" tr/model.h5 get class_prior 0); c2=$("$TN_H5EDIT" tr/model.h5 get clamp 2)
  [ "$cl" = 3 ] && [ "$c2" = 6 ] && awk -v p="$p0" 'BEGIN { exit !(p > 0.2 && p < 0.5) }' && echo "ok   model.h5: clamp = 4, 5, 6 and class_prior[0] = $p0" || { echo "FAIL model.h5: clamp length $cl, clamp[2] = $c2, class_prior[0] = $p0"; fail=1; }
fi
for np in 1 2 3; do
  timeout 120 mpirun -n $np --oversubscribe "$TENOR" predict -model tr/model.h5 -data_file x.csv -data_labels y.csv -out_dir p$np >p$np.log 2>&1 || { echo "FAIL predict at $np ranks"; cat p$np.log; fail=1; }
done
[ $fail -eq 0 ] || exit 1
for np in 2 3; do
  worst=$(paste -d, p1/predict.csv p$np/predict.csv | awk -F, 'NR > 1 { n = NF / 2; for (i = 2; i <= 8; i++) { d = $i - $(i + n); if (d < 0) d = -d; a = $i < 0 ? -$i : $i; r = d / (a > 1 ? a : 1); if (r > w) w = r } } END { printf "%.3g", w }')
  awk -v w="$worst" 'BEGIN { exit !(w <= 1e-12) }' && cmp -s <(cut -d, -f9- p1/predict.csv) <(cut -d, -f9- p$np/predict.csv) && echo "ok   predict.csv at $np ranks equals 1 rank's (largest difference $worst; same classes)" || { echo "FAIL predict.csv at $np ranks differs by $worst"; fail=1; }
done
# columns: sample, log_p_x_given_0..2, p_0..2, log_p_x, predicted, label
awk -F, 'NR > 1 { s = $5 + $6 + $7; d = s - 1; if (d < 0) d = -d; if (d > w) w = d; m = 0; for (c = 1; c < 3; c++) if ($(5 + c) > $(5 + m)) m = c; if (m != $9) bad++; if ($9 == $10) ok++; n++ } END { printf "%.3g %d %d %d\n", w, bad, ok, n }' p3/predict.csv >rows.txt
read -r sumerr badarg correct n <rows.txt
awk -v w="$sumerr" 'BEGIN { exit !(w <= 1e-15) }' && [ "$badarg" -eq 0 ] && [ "$n" -eq 90 ] && echo "ok   p(c | x) sums to 1 within $sumerr on all $n rows; predicted = argmax" || { echo "FAIL rows: sum error $sumerr, $badarg rows whose prediction is not the argmax, $n rows"; fail=1; }
acc=$(sed -n 's/.*"accuracy": \([-0-9.eE+]*\).*/\1/p' p3/summary.json)
diag=$(awk -F, 'NR > 1 { d += $(NR); for (i = 2; i <= NF; i++) t += $i } END { print d, t }' p3/confusion.csv)
awk -v a="$acc" -v c="$correct" -v d="$diag" 'BEGIN { split(d, q, " "); exit !(q[2] == 90 && q[1] == c && (a - c / 90) ^ 2 < 1e-30 && a > 0.6) }' && echo "ok   accuracy $acc = $correct/90 = the confusion matrix's diagonal ($diag)" || { echo "FAIL accuracy $acc, correct $correct, confusion diagonal/total $diag"; fail=1; }
grep -q "confusion matrix" p3.log && grep -q "mean log-loss" p3.log && echo "ok   accuracy, log-loss and the confusion matrix printed" || { echo "FAIL predict's printed summary"; cat p3.log; fail=1; }
ll=$(sed -n 's/.*"log_loss_nats": \([-0-9.eE+]*\).*/\1/p' p3/summary.json)
ll2=$(awk -F, 'NR > 1 { l += -log($(5 + $10)) / 90 } END { printf "%.17g", l }' p3/predict.csv)
awk -v a="$ll" -v b="$ll2" 'BEGIN { exit !((a - b) ^ 2 < 1e-20) }' && echo "ok   log-loss $ll = mean -log p(label | x) from predict.csv" || { echo "FAIL log-loss $ll, from predict.csv $ll2"; fail=1; }

# the stored clamp set: logdensity -model with the labels gives log p(x | label)
timeout 120 mpirun -n 2 "$TENOR" logdensity -model tr/model.h5 -data_file x.csv -data_labels y.csv -out_dir ld >ld.log 2>&1 || { echo "FAIL logdensity -model with labels"; cat ld.log; fail=1; }
worst=$(paste -d, ld/logphi.csv p1/predict.csv | awk -F, 'NR > 1 { d = $2 - $(7 + $15); if (d < 0) d = -d; if (d > w) w = d } END { printf "%.3g", w }')
awk -v w="$worst" 'BEGIN { exit !(w <= 1e-10) }' && grep -q "clamped: 3 nodes" ld.log && echo "ok   logdensity -model (stored clamp set) = predict's log p(x | label) (largest difference $worst)" || { echo "FAIL logdensity -model vs predict: $worst"; fail=1; }
# tenor sample -model with the label nodes given (class 2): standardised model, the given one-hot kept
printf '0\n0\n0\n0\n0\n0\n1\n' >given2.txt
timeout 120 mpirun -n 2 "$TENOR" sample -model tr/model.h5 -sample_given given2.txt -sample_n 8 -out_dir smp >smp.log 2>&1 || { echo "FAIL sample -model given a class"; cat smp.log; fail=1; }
bad=$(awk -F, 'NR > 1 && !($5 == 0 && $6 == 0 && $7 == 1)' smp/samples.csv | wc -l)
[ "$bad" -eq 0 ] && [ "$(wc -l <smp/samples.csv)" -eq 9 ] && echo "ok   sample -model holds the given label nodes (class 2) in all 8 samples" || { echo "FAIL sample: $bad rows without the given label"; fail=1; }

# per-class models (-data_class c): predict combines them; each column is its model's logdensity
for c in 0 1 2; do
  timeout 120 mpirun -n 1 "$TENOR" train -out_dir pc$c -net_type full -net_n 4 -net_scale 0 -dyn_scheme colored -dyn_act tanh -dyn_h 0.5 -dyn_steps 2 -data_file x.csv -data_labels y.csv -data_class $c -data_standardize -train_epochs 6 -train_lr 0.05 >pc$c.log 2>&1 || { echo "FAIL train -data_class $c"; cat pc$c.log; fail=1; }
done
grep -q "30 samples from x.csv" pc1.log && echo "ok   -data_class 1 trains on the 30 samples of class 1" || { echo "FAIL -data_class"; fail=1; }
timeout 120 mpirun -n 3 --oversubscribe "$TENOR" predict -model pc0/model.h5,pc1/model.h5,pc2/model.h5 -data_file x.csv -data_labels y.csv -out_dir ppc >ppc.log 2>&1 || { echo "FAIL predict with per-class models"; cat ppc.log; fail=1; }
# provenance: each per-class model is one input of summary.json, with its size and hash (not the list as one missing path)
mods=$(tr -d ' \n' <ppc/summary.json | grep -o '{"option":"-model"[^}]*}')
nm=$(printf '%s\n' "$mods" | grep -c '"fnv1a64"')
ne=$(printf '%s\n' "$mods" | grep -c '"error"')
[ "$nm" = 3 ] && [ "$ne" = 0 ] && printf '%s\n' "$mods" | grep -q '"path":"pc2/model.h5"'  && echo "ok   summary.json: the 3 per-class models hashed one by one" || { echo "FAIL summary.json inputs of -model: $nm hashed, $ne errors"; fail=1; }
timeout 120 mpirun -n 2 "$TENOR" logdensity -model pc1/model.h5 -data_file x.csv -out_dir ld1 >ld1.log 2>&1 || { echo "FAIL logdensity of a per-class model"; fail=1; }
worst=$(paste -d, ld1/logphi.csv ppc/predict.csv | awk -F, 'NR > 1 { d = $2 - $8; if (d < 0) d = -d; if (d > w) w = d; s = $10 + $11 + $12 - 1; if (s < 0) s = -s; if (s > e) e = s } END { printf "%.3g %.3g", w, e }')
awk -v w="${worst% *}" -v e="${worst#* }" 'BEGIN { exit !(w <= 1e-10 && e <= 1e-15) }' && echo "ok   per-class models: log p(x | 1) = model 1's logdensity (largest difference ${worst% *}), rows sum to 1 within ${worst#* }" || { echo "FAIL per-class predict: $worst"; fail=1; }

expect_error() { # NAME PATTERN COMMAND ARGS...
  local name=$1 pat=$2; shift 2
  timeout 120 mpirun -n 3 --oversubscribe "$TENOR" "$@" >"$name.out" 2>&1
  local rc=$? n
  n=$(grep -c "tenor: error:" "$name.out")
  if [ $rc -eq 0 ] || [ $rc -eq 124 ] || [ "$n" -ne 1 ] || ! grep -q -- "$pat" "$name.out"; then
    echo "FAIL $name: exit $rc, $n error line(s), expected /$pat/"; cat "$name.out"; fail=1
  else echo "ok   $name: $(grep 'tenor: error:' "$name.out" | cut -c1-160)"; fi
}
TR="train -out_dir bad $NET -data_file x.csv -train_epochs 1"
sed '5s/.*/-1/' y.csv >neg.csv; sed '5s/.*/1.5/' y.csv >frac.csv; sed '$d' y.csv >short.csv
awk 'NR == 1 || $1 != 1' y.csv | awk 'NR == 1 { print; next } { print ($1 == 2 ? 3 : $1) }' >gap.csv
awk -F, 'NR == 1 || NR % 3 != 0' x.csv >x60.csv; awk 'NR == 1 || NR % 3 != 0' y.csv >gap60.csv # no sample of class 1
expect_error label_negative "label -1 is negative" $TR -data_labels neg.csv
expect_error label_fraction "not an integer" $TR -data_labels frac.csv
expect_error label_count "has 89 labels but -data_file x.csv has 90 samples" $TR -data_labels short.csv
expect_error label_range "outside the 2 classes" $TR -data_labels y.csv -data_classes 2
expect_error label_empty_class "class 1 has no training sample" ${TR/x.csv/x60.csv} -data_labels gap60.csv
expect_error label_n "must be the data's columns D plus C" ${TR/-net_n 7/-net_n 3} -data_labels y.csv
expect_error label_with_clamp "drop -data_clamp" $TR -data_labels y.csv -data_clamp y.csv
expect_error predict_range "outside the 3 classes 0 .. 2 of the model" predict -model tr/model.h5 -data_file x.csv -data_labels gap.csv -out_dir bad
expect_error predict_no_model "needs -model" predict -data_file x.csv -out_dir bad
timeout 120 mpirun -n 1 "$TENOR" train -out_dir plain -net_type full -net_n 4 -data_file x.csv -train_epochs 1 >plain.log 2>&1
expect_error predict_no_classes "has no classes" predict -model plain/model.h5 -data_file x.csv -out_dir bad
if [ -n "${TN_H5EDIT:-}" ]; then
  cp tr/model.h5 forged.h5 && "$TN_H5EDIT" forged.h5 set class_prior 1 -0.25 >/dev/null
  expect_error predict_negative_prior "class_prior" predict -model forged.h5 -data_file x.csv -out_dir bad
  cp tr/model.h5 forged2.h5 && "$TN_H5EDIT" forged2.h5 set clamp 1 9 >/dev/null
  expect_error predict_clamp_range "the dataset 'clamp' holds 9" predict -model forged2.h5 -data_file x.csv -out_dir bad
  cp tr/model.h5 forged3.h5 && "$TN_H5EDIT" forged3.h5 attr classes 2 >/dev/null
  expect_error predict_classes_length "class_prior" predict -model forged3.h5 -data_file x.csv -out_dir bad
fi
expect_error perclass_missing "give one per class" predict -model pc0/model.h5,pc1/model.h5 -data_file x.csv -out_dir bad
expect_error perclass_twice "both of class 1" predict -model pc0/model.h5,pc1/model.h5,pc1/model.h5 -data_file x.csv -out_dir bad
expect_error perclass_one "give all 3 per-class models" predict -model pc1/model.h5 -data_file x.csv -out_dir bad
expect_error class_absent "not one of the 3 classes" $TR -net_n 4 -data_labels y.csv -data_class 3
# never through a symbolic link: refused, the target untouched, nothing else lost
echo precious >victim.txt
mkdir -p sl && ln -sfn "$W/victim.txt" sl/predict.csv
expect_error symlink_predict "sl/predict.csv: it is a symbolic link" predict -model tr/model.h5 -data_file x.csv -out_dir sl
[ "$(cat victim.txt)" = precious ] || { echo "FAIL a symbolic link's target was written"; fail=1; }
exit $fail
