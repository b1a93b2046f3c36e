#!/bin/bash
# The text readers and the network generators on input that is not what it
# claims: non-regular files, sizes no file or memory can hold, duplicate
# MatrixMarket entries, CSV first rows, out-of-range colours. Each bad case
# ends at once (well within the timeout) with one "tenor: error:" line naming
# the problem, at 1 and 3 ranks. Usage: readers.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
run() { # NP NAME ARGS... -> NAME.out, $rc
  local np=$1 name=$2; shift 2
  timeout 60 mpirun -n "$np" --oversubscribe "$TENOR" logdensity -out_dir "$W/out" -data_samples 4 "$@" >"$name.out" 2>&1
  rc=$?
}
expect_error() { # NP NAME PATTERN ARGS...
  local np=$1 name=$2 pat=$3 n; shift 3
  run "$np" "$name" "$@"
  n=$(grep -c "tenor: error:" "$name.out")
  if [ $rc -eq 0 ] || [ $rc -eq 124 ] || [ "$n" -ne 1 ] || ! grep -q -- "$pat" "$name.out"; then
    echo "FAIL $name (np $np): exit $rc, $n error line(s), expected /$pat/"; cat "$name.out"; fail=1
  else echo "ok   $name (np $np): $(grep 'tenor: error:' "$name.out" | cut -c1-160)"; fi
}
expect_ok() { # NP NAME PATTERN ARGS...: success, and PATTERN in the output
  local np=$1 name=$2 pat=$3; shift 3
  run "$np" "$name" "$@"
  if [ $rc -ne 0 ] || ! grep -q -- "$pat" "$name.out"; then
    echo "FAIL $name (np $np): exit $rc, expected /$pat/"; cat "$name.out"; fail=1
  else echo "ok   $name (np $np): $(grep -m1 -- "$pat" "$name.out" | cut -c1-160)"; fi
}
result() { grep '^result:' "$1.out"; }

mm() { printf '%%%%MatrixMarket matrix coordinate real general\n'; printf "$@"; }
mm '3 3 3\n1 1 0.5\n2 1 0.1\n3 2 0.2\n' >good.mtx
mm '3 3 3\n1 1 0.5\n2 1 0.1\n3 2 0.2\n' >summed.mtx
mm '2147483647 2147483647 1\n1 1 1\n' >hugeN.mtx
mm '3 3 2147483647\n1 1 1\n' >hugennz.mtx
mm '3 3 5\n1 1 0.25\n2 1 0.1\n1 1 0.25\n3 2 0.2\n2 1 0\n' >dup.mtx
printf '1,2,3\n4,5,6\n' >plain.csv
printf '\xef\xbb\xbf1,2,3\n4,5,6\n' >bom.csv
printf '1,x,3\n4,5,6\n' >mixed.csv
printf '1,2,3\n4,1e308,6\n' >huge.csv
printf '0\n1\n2147483647\n' >maxcolor.txt
printf '0\n1\n2147483646\n' >bigcolor.txt
mkfifo fifo.mtx
mkdir -p adir

for np in 1 3; do
  # 1. not a regular file: refused at once, not read until memory runs out or forever
  expect_error $np devzero_W "/dev/zero is a character device, not a regular file" -net_W /dev/zero
  [ $np = 3 ] && expect_error $np dir_W "adir is a directory, not a regular file" -net_W adir
  expect_error $np fifo_W "fifo.mtx is a FIFO (named pipe), not a regular file" -net_W fifo.mtx
  [ $np = 3 ] && expect_error $np devzero_b "/dev/zero is a character device" -net_W good.mtx -net_b /dev/zero
  [ $np = 3 ] && expect_error $np devzero_csv "/dev/zero is a character device" -net_W good.mtx -data_file /dev/zero
  [ $np = 3 ] && expect_error $np devzero_colors "/dev/zero is a character device" -net_W good.mtx -dyn_scheme colored -dyn_coloring_file /dev/zero
  # 2. declared sizes: the memory they need is refused before allocation; a
  # count the file cannot hold is found truncated at once
  expect_error $np huge_N "hugeN.mtx (N = 2147483647, 1 entries declared) needs" -net_W hugeN.mtx -memory_limit 8e9
  expect_error $np huge_nnz "hugennz.mtx is truncated: expected 2147483647 entries (line 2), found 1" -net_W hugennz.mtx
  # finite but so large that its square overflows: refused, not a result of inf
  expect_error $np huge_sample "row 2, field 2: found '1e308'; samples must be finite numbers of magnitude at most 1e+150" -net_W good.mtx -data_file huge.csv
  # 3. generated networks: estimated and refused before building
  expect_error $np er_big "building the er network (N = 100000000, 9e+08 synapses) needs" -net_type er -net_n 100000000 -memory_limit 8e9
  [ $np = 3 ] && expect_error $np lattice_big "building the lattice2d network (N = 400000000" -net_type lattice2d -net_n 20000 -memory_limit 8e9
  [ $np = 3 ] && expect_error $np sw_big "building the smallworld network" -net_type smallworld -net_n 100000000 -memory_limit 8e9
  [ $np = 1 ] && expect_error $np er_indices "about 3.6e+09 synapses per rank at 1 rank(s), more than 32-bit indices hold" -net_type er -net_n 400000000
  # (a limit is for the whole run: what the ranks hold counts against it)
  expect_ok $np er_estimate "network: building er, N = 10000, 9e+04 synapses: about" -net_type er -net_n 10000 -dyn_batch 1 -memory_limit 1e7
  # 4. duplicates are summed (and said so): the same result as the summed file
  expect_ok $np dup "dup.mtx: 2 duplicate entries summed" -net_W dup.mtx
  run $np summed -net_W summed.mtx
  if [ -z "$(result dup)" ] || [ "$(result dup)" != "$(result summed)" ]; then
    echo "FAIL dup (np $np): '$(result dup)' differs from the pre-summed file's '$(result summed)'"; fail=1
  else echo "ok   dup_equals_summed (np $np): $(result dup)"; fi
  # 5. CSV: a byte-order mark is not a header; a first row mixing numbers and text is an error
  expect_ok $np csv_bom "data: 2 samples from bom.csv" -net_W good.mtx -data_file bom.csv
  run $np csv_plain -net_W good.mtx -data_file plain.csv
  [ "$(result csv_bom)" = "$(result csv_plain)" ] || { echo "FAIL csv_bom (np $np): result differs from the file without the mark"; fail=1; }
  expect_error $np csv_mixed "mixed.csv, line 1: field 2: found 'x', expected a number; the first row mixes numbers and text" -net_W good.mtx -data_file mixed.csv
  # 6. colours that cannot be numbers of a colouring
  expect_error $np color_max "found 2147483647, expected a non-negative integer below" -net_W good.mtx -dyn_scheme colored -dyn_coloring_file maxcolor.txt
  [ $np = 3 ] && expect_error $np color_big "are too large" -net_W good.mtx -dyn_scheme colored -dyn_coloring_file bigcolor.txt
done
exit $fail
