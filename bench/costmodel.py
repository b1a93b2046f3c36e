#!/usr/bin/env python3
"""A model of the cost of one step of the dynamics on P ranks (docs/scaling.md).

For each part q of a real partition (the per-part statistics `tenor partition`
writes: rows n_q, synapses z_q, halo h_q ghost columns, neighbour parts d_q,
and, when given, the synapses with an off-part column o_q):

  kernel bytes   Q_q = z_q (8 + 4) + n_q 4 2 + n_q 3 8 + B n_q 8 4 + h_q B 8 2
                 (bench_step's formula: matrix values and column indices,
                 row pointers, gamma/b/W_ii, the state, the halo buffers)
  kernel time    T_q = Q_q / min(r, m): r the kernel rate in bytes/s of one
                 rank alone, measured by bench_step at 1 rank for this network
                 type, B and scheme, at the per-rank size z_q (log-log
                 interpolation between the measured sizes: the rate depends on
                 what fits in cache); m = the node's triad bandwidth / ranks per
                 node, the share of the memory bus each rank gets when all run
                 (a roofline: a rank is limited by its core or by its share)
  one exchange   X_q = d_q lat + h_q B 8 / bw   (every message at network cost)
  sync step      S_q = max(T_q (z_q - o_q)/z_q, X_q) + T_q o_q/z_q
                 (the code overlaps the on-process rows with the exchange)
  colored step   the same per colour, with the whole ghost vector exchanged
                 once per colour (what the code does): sum over c colours of
                 max(T_q (z_q - o_q)/(c z_q), X_q) + T_q o_q/(c z_q)
  step on P      max_q S_q + 2 log2(P) lat / K  (the evaluation's Allreduce,
                 amortised over K steps)

o_q defaults to h_q when the statistics do not give it (each ghost column
feeds at least one synapse; exactly one on a lattice, almost always one on a
sparse random graph).

Commands:
  costmodel.py validate --step1 S1.json [S1b.json ...] --step2 S2.json
        --comm C.json --parts2 NET=DIR ...
      predicts bench_step's 2-rank step times from its 1-rank rates, the 2-rank
      triad, the ping-pong and the 2-part statistics, and prints the ratios.
  costmodel.py project --step1 S1.json [...] --series NAME=SOURCE ... [--B 1]
        [--scheme sync] [--node-triad 340e9 --ranks-per-node 120
        --latency 1.3e-6 --net-bw 12.5e9] --out DIR
      a series per NAME: real partitions (DIR: every P tenor partition wrote
      there; several DIRs for weak scaling, one N per P) or the closed form of
      a random er partition (er:N:k:P1,P2,... or er:weak<n>:k:...); writes
      OUT/projection.csv (+ .png with matplotlib). Efficiency = updates/s per
      rank against the series' smallest P (strong or weak alike). --B and
      --scheme take comma-separated lists (every combination is projected).
  costmodel.py predict --step1 S1.json [...] [cluster options] --summaries SUMMARY.json ...
      the model's time per step for runs tenor logdensity made (their
      summary.json: P, N, nnz, imbalance, halo and neighbour maxima, edge
      cut, B, scheme, K); one line per file: path, model s/step. Used by
      jobs/scaling.sh beside each measured series.
  costmodel.py er-check --N N --k K DIR [--out CSV]
      the closed form of er_parts against the real partitions of that er
      network in DIR (tenor partition's partition_stats.csv): halo and
      neighbour parts per part, predicted and real, for every P.
  costmodel.py lattice-check [--radius R] [--step1 S1.json ... --B 1,16
        --scheme sync,colored] DIR [DIR ...] [--out CSV]
      the closed form of lattice_parts (square blocks or strips) against the
      real partitions of lattice2d networks in the DIRs (N from each
      partition): halo, neighbour parts and edge cut, predicted and real;
      with --step1, the step time from the closed form over the step time
      from the real per-part statistics.

Rates: bench_step measures B = 1 and 16 for lattice2d and er (k = 32). A
(net, B, scheme) without its own rate takes the measured B nearest in log B
(a note says so), and an er network of another k the k = 32 rate at its
synapses per rank (the rate is a function of synapses per rank).
"""
import argparse
import csv
import glob
import json
import math
import os
import re
import sys

