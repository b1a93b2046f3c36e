#!/usr/bin/env python3
"""schemes.png from results.csv: the error of log Phi against the
continuous-time flow versus the cost per sample, one panel per network
(2 ranks; the 1-rank costs are the same in synaptic updates)."""
import csv, os, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

here = os.path.dirname(os.path.abspath(__file__))
rows = list(csv.DictReader(open(os.path.join(here, "results.csv"))))
nets = sorted({r["net"] for r in rows})
fig, axes = plt.subplots(1, len(nets), figsize=(6 * len(nets), 4.5), squeeze=False)
style = {"sync_diag": ("o", "C0"), "sync_trace": ("s", "C1"), "colored": ("^", "C2"), "continuous_rtol": ("D", "C3"), "continuous_rk4": ("v", "C4")}
for ax, net in zip(axes[0], nets):
    for r in rows:
        if r["net"] != net or r["ranks"] != "2":
            continue
        key = next(k for k in style if r["case"].startswith(k))
        m, c = style[key]
        x, y = float(r["synaptic_updates_per_sample"]), max(float(r["err_max_nats_per_dim"]), 1e-17)
        ax.loglog(x, y, m, color=c, label=key)
        ax.annotate(r["case"].split("_")[-1], (x, y), textcoords="offset points", xytext=(4, 3), fontsize=7)
    h, l = ax.get_legend_handles_labels()
    seen = {}
    for hh, ll in zip(h, l):
        seen.setdefault(ll, hh)
    ax.legend(seen.values(), seen.keys(), fontsize=8)
    ax.set_xlabel("synaptic updates per sample")
    ax.set_ylabel("max |log Phi - flow| per dimension (nats)")
    ax.set_title(f"{net}, N = {rows[0]['N'] if rows else ''}, T = 1, 2 ranks")
    ax.grid(True, which="both", alpha=0.3)
fig.tight_layout()
fig.savefig(os.path.join(here, "schemes.png"), dpi=110)
print("wrote", os.path.join(here, "schemes.png"))
