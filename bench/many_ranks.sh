#!/bin/bash
# Many ranks on one machine: tenor logdensity (sync, colored), tenor train (2
# steps) and tenor logdet (dense and slq in one run) at each rank count of RANKS,
# oversubscribed, against the same run on 1 rank; and a weak-scaling series
# (er, N = 1024 P nodes, k = 16) for memory and set-up time per rank vs P.
# Every run of the first table uses a partition file written beforehand by
# tenor partition, so the halo the run reports can be compared with the
# partition's statistics (the cost model's input) number for number.
#
# Usage: bench/many_ranks.sh TENOR OUTDIR [RANKS] [WEAK_RANKS]
#   RANKS        default "32 64 128 256" ("none": the weak series only)
#   WEAK_RANKS   default "1 4 16 64 256" ("none": the first table only)
# TN_MANY_CASES (environment): the cases of the first table to run, default
#   "ld_sync ld_colored train logdet".
# TN_MANY_LAUNCH=0 (environment): no launch run (below) at each P.
# Writes OUTDIR/results.csv (one row per run), OUTDIR/weak.csv, and the runs'
# logs and outputs under OUTDIR/runs/. Each rank's peak RSS, wall time and CPU
# time (user + system) are the rank's own getrusage and start time, written
# in MPI_Finalize by bench/mpi_calls/mpi_calls.c (preloaded, below; ru_maxrss
# counts the shared libraries' resident pages in every rank); on a shared or
# oversubscribed machine the CPU time is the figure to compare. Each rank is
# tenor itself, started by mpirun, no process in between (each rank used to
# run as the child of /usr/bin/time, which is now the fallback where mpicc
# is missing or fails). At 256 ranks mpirun (Open MPI 4.1) often says that a
# rank "exited improperly" and exits non-zero after every rank has reached
# MPI_Finalize, with or without that wrapper, even for a program that only
# calls MPI_Init and MPI_Finalize (docs/many-ranks.md): such a run counts
# when every rank wrote its records in MPI_Finalize (its work done), with a
# note in OUTDIR/launcher_messages.txt.
# At each P of RANKS a launch run (tenor logdensity -help: MPI and PETSc
# start and stop, the options, no network) goes into OUTDIR/launch.csv, the
# share of each run that is starting the ranks, not tenor's set-up. Where
# mpicc is found, every run also counts each rank's MPI collectives and
# communicator creations (the same preloaded library; the counts in
# OUTDIR/runs/<run>.calls/<rank>): results.csv gives the largest count per
# rank and the longest time from MPI_Init to MPI_Finalize.
set -u
TENOR=$(readlink -f "$1"); OUT=$2
RANKS=${3:-32 64 128 256}
WEAK_RANKS=${4:-1 4 16 64 256}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$OUT/runs" || exit 1
OUT=$(readlink -f "$OUT")
R=$OUT/runs
cd "$R" || exit 1
TIME=/usr/bin/time
BENCH=$(cd "$(dirname "$0")" && pwd)
PRELOAD=""
if command -v mpicc >/dev/null && mpicc -O2 -shared -fPIC "$BENCH/mpi_calls/mpi_calls.c" -o "$R/mpi_calls.so" 2>"$R/mpi_calls.log"; then
  PRELOAD="$R/mpi_calls.so"
else
  echo "many_ranks.sh: note: no MPI call counts, each rank under /usr/bin/time (mpicc failed or is missing: $R/mpi_calls.log)" >&2
  [ -x $TIME ] || { echo "many_ranks.sh: without mpicc, needs /usr/bin/time (Debian's package time)" >&2; exit 1; }
fi