SW, IW = 8, 4  # sizeof(PetscScalar), sizeof(PetscInt)


def kernel_bytes(rows, syn, halo, B):
    return syn * (SW + IW) + rows * IW * 2 + rows * 3 * SW + B * rows * SW * 4 + halo * B * SW * 2


def read_parts(path):
    """Per-part statistics of one partition: a list of dicts of floats."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    need = ("part", "rows", "synapses", "halo", "neighbours")
    if not rows or any(k not in rows[0] for k in need):
        sys.exit(f"costmodel: {path}: expected the columns {','.join(need)} (tenor partition's partition_P<P>_parts.csv)")
    out = []
    for r in rows:
        d = {k: float(r[k]) for k in need}
        d["offsynapses"] = float(r["offsynapses"]) if r.get("offsynapses") not in (None, "") else d["halo"]
        out.append(d)
    return out


def parts_in(directory):
    """{P: parts} for every partition_P<P>_parts.csv in a directory."""
    found = {}
    for p in glob.glob(os.path.join(directory, "partition_P*_parts.csv")):
        m = re.search(r"partition_P(\d+)_parts\.csv$", p)
        if m:
            found[int(m.group(1))] = read_parts(p)
    if not found:
        sys.exit(f"costmodel: no partition_P<P>_parts.csv in {directory} (run tenor partition -out_dir {directory})")
    return dict(sorted(found.items()))


class Rates:
    """Kernel rates (bytes/s per rank) measured by bench_step at 1 rank, by
    (net, B, scheme), as a function of synapses per rank."""

    def __init__(self, files):
        self.pts, self.colors, self.triad, self.notes = {}, {}, None, set()
        for fn in files:
            r = json.load(open(fn))
            if r.get("ranks") != 1:
                sys.exit(f"costmodel: {fn}: the rates come from 1-rank bench_step runs (this one has {r.get('ranks')} ranks)")
            tri = r["triad"]["GBps"] * 1e9
            self.triad = tri if self.triad is None else max(self.triad, tri)
            for c in r["cases"]:
                key = (c["net"], c["B"], c["scheme"])
                self.pts.setdefault(key, []).append((c["nnz"], c["bytes_per_step"] / c["step_s_best"]))
                self.colors[key] = c["colors"]
        for k in self.pts:
            self.pts[k].sort()

    def key(self, net, B, scheme):
        """(net, B, scheme) with a measured rate: B itself, else the measured
        B nearest in log B (None if the net and scheme have none)."""
        if (net, B, scheme) in self.pts:
            return (net, B, scheme)
        bs = [k[1] for k in self.pts if k[0] == net and k[2] == scheme]
        if not bs:
            return None
        b = min(bs, key=lambda x: abs(math.log(x) - math.log(max(B, 1))))
        msg = f"costmodel: note: no bench_step rate at B = {B} for {net} {scheme}: using B = {b}'s"
        if msg not in self.notes:
            self.notes.add(msg)
            print(msg, file=sys.stderr)
        return (net, b, scheme)

    def rate(self, net, B, scheme, syn):
        key = self.key(net, B, scheme)
        if key is None:
            sys.exit(f"costmodel: no bench_step rate for net {net}, scheme {scheme} (bench_step measures lattice2d and er)")
        p = self.pts[key]
        if syn <= p[0][0]:
            return p[0][1]
        if syn >= p[-1][0]:
            return p[-1][1]
        for (z0, r0), (z1, r1) in zip(p, p[1:]):
            if z0 <= syn <= z1:
                t = (math.log(syn) - math.log(z0)) / (math.log(z1) - math.log(z0))
                return math.exp(math.log(r0) + t * (math.log(r1) - math.log(r0)))
        return p[-1][1]


def step_time(parts, rates, net, B, scheme, lat, bw, share, K=100, colors=None):
    """Seconds per step on len(parts) ranks; also the slowest part's terms."""
    P = len(parts)
    nc = colors if colors is not None else (rates.colors.get(rates.key(net, B, scheme), 1) if scheme == "colored" else 1)
    worst, terms = 0.0, None
    for q in parts:
        z = max(q["synapses"], 1.0)
        T = kernel_bytes(q["rows"], q["synapses"], q["halo"], B) / min(rates.rate(net, B, scheme, z), share)
        X = (q["neighbours"] * lat + q["halo"] * B * SW / bw) if P > 1 else 0.0
        off = min(q["offsynapses"], z) / z
        per = max(T * (1 - off) / nc, X) + T * off / nc
        S = nc * per
        if S > worst:
            worst, terms = S, {"kernel_s": T, "exchange_s": X, "exchanges": nc, "part": q["part"]}
    red = 2 * math.log2(P) * lat / K if P > 1 else 0.0
    return worst + red, terms


