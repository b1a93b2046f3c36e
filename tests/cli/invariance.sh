#!/bin/bash
# log Phi per sample is the same, to 1e-12 relative, for 1-4 ranks, with and
# without graph partitioning, for every scheme and both forms.
# Usage: invariance.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
compare() { # A B
  awk -F, 'NR==FNR { if (FNR > 1) v[FNR] = $2; next }
           FNR > 1 { d = $2 - v[FNR]; if (d < 0) d = -d; s = (v[FNR] < 0 ? -v[FNR] : v[FNR]); if (s < 1) s = 1;
                     if (d / s > m) m = d / s }
           END { printf "%.3g", m; exit (m > 1e-12) }' "$1" "$2"
}
for cfg in "sync rate" "colored rate" "sync current" "colored current" "continuous rate" "continuous current"; do
  set -- $cfg
  common="-net_type smallworld -net_n 3000 -net_k 6 -net_scale 0.8 -dyn_scheme $1 -dyn_form $2 -data_samples 5 -dyn_batch 3 -dyn_steps 6"
  mpirun -n 1 "$TENOR" logdensity $common -out_dir ref >/dev/null 2>&1 || { echo "FAIL reference run ($cfg)"; fail=1; continue; }
  for np in 2 3 4; do
    for part in ptscotch none; do
      if ! mpirun -n $np --oversubscribe "$TENOR" logdensity $common -partition_type $part -out_dir r >/dev/null 2>&1; then
        echo "FAIL run np=$np $part ($cfg)"; fail=1; continue
      fi
      if d=$(compare ref/logphi.csv r/logphi.csv); then echo "ok   $cfg np=$np $part: max rel diff $d"
      else echo "FAIL $cfg np=$np $part: max rel diff $d"; fail=1; fi
    done
  done
done
exit $fail
