#!/usr/bin/env bash
# The sync adjoint's transpose (tja, tva, tgW) in huge pages or not:
# bench_grad, er N = 2.5e5, k = 32, B = 16, 1 rank, 3 reps, the build
# without (ab67a90, in $AB_BUILD) and with (7e68ce4, in $ADV_BUILD)
# alternated (log.txt). Not kept: forward + backward 6.44 and 6.12 s
# without, 6.50 and 7.30 s with. Then build/ at 200e44b, N = 10^6, B = 1 and 16
# (er1m_*.json). Run from the top of the project on a quiet machine.
set -euo pipefail
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
d=bench/results/grad_er_adjoint_huge
i=0
for b in noadvice advice noadvice advice; do
  i=$((i + 1))
  case $b in noadvice) exe=${AB_BUILD:?}/bench/bench_grad ;; advice) exe=${ADV_BUILD:?}/bench/bench_grad ;; esac
  "$exe" -bench_net er -bench_er_n 250000 -bench_k 32 -bench_batch 16 -bench_scheme sync -bench_reps 3 -bench_out "$d/er250k_b16_${b}_$i.json" 2>&1 | grep "N=" | tee -a "$d/log.txt"
done
mpirun -n 1 build/bench/bench_grad -bench_net er -bench_k 32 -bench_batch 1,16 -bench_scheme sync -bench_reps 2 -bench_out "$d/er1m_np1.json" 2>&1 | grep "N=" | tee -a "$d/log.txt"
# Last, the backward step's transposed gather at B = 1 (the sync adjoint
# takes it from B = 4; a temporary build took it at B = 1 too, not kept):
# er N = 2.5e5 and 10^6, B = 1, 2 reps, rows (the committed scatter by
# rows) then transpose (er*_b1_rows.json, er*_b1_transpose.json):
# forward + backward 0.853 against 1.085 s at 2.5e5, 7.61 against 5.34 s
# at 10^6.
# And at N = 5e5 (two pairs), 7.5e5 and 10^6 (one pair more):
# er500k_b1_{rows,transpose}_<order>.json, er750k_b1_*.json,
# er1m_b1_*_2.json (docs/gradient.md, "Measured again on er").
