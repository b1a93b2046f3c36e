#!/bin/bash
# Clamped nodes (-data_clamp, docs/conditional.md) end to end: tenor
# logdensity gives the same log Phi(t | x) at 1 and 3 ranks (partitioned)
# with every scheme (1e-12 sync, 1e-10 colored and continuous),
# the clamped nodes' per-node totals are 0 and summary.json says how many
# nodes are clamped; tenor normcheck integrates Phi(t | x) over the free
# nodes to 1 (N_F = 2) at 1 and 3 ranks; tenor sample draws t given x
# (the clamped columns are the given values); tenor train lowers the
# conditional loss and reports it against the conditional references
# (H(t | x), gap, ratio; conditional_train.sh checks their values); a clamp
# file of ranges a-b clamps the nodes the numbers one by one do; a bad clamp file, or a given-values file missing,
# misplaced or of the wrong length, ends with one error line at 3 ranks,
# and no hang.
# Usage: clamp.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
NETO="-net_type er -net_n 12 -net_k 3 -net_scale 0.6 -net_seed 5 -dyn_steps 6"
NET="$NETO -data_type normal -data_samples 10"
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

# tenor normcheck of Phi(t | x) for a fixed x (-norm_given), N_F = 2 of 5
# nodes, colored (diag exact): 1, the same at 1 and 3 ranks
printf '1\n3\n4\n' >clamp5.txt
printf '0.5\n-1.0\n0\n0.7\n0\n' >given5.txt
for np in 1 3; do
  timeout 300 mpirun -n $np --oversubscribe "$TENOR" normcheck -out_dir nc$np -net_type full -net_n 5 -net_scale 0.6 -net_seed 3 -dyn_h 0.2 -dyn_steps 5 -dyn_scheme colored -dyn_batch 1024 -data_clamp clamp5.txt -norm_given given5.txt -norm_points 101 >nc$np.log 2>&1 || { echo "FAIL normcheck with a clamp at $np ranks"; cat nc$np.log; fail=1; }
done
if [ $fail -eq 0 ]; then
  a=$(sed -n 's/.*"integral": \([-0-9.eE+]*\).*/\1/p' nc1/normcheck.json | head -1); b=$(sed -n 's/.*"integral": \([-0-9.eE+]*\).*/\1/p' nc3/normcheck.json | head -1)
  awk -v a="$a" -v b="$b" 'BEGIN { d = a - 1; e = a - b; exit !(d * d < 1e-6 && e * e < 1e-24) }' && echo "ok   normcheck of Phi(t | x), N_F = 2: $a at 1 rank, $b at 3" || { echo "FAIL normcheck of Phi(t | x): $a at 1 rank, $b at 3"; fail=1; }
  grep -q '"free_nodes": 2' nc3/normcheck.json || { echo "FAIL normcheck.json lacks the free nodes"; fail=1; }
fi

# tenor sample of t given x (-sample_given): the clamped columns of
# samples.csv are the given values, the round trip closes, 1 and 3 ranks agree
seq 0 11 | awk '{ printf "%.2f\n", ($1 - 5) / 4 }' >given12.txt
for np in 1 3; do
  timeout 120 mpirun -n $np --oversubscribe "$TENOR" sample -out_dir smp$np $NETO -data_clamp clamp.txt -sample_given given12.txt -sample_n 20 >smp$np.log 2>&1 || { echo "FAIL sample with a clamp at $np ranks"; cat smp$np.log; fail=1; }
done
if [ $fail -eq 0 ]; then
  bad=$(awk -F, 'NR > 1 { if ($2 != -1 || $5 != -0.25 || $8 != 0.5 || $11 != 1.25) n++ } END { print n + 0 }' smp3/samples.csv)
  rows=$(($(wc -l <smp3/samples.csv) - 1))
  [ "$bad" -eq 0 ] && [ "$rows" -eq 20 ] && echo "ok   sample: the clamped columns of all $rows samples are the given values" || { echo "FAIL sample: $bad of $rows samples with other clamped values"; fail=1; }
  cmp -s smp1/samples.csv smp3/samples.csv && echo "ok   sample: 1 and 3 ranks write the same samples" || { d=$(paste -d, smp1/samples.csv smp3/samples.csv | awk -F, 'NR > 1 { for (i = 1; i <= 12; i++) { e = $i - $(i + 12); if (e < 0) e = -e; if (e > w) w = e } } END { print w + 0 }'); awk -v d="$d" 'BEGIN { exit !(d < 1e-12) }' && echo "ok   sample: 1 and 3 ranks agree to $d" || { echo "FAIL sample: 1 and 3 ranks differ by $d"; fail=1; }; }
fi

