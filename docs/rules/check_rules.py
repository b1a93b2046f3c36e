#!/usr/bin/python3
"""Checks of tenor's hebb and oja weights against references computed here,
from the samples alone (not by the rule's code).

  check_rules.py hebb SAMPLES.bin n S ALPHA MODEL.h5
      C = <x x^T> over the S samples, on the pattern P of the model's W:
      prints ||W - C/alpha||_P / ||C/alpha||_P and the largest entry error.
  check_rules.py oja SAMPLES.bin n S ROWS GAP ETA OUT.csv PNG STEP:MODEL.h5 ...
      ROWS random rows i (seed 1); per row the block C_Pi of C on its
      in-neighbourhood, its eigenvalues (numpy.linalg.eigh, LAPACK syevd)
      and unit principal eigenvector v1; for each model (W after STEP steps)
      |cos(W_i., v1)| and | ||W_i.|| - 1 |. Writes one line per row to OUT.csv
      and prints the fraction meeting |cos| >= 0.999 and | ||W_i.|| - 1 | <=
      1e-3 among the rows with eigengap l1 - l2 >= GAP, and the steps to
      converge (the first STEP from which the row meets both and keeps
      meeting them) against the eigengap; with PNG given, a plot of them
      and of the estimate ln(sqrt(k - 1) / 0.045) / (ETA (l1 - l2)): the
      angle's tangent, about sqrt(k - 1) from a random start, falls like
      e^(-ETA (l1 - l2) t) to 0.045 (|cos| = 0.999).

SAMPLES.bin holds the S x N samples (raw little-endian float64, sample-major,
N = n^2), as gen_samples.py writes them; the model's W is read with h5dump -b.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np


def dataset(path, name):
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, name + ".bin")
        subprocess.run(["h5dump", "-d", "/" + name, "-b", "LE", "-o", f, path], check=True, stdout=subprocess.DEVNULL)
        return np.fromfile(f, dtype="<f8")


def weights(path):
    """W as (row, col, value) sorted by row then column; b and log gamma dropped."""
    row, col, th = dataset(path, "row"), dataset(path, "col"), dataset(path, "theta")
    keep = col >= 0
    row, col, th = row[keep].astype(np.int64), col[keep].astype(np.int64), th[keep]
    o = np.lexsort((col, row))
    return row[o], col[o], th[o]


def samples(path, n, S):
    return np.fromfile(path, dtype="<f8", count=S * n * n).reshape(S, n * n)


def hebb(args):
    X = samples(args[0], int(args[1]), int(args[2]))
    alpha = float(args[3])
    row, col, w = weights(args[4])
    C = np.zeros(len(row))
    for s in range(X.shape[0]):  # C_ij = (1/S) sum_s x_si x_sj on P
        C += X[s, row] * X[s, col]
    C /= X.shape[0] * alpha
    d = w - C
    print("N = %d, nnz = %d, S = %d, alpha = %g" % (X.shape[1], len(row), X.shape[0], alpha))
    print("||W - C/alpha||_P / ||C/alpha||_P = %.3e" % (np.linalg.norm(d) / np.linalg.norm(C)))
    print("max |W_ij - C_ij/alpha| = %.3e (max |C_ij/alpha| = %.3e)" % (np.abs(d).max(), np.abs(C).max()))


def oja(args):
    X = samples(args[0], int(args[1]), int(args[2]))
    nrows, gap, eta, out, png = int(args[3]), float(args[4]), float(args[5]), args[6], args[7]
    snaps, k = [], 13
    for a in args[8:]:
        step, path = a.split(":", 1)
        snaps.append((int(step), weights(path)))
    snaps.sort(key=lambda t: t[0])
    N = X.shape[1]
    rows = np.sort(np.random.default_rng(1).choice(N, size=min(nrows, N), replace=False))
    row0 = snaps[0][1][0]
    start = np.searchsorted(row0, rows)
    end = np.searchsorted(row0, rows, side="right")
    lines, conv, relgap, absgap = [], [], [], []
    for r, a, b in zip(rows, start, end):
        P = snaps[0][1][1][a:b]
        Y = X[:, P]
        lam, V = np.linalg.eigh(Y.T @ Y / X.shape[0])  # ascending
        v1 = V[:, -1]
        ok_from, rec = None, []
        for step, (rw, cl, w) in snaps:
            assert np.array_equal(cl[a:b], P)
            wi = w[a:b]
            nw = np.linalg.norm(wi)
            c = abs(wi @ v1) / nw if nw > 0 else 0.0
            ok = c >= 0.999 and abs(nw - 1) <= 1e-3
            rec.append((c, abs(nw - 1)))
            if ok and ok_from is None:
                ok_from = step
            elif not ok:
                ok_from = None
        g = (lam[-1] - lam[-2]) / lam[-1]
        conv.append(ok_from)
        relgap.append(g)
        absgap.append(lam[-1] - lam[-2])
        lines.append("%d,%d,%.6g,%.6g,%.6g,%.9f,%.3e,%s" % (r, len(P), lam[-1], lam[-2], g, rec[-1][0], rec[-1][1], "" if ok_from is None else ok_from))
    with open(out, "w") as f:
        f.write("row,k,lambda1,lambda2,relgap,abscos_final,normerr_final,steps_to_converge\n")
        f.write("\n".join(lines) + "\n")
    relgap, gaps = np.array(relgap), np.array(absgap)
    conv = np.array([-1 if c is None else c for c in conv])
    sel = gaps >= gap
    print("N = %d, S = %d, %d rows sampled, steps %s" % (N, X.shape[0], len(rows), [s for s, _ in snaps]))
    print("relative eigengap (l1 - l2)/l1: min %.3g, median %.3g, max %.3g; lambda1 max %.3g" % (relgap.min(), np.median(relgap), relgap.max(), max(float(l.split(",")[2]) for l in lines)))
    print("eigengap l1 - l2: min %.3g, median %.3g, max %.3g" % (gaps.min(), np.median(gaps), gaps.max()))
    print("rows with eigengap >= %g: %d; meeting |cos| >= 0.999 and | ||W_i.|| - 1 | <= 1e-3 at the last step: %d (%.2f %%)"
          % (gap, sel.sum(), (conv[sel] >= 0).sum(), 100.0 * (conv[sel] >= 0).mean() if sel.any() else 0.0))
    print("all rows meeting them at the last step: %d of %d" % ((conv >= 0).sum(), len(conv)))
    edges = np.quantile(gaps, [0, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0])
    print("eigengap bin          rows  converged  steps to converge: median  max")
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (gaps >= lo) & (gaps <= hi)
        c = conv[m & (conv >= 0)]
        print("[%.3f, %.3f]  %5d  %9d  %24s  %4s" % (lo, hi, m.sum(), len(c), "%g" % np.median(c) if len(c) else "-", "%d" % c.max() if len(c) else "-"))


    if png != "-":
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        last = snaps[-1][0]
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
        ax.scatter(gaps[conv >= 0], conv[conv >= 0] * np.exp(np.random.default_rng(2).uniform(-0.08, 0.08, (conv >= 0).sum())), s=4, label="converged (jittered)")
        ax.scatter(gaps[conv < 0], np.full((conv < 0).sum(), 1.5 * last), s=6, marker="x", color="r", label="not converged by step %d" % last)
        ax.axvline(gap, color="k", lw=0.8, ls="--", label="threshold %g" % gap)
        g = np.geomspace(gaps.min(), gaps.max(), 50)
        ax.plot(g, np.log(np.sqrt(12) / 0.045) / (eta * g), "g-", lw=0.8, label="ln(sqrt(12)/0.045)/(eta gap)")
        ax.set_ylim(0.5 * snaps[0][0], 2.5 * last)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("eigengap lambda1 - lambda2 of C_Pi")
        ax.set_ylabel("steps to converge")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(png, dpi=90)


if __name__ == "__main__":
    {"hebb": hebb, "oja": oja}[sys.argv[1]](sys.argv[2:])
