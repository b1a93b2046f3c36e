#!/bin/bash
# Quiet A/B of bench_rule, er N = 10^6, k = 32, B = 16, 1 rank: a0fc863
# (before the rules' panel removal) against 72e1d73 (after), interleaved
# A B A B. A0FC863 and C72E1D73: the two builds' bin directories (each
# built with -DCMAKE_BUILD_TYPE=Release from its commit).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
declare -A DIR=([a0fc863]=$A0FC863 [72e1d73]=$C72E1D73)
for i in 1 2; do for c in a0fc863 72e1d73; do
  echo "$(date +%T) load $(cut -d' ' -f1 /proc/loadavg) $c $i" >> log.txt
  "${DIR[$c]}"/bench_rule -bench_net er -bench_batch 16 -bench_reps 3 -bench_out r_${c}_$i.json > r_${c}_$i.out 2>&1
done; done; echo done >> log.txt