def cmd_validate(a):
    rates = Rates(a.step1)
    r2 = json.load(open(a.step2))
    comm = json.load(open(a.comm))
    lat, bw = comm["latency_s"], comm["bandwidth_Bps"]
    parts = {}
    for spec in a.parts2:
        net, d = spec.split("=", 1)
        allp = parts_in(d)
        if 2 not in allp:
            sys.exit(f"costmodel: {d} has no 2-part partition (partition_P2_parts.csv)")
        parts[net] = allp[2]
    # each rank's share of the memory bus when both run: the 2-rank triad / 2
    share = r2["triad"]["GBps"] * 1e9 / 2
    print(f"triad: 1 rank {rates.triad / 1e9:.2f} GB/s, 2 ranks {r2['triad']['GBps']:.2f} GB/s (share per rank {share / 1e9:.2f} GB/s); ping-pong latency {lat * 1e6:.2f} us, bandwidth {bw / 1e9:.2f} GB/s")
    print(f"{'net':10} {'B':>3} {'scheme':8} {'measured s':>11} {'model s':>10} {'model/meas':>10} {'kernel s':>9} {'exch s':>9}")
    rows, worst = [], 0.0
    for c in r2["cases"]:
        if c["net"] not in parts:
            continue
        t, terms = step_time(parts[c["net"]], rates, c["net"], c["B"], c["scheme"], lat, bw, share, K=c["K"], colors=c["colors"])
        ratio = t / c["step_s_best"]
        worst = max(worst, abs(ratio - 1))
        rows.append({"net": c["net"], "B": c["B"], "scheme": c["scheme"], "measured_s": c["step_s_best"], "model_s": t, "ratio": ratio, **terms})
        print(f"{c['net']:10} {c['B']:>3} {c['scheme']:8} {c['step_s_best']:>11.4g} {t:>10.4g} {ratio:>10.3f} {terms['kernel_s']:>9.3g} {terms['exchange_s']:>9.3g}")
    if a.out:
        json.dump({"cases": rows, "max_relative_error": worst, "latency_s": lat, "bandwidth_Bps": bw, "share_Bps": share}, open(a.out, "w"), indent=1)
    print(f"largest |model/measured - 1| = {worst:.3f}")


