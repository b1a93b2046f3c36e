#!/bin/bash
# Damaged model and checkpoint files (and HDF5 sample files): every value
# read is checked. Each damage ends, at 1 and 3 ranks, with a non-zero exit,
# exactly one "tenor: error:" line naming the file and the field, no signal
# and no hang. Files are damaged with the test helper h5edit ($TN_H5EDIT).
# (The variants of a kind run at 3 ranks only, to keep the test short.)
# Usage: damaged_files.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
H5EDIT=${TN_H5EDIT:-$(dirname "$TENOR")/tests/h5edit}
[ -x "$H5EDIT" ] || { echo "no h5edit helper at $H5EDIT"; exit 1; }
fail=0
DATA="-data_type gmrf2d -data_samples 128 -data_valid_fraction 0.25"
TRAIN="-net_n 4 $DATA -train_epochs 4 -train_keep_best"
mpirun -n 2 --oversubscribe "$TENOR" train -net_n 4 $DATA -train_epochs 2 -train_ckpt_every 3 -train_keep_best -out_dir run >run.log 2>&1 || { cat run.log; exit 1; }
mpirun -n 2 --oversubscribe "$TENOR" train -net_n 4 $DATA -data_standardize -train_epochs 1 -out_dir std >std.log 2>&1 || { cat std.log; exit 1; }

# run NP CMD...: at 1 rank without mpirun (faster start-up), else under mpirun
run() { local np=$1; shift; if [ "$np" = 1 ]; then timeout 120 "$@"; else timeout 120 mpirun -n "$np" --oversubscribe "$@"; fi; }
# check NAME NP LOG RC PATTERN: exit != 0 and no signal/timeout, one error line matching PATTERN
check() {
  local name=$1 np=$2 log=$3 rc=$4 pat=$5 n
  n=$(grep -c "tenor: error:" "$log")
  if [ "$rc" -eq 0 ] || [ "$rc" -ge 124 ] || [ "$n" -ne 1 ] || ! grep -q -- "tenor: error: .*$pat" "$log" || grep -qiE "signal|segmentation|HDF5-DIAG" "$log"; then
    echo "FAIL $name (np $np): exit $rc, $n error line(s), expected /$pat/"; tail -20 "$log"; fail=1
  else echo "ok   $name (np $np): $(grep 'tenor: error:' "$log" | cut -c1-160)"; fi
}
# model NAME PATTERN EDIT...: logdensity -model on a damaged copy of run/model.h5
# (SRC= another model; X= a second edit)
model() {
  local name=$1 pat=$2 np; shift 2
  for np in ${NPS:-1 3}; do
    rm -f m.h5; cp "${SRC:-run/model.h5}" m.h5; "$H5EDIT" m.h5 "$@" || { echo "FAIL h5edit $*"; fail=1; }
    [ -z "${X:-}" ] || "$H5EDIT" m.h5 $X || { echo "FAIL h5edit $X"; fail=1; }
    run $np "$TENOR" logdensity -model m.h5 $DATA -out_dir ld >"model_$name.$np.log" 2>&1
    check "model $name" $np "model_$name.$np.log" $? "m.h5.*$pat"
  done
}
# ckpt NAME PATTERN EDIT...: train -train_restart from a damaged copy of run/ckpt.h5
ckpt() {
  local name=$1 pat=$2 np; shift 2
  for np in ${NPS:-1 3}; do
    rm -rf r; mkdir r; cp run/ckpt.h5 r/ckpt.h5; "$H5EDIT" r/ckpt.h5 "$@" || { echo "FAIL h5edit $*"; fail=1; }
    run $np "$TENOR" train $TRAIN -train_restart -out_dir r >"ckpt_$name.$np.log" 2>&1
    check "ckpt $name" $np "ckpt_$name.$np.log" $? "r/ckpt.h5.*$pat"
  done
}

# checkpoints: positions, counters and moments
ckpt pos_negative "'pos' = -1" attr pos -1
ckpt pos_huge "'pos' = 1e+09" attr pos 1e9
NPS=3 ckpt pos_minus_huge "'pos' = -1e+09" attr pos -1e9
ckpt pos_past_data "'pos' = 3, expected an integer in \[0, 2\]" attr pos 3
ckpt step_nan "'step' = nan" attr step nan
NPS=3 ckpt step_inconsistent "'step' = 5, expected epoch" attr step 5
ckpt best_valid_nan "'best_valid' = nan" attr best_valid nan
ckpt m_nan "dataset 'm' holds nan at entry 3" set m 3 nan
NPS=3 ckpt v_inf "dataset 'v' holds inf at entry 2" set v 2 inf
NPS=3 ckpt v_negative "dataset 'v' holds -1 at entry 2" set v 2 -1
ckpt best_nan "dataset 'best' holds nan at entry 1" set best 1 nan
ckpt pos_array "'pos' holds 2 values, expected one number" attr pos 0 1
NPS=3 ckpt step_string "'step' is not a number" str step 5
ckpt version_newer "version is 2 in the file" attr version 2

