#!/bin/bash
# tenor quick start, step 1: install what is missing (Debian 12), build, and
# run the main job. Safe to re-run: installs only missing packages, rebuilds
# only what changed. Run as root, or as a user with sudo.
# --no-run: install and build only. --digits: also install Debian's
# python3-sklearn and python3-h5py, then run the 8 x 8 digits example
# (docs/digits.md) instead of the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
DIGITS=0
[ "${1:-}" = "--digits" ] && DIGITS=1
PKGS="build-essential cmake pkg-config openmpi-bin libopenmpi-dev petsc-dev libscalapack-openmpi-dev \
libhdf5-openmpi-dev hdf5-tools libjansson-dev libcunit1-dev libopenblas0-serial clang-format python3 python3-matplotlib"
[ $DIGITS = 1 ] && PKGS="$PKGS python3-sklearn python3-h5py"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "tenor setup: installing:$missing"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
BUILD=${TENOR_BUILD:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
[ "${1:-}" = "--no-run" ] && exit 0
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
[ "$(id -u)" -eq 0 ] || unset OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM
if [ $DIGITS = 1 ]; then
  # The digits example: export, tenor's density against Gaussians (about a
  # minute on 1 rank), the classification baselines. Results in out/digits.
  /usr/bin/python3 tools/digits/export.py out/digits
  /usr/bin/python3 tools/digits/density.py --tenor "$BUILD/tenor" --data out/digits --out out/digits/density
  /usr/bin/python3 tools/digits/classify.py --data out/digits --out out/digits/classify
  exit 0
fi
# The main job: a 16 x 16 lattice network learns gmrf2d data (a Gaussian
# field with a known entropy) on 2 ranks, about 6 seconds; then
# the trained model's log-density of the data. Results in out/quickstart.
mpirun -n 2 --oversubscribe "$BUILD/tenor" train -out_dir out/quickstart
mpirun -n 2 --oversubscribe "$BUILD/tenor" logdensity -model out/quickstart/model.h5 -data_type gmrf2d -data_gmrf_n 16 -data_samples 256 -out_dir out/quickstart/logdensity
