#!/bin/bash
# tenor quick start, step 1: install what is missing (Debian 12), build, and
# run the main job. Safe to re-run: installs only missing packages, rebuilds
# only what changed. Run as root, or as a user with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS="build-essential cmake pkg-config openmpi-bin libopenmpi-dev petsc-dev libscalapack-openmpi-dev \
libhdf5-openmpi-dev hdf5-tools libcunit1-dev libopenblas0-serial clang-format python3 python3-matplotlib"
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
# The main job: log-density of 16 standard-normal samples on a 256 x 256
# periodic lattice (N = 65536), 2 ranks, partitioned with PT-Scotch.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
mpirun -n 2 --oversubscribe "$BUILD/tenor" logdensity -net_n 256 -out_dir out/quickstart
