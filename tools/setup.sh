#!/bin/bash
# tenor quick start, step 1: install what is missing (Debian 12), build, and
# run the main job. Safe to re-run: installs only missing packages, rebuilds
# only what changed. Run as root, or as a user with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS="build-essential cmake pkg-config openmpi-bin libopenmpi-dev petsc-dev libscalapack-openmpi-dev \
libhdf5-openmpi-dev hdf5-tools libjansson-dev libcunit1-dev libopenblas0-serial clang-format python3 python3-matplotlib"
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
# The main job: a 16 x 16 lattice network learns gmrf2d data (a Gaussian
# field with a known entropy) on 2 ranks, about 6 seconds; then
# the trained model's log-density of the data. Results in out/quickstart.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
[ "$(id -u)" -eq 0 ] || unset OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM
mpirun -n 2 --oversubscribe "$BUILD/tenor" train -out_dir out/quickstart
mpirun -n 2 --oversubscribe "$BUILD/tenor" logdensity -model out/quickstart/model.h5 -data_type gmrf2d -data_gmrf_n 16 -data_samples 256 -out_dir out/quickstart/logdensity