# run NAME NP ARGS...: each rank's peak RSS in kB, wall s, user s, system s
# into NAME.mem/<rank>, its MPI calls into NAME.calls/<rank>; the run's own
# wall time into NAME.wall. With the preloaded library the rank is tenor
# itself (mpirun -x LD_PRELOAD), which writes both; without it, each rank
# runs under /usr/bin/time, which forks it. Open MPI yields the core while a
# rank waits (mpi_yield_when_idle) by itself when the ranks outnumber the
# cores; busy-polling (--mca mpi_yield_when_idle 0) was 5 times slower at 16
# ranks on 2 cores (docs/many-ranks.md).
run() {
  local name=$1 np=$2; shift 2
  rm -rf "$name" "$name.mem" "$name.calls"; mkdir -p "$name.mem" "$name.calls"
  local t0 t1 rc
  t0=$(date +%s.%N)
  if [ -n "$PRELOAD" ]; then
    nice -n 10 mpirun -n "$np" --oversubscribe -x LD_PRELOAD="$PRELOAD" -x TN_MPI_CALLS_DIR="$R/$name.calls" -x TN_MPI_CALLS_RUSAGE_DIR="$R/$name.mem" "$TENOR" "$@" -out_dir "$name" </dev/null >"$name.log" 2>&1
  else
    nice -n 10 mpirun -n "$np" --oversubscribe sh -c 'exec '$TIME' -f "%M %e %U %S" -o "$0/$OMPI_COMM_WORLD_RANK" "$@"' "$name.mem" "$TENOR" "$@" -out_dir "$name" </dev/null >"$name.log" 2>&1
  fi
  rc=$?
  t1=$(date +%s.%N)
  echo "$t0 $t1" | awk '{ printf "%.2f\n", $2 - $1 }' >"$name.wall"
  if [ $rc != 0 ] && [ -n "$PRELOAD" ] && finalised "$name" "$np"; then
    echo "note: $name: mpirun exited $rc reporting that a rank \"exited improperly\", but all $np ranks had reached MPI_Finalize (records in $name.calls and $name.mem): Open MPI's launcher (docs/many-ranks.md); the run counts" | tee -a "$OUT/launcher_messages.txt"
    rc=0
  fi
  return $rc
}

# finalised NAME NP: mpirun's log of run NAME says a rank "exited improperly"
# (Open MPI's launcher; no MPI_Abort), yet every rank wrote its call counts
# and its resources on entering MPI_Finalize (bench/mpi_calls): every rank's
# work, its outputs included, was done (mpirun then kills the ranks still
# in MPI_Finalize or exiting).
finalised() {
  local name=$1 np=$2 k
  grep -q "exiting improperly" "$name.log" && ! grep -q "MPI_ABORT" "$name.log" || return 1
  for ((k = 0; k < np; k++)); do
    [ -s "$name.calls/$k" ] && [ -s "$name.mem/$k" ] || return 1
  done
}

# the networks and their partitions (2 ranks, Scotch, seed 1)
LD="-net_n 64 -data_samples 8 -dyn_batch 8 -dyn_steps 10"
TR="-net_n 64 -data_samples 128 -train_steps 2 -train_valid_every 1"
LG="-net_n 32 -logdet_methods dense,slq,diag -logdet_slq_probes 4 -dyn_steps 1 -data_samples 1"
fail=0
if [ "$RANKS" != none ]; then
sizes=$(echo $RANKS | tr ' ' ',')
mpirun -n 2 "$TENOR" partition -net_n 64 -partition_sizes "$sizes" -out_dir part64 >part64.log 2>&1 || { cat part64.log; exit 1; }
mpirun -n 2 "$TENOR" partition -net_n 32 -partition_sizes "$sizes" -out_dir part32 >part32.log 2>&1 || { cat part32.log; exit 1; }
# train's network: the same options as the run (radius 2 lattice by default)
mpirun -n 2 "$TENOR" partition -net_n 64 -net_radius 2 -partition_sizes "$sizes" -out_dir part64r2 >part64r2.log 2>&1 || { cat part64r2.log; exit 1; }

# case name, command, options, partition folder, file, columns compared
CASES="ld_sync|logdensity|$LD -dyn_scheme sync|part64|logphi.csv|2
ld_colored|logdensity|$LD -dyn_scheme colored|part64|logphi.csv|2
train|train|$TR|part64r2|train_metrics.csv|4 6 10
logdet|logdet|$LG|part32|logdet_steps.csv|4"