# models: the pattern, the values, the sizes and the metadata
model row_range "dataset 'row' holds 16 at entry 5, expected an integer in \[0, 15\]" set row 5 16
NPS=3 model row_negative "dataset 'row' holds -1 at entry 5" set row 5 -1
NPS=3 model col_range "dataset 'col' holds 16 at entry 5" set col 5 16
model col_nan "dataset 'col' holds nan at entry 5" set col 5 nan
model col_minus3 "dataset 'col' holds -3 at entry 5" set col 5 -3
model col_huge "dataset 'col' holds 1e+10 at entry 5" set col 5 1e10
NPS=3 model col_fraction "dataset 'col' holds 2.5 at entry 5" set col 5 2.5
model duplicate "only 175 distinct (row, col) pairs" set col 5 2
NPS=3 model two_biases "exactly one bias" set col 0 -1
model theta_nan "dataset 'theta' holds nan at entry 3" set theta 3 nan
model K_fraction "'K' = 0.5, expected an integer" attr K 0.5
NPS=3 model h_nan "'h' = nan" attr h nan
model version_newer "'version' = 7, expected an integer in \[1, 1\]" attr version 7
NPS=3 model format "'format' = 'tenor-x'" str format tenor-x
model N_array "'N' holds 2 values, expected one number" attr N 16 16
NPS=3 model nnz_array "'nnz' holds 2 values" attr nnz 176 1
NPS=3 model nnz_missing "lacks the attribute 'nnz'" del nnz
model nnz_mismatch "'col' has 175 synapse entries (col >= 0), but the attribute 'nnz' = 176" set col 5 -1
NPS=3 model nnz_range "'nnz' = 3e+08, expected an integer in \[0, 256\]" attr nnz 3e8
# a 14 KB file declaring 3e8 synapses: refused before anything that large is allocated
X="attr nnz 3e8" model sizes_forged "dataset 'row' holds 208 values .* expected 300040000" attr N 20000
SRC=std/model.h5 model data_mean_nan "dataset 'data_mean' holds nan at entry 3" set data_mean 3 nan
NPS=3 SRC=std/model.h5 model data_sd_zero "dataset 'data_sd' holds 0 at entry 3" set data_sd 3 0

# damaged HDF5 structure: rank 0 checks the file with serial HDF5 before the
# collective open, so no rank waits for another that failed to open it
cp run/model.h5 super.h5; printf '\xff\xff\xff\xff\xff\xff\xff\xff' | dd of=super.h5 bs=1 seek=40 conv=notrunc 2>/dev/null
for np in 1 3; do
  run $np "$TENOR" logdensity -model super.h5 $DATA -out_dir ld >super.$np.log 2>&1
  check "damaged superblock" $np super.$np.log $? "cannot open super.h5 as an HDF5 file: it is damaged or truncated"
  head -c 5000 run/model.h5 >trunc.h5
  run $np "$TENOR" logdensity -model trunc.h5 $DATA -out_dir ld >trunc.$np.log 2>&1
  check "truncated model" $np trunc.$np.log $? "trunc.h5 .*damaged or truncated"
done

# HDF5 samples: a declared size the file does not hold, and one larger than the memory
"$H5EDIT" forged.h5 samples /x 20000000 16
"$H5EDIT" small.h5 samples /x 200000 16 0.5
for np in 1 3; do
  run $np "$TENOR" logdensity -net_n 4 -data_file forged.h5 -out_dir ld >forged.$np.log 2>&1
  check "samples forged size" $np forged.$np.log $? "forged.h5: the dataset '/x' declares 320000000 values .* but the file stores 0 bytes"
  run $np "$TENOR" logdensity -net_n 4 -data_file small.h5 -memory_limit 1e7 -out_dir ld >mem.$np.log 2>&1
  check "samples memory" $np mem.$np.log $? "the samples of small.h5 (200000 x 16) .*-memory_limit"
done
exit $fail
