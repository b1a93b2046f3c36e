#!/bin/bash
# The command line: checked numbers, errors reported once at any rank count,
# -help and usage, unknown options, the data type from the file name, the
# output directory checked before any work, options that conflict with -model.
# Usage: options.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
FAST="-net_n 4 -dyn_steps 2 -data_samples 8"
# expect_error NP NAME PATTERN COMMAND ARGS...: a non-zero exit without a hang,
# exactly one "tenor: error:" line matching PATTERN, no abort of the job.
expect_error() {
  local np=$1 name=$2 pat=$3; shift 3
  timeout 120 mpirun -n "$np" --oversubscribe "$TENOR" "$@" >"$name.out" 2>&1
  local rc=$? n
  n=$(grep -c "tenor: error:" "$name.out")
  if [ $rc -eq 0 ] || [ $rc -eq 124 ] || [ "$n" -ne 1 ] || ! grep -q -- "$pat" "$name.out" || grep -q "MPI_ABORT\|did not happen on every rank" "$name.out"; then
    echo "FAIL $name (np $np): exit $rc, $n error line(s), expected /$pat/"; cat "$name.out"; fail=1
  else echo "ok   $name (np $np): $(grep 'tenor: error:' "$name.out" | cut -c1-160)"; fi
}
expect_ok() { # NAME PATTERN COMMAND ARGS...: exit 0 and PATTERN in the output
  local name=$1 pat=$2; shift 2
  timeout 120 "$TENOR" "$@" >"$name.out" 2>&1
  local rc=$?
  if [ $rc -ne 0 ] || ! grep -q -- "$pat" "$name.out"; then
    echo "FAIL $name: exit $rc, expected /$pat/"; cat "$name.out"; fail=1
  else echo "ok   $name"; fi
}

# 1. numbers: no wrap-around at 32 bits, no 1.5 for an integer, no inf
expect_error 1 net_n_wrap "-net_n 4294967300 is out of range" logdensity -net_n 4294967300 -out_dir o
expect_error 1 steps_wrap "-dyn_steps 4294967298 is out of range" logdensity -dyn_steps 4294967298 -out_dir o
expect_error 1 batch_wrap "-dyn_batch 4294967300 is out of range" logdensity -dyn_batch 4294967300 -out_dir o
expect_error 1 net_n_2p31 "PetscInt is 32-bit" logdensity -net_n 2147483648 -out_dir o
expect_error 1 lr_inf "-train_lr inf: not a finite number" train -train_lr inf -out_dir o
expect_error 1 h_nan "-dyn_h nan" logdensity -dyn_h nan -out_dir o
expect_error 1 mix_k "-data_mix_components 17 is out of range" logdensity -data_type mixture -data_mix_components 17 -out_dir o
expect_ok exact_1e1 "K = 10 " logdensity -net_n 4 -dyn_steps 1e1 -data_samples 8 -out_dir o
printf '2147483647\n0\n0\n0\n' >bigcolor.txt
printf '%%%%MatrixMarket matrix coordinate real general\n4 4 4\n1 1 0.1\n2 2 0.1\n3 3 0.1\n4 4 0.1\n' >diag4.mtx
expect_error 1 color_2p31 "colour numbers up to 2147483647 are too large" logdensity -net_W diag4.mtx -dyn_scheme colored -dyn_coloring_file bigcolor.txt -data_samples 4 -out_dir o

# 2. errors in user input end the run with one message at 1, 2, 3 and 8 ranks
for np in 1 2 3 8; do expect_error $np steps_1e12 "-dyn_steps 1e12 is out of range" logdensity -dyn_steps 1e12 -out_dir o; done
expect_error 3 net_n_frac "-net_n 1.5: not an integer" logdensity -net_n 1.5 -out_dir o
exit $fail
