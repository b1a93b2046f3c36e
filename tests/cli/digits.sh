#!/bin/bash
# The 8 x 8 digits (tools/digits, docs/digits.md): the export has the fixed
# split's shape (1437 train, 360 test, 64 pixels in 0..16, labels 0..9, every
# image once), is the same when run again, is read by tenor logdensity from
# CSV and from HDF5 alike at 1 and 2 ranks, replaces a symlink instead of
# writing through it; the density comparison runs end to end at a tiny budget
# (its baselines checked against an independent computation, tenor's rows
# against tenor's own summary.json); the classification baselines classify;
# tenor's generative classifier (classify_tenor.py) runs end to end at 2 epochs.
# Needs Debian's python3-sklearn and python3-h5py: without them the test is
# skipped (exit 77, ctest's SKIP_RETURN_CODE). Usage: digits.sh TENOR WORKDIR
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
TENOR=$(cd "$(dirname "$1")" && pwd)/$(basename "$1"); W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W" || exit 1
PY=${TN_DIGITS_PYTHON:-/usr/bin/python3} # Debian's Python, which sees Debian's packages
if ! $PY -c 'import numpy, sklearn, h5py' 2>/dev/null; then
  echo "SKIPPED: Debian's python3-sklearn and python3-h5py are not installed (apt-get install -y python3-sklearn python3-h5py, or bash tools/setup.sh --digits)"
  exit 77
fi
fail=0
say() { if [ "$1" = ok ]; then echo "ok   $2"; else echo "FAIL $2"; fail=1; fi; }

# 1. the export: shape, labels, split, HDF5 = CSV, deterministic
$PY "$SRC/tools/digits/export.py" ex >ex.log 2>&1 || { cat ex.log; say fail "export"; }
# the second run finds a symlink where it writes digits_train.csv
mkdir -p ex2 && echo keep >victim && ln -s "$PWD/victim" ex2/digits_train.csv
$PY "$SRC/tools/digits/export.py" ex2 >/dev/null 2>&1
[ "$(cat victim)" = keep ] && [ -f ex2/digits_train.csv ] && [ ! -L ex2/digits_train.csv ] && say ok "export replaces a symlink, its target unchanged" || say fail "export wrote through a symlink"
$PY - ex <<'PY' && say ok "export: 1437 + 360 images of 64 pixels in 0..16, labels 0..9, every image once, HDF5 = CSV" || say fail "export's shape"
import sys, h5py, numpy as np
d = sys.argv[1]
idx = []
for p, n in (("train", 1437), ("test", 360)):
    lines = open(f"{d}/digits_{p}.csv").read().splitlines()
    assert lines[0] == ",".join(f"p{i}" for i in range(64)), lines[0][:40]
    x = np.array([[int(v) for v in l.split(",")] for l in lines[1:]])
    assert x.shape == (n, 64) and x.min() == 0 and x.max() == 16, x.shape
    lab = open(f"{d}/digits_{p}_labels.csv").read().splitlines()
    assert lab[0] == "label" and len(lab) == n + 1
    lab = np.array([int(v) for v in lab[1:]])
    assert set(lab) == set(range(10)), set(lab)
    with h5py.File(f"{d}/digits_{p}.h5", "r") as f:
        assert f["x"].dtype == np.float64 and f["label"].dtype == np.int32
        assert (f["x"][...] == x).all() and (f["label"][...] == lab).all()
        idx += list(f["index"][...])
    # sklearn's own images and labels at the stored indices
    from sklearn.datasets import load_digits
    dg = load_digits()
    ii = f"{d}/digits_{p}.h5"
    with h5py.File(ii, "r") as f:
        i = f["index"][...]
    assert (dg.data[i] == x).all() and (dg.target[i] == lab).all()
assert sorted(idx) == list(range(1797)), "the split does not hold every image once"
PY
same=1; for f in digits_train.csv digits_test.csv digits_train_labels.csv digits_test_labels.csv digits.json; do cmp -s ex/$f ex2/$f || same=0; done
[ $same = 1 ] && say ok "export is the same when run again" || say fail "export differs between two runs"

