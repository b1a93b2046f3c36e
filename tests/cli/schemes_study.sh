#!/bin/bash
# docs/schemes/study.sh as docs/schemes.md shows it, at N = 900
# (STUDY_SMALL=1): every case runs on 1 and 2 ranks, the two rank counts give
# the same log Phi, and the continuous scheme is nearer the flow than sync
# and colored at the same cost.
# Usage: schemes_study.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"
root=$(cd "$(dirname "$0")/../.." && pwd)
STUDY_SMALL=1 bash "$root/docs/schemes/study.sh" "$(dirname "$TENOR")" >"$W/results.csv" 2>"$W/study.log" || { cat "$W/study.log"; exit 1; }
python3 - "$W/results.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
fail = 0
if len(rows) != 40:
    print(f"FAIL {len(rows)} rows, expected 40"); fail = 1
by = {(r["net"], r["ranks"], r["case"]): r for r in rows}
for (net, ranks, case), r in by.items():
    o = by.get((net, "2" if ranks == "1" else "1", case))
    a, b = float(r["logphi_mean"]), float(o["logphi_mean"])
    if abs(a - b) > 1e-9 * abs(b):
        print(f"FAIL {net} {case}: 1 and 2 ranks differ: {a} {b}"); fail = 1
for net in ("lattice2d", "er"):
    rk4 = float(by[(net, "1", "continuous_rk4_K10")]["err_max_nats_per_dim"])
    for other in ("sync_diag_K40", "colored_K40", "sync_trace_K40"):
        e = float(by[(net, "1", other)]["err_max_nats_per_dim"])
        if not rk4 < 1e-3 * e:
            print(f"FAIL {net}: continuous RK4 K = 10 error {rk4} not far below {other} {e}"); fail = 1
print("ok   schemes study (small)" if not fail else "FAIL schemes study")
sys.exit(fail)
PY