echo "case,P,N,nnz,wall_s,rank_wall_max_s,rank_cpu_max_s,rss_max_MB,rss_mean_MB,max_rel_diff_vs_1rank,edge_cut,halo_min,halo_mean,halo_max,neighbours_min,neighbours_mean,neighbours_max,model_edge_cut,model_halo_min,model_halo_mean,model_halo_max,model_neighbours_min,model_neighbours_mean,model_neighbours_max,halo_exact,rank_cpu_mean_s,mpi_span_max_s,collectives_max,collective_elements_max" >"$OUT/results.csv"
echo "P,wall_s,rank_wall_max_s,rank_cpu_max_s,rank_cpu_mean_s,rss_max_MB,mpi_span_max_s,collectives_max" >"$OUT/launch.csv"

# MPI_Init..MPI_Finalize span (max over ranks), collective calls and their
# elements (max over ranks) of run NAME: "span calls elements", or "-1 -1 -1"
calls() {
  python3 - "$1" <<'PY'
import glob, sys
span, ncall, nelem = -1.0, -1, -1
for f in glob.glob(sys.argv[1] + ".calls/*"):
    c = e = 0
    for line in open(f):
        w = line.split()
        if w[0] == "span":
            span = max(span, float(w[1]))
        elif not w[0].startswith("Comm_"):
            c += int(w[1]); e += int(w[3])
    ncall, nelem = max(ncall, c), max(nelem, e)
print(span, ncall, nelem)
PY
}

row() { # CASE NP FILE COLS PARTDIR
  python3 - "$@" <<'PY'
import csv, glob, json, re, sys
case, np_, fname, cols, pdir = sys.argv[1:6]
np_ = int(np_)
ref, got = "%s_1/%s" % (case, fname), "%s_%d/%s" % (case, np_, fname)
cols = [int(c) - 1 for c in cols.split()]
a = list(csv.reader(open(ref)))[1:]
b = list(csv.reader(open(got)))[1:]
diff = float("inf") if len(a) != len(b) or not a else 0.0
if a and len(a) == len(b):
    for ra, rb in zip(a, b):
        for c in cols:
            x, y = float(ra[c]), float(rb[c])
            diff = max(diff, abs(x - y) / max(abs(x), 1.0))
mem = [open(f).read().split() for f in glob.glob("%s_%d.mem/*" % (case, np_))]
rss = [float(m[0]) / 1024 for m in mem if m]
wall = [float(m[1]) for m in mem if m]
cpu = [float(m[2]) + float(m[3]) for m in mem if len(m) > 3]
log = open("%s_%d.log" % (case, np_)).read()
m = re.search(r"synapses \(nnz\) = (\d+)", log)
nnz = int(m.group(1)) if m else -1
N = int(re.search(r"N = (\d+)", log).group(1))
m = re.search(r"edge cut (\d+) .*halo per rank min/mean/max (\d+)/([\d.]+)/(\d+); neighbours (\d+)/([\d.]+)/(\d+)", log)
meas = [int(m.group(1)), int(m.group(2)), float(m.group(3)), int(m.group(4)), int(m.group(5)), float(m.group(6)), int(m.group(7))] if m else [-1] * 7
st = {int(r["P"]): r for r in csv.DictReader(open("%s/partition_stats.csv" % pdir))}[np_]
model = [int(st["edge_cut"]), int(st["halo_min"]), float(st["halo_mean"]), int(st["halo_max"]), int(st["neighbours_min"]), float(st["neighbours_mean"]), int(st["neighbours_max"])]
# the log prints means to one decimal
exact = all(abs(x - y) <= (0.05 if k in (2, 5) else 0) for k, (x, y) in enumerate(zip(meas, model)))
wall_run = float(open("%s_%d.wall" % (case, np_)).read())
span, ncall, nelem = sys.argv[6].split()
print(",".join(str(v) for v in [case, np_, N, nnz, "%.2f" % wall_run, "%.2f" % max(wall), "%.2f" % max(cpu), "%.1f" % max(rss), "%.1f" % (sum(rss) / len(rss)), "%.3g" % diff] + meas + model + [int(exact), "%.2f" % (sum(cpu) / len(cpu)), span, ncall, nelem]))
PY
}