# tenor train of a conditional density (colored, the default): the
# conditional loss falls, and the gap and ratio are those of H(t | x)
if timeout 300 mpirun -n 2 --oversubscribe "$TENOR" train -out_dir tr -net_type er -net_n 16 -net_k 3 -net_scale 0.6 -data_type gmrf2d -data_gmrf_n 4 -data_samples 512 -data_clamp clamp.txt -train_epochs 4 -dyn_steps 5 >tr.log 2>&1; then
  first=$(awk -F, 'NR == 2 { print $4 }' tr/train_metrics.csv); last=$(awk -F, 'END { print $4 }' tr/train_metrics.csv)
  awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a) }' && echo "ok   train: the conditional loss falls from $first to $last nats" || { echo "FAIL train: loss $first -> $last"; fail=1; }
  grep -q "gap/dim .* ratio " tr.log && grep -q "exact conditional entropy H(t | x)" tr.log && echo "ok   train: the gap and ratio against H(t | x)" || { echo "FAIL train reports no conditional gap and ratio"; fail=1; }
else
  echo "FAIL train with a clamp"; cat tr.log; fail=1
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
# ranges a-b (inclusive) give the same set as the numbers one by one
printf '0\n2\n3\n4\n5\n9\n' >single.txt
printf '# ranges\n3-5\n0\n\n 9 \n2 - 2\n' >ranges.txt
for f in single ranges; do
  timeout 120 mpirun -n 3 --oversubscribe "$TENOR" logdensity -out_dir rg_$f $NET -data_clamp $f.txt >rg_$f.log 2>&1 || { echo "FAIL logdensity with $f.txt"; cat rg_$f.log; fail=1; }
done
cmp -s rg_single/logphi.csv rg_ranges/logphi.csv && grep -q '"clamped_nodes": 6' rg_ranges/summary.json && echo "ok   ranges: 3-5, 2 - 2 and single numbers clamp the same 6 nodes as the list" || { echo "FAIL ranges differ from the list"; fail=1; }
printf '1\n12\n' >range.txt
printf '1\n9-12\n' >rangeend.txt
printf '1\n5-3\n' >reversed.txt
printf '3\n5\n3\n' >twice.txt
printf '1\n3-6\n# note\n5\n' >overlap.txt
printf '1\n2.5\n' >real.txt
printf '1\nnode\n' >word.txt
printf '1\n3-x\n' >garbage.txt
printf '1\n3-\n' >halfrange.txt
printf '1\n-3\n' >negative.txt
seq 0 11 >all.txt
printf '0-11\n' >allrange.txt
: >empty.txt
expect_error range "range.txt, line 2: node 12 is not a node of the network, whose natural numbers are 0 .. 11" logdensity $NET -data_clamp range.txt
expect_error rangeend "rangeend.txt, line 2: the range 9-12 ends past the network.s last node, 11" logdensity $NET -data_clamp rangeend.txt
expect_error reversed "reversed.txt, line 2: the range 5-3 is reversed: write its lower end first (3-5)" logdensity $NET -data_clamp reversed.txt
expect_error twice "twice.txt: lines 1 (3) and 3 (3) both list node 3" logdensity $NET -data_clamp twice.txt
expect_error overlap "overlap.txt: lines 2 (3-6) and 4 (5) both list node 5" logdensity $NET -data_clamp overlap.txt
expect_error real "real.txt, line 2: found '2.5', expected a node number k or an inclusive range a-b" logdensity $NET -data_clamp real.txt
expect_error word "word.txt, line 2: found 'node'" logdensity $NET -data_clamp word.txt
expect_error garbage "garbage.txt, line 2: found '3-x'" logdensity $NET -data_clamp garbage.txt
expect_error halfrange "halfrange.txt, line 2: found '3-'" logdensity $NET -data_clamp halfrange.txt
expect_error negative "negative.txt, line 2: found '-3': node numbers are 0-based, not negative" logdensity $NET -data_clamp negative.txt
expect_error all "all 12 nodes are clamped" logdensity $NET -data_clamp all.txt
expect_error allrange "all 12 nodes are clamped" logdensity $NET -data_clamp allrange.txt
expect_error empty "empty.txt holds no node numbers" logdensity $NET -data_clamp empty.txt
expect_error missing "nosuch.txt" logdensity $NET -data_clamp nosuch.txt
expect_error given_unclamped "no node is clamped" normcheck -net_type full -net_n 5 -norm_given given5.txt
expect_error given_short "given5.txt has 5 values but the network has 6 nodes" normcheck -net_type full -net_n 6 -data_clamp clamp5.txt -norm_given given5.txt
expect_error sample_nogiven "needs their values x: -sample_given FILE" sample $NETO -data_clamp clamp.txt -sample_n 4
exit $fail