def er_parts(N, k, P):
    """Expected per-part statistics of an er network (in-degree k, columns
    uniform over the other nodes) cut into P equal parts at random, which is
    what any partitioner reaches on such a graph within a few per cent: a part
    of n = N/P rows has z = n k synapses, o = z (N - n)/(N - 1) of them
    off-part; its halo is the number of distinct off-part columns among o
    uniform draws from N - n, E = (N - n)(1 - (1 - 1/(N - n))^o), and its
    neighbour parts the distinct parts among them, (P - 1)(1 - (1 - 1/(P - 1))^o)."""
    n = N / P
    z = n * k
    if P == 1:
        return [{"part": 0, "rows": n, "synapses": z, "halo": 0.0, "neighbours": 0.0, "offsynapses": 0.0}]
    o = z * (N - n) / (N - 1)
    h = (N - n) * (1 - math.exp(o * math.log1p(-1 / (N - n))))
    d = (P - 1) * (1 - math.exp(o * math.log1p(-1 / (P - 1)))) if P > 2 else 1.0
    return [{"part": q, "rows": n, "synapses": z, "halo": h, "neighbours": d, "offsynapses": o} for q in range(P)]


# the slowest part of a real lattice partition against the mean part: halo
# max/mean 1.49 (N = 10^6) and 1.49 (1024 rows per part), neighbours max 10
# and 11, in Scotch's partitions into P = 256 parts (bench/results/costmodel)
LATTICE_HALO_MAX_OVER_MEAN = 1.5
LATTICE_NEIGHBOURS_MAX = 10


def lattice_stencil(radius):
    """The offsets (dx, dy) a lattice2d node receives from: 0 < dx^2 + dy^2 <= radius^2."""
    R = int(math.floor(radius + 1e-12))
    return [(dx, dy) for dx in range(-R, R + 1) for dy in range(-R, R + 1) if 0 < dx * dx + dy * dy <= radius * radius + 1e-12]


def lattice_parts(N, radius, P, self_loops=True):
    """Per-part statistics of the periodic lattice2d network (N = n^2 nodes,
    the stencil of lattice_stencil) cut into P equal compact blocks, the shape
    a graph partitioner approaches on a lattice. Across a straight cut a part
    sees R = floor(radius) layers of ghosts, and L = sum of dy over the
    stencil's offsets with dy > 0 synapses cross it per unit of length. A part
    is the better (fewer cut synapses) of
      a square block of side s = sqrt(N/P): halo h = 4 R s + 4 c, off-part
        synapses o = 4 L s - D (c = the stencil's offsets with dx, dy >= 1,
        the ghosts beyond each corner; D = sum of |dx dy| over the stencil:
        offset (dx, dy) leaves the block from s^2 - (s - |dx|)(s - |dy|) of
        its nodes);
      a strip n x n/P (two cuts on the torus): h = 2 R n, o = 2 L n
    (strips win for P < 4). Neighbour parts: P - 1 up to 4 parts (strips: 2);
    beyond, 6, the mean degree of a map of P regions on a torus whose
    junctions join three regions (Euler: V - E + P = 0 and 3 V = 2 E give
    2 E / P = 6).
    A partitioner's parts are not all alike: beyond 4 parts the slowest part
    (part 0, the one a step waits for) has LATTICE_HALO_MAX_OVER_MEAN times the
    halo and off-part synapses and LATTICE_NEIGHBOURS_MAX neighbour parts, the
    largest of Scotch's partitions at P = 256 (docs/scaling.md)."""
    st = lattice_stencil(radius)
    per = len(st) + (1 if self_loops else 0)
    n = math.sqrt(N)
    rows = N / P
    if P == 1:
        return [{"part": 0, "rows": rows, "synapses": rows * per, "halo": 0.0, "neighbours": 0.0, "offsynapses": 0.0}]
    R = max(abs(dy) for _, dy in st)
    L = sum(dy for _, dy in st if dy > 0)
    c = sum(1 for dx, dy in st if dx >= 1 and dy >= 1)
    D = sum(abs(dx * dy) for dx, dy in st)
    s = math.sqrt(rows)
    square = (4 * R * s + 4 * c, 4 * L * s - D)
    strip = (2 * R * n, 2 * L * n)
    h, o = strip if strip[1] < square[1] else square
    d = float(min(P - 1, 2 if strip[1] < square[1] else 6))
    parts = [{"part": q, "rows": rows, "synapses": rows * per, "halo": h, "neighbours": d, "offsynapses": o} for q in range(P)]
    if P > 4 and square[1] <= strip[1]:
        f = LATTICE_HALO_MAX_OVER_MEAN
        parts[0].update(halo=f * h, offsynapses=min(f * o, rows * per), neighbours=float(min(P - 1, LATTICE_NEIGHBOURS_MAX)))
    return parts


