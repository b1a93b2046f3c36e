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
printf '2147483647\n0\n0\n0\n' >maxcolor.txt
printf '2147483646\n0\n0\n0\n' >bigcolor.txt
printf '%%%%MatrixMarket matrix coordinate real general\n4 4 4\n1 1 0.1\n2 2 0.1\n3 3 0.1\n4 4 0.1\n' >diag4.mtx
# 2^31 - 1 is refused by the reader; 2^31 - 2 passes it and must not overflow cmax + 1
expect_error 1 color_2p31 "found 2147483647, expected a non-negative integer below 2147483647" logdensity -net_W diag4.mtx -dyn_scheme colored -dyn_coloring_file maxcolor.txt -data_samples 4 -out_dir o
expect_error 1 color_2p31m1 "colour numbers up to 2147483646 are too large" logdensity -net_W diag4.mtx -dyn_scheme colored -dyn_coloring_file bigcolor.txt -data_samples 4 -out_dir o

# 2. errors in user input end the run with one message at 1, 2, 3 and 8 ranks
for np in 1 2 3 8; do expect_error $np steps_1e12 "-dyn_steps 1e12 is out of range" logdensity -dyn_steps 1e12 -out_dir o; done
expect_error 3 net_n_frac "-net_n 1.5: not an integer" logdensity -net_n 1.5 -out_dir o
# logical values: PETSc's spellings only, one message naming them (PETSc's own
# reader left one "Unknown logical value" per rank and an abort)
expect_error 3 slices_7 "-dyn_slices 7: not a logical value (give 1 or 0, true or false, yes or no, on or off)" logdensity $FAST -dyn_slices 7 -out_dir o
expect_error 3 self_nan "-net_self nan: not a logical value" logdensity $FAST -net_self nan -out_dir o
expect_ok slices_off "wrote o/summary.json" logdensity $FAST -dyn_slices OFF -out_dir o
# the sync scheme's column panels: negative (below -1), beyond PetscInt, not a number
expect_error 3 panel_kb_negative "-dyn_panel_kb -5 is out of range: give an integer from -1 to" logdensity $FAST -dyn_panel_kb -5 -out_dir o
expect_error 3 panel_kb_huge "-dyn_panel_kb 99999999999 is out of range" logdensity $FAST -dyn_panel_kb 99999999999 -out_dir o
expect_error 3 panel_kb_text "-dyn_panel_kb abc: not an integer" logdensity $FAST -dyn_panel_kb abc -out_dir o
# the readers' block size: 0, negative, above its maximum (2^31/4 - 1), beyond PetscInt, not a number
for np in 1 3; do
  for v in 0 -3 536870912 99999999999; do
    expect_error $np io_chunk_$v "-tn_io_chunk $v is out of range: give an integer from 1 to 536870911" logdensity $FAST -tn_io_chunk $v -out_dir o
  done
  expect_error $np io_chunk_text "-tn_io_chunk abc: not an integer (give an integer from 1 to 536870911)" logdensity $FAST -tn_io_chunk abc -out_dir o
done
expect_ok io_chunk_ok "wrote o/summary.json" logdensity $FAST -tn_io_chunk 3 -out_dir o
expect_error 3 options_file_missing "cannot read the options file /nonexistent" logdensity -options_file /nonexistent
printf 'net:\n  n: 4\n bad: [\n' >bad.yaml
expect_error 3 options_file_yaml "bad.yaml:3:2: the YAML options file" logdensity -options_file_yaml bad.yaml

# 3. -help prints tenor's options (rank 0 only) and stops; usage and version
cd_clean() { rm -rf out; }
cd_clean
mpirun -n 2 "$TENOR" train -help >help.out 2>&1 || { echo "FAIL train -help exit"; fail=1; }
[ "$(grep -c -- '^  -train_lr ' help.out)" -eq 1 ] || { echo "FAIL train -help: -train_lr not listed once"; fail=1; }
grep -q -- "^  -net_n  *<16>" help.out || { echo "FAIL train -help: -net_n with train's default 16"; fail=1; }
grep -q "Options for all PETSc" help.out && { echo "FAIL -help shows PETSc's options"; fail=1; }
[ -e out ] && { echo "FAIL -help wrote out/"; fail=1; }
# a command's own default is what -help shows
"$TENOR" normcheck -help 2>&1 | grep -q -- "^  -dyn_batch  *<1024>" || { echo "FAIL normcheck -help: -dyn_batch with normcheck's default 1024"; fail=1; }
"$TENOR" logdet -help 2>&1 | grep -q -- "^  -dyn_batch  *<4>" || { echo "FAIL logdet -help: -dyn_batch with logdet's default 4"; fail=1; }
"$TENOR" logdensity -help all >helpall.out 2>&1 || { echo "FAIL -help all exit"; fail=1; }
a=$(grep -n -- "^  -dyn_steps" helpall.out | head -1 | cut -d: -f1); b=$(grep -n "Options for all PETSc" helpall.out | head -1 | cut -d: -f1)
[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ] || { echo "FAIL -help all: tenor's options first, then PETSc's ($a, $b)"; fail=1; }
for c in logdet normcheck sample; do "$TENOR" $c -help >h_$c.out 2>&1 && grep -q -- "^  -dyn_scheme" h_$c.out || { echo "FAIL $c -help"; fail=1; }; done
for a in "" --help -h help; do
  "$TENOR" $a >usage.out 2>&1 && grep -q "^usage: mpirun -n P tenor COMMAND" usage.out || { echo "FAIL tenor $a: no usage"; fail=1; }
