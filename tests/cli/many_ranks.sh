#!/bin/bash
# bench/many_ranks.sh measures each rank without a process between the rank
# and the launcher, and what it records is what /usr/bin/time recorded:
#  1. bench/mpi_calls (preloaded) writes, per rank when MPI_Finalize
#     returns, the line /usr/bin/time -f "%M %e %U %S" writes (peak RSS kB,
#     wall s, user s, system s): measured on the same processes (2 ranks of tenor
#     logdensity under /usr/bin/time with the library preloaded), the peak
#     RSS within 1%, user and system time within 0.05 s, the wall time
#     positive and not above /usr/bin/time's (the process starts after
#     time's clock; the return from main, the exit and time's reaping of
#     it, seconds on a loaded machine, are time's only); a rank killed
#     after MPI_Finalize, or inside it (rank 0 waits there while rank 1
#     dies, and mpirun kills it, as it killed ranks at 256), has its record;
#  2. bench/many_ranks.sh at 2 ranks (ld_sync and the launch run, no weak
#     run) writes its results row, peak RSS, CPU time and collectives
#     included, and starts every rank as tenor itself (mpirun -x
#     LD_PRELOAD), never under /usr/bin/time or any other wrapper (mpirun's
#     command lines logged by an mpirun earlier on PATH, which also runs the
#     real one);
#  3. in that run, the same mpirun ends both 2-rank runs as Open MPI's
#     launcher did at 256 ranks: its message that a rank "exited
#     improperly" and exit status 1. ld_sync, where every rank returned from
#     MPI_Finalize, still counts (its row, a note in launcher_messages.txt); the
#     launch run, where rank 1's record of MPI_Finalize is removed first,
#     fails.
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
      { exit !(NF == 4 && $1 > 1000 && abs($1 - t[1]) <= 0.01 * t[1] && $2 <= t[2] + 0.01 && $2 > 0 && abs($3 - t[3]) <= 0.05 && abs($4 - t[4]) <= 0.05) }' "time/$r" "lib/$r"; then
    say ok "rank $r: mpi_calls records peak RSS, wall, user and system time as /usr/bin/time does"
  else
    say fail "rank $r: mpi_calls' record '$(cat lib/$r 2>/dev/null)' differs from /usr/bin/time's '$(cat time/$r 2>/dev/null)' (or is missing)"
  fi
done

# ... and a rank killed after MPI_Finalize has returned has its record
printf '#include <mpi.h>\n#include <signal.h>\nint main(int c, char **v) { MPI_Init(&c, &v); MPI_Finalize(); raise(SIGKILL); return 0; }\n' >killed.c
mpicc killed.c -o killed || { echo "FAIL killed.c does not build"; exit 1; }
mkdir -p killed.mem
mpirun -n 2 -x LD_PRELOAD="$W/mpi_calls.so" -x TN_MPI_CALLS_RUSAGE_DIR="$W/killed.mem" ./killed >killed.log 2>&1
for r in 0 1; do
  awk 'NF == 4 && $1 > 0 && $2 > 0 { ok = 1 } END { exit !ok }' "killed.mem/$r" 2>/dev/null && say ok "rank $r, killed after MPI_Finalize: its record $(cat killed.mem/$r)" || say fail "rank $r, killed after MPI_Finalize, has no record"
done
printf '#include <mpi.h>\n#include <signal.h>\n#include <unistd.h>\nint main(int c, char **v) { int r; MPI_Init(&c, &v); MPI_Comm_rank(MPI_COMM_WORLD, &r); if (r == 1) { sleep(2); raise(SIGKILL); } MPI_Finalize(); return 0; }\n' >stuck.c
mpicc stuck.c -o stuck || { echo "FAIL stuck.c does not build"; exit 1; }
mkdir -p stuck.mem
mpirun -n 2 -x LD_PRELOAD="$W/mpi_calls.so" -x TN_MPI_CALLS_RUSAGE_DIR="$W/stuck.mem" ./stuck >stuck.log 2>&1
awk 'NF == 4 && $1 > 0 && $2 > 0 { ok = 1 } END { exit !ok }' stuck.mem/0 2>/dev/null && [ ! -e stuck.mem/1 ] && say ok "rank 0, killed inside MPI_Finalize: its record $(cat stuck.mem/0); none of rank 1, killed before" || say fail "rank 0, killed inside MPI_Finalize, has no record (or rank 1 has one): $(ls -A stuck.mem)"