def series_points(spec):
    """NAME=DIR[,DIR...] (real partitions: every partition_P<P>_parts.csv in
    the directories), NAME=er:N:k:P1,P2,... (the closed form of er_parts) or
    NAME=lattice:N:radius:P1,P2,... (the closed form of lattice_parts); N may
    be 'weak<n>' for N = n P."""
    name, src = spec.split("=", 1)
    pts = {}
    if src.startswith("er:") or src.startswith("lattice:"):
        kind, Ns, ks, Ps = src.split(":")
        for P in (int(x) for x in Ps.split(",")):
            N = int(float(Ns[4:])) * P if Ns.startswith("weak") else int(float(Ns))
            pts[P] = ("closed form", er_parts(N, int(ks), P) if kind == "er" else lattice_parts(N, float(ks), P))
    else:
        for d in src.split(","):
            for P, parts in parts_in(d).items():
                pts[P] = (d, parts)
    return name, dict(sorted(pts.items()))


def cmd_project(a):
    rates = Rates(a.step1)
    share = a.node_triad / a.ranks_per_node
    os.makedirs(a.out, exist_ok=True)
    rows = []
    combos = [(int(B), sch) for sch in a.scheme.split(",") for B in str(a.B).split(",")]
    for spec, (B, scheme) in ((sp, c) for c in combos for sp in a.series):
        name, pts = series_points(spec)
        net = a.net.get(name, name.split("-")[0]) if a.net else name.split("-")[0]
        base = None
        for P, (src, parts) in pts.items():
            t, terms = step_time(parts, rates, net, B, scheme, a.latency, a.net_bw, share, K=a.K)
            nnz = sum(q["synapses"] for q in parts)
            N = sum(q["rows"] for q in parts)
            if base is None:
                base = (P, t, N)
            weak = abs(N / P - base[2] / base[0]) > 0.05 * base[2] / base[0]
            # efficiency: updates/s per rank against the series' smallest P
            eff = (nnz * B / t / P) / (sum(q["synapses"] for q in pts[base[0]][1]) * B / base[1] / base[0])
            rows.append({"series": name, "net": net, "source": src, "ranks": P, "N": int(round(N)), "nnz": int(round(nnz)), "B": B, "scheme": scheme,
                         "time_per_step_s": t, "synaptic_updates_per_s": nnz * B / t, "parallel_efficiency": eff, "scaling": "weak" if weak else "strong",
                         "kernel_s": terms["kernel_s"], "exchange_s": terms["exchange_s"], "exchanges_per_step": terms["exchanges"]})
    path = os.path.join(a.out, "projection.csv")
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    print(f"costmodel: {len(rows)} projections in {path}")
    for r in rows:
        print(f"  {r['series']:16} {r['scheme']:7} B={r['B']:<2} P={r['ranks']:>5} {r['time_per_step_s']:.3g} s/step  {r['synaptic_updates_per_s']:.3g} updates/s  efficiency {r['parallel_efficiency']:.2f}  (kernel {r['kernel_s']:.2g} s, exchange {r['exchange_s']:.2g} s x {r['exchanges_per_step']})")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("costmodel: matplotlib not available: no plot (run with /usr/bin/python3)")
        return
    nc = len(combos)
    fig, ax = plt.subplots(2, nc, figsize=(4.5 * nc, 7), squeeze=False)
    for j, (B, scheme) in enumerate(combos):
        for net in dict.fromkeys(r["series"] for r in rows):
            rr = [r for r in rows if r["series"] == net and r["B"] == B and r["scheme"] == scheme]
            ax[0][j].loglog([r["ranks"] for r in rr], [r["synaptic_updates_per_s"] for r in rr], "o-", ms=3, label=net)
            ax[1][j].semilogx([r["ranks"] for r in rr], [r["parallel_efficiency"] for r in rr], "o-", ms=3, label=net)
        ax[0][j].set_title(f"{scheme}, B = {B}")
        ax[1][j].set_xlabel("ranks P")
        ax[1][j].set_ylim(0, 1.05)
    ax[0][0].set_ylabel("synaptic updates / s")
    ax[1][0].set_ylabel("parallel efficiency")
    ax[0][0].legend(fontsize=7)
    fig.suptitle(f"model: node triad {a.node_triad / 1e9:.0f} GB/s / {a.ranks_per_node} ranks, latency {a.latency * 1e6:.1f} us, {a.net_bw / 1e9:.1f} GB/s")
    fig.tight_layout()
    png = os.path.join(a.out, "projection.png")
    fig.savefig(png, dpi=100)
    print(f"costmodel: plot in {png}")


