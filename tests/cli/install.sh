#!/bin/bash
# The installed package: `cmake --install` of the build that made TENOR into a
# scratch prefix gives a shared libtenor with a soname, the headers, tenor.pc
# and the CMake package; examples/logphi.c builds against it with
# find_package(tenor) and with pkg-config (plain cc, no MPI wrapper), and both
# builds print, at 1 and 2 ranks, the log Phi that the installed
# `tenor logdensity` writes for the same settings. Usage: install.sh TENOR WORKDIR
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$(dirname "$1")" && pwd); W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
say() { if [ "$1" = ok ]; then echo "ok   $2"; else echo "FAIL $2"; fail=1; fi; }
P=$W/prefix
if ! cmake --install "$BUILD" --prefix "$P" >install.log 2>&1; then cat install.log; say fail "cmake --install"; exit 1; fi
lib=$(ls "$P"/lib*/libtenor.so 2>/dev/null | head -1)
[ -n "$lib" ] || { say fail "no libtenor.so installed"; ls -R "$P"; exit 1; }
LIBDIR=$(dirname "$lib")
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" { print $2 }')
[[ $soname == libtenor.so.[0-9]* ]] && [ -e "$LIBDIR/$soname" ] && say ok "shared library, soname $soname" || say fail "libtenor.so: soname '$soname'"
[ -f "$P/include/tenor/dyn.h" ] && say ok "headers installed" || say fail "include/tenor/dyn.h not installed"
version=$(sed -n 's/^project(tenor VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
grep -q "TENOR_VERSION \"$version\"" "$P/include/tenor/version.h" 2>/dev/null && say ok "tenor/version.h: $version" || say fail "include/tenor/version.h lacks TENOR_VERSION \"$version\""
[ "$(pkg-config --modversion "$LIBDIR/pkgconfig/tenor.pc" 2>/dev/null)" = "$version" ] || say fail "tenor.pc's version is not $version"
for f in tenorConfig.cmake tenorConfigVersion.cmake tenorTargets.cmake; do
  [ -f "$LIBDIR/cmake/tenor/$f" ] || say fail "$f not installed"
done

# the settings of both: logphi's defaults, spelt out for tenor logdensity
opts="-net_type lattice2d -net_n 8 -dyn_scheme sync -dyn_h 0.1 -dyn_steps 10 -dyn_batch 4 -data_type normal -data_samples 6 -data_seed 7"
if "$P/bin/tenor" logdensity $opts -out_dir ref >ref.log 2>&1; then
  say ok "the installed tenor runs"
else say fail "installed tenor logdensity"; cat ref.log; fi
awk -F, 'NR > 1 { printf "%s %s\n", $1, $2 }' ref/logphi.csv >ref.txt
[ "$(wc -l <ref.txt)" = 6 ] || say fail "ref/logphi.csv: 6 samples expected"

# the example's output against the reference: same samples, relative difference <= 1e-12
check() { # NAME OUTPUT
  grep -q "^tenor $version: N = 64," "$2" || say fail "$1: no line 'tenor $version: N = 64, ...'"
  awk '$1 == "sample" { print $2, $4 }' "$2" >"$1.txt"
  if awk 'NR == FNR { r[$1] = $2; n++; next } { if (!($1 in r)) exit 1; d = $2 - r[$1]; s = r[$1] < 0 ? -r[$1] : r[$1]; if ((d < 0 ? -d : d) > 1e-12 * (s > 1 ? s : 1)) exit 1; m++ } END { exit m != n }' ref.txt "$1.txt"; then
    say ok "$1: log Phi of 6 samples = tenor logdensity's ($(head -1 "$1.txt"))"
  else say fail "$1: log Phi differs from tenor logdensity's"; paste ref.txt "$1.txt"; cat "$2"; fi
}

# 1. CMake: find_package(tenor) in a project of its own
if cmake -S "$SRC/examples" -B ex-cmake -DCMAKE_PREFIX_PATH="$P" -DCMAKE_BUILD_TYPE=Release >cmake.log 2>&1 && cmake --build ex-cmake >>cmake.log 2>&1; then
  say ok "examples/ built with find_package(tenor)"
  for np in 1 2; do
    mpirun -n $np ex-cmake/logphi >cmake$np.out 2>&1 || { say fail "CMake build of logphi at $np rank(s)"; cat cmake$np.out; }
    check cmake-np$np cmake$np.out
  done
else say fail "CMake build of examples/"; cat cmake.log; fi
# a version the package cannot satisfy is refused
mkdir -p v9 && printf 'cmake_minimum_required(VERSION 3.20)\nproject(v LANGUAGES C)\nfind_package(tenor 9.0 REQUIRED)\n' >v9/CMakeLists.txt
cmake -S v9 -B v9/b -DCMAKE_PREFIX_PATH="$P" >v9.log 2>&1 && say fail "find_package(tenor 9.0) accepted version $version"

# 2. pkg-config and the plain C compiler
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig
libs=$(pkg-config --libs tenor) || say fail "pkg-config --libs tenor"
[[ " $libs " == *" -lm "* ]] && [[ " $libs " == *" -ltenor "* ]] && say ok "pkg-config --libs tenor: -ltenor ... -lm" || say fail "pkg-config --libs tenor lacks -ltenor or -lm: $libs"
if cc -o logphi-pc "$SRC/examples/logphi.c" $(pkg-config --cflags tenor) $libs >pc.log 2>&1; then
  say ok "examples/logphi.c built with pkg-config"
  for np in 1 2; do
    LD_LIBRARY_PATH=$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} mpirun -x LD_LIBRARY_PATH -n $np ./logphi-pc >pc$np.out 2>&1 || { say fail "pkg-config build of logphi at $np rank(s)"; cat pc$np.out; }
    check pkgconfig-np$np pc$np.out
  done
else say fail "cc with pkg-config"; cat pc.log; fi
exit $fail
