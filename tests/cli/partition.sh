#!/bin/bash
# tenor partition: its files for every P, the per-part statistics and the
# summary against an independent count over W's MatrixMarket file and the
# partition files (python), reproducibility (two runs, 1 and 2 processes:
# identical partitions), the statistics equal to what the runtime reports
# when it runs on the partition (-partition_file), P up to 4096, bad input
# (one error each), no output through a symbolic link, and the plot script
# when matplotlib is installed. Usage: partition.sh TENOR WORKDIR
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
say() { if [ "$1" = ok ]; then echo "ok   $2"; else echo "FAIL $2"; fail=1; fi; }

# a non-symmetric W with self-loops and some isolated-looking rows
python3 - <<'PY'
import random
random.seed(5)
N = 300
e = set()
for i in range(N):
    if i % 3 == 0:
        e.add((i, i))
    for j in random.sample(range(N), random.randint(0, 7)):
        e.add((i, j))
with open("w.mtx", "w") as f:
    f.write("%%%%MatrixMarket matrix coordinate real general\n%d %d %d\n" % (N, N, len(e)))
    for i, j in sorted(e):
        f.write("%d %d %.6f\n" % (i + 1, j + 1, random.uniform(-0.1, 0.1)))
PY
SIZES=1,2,3,7,16
mpirun -n 1 "$TENOR" partition -net_W w.mtx -partition_sizes $SIZES -out_dir a >a.log 2>&1 || { cat a.log; exit 1; }
mpirun -n 2 --oversubscribe "$TENOR" partition -net_W w.mtx -partition_sizes $SIZES -out_dir b >b.log 2>&1 || { cat b.log; exit 1; }
mpirun -n 1 "$TENOR" partition -net_W w.mtx -partition_sizes $SIZES -out_dir c >c.log 2>&1 || { cat c.log; exit 1; }

# 1. the files and an independent count
python3 - w.mtx a $SIZES <<'PY' && say ok "files and statistics for P = $SIZES equal a count over w.mtx and the partitions" || say fail "statistics differ from the count"
import csv, json, sys
rows = [l.split() for l in open(sys.argv[1]) if not l.startswith("%")][1:]
N = 300
cols = [[] for i in range(N)]
for r in rows:
    cols[int(r[0]) - 1].append(int(r[1]) - 1)
d = sys.argv[2]
summary = {int(r["P"]): r for r in csv.DictReader(open(d + "/partition_stats.csv"))}
js = {p["P"]: p for p in json.load(open(d + "/partition_stats.json"))["partitions"]}
bad = 0
for P in map(int, sys.argv[3].split(",")):
    part = [int(l) for l in open("%s/partition_P%d.txt" % (d, P))]
    if len(part) != N or min(part) < 0 or max(part) >= P:
        print("  P=%d: partition file of %d lines, parts %d..%d" % (P, len(part), min(part), max(part))); bad = 1; continue
    nrows, syn, halo, nbrs, off, cut = [0] * P, [0] * P, [set() for q in range(P)], [set() for q in range(P)], [0] * P, 0
    for i in range(N):
        q = part[i]; nrows[q] += 1; syn[q] += len(cols[i])
        for j in cols[i]:
            if part[j] != q:
                cut += 1; off[q] += 1; halo[q].add(j); nbrs[q].add(part[j])
    want = [[q, nrows[q], syn[q], len(halo[q]), len(nbrs[q]), off[q]] for q in range(P)]
    r = list(csv.reader(open("%s/partition_P%d_parts.csv" % (d, P))))
    if r[0] != ["part", "rows", "synapses", "halo", "neighbours", "offsynapses"] or [list(map(int, x)) for x in r[1:]] != want:
        print("  P=%d: parts file differs from the count" % P); bad = 1
    s = summary[P]
    h = [len(x) for x in halo]; n = [len(x) for x in nbrs]
    exp = {"edge_cut": cut, "rows_min": min(nrows), "rows_max": max(nrows), "rows_mean": N / P,
           "synapses_min": min(syn), "synapses_max": max(syn), "synapses_mean": sum(syn) / P,
           "synapses_imbalance": max(syn) / (sum(syn) / P), "rows_imbalance": max(nrows) / (N / P),
           "halo_min": min(h), "halo_max": max(h), "halo_mean": sum(h) / P,
           "neighbours_min": min(n), "neighbours_max": max(n), "neighbours_mean": sum(n) / P}
    for k, v in exp.items():
        if abs(float(s[k]) - v) > 1e-12 * max(1, abs(v)) or abs(float(js[P][k]) - v) > 1e-12 * max(1, abs(v)):
            print("  P=%d %s: csv %s, json %s, count %s" % (P, k, s[k], js[P][k], v)); bad = 1
    print("  P=%d: edge cut %d, halo %d/%.1f/%d, neighbours %d/%.1f/%d" % (P, cut, min(h), sum(h) / P, max(h), min(n), sum(n) / P, max(n)))
