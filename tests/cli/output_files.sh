#!/bin/bash
# Output files in hard places: HDF5 outputs (model.h5, ckpt.h5, samples) under
# a path of more than 300 characters are written and read back (Open MPI's
# MPI-IO aborted on such paths); a full disk ends a run with one message,
# the temporaries removed and the files committed before kept.
# Usage: output_files.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
DATA="-data_type gmrf2d -data_samples 128 -data_valid_fraction 0.25"

# 1. a 300+ character output directory (nested), at 2 and 3 ranks
L="$W/$(printf 'd%.0s' {1..95})/$(printf 'e%.0s' {1..95})/$(printf 'f%.0s' {1..95})/out"
mkdir -p "$L"
if ! timeout 300 mpirun -n 2 --oversubscribe "$TENOR" train -net_n 4 $DATA -train_epochs 1 -train_ckpt_every 2 -out_dir "$L" >long_train.log 2>&1; then
  echo "FAIL train into a ${#L}-character directory"; tail -5 long_train.log; fail=1
fi
for f in model.h5 ckpt.h5; do [ -s "$L/$f" ] || { echo "FAIL no $f under the long path"; fail=1; }; done
if ! timeout 300 mpirun -n 3 --oversubscribe "$TENOR" logdensity -model "$L/model.h5" $DATA -out_dir "$L/ld" >long_ld.log 2>&1; then
  echo "FAIL logdensity -model from a long path"; tail -5 long_ld.log; fail=1
fi
if ! timeout 300 mpirun -n 3 --oversubscribe "$TENOR" sample -net_n 4 -sample_n 8 -sample_hdf5 "$L/samples.h5" -out_dir "$L/s" >long_sample.log 2>&1 || [ ! -s "$L/samples.h5" ]; then
  echo "FAIL sample -sample_hdf5 into a long path"; tail -5 long_sample.log; fail=1
fi
ls "$L" | grep -q '\.tmp' && { echo "FAIL temporaries left under the long path: $(ls "$L")"; fail=1; }
[ $fail -eq 0 ] && echo "ok   HDF5 outputs under a ${#L}-character path"

exit $fail
