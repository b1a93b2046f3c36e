#!/bin/bash
# The shared-signal gain study of docs/rules.md: does Hebbian learning make
# a recurrent network amplify a signal shared by many nodes and not the
# independent noise? Data: on an n x n lattice, the nodes of the group G
# (the first n/2 rows) share a signal, every node has its own noise,
#   x_is = sig_s s_s 1[i in G] + sig_n e_is        (s, e independent N(0, 1)),
# tenor train -train_rule hebb (linear activation, input activity, average
# schedule: W = C/alpha on the pattern), then the gain of the linear rate
# network da/dt = -Gamma a + W a + u to an input u, at its steady state
# a* = (Gamma - W)^{-1} u (the fixed-point iteration a <- Gamma^{-1}(u + W a)),
#   g(u) = |Gamma a*| / |u|          (1 for W = 0),
# for the shared direction u = 1_G and, for the independent component, the
# root mean square over 16 random directions u (i.i.d. N(0,1) on every node,
# made orthogonal to 1_G): sqrt(sum |Gamma a*|^2 / sum |u|^2). Before
# learning W = 0 (tenor train's default -net_scale 0): both gains are 1.
# Usage: tools/rule_gain.sh TENOR OUTDIR [RANKS]
#   environment: TN_GAIN_N (lattice side, 8), TN_GAIN_SAMPLES (1024),
#   TN_GAIN_ALPHA (hebb's decay, 20), TN_GAIN_SIGNAL (sig_s, 1),
#   TN_GAIN_NOISE (sig_n, 1), TN_GAIN_SEED (5)
set -eu
TENOR=$1; OUT=$2; NP=${3:-2}
n=${TN_GAIN_N:-8}; S=${TN_GAIN_SAMPLES:-1024}; alpha=${TN_GAIN_ALPHA:-20}
sig_s=${TN_GAIN_SIGNAL:-1}; sig_n=${TN_GAIN_NOISE:-1}; seed=${TN_GAIN_SEED:-5}
mkdir -p "$OUT"
N=$((n * n)); G=$((n / 2 * n))
awk -v seed="$seed" -v S="$S" -v N="$N" -v G="$G" -v a="$sig_s" -v b="$sig_n" 'BEGIN { srand(seed); pi = atan2(0, -1)
  for (s = 0; s < S; s++) { z = nrm(); line = ""
    for (i = 0; i < N; i++) line = line (i ? "," : "") sprintf("%.17g", (i < G ? a * z : 0) + b * nrm())
    print line } }
  function nrm(  u, v) { u = rand(); v = rand(); if (u < 1e-300) u = 1e-300; return sqrt(-2 * log(u)) * cos(2 * pi * v) }' >"$OUT/x.csv"
mpirun -n "$NP" --oversubscribe "$TENOR" train -net_n "$n" -data_file "$OUT/x.csv" -data_valid_fraction 0 -dyn_act linear \
  -train_rule hebb -rule_decay "$alpha" -rule_schedule average -train_epochs 1 -out_dir "$OUT/train" >"$OUT/train.log" 2>&1 ||
  { cat "$OUT/train.log"; exit 1; }
for d in row col theta; do
  h5dump -m "%.17g" -y -w 0 -d /$d "$OUT/train/model.h5" | sed -n '/DATA {/,/}/p' | sed '1d;$d' | tr ',' '\n' | tr -d ' ' | sed '/^$/d' >"$OUT/$d.txt"
done
paste -d' ' "$OUT/row.txt" "$OUT/col.txt" "$OUT/theta.txt" >"$OUT/model.txt"
# gains with W = 0 (before) and the trained W (after)
awk -v N="$N" -v G="$G" -v seed="$seed" 'BEGIN { srand(seed + 1); pi = atan2(0, -1) }
  $2 == -2 { gam[$1] = exp($3); next }
  $2 >= 0 { ne++; ei[ne] = $1; ej[ne] = $2; ew[ne] = $3 }
  function nrm(  u, v) { u = rand(); v = rand(); if (u < 1e-300) u = 1e-300; return sqrt(-2 * log(u)) * cos(2 * pi * v) }
  # |Gamma a*|^2 for input u[] with weights scaled by f (0: before, 1: after); -1 if the iteration diverges
  function resp(f,  i, t, it, d, dd, nn, s) {
    for (i = 0; i < N; i++) a[i] = u[i] / gam[i]
    for (it = 0; it < 100000; it++) {
      for (i = 0; i < N; i++) y[i] = u[i]
      for (t = 1; t <= ne; t++) y[ei[t]] += f * ew[t] * a[ej[t]]
      dd = 0; nn = 0
      for (i = 0; i < N; i++) { d = y[i] / gam[i] - a[i]; dd += d * d; a[i] = y[i] / gam[i]; nn += a[i] * a[i] }
      if (nn > 1e30) return -1
      if (dd <= 1e-26 * nn) break
    }
    s = 0; for (i = 0; i < N; i++) s += (gam[i] * a[i])^2
    return s
  }
  END {
    for (f = 0; f <= 1; f++) {
      for (i = 0; i < N; i++) u[i] = i < G ? 1 : 0
      r = resp(f); gs[f] = r < 0 ? -1 : sqrt(r / G)
      num = 0; den = 0; bad = 0
      for (m = 0; m < 16; m++) {
        mean = 0; for (i = 0; i < N; i++) { u[i] = nrm(); if (i < G) mean += u[i] / G }
        uu = 0; for (i = 0; i < N; i++) { if (i < G) u[i] -= mean; uu += u[i] * u[i] }
        r = resp(f); if (r < 0) bad = 1; num += r; den += uu
      }
      gn[f] = bad ? -1 : sqrt(num / den)
    }
    printf "component                      gain before   gain after\n"
    printf "shared signal (u = 1_G)        %11.4f  %11.4f\n", gs[0], gs[1]
    printf "independent noise (u _|_ 1_G)  %11.4f  %11.4f\n", gn[0], gn[1]
    printf "shared / independent           %11.4f  %11.4f\n", gs[0] / gn[0], gs[1] / gn[1]
    if (gs[1] < 0 || gn[1] < 0) print "the trained network has no steady state (an eigenvalue of Gamma^{-1} W >= 1): raise the decay alpha"
  }' "$OUT/model.txt" | tee "$OUT/gain.txt"
