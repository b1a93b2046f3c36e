#!/usr/bin/env python3
"""Prints, for each bench_step JSON given, one line per (net, B): the sync
and colored best step (s), colored's rate / sync's (median over the rounds,
[min, max]), and sync's fraction of the round's triad (median)."""
import json, sys
for f in sys.argv[1:]:
    d = json.load(open(f))
    cs = d["cases"]
    print(f"{f}  (ranks {d['ranks']}, best triad {d['triad']['GBps']:.1f} GB/s)")
    for c in cs:
        if c["scheme"] != "colored":
            continue
        s = next(x for x in cs if x["net"] == c["net"] and x["B"] == c["B"] and x["scheme"] == "sync")
        print(f"  {c['net']:10} B={c['B']:<3} sync {s['step_s_best']:.4g} s ({100*s['fraction_of_round_triad_median']:.0f}% of round triad, {100*s['fraction_of_triad']:.0f}% of best)  "
              f"colored {c['step_s_best']:.4g} s  colored/sync {c['rate_vs_sync_median']:.2f} [{c['rate_vs_sync_min']:.2f}, {c['rate_vs_sync_max']:.2f}]")
