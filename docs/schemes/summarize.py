#!/usr/bin/env python3
"""results.csv from the runs of study.sh: per (net, ranks, case) the mean
log Phi, the largest |log Phi - reference| over the samples (nats and nats
per dimension), products with W and synaptic updates per sample, and the
evaluation time per sample."""
import csv, json, os, sys

out = sys.argv[1]
def load(d):
    s = json.load(open(os.path.join(d, "summary.json")))
    with open(os.path.join(d, "logphi.csv")) as f:
        lp = [float(r["log_phi"]) for r in csv.DictReader(f)]
    return s, lp

runs = sorted(x for x in os.listdir(out) if os.path.isdir(os.path.join(out, x)))
w = csv.writer(sys.stdout)
w.writerow(["net", "ranks", "case", "N", "nnz", "logphi_mean", "err_max_nats", "err_max_nats_per_dim",
            "passes_per_sample", "synaptic_updates_per_sample", "eval_s_per_sample"])
for r in runs:
    net, rest = r.split("_np", 1)
    np_, case = rest.split("_", 1)
    if case == "reference":
        continue
    s, lp = load(os.path.join(out, r))
    _, ref = load(os.path.join(out, f"{net}_np{np_}_reference"))
    err = max(abs(a - b) for a, b in zip(lp, ref))
    N, nnz = s["network"]["N"], s["network"]["nnz"]
    t = s["timings_s"]["evaluate"]
    w.writerow([net, np_, case, N, nnz, f"{sum(lp)/len(lp):.10g}", f"{err:.4g}", f"{err/N:.4g}",
                f"{s['passes_per_sample']:.4g}", f"{s['synaptic_updates_per_sample']:.4g}", f"{t/len(lp):.4g}"])
