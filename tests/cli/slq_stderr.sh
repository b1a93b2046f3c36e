#!/bin/bash
# tenor logdensity -logdet_type slq reports standard errors that hold:
#  - logphi.csv has log_phi_stderr, summary.json loss_stderr_nats;
#  - against the exact log-dets (sparse, else dense) on an er net of N = 60,
#    32 samples x 4 steps: every sample's error is within 5 reported
#    standard errors and the mean of z^2 = (error / stderr)^2 is in
#    [0.4, 2] (fixed seeds: deterministic);
#  - 4x the probes halves the standard error (mean over samples within
#    [1.7, 2.3] of 2) and the mean's standard error too;
#  - the estimates and their errors are the same at 1 and 2 ranks (first 4
#    samples: the estimate's many small reductions are slow oversubscribed).
# Usage: slq_stderr.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
run() { # run NP DIR ARGS...
  local np=$1 dir=$2; shift 2
  mpirun -n "$np" --oversubscribe "$TENOR" logdensity -net_type er -net_n 60 -net_k 4 -net_scale 0.8 -dyn_h 0.2 -dyn_steps 4 \
    -data_samples 32 -dyn_batch 16 -out_dir "$dir" "$@" >"$dir.log" 2>&1
}
check() { # check AWK-CONDITION MESSAGE (variables passed as -v)
  local cond=$1 msg=$2; shift 2
  awk "$@" "BEGIN { exit !($cond) }" || { echo "FAIL $msg"; fail=1; }
}
json() { # json FILE KEY
  sed -n "s/^ *\"$2\": \([^,]*\),*$/\1/p" "$1"
}

ref=""
for m in sparse dense; do
  if run 1 ex_$m -logdet_type $m; then ref=$m; break; fi
  grep -q "not available in this build" ex_$m.log || { cat ex_$m.log; echo "FAIL exact run ($m)"; exit 1; }
done
[ -n "$ref" ] || { echo "SKIPPED: no exact log-det method (sparse, dense) in this build"; exit 0; }
mv ex_$ref ex

run 1 p20 -logdet_type slq -logdet_slq_probes 20 || { cat p20.log; exit 1; }
run 1 p80 -logdet_type slq -logdet_slq_probes 80 || { cat p80.log; exit 1; }
run 2 p20np2 -logdet_type slq -logdet_slq_probes 20 -data_samples 4 -dyn_batch 4 || { cat p20np2.log; exit 1; }

head -1 p20/logphi.csv | grep -q ',log_phi_stderr$' || { echo "FAIL logphi.csv has no log_phi_stderr column"; fail=1; }
grep -q "standard error .* nats on the mean" p20.log || { echo "FAIL the standard error is not printed"; fail=1; }
se20=$(json p20/summary.json loss_stderr_nats); se80=$(json p80/summary.json loss_stderr_nats)
[ -n "$se20" ] && [ -n "$se80" ] || { echo "FAIL summary.json has no loss_stderr_nats"; exit 1; }
head -1 ex/logphi.csv | grep -q stderr && { echo "FAIL an exact method reports a standard error column"; fail=1; }

# logphi.csv: sample,log_phi,loss_nats,bits_per_dim,loss_standardized_nats[,log_phi_stderr]
for p in p20 p80; do
  stats=$(paste -d, ex/logphi.csv $p/logphi.csv | awk -F, 'NR > 1 { if (!($11 > 0)) bad++; z = ($7 - $2) / $11; if (z < 0) z = -z; if (z > zmax) zmax = z; s += z * z; n++ }
    END { printf "%d %.4g %.4g", bad, zmax, s / n }')
  set -- $stats
  echo "$p: max |error|/stderr $2, mean z^2 $3"
  check 'b == 0' "$p: $1 samples without a positive standard error" -v b="$1"
  check 'z < 5' "$p: an error of $2 standard errors" -v z="$2"
  check 'm > 0.4 && m < 2' "$p: mean z^2 = $3 is not about 1" -v m="$3"
done

r=$(paste -d, p20/logphi.csv p80/logphi.csv | awk -F, 'NR > 1 { s += $6 / $12; n++ } END { printf "%.4g", s / n }')
echo "stderr ratio 20 -> 80 probes: per sample (mean) $r, of the mean $se20 / $se80"
check 'r > 1.7 && r < 2.3' "per-sample stderr ratio for 4x probes is $r, not about 2" -v r="$r"
check 'a / b > 1.7 && a / b < 2.3' "stderr of the mean: 4x probes gives $se20 -> $se80, not about half" -v a="$se20" -v b="$se80"

paste -d, p20/logphi.csv p20np2/logphi.csv | awk -F, 'NR > 1 && NR <= 5 { for (c = 2; c <= 6; c += 4) { d = $c - $(c + 6); if (d < 0) d = -d; a = $c < 0 ? -$c : $c; if (d > 1e-10 * (1 + a)) bad++ } } END { exit bad > 0 }' ||
  { echo "FAIL estimates or standard errors differ between 1 and 2 ranks"; fail=1; }

[ $fail -eq 0 ] && echo "ok   slq standard errors: errors within 5 se, mean z^2 about 1, 1/sqrt(probes), rank invariance (reference $ref)"
exit $fail
