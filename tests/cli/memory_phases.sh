#!/bin/bash
# Set-up phases free what they allocate before the run needs its memory:
# with -memory_trace, the peak (summed over 2 ranks) at the end of the
# network's set-up is no higher than the resident memory the run holds
# after its evaluation, for the natural order (-partition_type none) and
# for a partition file that keeps every row on its rank. Before, the
# parameters were adopted by copying W, so the set-up peaked at two copies
# of the synapses. The results equal the 1-rank run's (1e-12 relative).
# Usage: memory_phases.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
say() { if [ "$1" = ok ]; then echo "ok   $2"; else echo "FAIL $2"; fail=1; fi; }
N=250000 # a 500 x 500 lattice: each copy of W is 15 MB, well above the pages' noise
python3 -c "import sys; N = $N; h = (N + 1) // 2; sys.stdout.write('0\n' * h + '1\n' * (N - h))" > half.txt
LD="-net_n 500 -data_samples 1 -dyn_batch 1 -dyn_steps 2 -memory_trace"
mpirun -n 1 "$TENOR" logdensity $LD -out_dir r1 >r1.log 2>&1 || { cat r1.log; exit 1; }
for c in none file; do
  if [ $c = none ]; then opt="-partition_type none"; else opt="-partition_file half.txt"; fi
  mpirun -n 2 "$TENOR" logdensity $LD $opt -out_dir r_$c >r_$c.log 2>&1 || { cat r_$c.log; exit 1; }
  # peak at the end of the network's set-up, resident after the evaluation (GB, summed over ranks)
  read -r setup eval < <(awk '/memory trace: net: set up/ { for (i = 1; i <= NF; i++) if ($i == "peak") p = $(i + 1) }
                              /memory trace: logdensity: evaluated/ { for (i = 1; i <= NF; i++) if ($i == "resident") r = $(i + 1) }
                              END { print p, r }' r_$c.log)
  if [ -n "$setup" ] && [ -n "$eval" ] && awk -v p="$setup" -v r="$eval" 'BEGIN { exit !(p <= r) }'; then
    say ok "$c: set-up peak $setup GB <= resident after the evaluation $eval GB"
  else
    say fail "$c: set-up peak $setup GB <= resident after the evaluation $eval GB"; grep "memory trace" r_$c.log
  fi
  d=$(awk -F, 'NR==FNR { if (FNR > 1) a[FNR] = $2; next } FNR > 1 { d = $2 - a[FNR]; if (d < 0) d = -d; s = a[FNR] < 0 ? -a[FNR] : a[FNR]; if (d / s > m) m = d / s } END { printf "%.3g", m }' r1/logphi.csv r_$c/logphi.csv)
  if awk -v d="$d" 'BEGIN { exit !(d <= 1e-12) }'; then say ok "$c: log Phi equals 1 rank's (rel. diff. $d)"; else say fail "$c: log Phi against 1 rank (rel. diff. $d)"; fi
done
exit $fail
