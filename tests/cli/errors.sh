#!/bin/bash
# Every bad input ends with a non-zero exit, one "tenor: error:" line printed
# once (by rank 0, at 3 ranks), and no hang. Usage: errors.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
expect_error() { # NAME PATTERN ARGS... (the command is logdensity, or $CMD)
  local name=$1 pat=$2; shift 2
  timeout 120 mpirun -n 3 --oversubscribe "$TENOR" "${CMD:-logdensity}" -out_dir "$W/out" "$@" >"$name.out" 2>&1
  local rc=$? n
  n=$(grep -c "tenor: error:" "$name.out")
  if [ $rc -eq 0 ] || [ $rc -eq 124 ] || [ "$n" -ne 1 ] || ! grep -q -- "$pat" "$name.out"; then
    echo "FAIL $name: exit $rc, $n error line(s), expected /$pat/"; cat "$name.out"; fail=1
  else echo "ok   $name: $(grep 'tenor: error:' "$name.out" | cut -c1-150)"; fi
}
printf '%%%%MatrixMarket matrix coordinate real general\n3 3 4\n1 1 0.5\n2 1 0.1\n3 2 0.2\n' >trunc.mtx
printf '%%%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 0.5\n4 1 0.1\n' >range.mtx
printf '%%%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 0.5\n2 1 nan\n' >nan.mtx
printf 'this is not a matrix\n' >garbled.mtx
printf '%%%%MatrixMarket matrix coordinate real general\n3 3 3\n1 1 0.5\n2 1 0.1\n3 2 0.2\n' >good.mtx
printf '0.1\n0.2\n' >b2.txt
printf '1,2,3\n4,5\n' >ragged.csv
printf '1,2,3\n4,nan,6\n' >nan.csv
printf '0\n0\n0\n' >badcolors.txt
expect_error missing_file "nosuch.mtx" -net_W nosuch.mtx
expect_error garbled_mtx "garbled.mtx" -net_W garbled.mtx
expect_error truncated_mtx "trunc.mtx" -net_W trunc.mtx
expect_error index_range "range.mtx" -net_W range.mtx
expect_error nan_weight "nan.mtx" -net_W nan.mtx
expect_error n_mismatch "b2.txt" -net_W good.mtx -net_b b2.txt
expect_error ragged_csv "ragged.csv" -net_W good.mtx -data_file ragged.csv
expect_error nan_csv "nan.csv" -net_W good.mtx -data_file nan.csv
expect_error improper_coloring "not a proper colouring" -net_W good.mtx -dyn_scheme colored -dyn_coloring_file badcolors.txt
expect_error unknown_scheme "foo" -dyn_scheme foo
expect_error unknown_net "bogus" -net_type bogus
expect_error h_zero "dyn_h" -dyn_h 0
expect_error k_negative "dyn_steps" -dyn_steps -1
expect_error not_invertible_sync "not guaranteed invertible" -net_scale 30
expect_error not_invertible_colored "not invertible" -dyn_scheme colored -net_gamma 30
# output is never written through a symbolic link: refused, the target untouched
echo precious >victim.txt
mkdir -p out && ln -sfn "$W/victim.txt" out/logphi.csv
expect_error symlink_output "out/logphi.csv: it is a symbolic link" -net_W good.mtx
rm -f out/logphi.csv && ln -sfn "$W/victim.txt" out/train_metrics.csv
CMD=train expect_error symlink_metrics "out/train_metrics.csv: it is a symbolic link" -net_n 4 -data_samples 64 -train_epochs 1
rm -f out/train_metrics.csv
[ "$(cat victim.txt)" = precious ] || { echo "FAIL a symbolic link's target was written"; fail=1; }
exit $fail