# 2. tenor reads it: CSV and HDF5, 1 and 2 ranks, the same result
for np in 1 2; do
  for f in digits_test.csv digits_test.h5; do
    mpirun -n $np "$TENOR" logdensity -net_n 8 -data_file ex/$f -data_dequantize -data_standardize -out_dir ld_${np}_${f#*.} >ld.log 2>&1 || { cat ld.log; say fail "logdensity of ex/$f at $np rank(s)"; }
  done
done
$PY - <<'PY' && say ok "tenor logdensity reads the export's CSV and HDF5 (360 samples, N = 64), the same at 1 and 2 ranks" || say fail "tenor logdensity of the export"
import json
s = {k: json.load(open(f"ld_{k}/summary.json")) for k in ("1_csv", "1_h5", "2_csv", "2_h5")}
ref = s["1_csv"]["loss_nats_mean"]
for k, j in s.items():
    assert j["network"]["N"] == 64 and j["samples"] == 360, (k, j["network"]["N"], j["samples"])
    assert abs(j["loss_nats_mean"] - ref) < 1e-10 * abs(ref), (k, j["loss_nats_mean"], ref)
PY

# 3. the density comparison at a tiny budget (1 epoch)
# (a symlink where it writes a log and one where it writes a table)
mkdir -p dens && ln -s "$PWD/victim" dens/full-linear.train.log && ln -s "$PWD/victim" dens/density.json
$PY "$SRC/tools/digits/density.py" --tenor "$TENOR" --data ex --out dens --nets full-linear,lattice-r2-tanh-K4 --epochs 1 >dens.log 2>&1 || { tail -20 dens.log; say fail "density.py"; }
$PY - <<'PY' && say ok "density.py: the Gaussian baselines match an independent computation; tenor's rows are its summary.json, in bits/dim = nats / (64 ln 2)" || say fail "density.py's table"
import json, math
t = json.load(open("dens/density.json"))
rows = {r["model"]: r for r in t["rows"]}
assert set(rows) == {"factorised Gaussian", "full-covariance Gaussian", "shrinkage Gaussian", "tenor full-linear", "tenor lattice-r2-tanh-K4"}, set(rows)
rd = lambda f: [[float(v) for v in l.split(",")] for l in open(f).read().splitlines()[1:]]
ytr, yte = rd("dens/y_train.csv"), rd("dens/y_test.csv")
x = [[int(v) for v in l.split(",")] for l in open("ex/digits_test.csv").read().splitlines()[1:]]
assert all(0 <= yte[s][i] - x[s][i] < 1 for s in range(360) for i in range(64)), "y is not x + U(0,1)"
nll = 0.0
for i in range(64):
    c = [r[i] for r in ytr]; m = sum(c) / len(c); v = sum((a - m) ** 2 for a in c) / len(c)
    nll += sum(0.5 * math.log(2 * math.pi * v) + (r[i] - m) ** 2 / (2 * v) for r in yte) / len(yte)
f = rows["factorised Gaussian"]
assert abs(f["test_nats"] - nll) < 1e-9 * nll, (f["test_nats"], nll)
for r in t["rows"]:
    assert abs(r["test_bits_per_dim"] - r["test_nats"] / (64 * math.log(2))) < 1e-12
assert rows["full-covariance Gaussian"]["train_nats"] < rows["shrinkage Gaussian"]["train_nats"] < f["train_nats"]
for n in ("full-linear", "lattice-r2-tanh-K4"):
    s = json.load(open(f"dens/{n}/test/summary.json"))
    assert s["samples"] == 360 and rows["tenor " + n]["test_nats"] == s["loss_nats_mean"]
    assert s["provenance"]["preprocessing"]["standardize"] is True
# one epoch of the linear network already beats independent pixels
assert rows["tenor full-linear"]["test_nats"] < f["test_nats"], (rows["tenor full-linear"]["test_nats"], f["test_nats"])
print({k: round(r["test_bits_per_dim"], 4) for k, r in rows.items()})
PY
[ "$(cat victim)" = keep ] && [ ! -L dens/full-linear.train.log ] && [ ! -L dens/density.json ] && say ok "density.py replaces symlinks, their target unchanged" || say fail "density.py wrote through a symlink"
grep -q "^| tenor full-linear |" dens/density.md && say ok "density.md holds the table" || say fail "density.md"
[ "$(head -c 8 dens/samples.png | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] && [ "$(cat dens/*/samples/samples.csv | wc -l)" = 65 ] \
  && say ok "samples.png drawn from 64 samples of the best network" || say fail "samples.png"

# 4. clear errors: an unknown network, a missing tenor
$PY "$SRC/tools/digits/density.py" --tenor "$TENOR" --data ex --out d2 --nets nosuch >e1.log 2>&1
[ $? -ne 0 ] && grep -q "unknown network 'nosuch'" e1.log && say ok "an unknown --nets name is refused by name" || { cat e1.log; say fail "unknown --nets"; }
$PY "$SRC/tools/digits/density.py" --tenor ./nosuch --data ex --out d2 >e2.log 2>&1
[ $? -ne 0 ] && grep -q "is not an executable tenor" e2.log && say ok "a missing tenor is named" || { cat e2.log; say fail "missing tenor"; }

# 5. the classification baselines
$PY "$SRC/tools/digits/classify.py" --data ex --out cls >cls.log 2>&1 || { tail -20 cls.log; say fail "classify.py"; }
$PY - <<'PY' && say ok "classify.py: both baselines above 0.95 accuracy, finite log-loss" || say fail "classify.py's table"
import json, math
t = json.load(open("cls/classify.json"))
assert [r["model"] for r in t["rows"]] == ["per-class Gaussian", "multinomial logistic regression"]
for r in t["rows"]:
    assert r["test_accuracy"] > 0.95 and 0 < r["test_log_loss_nats"] < 1, r
print({r["model"]: (r["test_accuracy"], round(r["test_log_loss_nats"], 4)) for r in t["rows"]})
PY
# 6. tenor's generative classifier (classify_tenor.py, tenor predict) at 2 epochs
$PY "$SRC/tools/digits/classify_tenor.py" --tenor "$TENOR" --data ex --out ct --nets full-linear --epochs 2 --no-baselines >ct.log 2>&1 || { tail -20 ct.log; say fail "classify_tenor.py"; }
$PY - <<'PY' && say ok "classify_tenor.py: tenor's row (accuracy above 0.8, finite log-loss), 10 class-conditional samples per class in classes.png" || say fail "classify_tenor.py's table"
import json, os
t = json.load(open("ct/classify_tenor.json"))
assert [r["model"] for r in t["rows"]] == ["tenor full-linear"], t["rows"]
r = t["rows"][0]
assert r["test_accuracy"] > 0.8 and 0 < r["test_log_loss_nats"] < 2, r
assert len(t["sample_commands"]) == 10 and os.path.getsize("ct/classes.png") > 1000
print((r["test_accuracy"], round(r["test_log_loss_nats"], 4)))
PY
[ $fail = 0 ] && echo "digits: all checks passed"
exit $fail
