#!/bin/bash
# Regression as a conditional density (docs/conditional.md): tenor train
# -data_clamp on gmrf2d (n = 6, every other row clamped) reports the
# conditional references: H(t | x), the exact -log p(t | x) of the
# validation samples, the factorised baseline of t, and with them the gap
# and the ratio, in the progress lines, train_metrics.csv and train.json;
# bits and gap per dimension divide by N_F (18), not N (36), in train and
# in logdensity, which gives H(t | x) and the mean exact -log p(t | x) too;
# the references are the same at 1, 2 and 3 ranks (1e-10) and so is the
# trained loss (1e-8); the ratio is (NLL_indep - NLL)/(NLL_indep - H)
# of the figures written.
# Usage: conditional_train.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
PY=/usr/bin/python3
for k in $(seq 0 35); do [ $(((k / 6) % 2)) -eq 0 ] && echo "$k"; done >rows.txt
RUN="-net_n 6 -data_samples 2560 -data_valid_fraction 0.2 -data_clamp rows.txt -train_epochs 3"
for np in 1 2 3; do
  timeout 300 mpirun -n $np --oversubscribe "$TENOR" train $RUN -out_dir t$np >t$np.log 2>&1 || { echo "FAIL train with a clamp at $np ranks"; cat t$np.log; exit 1; }
done
grep -q "^step .* | valid .* b/d) gap/dim .* ratio " t2.log && echo "ok   progress lines give the gap and ratio" || { echo "FAIL no gap/ratio in the progress lines"; fail=1; }
grep -q "exact conditional entropy H(t | x) .* ratio (NLL_indep - NLL)/(NLL_indep - H) = " t2.log && grep -q "exact -log p(t | x) of the validation samples" t2.log && echo "ok   the final lines name H(t | x) and -log p(t | x)" || { echo "FAIL final lines"; fail=1; }
$PY - t1 t2 t3 <<'EOF' || fail=1
import json, math, sys, csv
runs = [json.load(open(d + "/train.json")) for d in sys.argv[1:]]
bad = 0
def check(ok, what):
    global bad
    print(("ok   " if ok else "FAIL ") + what)
    bad |= not ok
f = runs[1]["final"]
c = runs[1].get("conditional", {})
check(c.get("clamped_nodes") == 18 and c.get("free_nodes") == 18, "train.json: 18 clamped, 18 free nodes")
nf = 18
for k in ("entropy", "nll_indep", "valid_exact_nll", "ratio", "ratio_same_samples", "gap_per_dim"):
    check(isinstance(f.get(k), float), "train.json final.%s = %s" % (k, f.get(k)))
L, H, I, T = f["valid_loss"], f["entropy"], f["nll_indep"], f["valid_exact_nll"]
# H(t | x) of the GMRF is far below the factorised baseline of t, which ignores x
check(H < I and T < I, "H(t | x) %.6f and -log p(t | x) %.6f below the baseline %.6f" % (H, T, I))
check(abs(f["valid_bits_per_dim"] - L / (nf * math.log(2))) <= 1e-12 * abs(L), "valid_bits_per_dim = valid_loss / (N_F ln 2)")
check(abs(f["gap_per_dim"] - (L - H) / nf) <= 1e-12 * abs(L), "gap_per_dim = (valid_loss - H) / N_F")
check(abs(f["ratio"] - (I - L) / (I - H)) <= 1e-12, "ratio = (NLL_indep - NLL)/(NLL_indep - H) = %.4f" % f["ratio"])
check(abs(f["ratio_same_samples"] - (I - L) / (I - T)) <= 1e-12, "ratio_same_samples = %.4f" % f["ratio_same_samples"])
check(f["ratio"] > 0.8, "the ratio after 3 epochs is above 0.8 (%.4f)" % f["ratio"])
rows = list(csv.DictReader(open(sys.argv[2] + "/train_metrics.csv")))
r = rows[-1]
check(abs(float(r["valid_bpd"]) - float(r["valid_loss"]) / (nf * math.log(2))) <= 1e-12 * float(r["valid_loss"]) and r["ratio"] != "", "train_metrics.csv: bits/dim over N_F, ratio %s" % r["ratio"])
for k in ("entropy", "nll_indep", "valid_exact_nll"):
    w = max(abs(x["final"][k] - f[k]) / abs(f[k]) for x in runs)
    check(w <= 1e-10, "%s the same at 1, 2, 3 ranks (%.2g)" % (k, w))
w = max(abs(x["final"]["valid_loss"] - L) / abs(L) for x in runs)
check(w <= 1e-8, "trained validation loss the same at 1, 2, 3 ranks (%.2g)" % w)
sys.exit(bad)
EOF
# logdensity: bits per dimension over N_F
timeout 120 mpirun -n 2 --oversubscribe "$TENOR" logdensity -model t2/model.h5 -data_type gmrf2d -data_samples 64 -data_clamp rows.txt -out_dir ld >ld.log 2>&1 || { echo "FAIL logdensity"; cat ld.log; fail=1; }
$PY - <<'EOF' || fail=1
import json, math
s = json.load(open("ld/summary.json"))
m = s["loss_nats_mean"]
ok = abs(s["bits_per_dim"] - m / (18 * math.log(2))) <= 1e-12 * abs(m)
print(("ok   " if ok else "FAIL ") + "logdensity: bits_per_dim %.6f = mean loss / (N_F ln 2)" % s["bits_per_dim"])
c, H = s["conditional"], json.load(open("t2/train.json"))["final"]["entropy"]
ok2 = abs(c["entropy"] - H) <= 1e-12 * abs(H) and isinstance(c["exact_nll_mean"], float)
print(("ok   " if ok2 else "FAIL ") + "logdensity: H(t | x) %s as in train, mean exact -log p(t | x) %s" % (c["entropy"], c["exact_nll_mean"]))
exit(not (ok and ok2))
EOF
exit $fail
