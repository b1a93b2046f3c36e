#!/bin/bash
# Densities in the data's own space. With -data_standardize the network sees
# z = (x - mean)/sd, and -log p_x(x) = -log p_z(z) + sum_i log sd_i: the
# reported loss must differ from the standardised one by exactly the
# sum_i log sd_i computed here independently; nodeloss.csv adds up to it;
# sample -model of a model trained on standardised data writes samples whose
# mean and scale match the data's, and logdensity -model of those samples
# gives the log-density sample.json reports. Usage: dataspace.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
say() { if [ "$1" = ok ]; then echo "ok   $2"; else echo "FAIL $2"; fail=1; fi; }
# 16 independent nodes, mean 5, sd 3, 6, 9, 12 (repeating)
python3 -c 'import random; random.seed(3); print("\n".join(",".join("%.9f" % (5 + 3 * (i % 4 + 1) * random.gauss(0, 1)) for i in range(16)) for s in range(400)))' >x.csv
common="-net_n 4 -data_type csv -data_file x.csv"
for np in 1 2; do
  for std in 0 1; do
    args=""; [ $std = 1 ] && args="-data_standardize"
    mpirun -n $np --oversubscribe "$TENOR" logdensity $common $args -dyn_nodeloss -out_dir ld${np}_$std >ld.log 2>&1 || { say fail "logdensity np=$np std=$std"; cat ld.log; }
  done
  python3 - ld${np}_0 ld${np}_1 x.csv <<'PY' && say ok "np=$np: data-space loss = standardised loss + sum_i log sd_i" || say fail "np=$np: data-space loss"
import json, math, sys
raw, std = (json.load(open(d + "/summary.json")) for d in sys.argv[1:3])
rows = [list(map(float, l.split(","))) for l in open(sys.argv[3])]
S = len(rows); s = 0.0
for i in range(16):
    c = [r[i] for r in rows]; m = sum(c) / S
    s += 0.5 * math.log(sum((x - m) ** 2 for x in c) / S)
assert abs(std["sum_log_sd"] - s) < 1e-9 * abs(s), (std["sum_log_sd"], s)
assert abs(std["loss_nats_mean"] - std["loss_standardized_nats_mean"] - s) < 1e-9 * abs(s)
assert abs(std["bits_per_dim"] - std["loss_nats_mean"] / (16 * math.log(2))) < 1e-12
assert raw["sum_log_sd"] == 0 and raw["loss_nats_mean"] == raw["loss_standardized_nats_mean"]
assert std["provenance"]["preprocessing"]["standardize"] is True
for d, j in zip(sys.argv[1:3], (raw, std)):
    node = sum(float(l.split(",")[-1]) for l in open(d + "/nodeloss.csv").readlines()[1:])
    assert abs(node - j["loss_nats_mean"]) < 1e-9 * abs(node), (d, node, j["loss_nats_mean"])
    rows = [l.split(",") for l in open(d + "/logphi.csv").readlines()[1:]]
    assert abs(sum(float(r[2]) for r in rows) / len(rows) - j["loss_nats_mean"]) < 1e-9 * j["loss_nats_mean"]
print("sum log sd", s, "data-space", std["loss_nats_mean"], "standardised", std["loss_standardized_nats_mean"], "raw data", raw["loss_nats_mean"])
PY
done
# a model trained on standardised data: samples come out in the data's space
"$TENOR" train $common -data_standardize -data_valid_fraction 0 -train_epochs 3 -out_dir tr >tr.log 2>&1 || { say fail "train"; cat tr.log; }
mpirun -n 2 --oversubscribe "$TENOR" sample -model tr/model.h5 -sample_n 400 -out_dir s >s.log 2>&1 || { say fail "sample -model"; cat s.log; }
python3 - s/samples.csv x.csv <<'PY' && say ok "sample -model: mean and scale of the data" || say fail "sample -model: mean and scale"
import statistics as st, sys
def load(f): return [list(map(float, l.split(","))) for l in open(f) if l[0] not in "xn#"]
a, b = load(sys.argv[1]), load(sys.argv[2])
for i in range(16):
    ma, mb = st.mean(r[i] for r in a), st.mean(r[i] for r in b)
    sa, sb = st.pstdev([r[i] for r in a]), st.pstdev([r[i] for r in b])
    assert abs(ma - mb) < 0.25 * sb and abs(sa / sb - 1) < 0.2, (i, ma, mb, sa, sb)
PY
"$TENOR" logdensity -model tr/model.h5 -data_file s/samples.csv -out_dir lds >lds.log 2>&1 || { say fail "logdensity -model"; cat lds.log; }
python3 -c '
import json, sys
a = json.load(open("s/sample.json"))["log_phi_mean"]; b = json.load(open("lds/summary.json"))["log_phi_mean"]
sys.exit(not abs(a - b) < 1e-8 * abs(a))' && say ok "logdensity -model of the samples = sample.json log_phi (data space)" || say fail "logdensity -model vs sample.json"
# the model file describes itself: preprocessing, theta's layout, units; integers as integers
h5dump -A tr/model.h5 >attrs.txt 2>&1 || { say fail "h5dump tr/model.h5"; cat attrs.txt; }
for a in dequantize dequantize_width standardize sum_log_sd theta_layout units; do
  grep -q "ATTRIBUTE \"$a\"" attrs.txt || say fail "model.h5 lacks the attribute $a"
done
for a in N nnz K standardize; do
  grep -A1 "ATTRIBUTE \"$a\"" attrs.txt | grep -q H5T_STD_I64LE || say fail "model.h5: $a is not stored as an integer"
done
grep -q "col = -2: theta = u_i = log gamma_i" attrs.txt && say ok "model.h5: preprocessing, layout, units, integer attributes" || say fail "model.h5: theta_layout"
exit $fail
