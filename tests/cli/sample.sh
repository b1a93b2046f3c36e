#!/bin/bash
# tenor sample end to end: samples.csv has one row of N values per sample;
# `tenor logdensity` on those rows (CSV, and the HDF5 copy) gives the log Phi
# that sample.json reports; the round trip is below 1e-10; the samples are
# the same at 1 and 3 ranks. Both schemes. Usage: sample.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
say() { if [ "$1" = ok ]; then echo "ok   $2"; else echo "FAIL $2"; fail=1; fi; }
# max relative difference of two numeric CSV files (same shape), exit 1 if > tol
csvdiff() { # A B TOL
  awk -F, -v tol="$3" 'NR==FNR { for (i = 1; i <= NF; i++) v[FNR, i] = $i; next }
    { for (i = 1; i <= NF; i++) { d = $i - v[FNR, i]; if (d < 0) d = -d; s = v[FNR, i] < 0 ? -v[FNR, i] : v[FNR, i]; if (s < 1) s = 1; if (d / s > m) m = d / s } }
    END { printf "%.3g", m; exit (m > tol) }' "$1" "$2"
}
# log_phi array of sample.json, one per line
jsonphi() { python3 -c 'import json,sys; print("\n".join("%.17g" % v for v in json.load(open(sys.argv[1]))["log_phi"]))' "$1"; }
S=10; B=4
for scheme in sync colored; do
  common="-net_type lattice2d -net_n 12 -net_self -net_scale 0.8 -net_bias 0.3 -dyn_scheme $scheme -dyn_batch $B -dyn_steps 6"
  if ! mpirun -n 3 --oversubscribe "$TENOR" sample $common -sample_n $S -sample_seed 5 -sample_hdf5 s3.h5 -out_dir s3 >s3.out 2>&1; then
    say fail "$scheme: tenor sample at 3 ranks"; cat s3.out; continue
  fi
  head -1 s3/samples.csv | grep -q "^x0,x1,.*,x143$" && say ok "$scheme: samples.csv header x0..x143" || say fail "$scheme: samples.csv header: $(head -c 60 s3/samples.csv)"
  rows=$(grep -vc "^x" s3/samples.csv); cols=$(awk -F, '{ print NF }' s3/samples.csv | sort -u)
  [ "$rows" = $S ] && [ "$cols" = 144 ] && say ok "$scheme: samples.csv is $rows x $cols" || say fail "$scheme: samples.csv is $rows rows x '$cols' columns, expected $S x 144"
  rt=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["roundtrip_max_rel"])' s3/sample.json)
  python3 -c "import sys; sys.exit(not ($rt <= 1e-10))" && say ok "$scheme: round trip $rt" || say fail "$scheme: round trip $rt > 1e-10"
  jsonphi s3/sample.json | awk '{ print NR - 1 "," $1 }' >phi_sample.csv
  for src in s3/samples.csv s3.h5; do
    if ! mpirun -n 2 "$TENOR" logdensity $common -data_file $src -data_dataset /x -out_dir ld >ld.out 2>&1; then
      say fail "$scheme: logdensity on $src"; cat ld.out; continue
    fi
    awk -F, 'NR > 1 { print $1 "," $2 }' ld/logphi.csv >phi_ld.csv
    d=$(csvdiff phi_sample.csv phi_ld.csv 1e-12) && say ok "$scheme: logdensity on $src = sample.json log Phi (max rel diff $d)" || say fail "$scheme: logdensity on $src differs from sample.json by $d"
  done
  if mpirun -n 1 "$TENOR" sample $common -sample_n $S -sample_seed 5 -out_dir s1 >s1.out 2>&1; then
    d=$(csvdiff s1/samples.csv s3/samples.csv 1e-12) && say ok "$scheme: samples at 1 and 3 ranks agree (max rel diff $d)" || say fail "$scheme: samples at 1 and 3 ranks differ by $d"
  else say fail "$scheme: tenor sample at 1 rank"; cat s1.out; fi
done
# a sync fixed point that cannot converge is one clear error
mpirun -n 2 "$TENOR" sample -net_n 8 -sample_maxit 2 -out_dir bad >bad.out 2>&1
rc=$?; n=$(grep -c "tenor: error:" bad.out)
[ $rc -ne 0 ] && [ "$n" = 1 ] && grep -q "did not converge" bad.out && say ok "non-convergence: $(grep 'tenor: error:' bad.out | cut -c1-120)" || { say fail "non-convergence: exit $rc, $n error lines"; cat bad.out; }
exit $fail
