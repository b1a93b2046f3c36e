#!/usr/bin/env python3
"""One results.csv line per method from a tenor logdet output directory.
pred_*_gap_per_node: the second-order prediction of the gap,
  diag:  +(h^2/2) sum_{i != j} A_ij A_ji / N  = (diag - diag_h2) / N
  trace: +(h^2/2) tr(A^2) / N                 = (trace - trace_h2) / N
(gap = method - exact, so a positive gap means the local method overstates
log|det J|). Usage: summarize.py DIR SWEEP WEIGHTS K R_REQUESTED SCALE"""
import json, sys

d, sweep, wts, k, r, g = sys.argv[1:7]
j = json.load(open(f'{d}/logdet.json'))
m = j['methods']
pred_d = m['diag']['mean_value_per_node'] - m['diag_h2']['mean_value_per_node']
pred_t = m['trace']['mean_value_per_node'] - m['trace_h2']['mean_value_per_node']
net, dyn = j['network'], j['dynamics']
for name in ('diag', 'trace', 'diag_h2', 'trace_h2', 'sparse'):
    s = m[name]
    print(','.join(str(x) for x in (sweep, wts, net['N'], k, r, net['reciprocity_measured'], g, dyn['h'], dyn['K'], j['samples'], name,
                                    s['mean_gap_per_node'], s['sd_gap_per_node'], s['mean_value_per_node'], s['mean_seconds'], pred_d, pred_t)))