only="${TN_MANY_CASES:-ld_sync ld_colored train logdet}"
while IFS='|' read -r name cmd opts pdir file cols; do
  case " $only " in *" $name "*) ;; *) continue ;; esac
  run "${name}_1" 1 $cmd $opts || { echo "FAIL ${name} at 1 rank"; tail -5 "${name}_1.log"; fail=1; }
done <<<"$CASES"
for np in $RANKS; do
  # starting and stopping P ranks, without tenor's work
  if [ "${TN_MANY_LAUNCH:-1}" = 0 ]; then
    :
  elif run "launch_$np" "$np" logdensity -help; then
    python3 - "$np" "$(calls launch_$np)" <<'PY' | tee -a "$OUT/launch.csv"
import glob, sys
np_ = int(sys.argv[1])
span, ncall, nelem = sys.argv[2].split()
mem = [m for m in (open(f).read().split() for f in glob.glob("launch_%d.mem/*" % np_)) if len(m) > 3]
cpu = [float(m[2]) + float(m[3]) for m in mem]
wall = float(open("launch_%d.wall" % np_).read())
print(",".join(str(v) for v in [np_, "%.2f" % wall, "%.2f" % max(float(m[1]) for m in mem), "%.2f" % max(cpu), "%.2f" % (sum(cpu) / len(cpu)), "%.1f" % (max(float(m[0]) for m in mem) / 1024), span, ncall]))
PY
  else
    echo "FAIL launch at $np ranks"; tail -5 "launch_$np.log"; fail=1
  fi
  while IFS='|' read -r name cmd opts pdir file cols; do
    case " $only " in *" $name "*) ;; *) continue ;; esac
    if run "${name}_$np" "$np" $cmd $opts -partition_file "$pdir/partition_P$np.txt"; then
      line=$(row "$name" "$np" "$file" "$cols" "$pdir" "$(calls ${name}_$np)") && echo "$line" | tee -a "$OUT/results.csv"
    else
      echo "FAIL $name at $np ranks"; tail -5 "${name}_$np.log"; fail=1
    fi
  done <<<"$CASES"
done
fi
[ "$WEAK_RANKS" != none ] || exit $fail

# weak scaling: N = 1024 P (er, k = 16), the runtime partitioner, per-rank
# peak memory and the phases' times from the summary
echo "P,N,nnz,wall_s,rank_cpu_max_s,rss_max_MB,rss_mean_MB,network_s,dynamics_setup_s,evaluate_s,total_s,halo_max,neighbours_max" >"$OUT/weak.csv"
for np in $WEAK_RANKS; do
  n=$((1024 * np))
  if run "weak_$np" "$np" logdensity -net_type er -net_n $n -net_k 16 -data_samples 8 -dyn_batch 8 -dyn_steps 10; then
    python3 - "$np" <<'PY' | tee -a "$OUT/weak.csv"
import glob, json, sys
np_ = int(sys.argv[1])
s = json.load(open("weak_%d/summary.json" % np_))
mem = [open(f).read().split() for f in glob.glob("weak_%d.mem/*" % np_)]
rss = [float(m[0]) / 1024 for m in mem if m]
cpu = [float(m[2]) + float(m[3]) for m in mem if len(m) > 3]
t, n = s["timings_s"], s["network"]
wall = float(open("weak_%d.wall" % np_).read())
print(",".join(str(v) for v in [np_, n["N"], n["nnz"], "%.2f" % wall, "%.2f" % max(cpu), "%.1f" % max(rss), "%.1f" % (sum(rss) / len(rss)), "%.3f" % t["network"], "%.3f" % t["dynamics_setup"], "%.3f" % t["evaluate"], "%.3f" % t["total"], n.get("halo_max", 0), n.get("neighbours_max", 0)]))
PY
  else
    echo "FAIL weak at $np ranks"; tail -5 "weak_$np.log"; fail=1
  fi
done
exit $fail
