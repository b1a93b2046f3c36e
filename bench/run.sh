#!/usr/bin/env bash
# Runs bench_step on 1 and 2 ranks (step cases + triad), then the memory case
# (N ~ 10^7) on 1 and 2 ranks, writing bench/results/*.json, and prints a table.
# Extra arguments are passed to every step run (e.g. -bench_min_time 2).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${BUILD_DIR:-$root/build}
out=$here/results
mkdir -p "$out"
if [ ! -f "$build/CMakeCache.txt" ]; then cmake -S "$root" -B "$build"; fi
cmake --build "$build" -j2 --target bench_step
# a private copy: others building in the same tree must not swap the binary
# between the runs
exe=$(mktemp /tmp/bench_step.XXXXXX)
trap 'rm -f "$exe"' EXIT
cp "$build/bench/bench_step" "$exe"
chmod 755 "$exe"
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain -- src include 2>/dev/null | wc -l)
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
printf '{"commit": "%s", "src_include_files_modified": %s, "date": "%s", "cpu": "%s", "nproc": %s}\n' \
  "$commit" "$dirty" "$(date -u +%FT%TZ)" "$cpu" "$(nproc)" > "$out/meta.json"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
for np in 1 2; do
  echo "== step, $np rank(s)" >&2
  mpirun --oversubscribe -n $np "$exe" -tn_progress_every 0 -bench_out "$out/step_np$np.json" "$@" > /dev/null
done
for np in 1 2; do
  echo "== memory, $np rank(s)" >&2
  mpirun --oversubscribe -n $np "$exe" -tn_progress_every 0 -bench_memory -bench_out "$out/memory_np$np.json" > /dev/null
done
python3 - "$out" <<'PY'
import json, sys, os
d = sys.argv[1]
print("library:", json.load(open(os.path.join(d, "meta.json"))))
for np in (1, 2):
    r = json.load(open(os.path.join(d, f"step_np{np}.json")))
    tr = r["triad"]["GBps"]
    print(f"\n{np} rank(s): triad {tr:.1f} GB/s")
    ref = next(k for k in r["cases"][0] if k.startswith("rate_vs_") and k.endswith("_median"))
    print(f"{'net':10} {'B':>3} {'scheme':8} {'h':>5} {'step s':>9} {'updates/s':>10} {'GB/s':>6} {'%triad':>7} {'%round':>7} {ref[8:-7] + ' x':>8} {'halo s':>8}")
    for c in r["cases"]:
        print(f"{c['net']:10} {c['B']:>3} {c['scheme']:8} {c['h']:>5} {c['step_s_best']:>9.4g} {c['synaptic_updates_per_s']:>10.3g} {c['achieved_GBps']:>6.2f} {100*c['fraction_of_triad']:>6.1f}% {100*c['fraction_of_round_triad_median']:>6.1f}% {c[ref]:>8.3f} {c['halo_s_per_step']:>8.2g}")
    print("%triad: against the best triad of the run; %round: median over the rounds of the fraction of that round's triad; x: the rate against the first scheme's, median over the rounds")
    for q in r["batch_ratios"]:
        print(f"  B={q['B']}/B=1 update-rate ratio, {q['net']} {q['scheme']}: {q['updates_per_s_ratio_vs_B1']:.2f}")
for np in (1, 2):
    m = json.load(open(os.path.join(d, f"memory_np{np}.json")))
    print(f"memory, {np} rank(s): N = {m['N']}, nnz = {m['nnz']}, peak RSS sum {m['peak_rss_sum_bytes']['after_steps']/1e9:.2f} GB = {m['bytes_per_synapse']:.1f} bytes/synapse ({m['bytes_per_synapse_above_start']:.1f} above start-up RSS; goal 16)")
PY
