#!/usr/bin/python3
"""Partition statistics of `tenor partition` against the part count P: the
edge cut as a fraction of the synapses, the halo per part (min, mean, max),
the neighbour parts per part (min, mean, max), and the load imbalance
(max / mean) of rows and synapses, on four panels with a logarithmic P axis.

usage: /usr/bin/python3 partition/plot_partition.py DIR [OUT.png]
(DIR holds partition_stats.csv and partition_stats.json as -out_dir wrote
them; OUT.png defaults to DIR/partition_stats.png)
"""
import csv
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    d = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) == 3 else os.path.join(d, "partition_stats.png")
    rows = sorted(csv.DictReader(open(os.path.join(d, "partition_stats.csv"))), key=lambda r: int(r["P"]))
    meta = json.load(open(os.path.join(d, "partition_stats.json")))
    net = meta["network"]
    P = [int(r["P"]) for r in rows]

    def col(key):
        return [float(r[key]) for r in rows]

    fig, ax = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    ax[0][0].plot(P, [c / max(net["nnz"], 1) for c in col("edge_cut")], "o-")
    ax[0][0].set_ylabel("edge cut / synapses")
    many = [k for k, p in enumerate(P) if p > 1]  # P = 1 has no halo (and no place on a log scale)
    for a, key, label in ((ax[0][1], "halo", "halo nodes per part"), (ax[1][0], "neighbours", "neighbour parts per part")):
        x = [P[k] for k in many]
        a.plot(x, [col(key + "_mean")[k] for k in many], "o-", label="mean")
        a.fill_between(x, [col(key + "_min")[k] for k in many], [col(key + "_max")[k] for k in many], alpha=0.3, label="min to max")
        a.set_ylabel(label)
        a.legend()
    ax[0][1].set_yscale("log")
    ax[1][1].plot(P, col("rows_imbalance"), "o-", label="rows")
    ax[1][1].plot(P, col("synapses_imbalance"), "s--", label="synapses")
    ax[1][1].set_ylabel("imbalance (max / mean)")
    ax[1][1].legend()
    for a in ax[1]:
        a.set_xlabel("parts P")
    old = tuple(int(x) for x in matplotlib.__version__.split(".")[:2]) < (3, 3)  # basex= before 3.3
    for a in ax.flat:
        a.set_xscale("log", **({"basex": 2} if old else {"base": 2}))
        a.grid(True, alpha=0.3)
    part = meta.get("partitioner", {})
    fig.suptitle("%s network, N = %d, %d synapses; Scotch %s, seed %s" % (net["type"], net["N"], net["nnz"], part.get("scotch_version", "?"), part.get("seed", "?")))
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print("wrote %s" % out)


if __name__ == "__main__":
    main()
