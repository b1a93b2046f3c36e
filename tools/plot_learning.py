#!/usr/bin/python3
"""Learning curves of `tenor train` runs: train and validation loss in bits
per dimension against the step, with the exact entropy per dimension as a
horizontal line when train.json knows it, and the learning-quality ratio
(NLL_indep - NLL)/(NLL_indep - H) on a second panel.

usage: /usr/bin/python3 tools/plot_learning.py OUT.png RUN_DIR [RUN_DIR ...]
(each RUN_DIR holds train_metrics.csv and train.json, as -out_dir wrote them)
"""
import csv
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def column(rows, key):
    return [float(r[key]) if r[key] != "" else math.nan for r in rows]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, runs = sys.argv[1], sys.argv[2:]
    fig, (ax, axr) = plt.subplots(2, 1, figsize=(7, 7), sharex=True)
    for run in runs:
        with open(os.path.join(run, "train_metrics.csv")) as f:
            rows = list(csv.DictReader(f))
        meta = {}
        if os.path.exists(os.path.join(run, "train.json")):
            with open(os.path.join(run, "train.json")) as f:
                meta = json.load(f)
        step = column(rows, "step")
        name = os.path.basename(os.path.normpath(run))
        ax.plot(step, column(rows, "train_bpd"), "--", label=f"{name} train")
        ax.plot(step, column(rows, "valid_bpd"), "-", label=f"{name} validation")
        axr.plot(step, column(rows, "ratio"), "-", label=name)
        H = (meta.get("final") or {}).get("entropy")
        N = (meta.get("network") or {}).get("N")
        if H is not None and N:
            ax.axhline(H / (N * math.log(2)), color="k", lw=0.8, ls=":", label=f"{name} exact entropy")
    ax.set_ylabel("loss (bits / dimension)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    axr.set_ylabel("(NLL_indep - NLL) / (NLL_indep - H)")
    axr.set_xlabel("step")
    axr.set_ylim(0, 1.02)
    axr.axhline(0.98, color="r", lw=0.8, ls=":")
    axr.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