# 2. bench/many_ranks.sh at 2 ranks, mpirun's command lines logged; 3. the
#    launcher's message injected after the 2-rank runs
REAL=$(command -v mpirun)
mkdir -p shim
cat >shim/mpirun <<EOF
#!/bin/sh
echo "\$*" >>"$W/mpirun.args"
"$REAL" "\$@" || exit
improper() { printf 'mpirun has exited due to process rank 1 with PID 0 on\nnode vm exiting improperly. There are three reasons this could occur:\n'; exit 1; }
case "\$*" in
*launch_2.calls*) rm -f "$W/many/runs/launch_2.calls/1"; improper ;;
*ld_sync_2.calls*) improper ;;
esac
EOF
chmod +x shim/mpirun
PATH="$W/shim:$PATH" TN_MANY_CASES=ld_sync bash "$SRC/bench/many_ranks.sh" "$TENOR" many 2 none >many.out 2>&1
rc=$?
cat many.out
[ $rc = 1 ] && grep -q "^FAIL launch at 2 ranks" many.out && say ok "many_ranks.sh at 2 ranks: the launch run, a rank's MPI_Finalize record missing, fails (exit 1)" || say fail "many_ranks.sh exits $rc; the launch run without rank 1's MPI_Finalize record should fail"
python3 - many/results.csv <<'PY' && say ok "results.csv: the 2-rank ld_sync row has peak RSS, CPU time and collectives" || say fail "results.csv lacks the 2-rank ld_sync row's measurements"
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["case"] == "ld_sync" and r["P"] == "2"]
r = rows[0]
print("ld_sync, 2 ranks: rss_max_MB", r["rss_max_MB"], "rank_cpu_max_s", r["rank_cpu_max_s"], "collectives_max", r["collectives_max"])
sys.exit(not (len(rows) == 1 and float(r["rss_max_MB"]) > 1 and float(r["rank_cpu_max_s"]) > 0 and int(r["collectives_max"]) > 0 and float(r["max_rel_diff_vs_1rank"]) < 1e-12))
PY
if grep -q "ld_sync_2" many/launcher_messages.txt 2>/dev/null && ! grep -q "launch_2" many/launcher_messages.txt; then
  say ok "the launcher's message after a complete run is noted, not a failure: $(cut -c1-80 many/launcher_messages.txt)..."
else
  say fail "launcher_messages.txt should name ld_sync_2 and not launch_2: $(cat many/launcher_messages.txt 2>/dev/null)"
fi
runs=$(grep -c -e "-out_dir ld_sync_" -e "-out_dir launch_" mpirun.args 2>/dev/null)
if [ "${runs:-0}" = 3 ] && ! grep -e "-out_dir ld_sync_" -e "-out_dir launch_" mpirun.args | grep -q -e "/usr/bin/time" -e " sh -c" -e " env "; then
  say ok "the launch and the 1- and 2-rank runs start tenor itself, no wrapper (mpirun $(grep -m1 ld_sync_2 mpirun.args | cut -c1-60)...)"
else
  say fail "a run starts its ranks under a wrapper, or was not logged: $(grep -e ld_sync -e launch_ mpirun.args)"
fi
for r in 0 1; do
  [ -s "many/runs/ld_sync_2.mem/$r" ] && say ok "rank $r's record: $(cat many/runs/ld_sync_2.mem/$r)" || say fail "no record of rank $r"
done
exit $fail
