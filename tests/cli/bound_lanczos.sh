#!/bin/bash
# The sync invertibility bound with the Lanczos certificate of |W|_2
# (docs/model.md section 5) on an er net with random-sign weights where the
# cheap bound sqrt(|W|_1 |W|_inf) refuses (h = 0.3: 1.084) and |W|_2 does not:
#  - -dyn_bound_norm cheap refuses, naming the bound and the option;
#  - auto (default) accepts, saying in the set-up line which bound was used;
#  - the certified value is the same at 1, 2 and 3 ranks (partitioned);
#  - tenor train on such a net (N = 64) runs with no step dropped, making
#    few certificates (set-up, and when a trial would otherwise be refused).
# Usage: bound_lanczos.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
common="-net_type er -net_n 60 -net_k 4 -net_scale 0.8 -dyn_h 0.3 -dyn_steps 2 -data_samples 2 -dyn_batch 2"
if mpirun -n 1 "$TENOR" logdensity $common -dyn_bound_norm cheap -out_dir cheap >cheap.log 2>&1; then
  echo "FAIL the cheap bound accepted h = 0.3"; fail=1
fi
grep -q "not guaranteed invertible.*sqrt(|W|_1 |W|_inf).*-dyn_bound_norm auto" cheap.log || { cat cheap.log; echo "FAIL the refusal does not name the bound and the option"; fail=1; }
for np in 1 2 3; do
  mpirun -n $np --oversubscribe "$TENOR" logdensity $common -out_dir np$np >np$np.log 2>&1 || { cat np$np.log; echo "FAIL auto refused at $np rank(s)"; fail=1; continue; }
  grep -q "invertibility: sync: .*Lanczos certificate, 64 steps, eps .*failure probability 1e-12" np$np.log || { echo "FAIL the set-up line does not name the certificate ($np ranks)"; fail=1; }
done
v1=$(sed -n 's/.*"invertibility_value": \([^,]*\),.*/\1/p' np1/summary.json)
echo "h Lip(f) bound at 1 rank: $v1 (cheap: 1.084)"
awk -v v="$v1" 'BEGIN { exit !(v > 0.3 && v < 1) }' || { echo "FAIL the certified value $v1 is not in (0.3, 1)"; fail=1; }
for np in 2 3; do
  v=$(sed -n 's/.*"invertibility_value": \([^,]*\),.*/\1/p' np$np/summary.json)
  awk -v a="$v1" -v b="$v" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-12 * a) }' || { echo "FAIL $np ranks: $v, 1 rank: $v1"; fail=1; }
done
tr="-net_type er -net_n 64 -net_k 4 -net_scale 0.8 -dyn_scheme sync -dyn_h 0.3 -dyn_steps 4 -data_type gmrf2d -data_samples 256 -train_epochs 5 -train_lr 0.03"
if mpirun -n 2 "$TENOR" train $tr -out_dir trc -dyn_bound_norm cheap >trc.log 2>&1; then echo "FAIL training with the cheap bound was not refused"; fail=1; fi
mpirun -n 2 "$TENOR" train $tr -out_dir tr -info >tr.log 2>&1 || { tail -20 tr.log; echo "FAIL training with the certificate"; fail=1; }
grep -q "^status: done after .* steps (0 shrunk for invertibility, 0 skipped)" tr.log || { grep "^status" tr.log; echo "FAIL training steps were shrunk or dropped"; fail=1; }
nc=$(grep -c "^\[0\] .*Certify(): |W|_2 certificate" tr.log)
echo "training: $nc certificate(s) over $(sed -n 's/^status: done after \([0-9]*\) steps.*/\1/p' tr.log) steps"
[ "$nc" -ge 1 ] && [ "$nc" -le 10 ] || { echo "FAIL $nc certificates made in training (expected 1 to 10)"; fail=1; }
[ $fail -eq 0 ] && echo "ok   Lanczos |W|_2 certificate: cheap refuses, auto accepts, same at 1, 2, 3 ranks; training keeps working"
exit $fail
