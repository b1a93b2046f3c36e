#!/bin/bash
# bench/costmodel.py's closed form of a lattice2d block partition
# (lattice_parts): exact against an independent count over the lattice for
# partitions into square blocks (radius 1 and 2: halo, off-part synapses,
# neighbour parts, corners included), and within its stated error against
# a real partition of tenor partition (lattice-check: mean halo within 15%,
# mean neighbour parts within 1 of the model's 6). Usage:
# costmodel_lattice.sh TENOR WORKDIR
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
TENOR=$(readlink -f "$1"); W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
say() { if [ "$1" = ok ]; then echo "ok   $2"; else echo "FAIL $2"; fail=1; fi; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1

# exact: n x n periodic lattice in a b x b grid of square blocks, counted
python3 - "$SRC/bench" <<'PY' && say ok "lattice_parts equals a count over square-block partitions (radius 1, 2, 2.5; P = 16, 36, 64)" || say fail "lattice_parts differs from the count"
import sys
sys.path.insert(0, sys.argv[1])
import costmodel as cm
bad = 0
for n, b, r in ((24, 4, 1), (24, 6, 1), (32, 8, 2), (30, 6, 2.5)):
    s, P = n // b, b * b
    part = lambda i, j: (i // s) * b + (j // s)
    st = cm.lattice_stencil(r)
    ghosts, off, nbrs = {}, {}, {}
    for i in range(n):
        for j in range(n):
            p = part(i, j)
            for dx, dy in st:
                q = part((i + dx) % n, (j + dy) % n)
                if q != p:
                    ghosts.setdefault(p, set()).add(((i + dx) % n, (j + dy) % n))
                    off[p] = off.get(p, 0) + 1
                    nbrs.setdefault(p, set()).add(q)
    h = sum(len(v) for v in ghosts.values()) / P
    o = sum(off.values()) / P
    d = sum(len(v) for v in nbrs.values()) / P
    m = cm.lattice_parts(n * n, r, P)[-1]  # a typical part
    print(f"n {n} P {P} radius {r}: halo {h} model {m['halo']}, off-part synapses {o} model {m['offsynapses']}, neighbours {d} (a grid of squares: 4 + 4 corners at radius > 1) model {m['neighbours']}")
    if abs(h - m["halo"]) > 1e-9 or abs(o - m["offsynapses"]) > 1e-9:
        bad = 1
    # a grid of squares has 4 neighbours (8 when the stencil reaches round
    # corners); a partitioner's staggered parts 6 on average (the model's)
    if d != (4 if r < 2 else 8):
        bad = 1
sys.exit(bad)
PY

# a real partition: lattice-check within the documented error
mpirun -n 1 "$TENOR" partition -net_n 64 -partition_sizes 16,64 -out_dir p >p.log 2>&1 || { cat p.log; exit 1; }
python3 "$SRC/bench/costmodel.py" lattice-check p --out check.csv >check.log 2>&1 || { cat check.log; exit 1; }
cat check.log
python3 - check.csv <<'PY' && say ok "lattice-check: mean halo within 15% and mean neighbours within 1 of the closed form (P = 16, 64 of the 64 x 64 lattice)" || say fail "lattice-check outside the stated error"
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if int(r["P"]) > 1]
ok = len(rows) == 2 and all(abs(float(r["halo_mean_over_model"]) - 1) <= 0.15 and abs(float(r["neighbours_mean"]) - float(r["neighbours_model"])) <= 1 for r in rows)
sys.exit(0 if ok else 1)
PY
exit $fail
