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

# 2. a full disk (a 200 KB tmpfs; skipped where mounting is not permitted): the
# second checkpoint does not fit; one message, the first checkpoint and the
# metrics kept, no temporaries, no abort
F="$W/full"; mkdir -p "$F"
if mount -t tmpfs -o size=200k tmpfs "$F" 2>/dev/null; then
  timeout 300 mpirun -n 2 --oversubscribe "$TENOR" train -net_n 12 -data_type gmrf2d -data_samples 512 -data_valid_fraction 0.25 -train_epochs 3 -train_ckpt_every 4 -out_dir "$F/o" >full.log 2>&1
  rc=$?
  n=$(grep -c "tenor: error:" full.log)
  if [ $rc -eq 0 ] || [ $rc -ge 124 ] || [ "$n" -ne 1 ] || ! grep -q "tenor: error: cannot write $F/o/ckpt.h5: .*is the disk full" full.log || grep -q "MPI_ABORT\|HDF5-DIAG" full.log; then
    echo "FAIL disk full: exit $rc, $n error line(s)"; cat full.log; fail=1
  elif ls "$F/o" | grep -q tmp || [ ! -s "$F/o/ckpt.h5" ] || [ ! -s "$F/o/train_metrics.csv" ]; then
    echo "FAIL disk full: left $(ls "$F/o" | tr '\n' ' ')"; fail=1
  else echo "ok   disk full: $(grep 'tenor: error:' full.log | cut -c1-140); kept: $(ls "$F/o" | tr '\n' ' ')"; fi
  umount "$F"
else echo "skip disk full: cannot mount a tmpfs here"; fi

# 3. no output is written through a symbolic link at its name or at NAME.tmp
echo precious >victim
link_refused() { # NAME LINK CMD...: LINK is a symbolic link to victim; CMD must refuse it
  local name=$1 link=$2; shift 2
  mkdir -p "$(dirname "$link")"; ln -sfn "$W/victim" "$link"
  timeout 300 mpirun -n 2 --oversubscribe "$TENOR" "$@" >"link_$name.log" 2>&1
  local rc=$?
  if [ $rc -eq 0 ] || [ $rc -ge 124 ] || [ "$(grep -c 'tenor: error:' "link_$name.log")" -ne 1 ] || ! grep -q "symbolic link" "link_$name.log"; then
    echo "FAIL symlink $name: exit $rc"; cat "link_$name.log"; fail=1
  else echo "ok   symlink $name: $(grep 'tenor: error:' "link_$name.log" | cut -c1-120)"; fi
  rm -f "$link"
}
link_refused model_tmp lk/model.h5.tmp train -net_n 4 $DATA -train_epochs 1 -out_dir lk
link_refused ckpt lk2/ckpt.h5 train -net_n 4 $DATA -train_epochs 1 -train_ckpt_every 1 -out_dir lk2
link_refused samples_h5 lk3/s.h5 sample -net_n 4 -sample_n 4 -sample_hdf5 lk3/s.h5 -out_dir lk3
link_refused samples_tmp lk4/s.h5.tmp sample -net_n 4 -sample_n 4 -sample_hdf5 lk4/s.h5 -out_dir lk4
link_refused summary_tmp lk5/summary.json.tmp logdensity -model "$L/model.h5" $DATA -out_dir lk5
[ "$(cat victim)" = precious ] || { echo "FAIL a symbolic link's target was written"; fail=1; }
exit $fail