sys.exit(bad)
PY

# 2. reproducible: the same input and seed give the same partition, from 1 or 2 processes
same=1
for f in a/partition_P*.txt a/partition_P*_parts.csv; do
  cmp -s "$f" "b/${f#a/}" && cmp -s "$f" "c/${f#a/}" || { same=0; echo "  $f differs"; }
done
[ $same = 1 ] && say ok "two runs at 1 process and one at 2 give identical partitions and part statistics" || say fail "partitions not reproducible"
mpirun -n 1 "$TENOR" partition -net_W w.mtx -partition_sizes 7 -partition_seed 9 -out_dir s9 >s9.log 2>&1 || { cat s9.log; fail=1; }
grep -q '"seed": 9' s9/partition_stats.json && say ok "the seed is recorded in partition_stats.json" || say fail "no seed in partition_stats.json"

# 3. the runtime on the partition reports the same statistics
mpirun -n 3 --oversubscribe "$TENOR" logdensity -net_W w.mtx -data_samples 4 -dyn_batch 4 -dyn_steps 2 -partition_file a/partition_P3.txt -out_dir r3 >r3.log 2>&1 || { cat r3.log; fail=1; }
python3 - a/partition_stats.json r3/summary.json <<'PY' && say ok "logdensity on partition_P3.txt reports the edge cut, halo and imbalance tenor partition computed" || say fail "runtime and partition statistics differ"
import json, sys
p = [x for x in json.load(open(sys.argv[1]))["partitions"] if x["P"] == 3][0]
n = json.load(open(sys.argv[2]))["network"]
pairs = [("edge_cut", "edge_cut"), ("halo_min", "halo_min"), ("halo_max", "halo_max"), ("halo_mean", "halo_mean"),
         ("rows_imbalance", "imbalance_rows"), ("synapses_imbalance", "imbalance_nnz")]
bad = [(a, p[a], n[b]) for a, b in pairs if abs(p[a] - n[b]) > 1e-12 * max(1, abs(p[a]))]
print("  partition: %s; runtime: %s" % ([p[a] for a, b in pairs], [n[b] for a, b in pairs]))
sys.exit(1 if bad else 0)
PY

# 3b. without a file, on fewer than 256 nodes a rank, the runtime's partitioner
# is serial Scotch on rank 0 with tenor partition's defaults: the same parts,
# so the same statistics (PT-Scotch deadlocked on such small graphs)
mpirun -n 3 --oversubscribe "$TENOR" logdensity -net_W w.mtx -data_samples 4 -dyn_batch 4 -dyn_steps 2 -out_dir s3 >s3.log 2>&1 || { cat s3.log; fail=1; }
grep -q "computing a Scotch partition of 300 nodes into 3 parts on rank 0" s3.log && say ok "300 nodes on 3 ranks: the runtime says it cuts them with serial Scotch" || { cat s3.log; say fail "no serial Scotch line in s3.log"; }
python3 - a/partition_stats.json s3/summary.json <<'PY' && say ok "that partition has tenor partition's P = 3 edge cut, halo and imbalance" || say fail "the runtime's small-graph partition differs from tenor partition's"
import json, sys
p = [x for x in json.load(open(sys.argv[1]))["partitions"] if x["P"] == 3][0]
n = json.load(open(sys.argv[2]))["network"]
pairs = [("edge_cut", "edge_cut"), ("halo_min", "halo_min"), ("halo_max", "halo_max"), ("rows_imbalance", "imbalance_rows")]
bad = [(a, p[a], n[b]) for a, b in pairs if abs(p[a] - n[b]) > 1e-12 * max(1, abs(p[a]))]
print("  partition: %s; runtime: %s" % ([p[a] for a, b in pairs], [n[b] for a, b in pairs]))
sys.exit(1 if bad else 0)
PY

