#!/usr/bin/python3
"""Classification baselines on the 8 x 8 digits (tools/digits/export.py):
test accuracy and log-loss of per-class Gaussians with shrinkage covariance
and of multinomial logistic regression, on the same split and the same
dequantised images y = x + u as tools/digits/density.py. Writes one table,
classify.md and classify.json, in OUT_DIR. tenor's generative classifier,
argmax_c p(c) p(y | c), is to be added as a row with `tenor predict`.

usage: /usr/bin/python3 tools/digits/classify.py [--data out/digits] [--out out/digits/classify]

- per-class Gaussian: p(c) = the class's share of the training images;
  p(y | c) = N(y; mean_c, Sigma_c) with Sigma_c the Ledoit-Wolf shrinkage
  covariance of class c's training images (sklearn.covariance.LedoitWolf);
  p(c | y) by Bayes' rule (log-sum-exp).
- logistic regression: pixels standardised with the training images'
  statistics, then sklearn's LogisticRegressionCV (multinomial, lbfgs), its
  inverse regularisation C chosen from 10 values by 5-fold cross-validated
  log-loss on the training images only.

Accuracy is the fraction of test images whose most probable class is their
label; log-loss is the mean over test images of -ln p(label | y), nats.
"""
import argparse
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import export  # noqa: E402


def gaussian_classifier(np, ytr, ltr, yte):
    """log p(c | y) of the test images, shape (n_test, 10)."""
    from sklearn.covariance import LedoitWolf

    logp = np.empty((len(yte), export.N_CLASSES))
    for c in range(export.N_CLASSES):
        yc = ytr[ltr == c]
        lw = LedoitWolf().fit(yc)
        sign, logdet = np.linalg.slogdet(lw.covariance_)
        assert sign > 0
        d = yte - lw.location_
        q = np.einsum("ij,ij->i", d, np.linalg.solve(lw.covariance_, d.T).T)
        logp[:, c] = math.log(len(yc) / len(ytr)) - 0.5 * (q + logdet + yte.shape[1] * math.log(2 * math.pi))
    m = logp.max(axis=1, keepdims=True)
    return logp - (m + np.log(np.exp(logp - m).sum(axis=1, keepdims=True)))


def logistic(np, ytr, ltr, yte):
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegressionCV(Cs=10, cv=5, scoring="neg_log_loss", multi_class="multinomial", max_iter=5000))
    clf.fit(ytr, ltr)
    C = float(clf[-1].C_[0])
    return np.log(np.clip(clf.predict_proba(yte), 1e-300, None)), C


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="out/digits", help="the export's folder")
    ap.add_argument("--out", default="out/digits/classify")
    a = ap.parse_args()
    np = export.need("numpy", "python3-numpy")
    export.need("sklearn", "python3-sklearn")
    xtr, ltr, xte, lte = export.read_split(np, a.data)
    ytr, yte = export.dequantize(np, xtr, xte)
    rows = []
    lp = gaussian_classifier(np, ytr, ltr, yte)
    rows.append(("per-class Gaussian", "Ledoit-Wolf covariance per class, class priors from the training images", lp))
    lp, C = logistic(np, ytr, ltr, yte)
    rows.append(("multinomial logistic regression", f"standardised pixels, C = {C:.4g} by 5-fold CV log-loss", lp))
    out = []
    for name, desc, lp in rows:
        acc = float(np.mean(lp.argmax(axis=1) == lte))
        ll = float(-np.mean(lp[np.arange(len(lte)), lte]))
        out.append({"model": name, "description": desc, "test_accuracy": acc, "test_log_loss_nats": ll})
    md = "| model | test accuracy | test log-loss (nats) | what |\n|---|---|---|---|\n"
    md += "".join(f"| {r['model']} | {r['test_accuracy']:.4f} | {r['test_log_loss_nats']:.4f} | {r['description']} |\n" for r in out)
    md += f"\n{len(lte)} test images, {len(ltr)} training images; dequantised y = x + u (seed {export.DEQUANT_SEED}), as in density.py.\n"
    os.makedirs(a.out, exist_ok=True)
    meta = {"data": os.path.abspath(a.data), "train": len(ltr), "test": len(lte), "dequantize_seed": export.DEQUANT_SEED, "command": "/usr/bin/python3 tools/digits/classify.py", "rows": out}
    export.atomic_write(os.path.join(a.out, "classify.md"), lambda t: open(t, "w").write(md))
    export.atomic_write(os.path.join(a.out, "classify.json"), lambda t: open(t, "w").write(json.dumps(meta, indent=1) + "\n"))
    print(md)
    print(f"wrote {a.out}/classify.md, {a.out}/classify.json")


if __name__ == "__main__":
    main()