done
[ -e out ] && { echo "FAIL tenor alone wrote out/"; fail=1; }
"$TENOR" --version >version.out 2>&1 && grep -q "^tenor .* (git " version.out && grep -q "PETSc\|Petsc" version.out && grep -q "Open MPI" version.out && grep -q "HDF5" version.out || { echo "FAIL --version"; cat version.out; fail=1; }
"$TENOR" version | cmp -s - version.out || { echo "FAIL tenor version differs from --version"; fail=1; }

# 4. unknown options are refused before any work, naming the closest one
expect_error 2 typo_logdensity "unknown option -dyn_stepz (did you mean -dyn_steps?)" logdensity -dyn_stepz 5 -out_dir typo
[ -e typo ] && { echo "FAIL a refused run wrote its output directory"; fail=1; }
expect_error 1 typo_train "unknown option -train_lrr (did you mean -train_lr?)" train -train_lrr 0.1 -out_dir typo
expect_error 1 typo_sample "did you mean -sample_n?" sample -sample_nn 3 -out_dir typo
expect_error 1 typo_normcheck "did you mean -norm_points?" normcheck -norm_pointz 3 -out_dir typo
expect_error 1 typo_logdet "did you mean -logdet_methods?" logdet -logdet_method diag -out_dir typo
expect_error 1 typo_prefix "unknown option -dny_steps (did you mean -dyn_steps?)" logdensity -dny_steps 3 -out_dir typo
# what PETSc reads keeps working
expect_ok log_view "DynStep" logdensity $FAST -log_view -out_dir o
expect_ok petsc_opts "wrote o/summary.json" logdensity $FAST -memory_limit 1e12 -tn_progress_every 1 -options_left 0 -out_dir o

# 5. the data type follows the file name in every command
awk 'BEGIN { srand(3); for (s = 0; s < 64; s++) { l = ""; for (i = 0; i < 4; i++) l = l (i ? "," : "") sprintf("%.6f", rand() - 0.5); print l } }' >x.csv
expect_ok train_csv "x.csv" train -net_n 2 -data_file x.csv -train_epochs 1 -out_dir tcsv
grep -q "gmrf2d" train_csv.out && { echo "FAIL train -data_file x.csv trained on gmrf2d"; fail=1; }
expect_ok logdensity_csv "x.csv" logdensity -net_n 2 -data_file x.csv -out_dir lcsv
expect_error 1 file_and_generator "-data_file x.csv is not read by -data_type gmrf2d" train -net_n 2 -data_type gmrf2d -data_file x.csv -out_dir tcsv

# 6. an output directory that cannot be written is refused before any work
echo plain >afile
for np in 1 3; do
  expect_error $np out_dir_file "cannot write in the output directory afile" logdensity $FAST -out_dir afile
  grep -q "^result:" out_dir_file.out && { echo "FAIL the evaluation ran before the output directory was checked"; fail=1; }
done
expect_error 3 out_dir_file_train "cannot write in the output directory afile" train -net_n 4 -out_dir afile
grep -q "^step" out_dir_file_train.out && { echo "FAIL training ran before the output directory was checked"; fail=1; }
expect_error 2 out_dir_notdir "cannot write in the output directory afile/sub" normcheck -out_dir afile/sub
expect_error 2 out_dir_sample "cannot write in the output directory afile" sample -out_dir afile

# 7. -model holds the network: -net_* beside it is refused, -dyn_* overrides it with a note
"$TENOR" train -net_n 2 -data_file x.csv -train_epochs 1 -out_dir m >m.out 2>&1 || { echo "FAIL train for -model"; cat m.out; fail=1; }
expect_error 2 model_net_n "holds the network; -net_n would be ignored" logdensity -model m/model.h5 -data_file x.csv -net_n 8 -out_dir mo
expect_error 1 model_net_type "-net_type, -net_n would be ignored" sample -model m/model.h5 -net_type er -net_n 8 -out_dir mo
expect_ok model_dyn "note: -dyn_steps 2 overrides the model's K = 1" logdensity -model m/model.h5 -data_file x.csv -dyn_steps 2 -out_dir mo
exit $fail