def summary_parts(s):
    """Parts of a tenor logdensity run, from its summary.json: the slowest
    part has the largest rows and synapses (mean times the imbalance), the
    largest halo and neighbour count, and the mean off-part synapses."""
    n, P = s["network"], max(int(s["ranks"]), 1)
    if P == 1:
        return [{"part": 0, "rows": n["N"], "synapses": n["nnz"], "halo": 0.0, "neighbours": 0.0, "offsynapses": 0.0}]
    nb = n.get("neighbours_max", min(P - 1, n.get("halo_max", P - 1)))
    q = {"part": 0, "rows": n["N"] / P * n.get("imbalance_rows", 1.0), "synapses": n["nnz"] / P * n.get("imbalance_nnz", 1.0),
         "halo": float(n.get("halo_max", 0)), "neighbours": float(nb), "offsynapses": n.get("edge_cut", 0) / P}
    return [dict(q, part=i) for i in range(P)]


def cmd_predict(a):
    rates = Rates(a.step1)
    share = a.node_triad / a.ranks_per_node
    for fn in a.summaries:
        try:
            s = json.load(open(fn))
            d = s["dynamics"]
            net = s["network"]["type"]
            if rates.key(net, int(d["batch"]), d["scheme"]) is None:
                print(f"{fn} nan no-rate-for-{net}-{d['scheme']}")
                continue
            t, _ = step_time(summary_parts(s), rates, net, int(d["batch"]), d["scheme"], a.latency, a.net_bw, share, K=int(d["K"]),
                             colors=int(d.get("colors", 1)) if d["scheme"] == "colored" else None)
            print(f"{fn} {t:.6g}")
        except (OSError, ValueError, KeyError) as e:
            print(f"{fn} nan {type(e).__name__}")


