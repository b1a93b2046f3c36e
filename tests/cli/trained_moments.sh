#!/bin/bash
# A model trained on gmrf2d data generates samples with the data's second
# moments: `tenor train` (the default: a 16 x 16 lattice learning gmrf2d with
# tau = 1, kappa^2 = 0.5), then `tenor sample -model`. The exact marginal
# variance and nearest-neighbour covariance of the data come from the
# spectrum: var = (1/N) sum_pq 1/lambda_pq, cov = (1/N) sum_pq cos(2 pi p/n)/lambda_pq
# with lambda_pq = tau (kappa^2 + 4 sin^2(pi p/n) + 4 sin^2(pi q/n)) (docs/data.md). An untrained model (no epochs) must fail the same check.
# Usage: trained_moments.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
n=16
exact=$(awk -v n=$n 'BEGIN { pi = atan2(0, -1); for (p = 0; p < n; p++) for (q = 0; q < n; q++) {
          l = 0.5 + 4 * sin(pi * p / n)^2 + 4 * sin(pi * q / n)^2; v += 1 / l; c += cos(2 * pi * p / n) / l }
          printf "%.10g %.10g", v / (n * n), c / (n * n) }')
# moments of samples.csv: mean over nodes of the variance, and of the
# covariance with the right-hand neighbour (periodic), about the sample mean
moments() {
  awk -F, -v n=$n '{ for (i = 1; i <= NF; i++) { x[i] = $i; s[i] += $i; s2[i] += $i * $i }
                     for (r = 0; r < n; r++) for (c = 0; c < n; c++) { i = r * n + c + 1; j = r * n + (c + 1) % n + 1; sc[i] += x[i] * x[j] } ; S++ }
                   END { for (i = 1; i <= NF; i++) { m[i] = s[i] / S; v += s2[i] / S - m[i] * m[i] }
                         for (r = 0; r < n; r++) for (c = 0; c < n; c++) { i = r * n + c + 1; j = r * n + (c + 1) % n + 1; cv += sc[i] / S - m[i] * m[j] }
                         printf "%.10g %.10g", v / NF, cv / NF }' "$1"
}
check() { # NAME MODEL_DIR EXPECT(pass|fail)
  mpirun -n 2 --oversubscribe "$TENOR" sample -model "$2/model.h5" -sample_n 2000 -out_dir "$1" >"$1.log" 2>&1 || { cat "$1.log"; fail=1; return; }
  set -- "$1" "$2" "$3" $(moments "$1/samples.csv") $exact
  # within 15% of the exact variance and 0.05 of the exact covariance
  if awk -v v=$4 -v c=$5 -v V=$6 -v C=$7 'BEGIN { d = v - V; e = c - C; exit !((d < 0 ? -d : d) < 0.15 * V && (e < 0 ? -e : e) < 0.05) }'; then got=pass; else got=fail; fi
  if [ "$got" = "$3" ]; then echo "ok   $1: var $4, nn cov $5 (data: $6, $7) -> $got as expected"
  else echo "FAIL $1: var $4, nn cov $5 (data: $6, $7) -> $got, expected $3"; fail=1; fi
}
mpirun -n 2 --oversubscribe "$TENOR" train -out_dir trained >trained.log 2>&1 || { tail -20 trained.log; exit 1; }
mpirun -n 2 --oversubscribe "$TENOR" train -train_steps 1 -out_dir untrained >untrained.log 2>&1 || { tail -20 untrained.log; exit 1; }
check trained_samples trained pass
check untrained_samples untrained fail
exit $fail
