#!/bin/bash
# The README's main job runs and writes what it says; -help lists every
# object's options. Usage: mainjob.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
mpirun -n 2 --oversubscribe "$TENOR" logdensity -net_n 64 -dyn_nodeloss -out_dir out >run.log 2>&1 || { cat run.log; exit 1; }
for f in out/logphi.csv out/summary.json out/nodeloss.csv; do [ -s "$f" ] || { echo "FAIL missing $f"; fail=1; }; done
[ "$(wc -l <out/logphi.csv)" -eq 17 ] || { echo "FAIL logphi.csv should have 16 samples"; fail=1; }
[ "$(wc -l <out/nodeloss.csv)" -eq 4097 ] || { echo "FAIL nodeloss.csv should have 4096 nodes"; fail=1; }
head -1 out/nodeloss.csv | grep -qx "node,node_loss_nats" || { echo "FAIL nodeloss.csv header: $(head -1 out/nodeloss.csv)"; fail=1; }
awk -F, 'NR > 1 && $1 != NR - 2 { bad = 1 } END { exit bad }' out/nodeloss.csv || { echo "FAIL nodeloss.csv: the node column is not 0 .. N-1 in order"; fail=1; }
for key in loss_nats_mean bits_per_dim step_loss_mean synaptic_updates_per_s bytes_per_synapse edge_cut; do
  grep -q "\"$key\"" out/summary.json || { echo "FAIL summary.json lacks $key"; fail=1; }
done
grep -q "result: -log Phi" run.log || { echo "FAIL no human summary"; fail=1; }
# the per-node totals add up to the mean loss
awk -F, 'NR > 1 { s += $2 } END { printf "%.17g\n", s }' out/nodeloss.csv >sum.txt
mean=$(grep '"loss_nats_mean"' out/summary.json | sed 's/.*: \([^,]*\),/\1/')
awk -v a="$(cat sum.txt)" -v b="$mean" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 1e-9 * (b < 0 ? -b : b)) }' ||
  { echo "FAIL per-node totals $(cat sum.txt) != mean loss $mean"; fail=1; }
# a last batch padded with zeros (13 = 3 x 4 + 1) must not count in the per-node totals
mpirun -n 3 --oversubscribe "$TENOR" logdensity -net_type er -net_n 500 -net_k 5 -dyn_scheme colored -data_samples 13 -dyn_batch 4 -dyn_nodeloss -out_dir pad >pad.log 2>&1 || { cat pad.log; exit 1; }
psum=$(awk -F, 'NR > 1 { s += $2 } END { printf "%.17g", s }' pad/nodeloss.csv)
pmean=$(grep '"loss_nats_mean"' pad/summary.json | sed 's/.*: \([^,]*\),/\1/')
awk -v a="$psum" -v b="$pmean" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 1e-9 * (b < 0 ? -b : b)) }' ||
  { echo "FAIL padded batch: per-node totals $psum != mean loss $pmean"; fail=1; }
"$TENOR" logdensity -help >help.txt 2>&1
for opt in -net_type -partition_type -dyn_scheme -dyn_h -logdet_type -base_type -data_file -out_dir; do
  grep -q -- "$opt" help.txt || { echo "FAIL -help lacks $opt"; fail=1; }
done
[ $fail -eq 0 ] && echo "ok   main job, outputs, per-node totals, -help"
exit $fail