def cmd_er_check(a):
    """Closed form against the real partitions of an er network."""
    with open(os.path.join(a.dir, "partition_stats.csv"), newline="") as f:
        stats = {int(r["P"]): r for r in csv.DictReader(f)}
    rows = []
    for P, r in sorted(stats.items()):
        q = er_parts(a.N, a.k, P)[0]
        rows.append({"P": P, "halo_model": q["halo"], "halo_min": float(r["halo_min"]), "halo_mean": float(r["halo_mean"]), "halo_max": float(r["halo_max"]),
                     "halo_mean_over_model": float(r["halo_mean"]) / q["halo"] if q["halo"] else float("nan"),
                     "neighbours_model": q["neighbours"], "neighbours_min": float(r["neighbours_min"]), "neighbours_mean": float(r["neighbours_mean"]), "neighbours_max": float(r["neighbours_max"]),
                     "edge_cut_model": q["offsynapses"] * P, "edge_cut": float(r["edge_cut"])})
    print(f"er N = {a.N}, k = {a.k}: closed form (random cut) against the partitions in {a.dir}")
    print(f"{'P':>5} {'halo model':>11} {'real min/mean/max':>24} {'mean/model':>10} {'nbrs model':>10} {'real min/mean/max':>18} {'cut model':>10} {'cut real':>9}")
    for r in rows:
        print(f"{r['P']:>5} {r['halo_model']:>11.1f} {r['halo_min']:>7.0f}/{r['halo_mean']:>8.1f}/{r['halo_max']:>7.0f} {r['halo_mean_over_model']:>10.3f} {r['neighbours_model']:>10.2f} {r['neighbours_min']:>5.0f}/{r['neighbours_mean']:>6.2f}/{r['neighbours_max']:>5.0f} {r['edge_cut_model']:>10.0f} {r['edge_cut']:>9.0f}")
    if a.out and rows:
        with open(a.out, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            w.writeheader()
            w.writerows(rows)


def cmd_lattice_check(a):
    """Closed form (lattice_parts) against real partitions of lattice2d
    networks: every P of every DIR, N read off the partition (P x mean rows).
    With --step1, also the model's step time from the closed form against the
    one from the real per-part statistics (the slowest part), per (B, scheme)."""
    rates = Rates(a.step1) if a.step1 else None
    share = a.node_triad / a.ranks_per_node
    combos = [(int(B), sch) for sch in a.scheme.split(",") for B in str(a.B).split(",")]
    rows = []
    for d in a.dirs:
        with open(os.path.join(d, "partition_stats.csv"), newline="") as f:
            stats = {int(r["P"]): r for r in csv.DictReader(f)}
        real = parts_in(d)
        for P, r in sorted(stats.items()):
            N = round(float(r["rows_mean"]) * P)
            qs = lattice_parts(N, a.radius, P)
            q = qs[-1]  # a typical part (part 0 is the slowest)
            row = {"dir": d, "P": P, "N": N, "halo_model": q["halo"], "halo_min": float(r["halo_min"]), "halo_mean": float(r["halo_mean"]), "halo_max": float(r["halo_max"]),
                   "halo_mean_over_model": float(r["halo_mean"]) / q["halo"] if q["halo"] else float("nan"),
                   "halo_max_model": qs[0]["halo"], "halo_max_over_model": float(r["halo_max"]) / qs[0]["halo"] if q["halo"] else float("nan"),
                   "neighbours_max_model": qs[0]["neighbours"],
                   "neighbours_model": q["neighbours"], "neighbours_min": float(r["neighbours_min"]), "neighbours_mean": float(r["neighbours_mean"]), "neighbours_max": float(r["neighbours_max"]),
                   "edge_cut_model": sum(x["offsynapses"] for x in qs), "edge_cut": float(r["edge_cut"])}
            if rates and P in real:
                for B, sch in combos:
                    tm, _ = step_time(lattice_parts(N, a.radius, P), rates, "lattice2d", B, sch, a.latency, a.net_bw, share, K=a.K)
                    tr, _ = step_time(real[P], rates, "lattice2d", B, sch, a.latency, a.net_bw, share, K=a.K)
                    row[f"step_model_over_real_{sch}_B{B}"] = tm / tr
            rows.append(row)
    print(f"lattice2d, radius {a.radius:g}: closed form (square blocks, or strips) against the partitions in {', '.join(a.dirs)}")
    steps = [k for k in rows[0] if k.startswith("step_")] if rows else []
    print(f"{'P':>5} {'N':>8} {'halo model mean/max':>19} {'real min/mean/max':>20} {'mean/model':>10} {'max/model':>9} {'nbrs model':>10} {'real min/mean/max':>17} {'cut model':>10} {'cut real':>9}" + "".join(f" {k[21:]:>12}" for k in steps))
    for r in rows:
        print(f"{r['P']:>5} {r['N']:>8} {r['halo_model']:>9.1f}/{r['halo_max_model']:>9.1f} {r['halo_min']:>5.0f}/{r['halo_mean']:>7.1f}/{r['halo_max']:>6.0f} {r['halo_mean_over_model']:>10.3f} {r['halo_max_over_model']:>9.3f} {r['neighbours_model']:>4.0f}/{r['neighbours_max_model']:>5.0f} {r['neighbours_min']:>4.0f}/{r['neighbours_mean']:>6.2f}/{r['neighbours_max']:>5.0f} {r['edge_cut_model']:>10.0f} {r['edge_cut']:>9.0f}"
              + "".join(f" {r.get(k, float('nan')):>12.3f}" for k in steps))
    multi = [r for r in rows if r["P"] > 1]
    if multi:
        hm = [r["halo_mean_over_model"] for r in multi]
        hx = [r["halo_max_over_model"] for r in multi]
        print(f"real / model over {len(multi)} partitions (P > 1): halo mean {min(hm):.3f} .. {max(hm):.3f}, halo max {min(hx):.3f} .. {max(hx):.3f}")
        for k in steps:
            v = [r[k] for r in multi if k in r]
            print(f"step time, closed form / real partition, {k[21:]}: {min(v):.3f} .. {max(v):.3f}")
    if a.out and rows:
        keys = list(dict.fromkeys(k for r in rows for k in r))
        with open(a.out, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys)
            w.writeheader()
            w.writerows(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("validate")
    v.add_argument("--step1", nargs="+", required=True)
    v.add_argument("--step2", required=True)
    v.add_argument("--comm", required=True)
    v.add_argument("--parts2", nargs="+", required=True, metavar="NET=DIR")
    v.add_argument("--out")
    p = sub.add_parser("project")
    p.add_argument("--step1", nargs="+", required=True)
    p.add_argument("--series", nargs="+", required=True, metavar="NAME=SOURCE",
                   help="NAME=DIR[,DIR...] (tenor partition outputs) or NAME=er:N:k:P1,P2,... (closed form; N = weak<n> for n per rank); NAME's part before '-' is the network type of the bench_step rates unless --net maps it")
    p.add_argument("--net", type=lambda x: dict(kv.split("=", 1) for kv in x.split(",")), default=None, help="NAME=NETTYPE,... for series names that are not network types")
    p.add_argument("--B", default="1", help="batch size(s), comma-separated")
    p.add_argument("--scheme", default="sync", help="sync, colored or both, comma-separated")
    p.add_argument("--K", type=int, default=100)
    p.add_argument("--out", required=True)
    r = sub.add_parser("predict")
    r.add_argument("--step1", nargs="+", required=True)
    r.add_argument("--summaries", nargs="+", required=True, metavar="SUMMARY.json")
    for q in (p, r):
        q.add_argument("--node-triad", type=float, default=340e9)
        q.add_argument("--ranks-per-node", type=int, default=120)
        q.add_argument("--latency", type=float, default=1.3e-6)
        q.add_argument("--net-bw", type=float, default=12.5e9)
    e = sub.add_parser("er-check")
    e.add_argument("--N", type=int, required=True)
    e.add_argument("--k", type=int, required=True)
    e.add_argument("dir")
    e.add_argument("--out")
    lc = sub.add_parser("lattice-check")
    lc.add_argument("--radius", type=float, default=1.0)
    lc.add_argument("--step1", nargs="+")
    lc.add_argument("--B", default="1")
    lc.add_argument("--scheme", default="sync")
    lc.add_argument("--K", type=int, default=100)
    lc.add_argument("--node-triad", type=float, default=340e9)
    lc.add_argument("--ranks-per-node", type=int, default=120)
    lc.add_argument("--latency", type=float, default=1.3e-6)
    lc.add_argument("--net-bw", type=float, default=12.5e9)
    lc.add_argument("dirs", nargs="+")
    lc.add_argument("--out")
    a = ap.parse_args()
    {"validate": cmd_validate, "project": cmd_project, "predict": cmd_predict, "er-check": cmd_er_check, "lattice-check": cmd_lattice_check}[a.cmd](a)


if __name__ == "__main__":
    main()