# 4. P up to 4096 (a 100 x 100 lattice, 2 processes)
if mpirun -n 2 --oversubscribe "$TENOR" partition -net_n 100 -partition_sizes 1024,4096 -out_dir big >big.log 2>&1; then
  ok=1
  for P in 1024 4096; do
    [ "$(wc -l <big/partition_P$P.txt)" = 10000 ] || ok=0
    awk -F, -v P=$P 'NR > 1 { n++; r += $2; if ($2 < 1) e++ } END { exit !(n == P && r == 10000 && e == 0) }' big/partition_P${P}_parts.csv || ok=0
  done
  [ $ok = 1 ] && say ok "P = 1024 and 4096 of N = 10000: every node placed, no empty part ($(grep '^P = 4096' big.log | cut -c1-80))" || say fail "P = 4096 files"
else say fail "P = 4096 run"; cat big.log; fi

# 5. bad input: one error on rank 0, non-zero exit, no hang (2 processes)
expect_error() { # NAME PATTERN ARGS...
  local name=$1 pat=$2; shift 2
  timeout 120 mpirun -n 2 --oversubscribe "$TENOR" partition -out_dir "$W/e" "$@" >"$name.out" 2>&1
  local rc=$? n
  n=$(grep -c "tenor: error:" "$name.out")
  if [ $rc -eq 0 ] || [ $rc -eq 124 ] || [ "$n" -ne 1 ] || ! grep -q -- "$pat" "$name.out"; then
    say fail "$name: exit $rc, $n error line(s), expected /$pat/"; cat "$name.out"
  else say ok "$name: $(grep 'tenor: error:' "$name.out" | cut -c1-150)"; fi
}
expect_error more_parts_than_nodes "P = 400 is more parts than the network's N = 300 nodes" -net_W w.mtx -partition_sizes 2,400
expect_error zero_parts "0 is not a part count" -net_W w.mtx -partition_sizes 4,0
expect_error negative_parts "-2 is not a part count" -net_W w.mtx -partition_sizes -2
expect_error partition_file_given "-partition_file is the other commands' input" -net_W w.mtx -partition_file a/partition_P2.txt
expect_error imbalance_range "partition_imbalance" -net_W w.mtx -partition_imbalance 2
expect_error strategy_unknown "fast" -net_W w.mtx -partition_strategy fast
expect_error missing_W "nosuch.mtx" -net_W nosuch.mtx
echo precious >victim.txt
mkdir -p e && ln -sfn "$W/victim.txt" e/partition_P2.txt
expect_error symlink_output "e/partition_P2.txt: it is a symbolic link" -net_W w.mtx -partition_sizes 2
[ "$(cat victim.txt)" = precious ] && say ok "the symbolic link's target is untouched" || say fail "a symbolic link's target was written"

# 6. the plot (optional: needs matplotlib)
if /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
  /usr/bin/python3 "$SRC/partition/plot_partition.py" a a/partition_stats.png && [ -s a/partition_stats.png ] && say ok "plot_partition.py wrote a/partition_stats.png" || say fail "plot_partition.py"
else
  echo "skip plot_partition.py: matplotlib is not installed"
fi
exit $fail
