#!/bin/bash
# Clamped nodes (-data_clamp, docs/conditional.md) end to end: tenor
# logdensity gives the same log Phi(t | x) at 1 and 3 ranks (partitioned)
# with every scheme (1e-12 sync, 1e-10 colored and continuous),
# the clamped nodes' per-node totals are 0 and summary.json says how many
# nodes are clamped; a bad clamp file or a command that does not support
# clamping yet ends with one error line at 3 ranks, and no hang.
# Usage: clamp.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
NET="-net_type er -net_n 12 -net_k 3 -net_scale 0.6 -net_seed 5 -data_type normal -data_samples 10 -dyn_steps 6"
printf '# the clamped nodes\n1\n4\n\n7\n10\n' >clamp.txt
for np in 1 3; do
  if ! timeout 120 mpirun -n $np --oversubscribe "$TENOR" logdensity -out_dir ld$np $NET -data_clamp clamp.txt -dyn_nodeloss >ld$np.log 2>&1; then
    echo "FAIL logdensity with a clamp at $np ranks"; cat ld$np.log; fail=1
  fi
  for s in colored continuous; do
    if ! timeout 120 mpirun -n $np --oversubscribe "$TENOR" logdensity -out_dir $s$np $NET -data_clamp clamp.txt -dyn_scheme $s >$s$np.log 2>&1; then
      echo "FAIL $s logdensity with a clamp at $np ranks"; cat $s$np.log; fail=1
    fi
  done
done
for s in colored continuous; do
  [ $fail -eq 0 ] || break
  worst=$(paste -d, ${s}1/logphi.csv ${s}3/logphi.csv | awk -F, 'NR > 1 { d = $2 - $7; if (d < 0) d = -d; r = d / ($2 < 0 ? -$2 : $2); if (r > w) w = r } END { printf "%.3g", w }')
  awk -v w="$worst" 'BEGIN { exit !(w <= 1e-10) }' && echo "ok   $s: 1 and 3 ranks agree (largest relative difference $worst)" || { echo "FAIL $s: 1 and 3 ranks differ by $worst"; fail=1; }
done
if [ $fail -eq 0 ]; then
  worst=$(paste -d, ld1/logphi.csv ld3/logphi.csv | awk -F, 'NR > 1 { d = $2 - $7; if (d < 0) d = -d; r = d / ($2 < 0 ? -$2 : $2); if (r > w) w = r } END { printf "%.3g", w }')
  awk -v w="$worst" 'BEGIN { exit !(w <= 1e-12) }' && echo "ok   1 and 3 ranks agree (largest relative difference $worst)" || { echo "FAIL 1 and 3 ranks differ by $worst"; fail=1; }
  bad=$(awk -F, 'NR > 1 && ($1 == 1 || $1 == 4 || $1 == 7 || $1 == 10) && $2 != 0' ld3/nodeloss.csv | wc -l)
  free=$(awk -F, 'NR > 1 && !($1 == 1 || $1 == 4 || $1 == 7 || $1 == 10) && $2 != 0' ld3/nodeloss.csv | wc -l)
  [ "$bad" -eq 0 ] && [ "$free" -eq 8 ] && echo "ok   per-node totals: 0 on the 4 clamped nodes, non-zero on the 8 free ones" || { echo "FAIL nodeloss.csv: $bad clamped nodes with a term, $free free ones"; fail=1; }
  grep -q '"clamped_nodes": 4' ld3/summary.json && grep -q '"free_nodes": 8' ld3/summary.json && echo "ok   summary.json counts 4 clamped and 8 free nodes" || { echo "FAIL summary.json lacks the counts"; fail=1; }
fi

expect_error() { # NAME PATTERN COMMAND ARGS...
  local name=$1 pat=$2 cmd=$3; shift 3
  timeout 120 mpirun -n 3 --oversubscribe "$TENOR" "$cmd" -out_dir "$W/out_$name" "$@" >"$name.out" 2>&1
  local rc=$? n
  n=$(grep -c "tenor: error:" "$name.out")
  if [ $rc -eq 0 ] || [ $rc -eq 124 ] || [ "$n" -ne 1 ] || ! grep -q -- "$pat" "$name.out"; then
    echo "FAIL $name: exit $rc, $n error line(s), expected /$pat/"; cat "$name.out"; fail=1
  else echo "ok   $name: $(grep 'tenor: error:' "$name.out" | cut -c1-160)"; fi
}
printf '1\n12\n' >range.txt
printf '3\n5\n3\n' >twice.txt
printf '1\n2.5\n' >real.txt
printf '1\nnode\n' >word.txt
seq 0 11 >all.txt
: >empty.txt
expect_error range "value number 2 is 12, but the network.s natural node numbers are 0 .. 11" logdensity $NET -data_clamp range.txt
expect_error twice "node 3 is listed 2 times" logdensity $NET -data_clamp twice.txt
expect_error real "is 2.5, not a node number" logdensity $NET -data_clamp real.txt
expect_error word "word.txt" logdensity $NET -data_clamp word.txt
expect_error all "all 12 nodes are clamped" logdensity $NET -data_clamp all.txt
expect_error empty "empty.txt" logdensity $NET -data_clamp empty.txt
expect_error missing "nosuch.txt" logdensity $NET -data_clamp nosuch.txt
exit $fail
