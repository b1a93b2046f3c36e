#!/bin/bash
# bench/many_ranks.sh measures each rank without a process between the rank
# and the launcher, and what it records is what /usr/bin/time recorded:
#  1. bench/mpi_calls (preloaded) writes, per rank at exit, the line
#     /usr/bin/time -f "%M %e %U %S" writes (peak RSS kB, wall s, user s,
#     system s): measured on the same processes (2 ranks of tenor
#     logdensity under /usr/bin/time with the library preloaded), the peak
#     RSS within 1%, user and system time within 0.05 s, the wall time not
#     above /usr/bin/time's (the process starts after time's clock) and not
#     below half of it (the load of the machine delays time's reaping);
#  2. bench/many_ranks.sh at 2 ranks (ld_sync only, no launch or weak run)
#     writes its results row, peak RSS, CPU time and collectives included,
#     and starts every rank as tenor itself (mpirun -x LD_PRELOAD), never
#     under /usr/bin/time or any other wrapper (mpirun's command lines
#     logged by an mpirun earlier on PATH).
# Exits 77 (skipped) without mpicc. Usage: many_ranks.sh TENOR WORKDIR
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
TENOR=$(readlink -f "$1"); W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W" || exit 1
W=$(pwd)
fail=0
say() { if [ "$1" = ok ]; then echo "ok   $2"; else echo "FAIL $2"; fail=1; fi; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
command -v mpicc >/dev/null || { echo "skipped: no mpicc"; exit 77; }
[ -x /usr/bin/time ] || { echo "skipped: no /usr/bin/time to compare with"; exit 77; }
mpicc -O2 -shared -fPIC "$SRC/bench/mpi_calls/mpi_calls.c" -o mpi_calls.so || { echo "FAIL mpi_calls.c does not build"; exit 1; }

# 1. the library's record against /usr/bin/time's, the same processes
mkdir -p time lib
mpirun -n 2 -x TN_MPI_CALLS_RUSAGE_DIR="$W/lib" sh -c 'exec /usr/bin/time -f "%M %e %U %S" -o "time/$OMPI_COMM_WORLD_RANK" env LD_PRELOAD="$0" "$@"' "$W/mpi_calls.so" \
  "$TENOR" logdensity -net_n 16 -data_samples 4 -dyn_batch 4 -dyn_steps 4 -out_dir ld >ld.log 2>&1 || { cat ld.log; exit 1; }
for r in 0 1; do
  echo "rank $r: /usr/bin/time $(cat time/$r 2>/dev/null), mpi_calls $(cat lib/$r 2>/dev/null)"
  if [ -s "lib/$r" ] && awk 'NR == FNR { for (i = 1; i <= 4; i++) t[i] = $i; next }
      function abs(x) { return x < 0 ? -x : x }
      { exit !(NF == 4 && $1 > 1000 && abs($1 - t[1]) <= 0.01 * t[1] && $2 <= t[2] + 0.01 && $2 >= 0.5 * t[2] && abs($3 - t[3]) <= 0.05 && abs($4 - t[4]) <= 0.05) }' "time/$r" "lib/$r"; then
    say ok "rank $r: mpi_calls records peak RSS, wall, user and system time as /usr/bin/time does"
  else
    say fail "rank $r: mpi_calls' record '$(cat lib/$r 2>/dev/null)' differs from /usr/bin/time's '$(cat time/$r 2>/dev/null)' (or is missing)"
  fi
done

# 2. bench/many_ranks.sh at 2 ranks, mpirun's command lines logged
REAL=$(command -v mpirun)
mkdir -p shim
printf '#!/bin/sh\necho "$*" >>"%s/mpirun.args"\nexec "%s" "$@"\n' "$W" "$REAL" >shim/mpirun
chmod +x shim/mpirun
PATH="$W/shim:$PATH" TN_MANY_CASES=ld_sync TN_MANY_LAUNCH=0 bash "$SRC/bench/many_ranks.sh" "$TENOR" many 2 none >many.out 2>&1
rc=$?
cat many.out
[ $rc = 0 ] && say ok "many_ranks.sh at 2 ranks exits 0" || say fail "many_ranks.sh at 2 ranks exits $rc"
python3 - many/results.csv <<'PY' && say ok "results.csv: the 2-rank ld_sync row has peak RSS, CPU time and collectives" || say fail "results.csv lacks the 2-rank ld_sync row's measurements"
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["case"] == "ld_sync" and r["P"] == "2"]
r = rows[0]
print("ld_sync, 2 ranks: rss_max_MB", r["rss_max_MB"], "rank_cpu_max_s", r["rank_cpu_max_s"], "collectives_max", r["collectives_max"])
sys.exit(not (len(rows) == 1 and float(r["rss_max_MB"]) > 1 and float(r["rank_cpu_max_s"]) > 0 and int(r["collectives_max"]) > 0 and float(r["max_rel_diff_vs_1rank"]) < 1e-12))
PY
runs=$(grep -c "ld_sync" mpirun.args 2>/dev/null)
if [ "${runs:-0}" = 2 ] && ! grep "ld_sync" mpirun.args | grep -q -e "/usr/bin/time" -e " sh -c" -e " env "; then
  say ok "the 1- and 2-rank runs start tenor itself, no wrapper (mpirun $(grep -m1 ld_sync_2 mpirun.args | cut -c1-60)...)"
else
  say fail "a run starts its ranks under a wrapper, or was not logged: $(grep ld_sync mpirun.args)"
fi
for r in 0 1; do
  [ -s "many/runs/ld_sync_2.mem/$r" ] && say ok "rank $r's record: $(cat many/runs/ld_sync_2.mem/$r)" || say fail "no record of rank $r"
done
exit $fail
