#!/bin/bash
# A strong- or weak-scaling series of `tenor logdensity` runs under Slurm:
# submits jobs/logdensity.sbatch once per (rank count, size) with
# sbatch --ntasks=P, waits for the jobs (polling squeue), then collects every
# summary.json into one table, STUDY_DIR/scaling.csv.
#
#   TN_MODE=strong TN_RANKS="1 2 4 8" TN_SIZES="1024 2048" jobs/scaling.sh
#   TN_MODE=weak TN_RANKS="1 4 16" TN_SIZES=512 SBATCH_ARGS="--partition=compute --time=00:20:00" jobs/scaling.sh
#   jobs/scaling.sh --no-wait            # submit only; later:
#   jobs/scaling.sh --collect STUDY_DIR  # (re)build STUDY_DIR/scaling.csv
#   jobs/scaling.sh --local              # no Slurm: run each job in turn with bash
#
# Parameters (environment variables):
#   TN_MODE      strong: every size of TN_SIZES at every rank count;
#                weak: TN_SIZES are the sizes at the smallest rank count P0 and
#                grow with P so that N/P stays fixed (lattice2d: side
#                n*sqrt(P/P0) rounded; other types: N*P/P0)   (default strong)
#   TN_RANKS     rank counts P, blank-separated               (default "1 2 4")
#   TN_SIZES     -net_n values (lattice2d: side n, N = n^2)   (default 256)
#   STUDY_DIR    where everything goes (default ./runs/scaling-<mode>-<date>-<time>)
#   SBATCH       the submit command (default sbatch); it is called as
#                $SBATCH --parsable --export=ALL --ntasks=P --job-name=NAME
#                --output=STUDY_DIR/slurm-%j.out $SBATCH_ARGS jobs/logdensity.sbatch
#                and must print the job id
#   SBATCH_ARGS  site-specific sbatch flags, e.g. "--partition=compute --time=00:30:00 --account=proj"
#   SQUEUE       the queue command (default squeue): `$SQUEUE -h -o %i -j ID,ID,...`
#                lists the jobs still pending or running
#   TN_POLL      seconds between polls (default 10)
#   TENOR        the tenor binary (default ../build/tenor next to this file)
#   TN_NET_TYPE, TN_NET_K, TN_SCHEME, TN_H, TN_STEPS, TN_BATCH, TN_SAMPLES,
#   TN_LOGDET, TN_ARGS, TN_LAUNCHER, TN_OVERSUBSCRIBE, TN_MPIRUN_ARGS:
#                passed to every job (see logdensity.sbatch)
# The cost model beside each run (bench/costmodel.py predict, docs/scaling.md):
#   TN_MODEL     0: leave the model's columns empty             (default 1)
#   TN_MODEL_STEP1       bench_step results at 1 rank, blank-separated (the
#                kernel rates; measure them on the cluster: bench/run.sh)
#                (default: this machine's, bench/results/costmodel/step_np1_N1e6.json
#                and step_np1_N5e5.json)
#   TN_MODEL_NODE_TRIAD  a node's STREAM triad, bytes/s          (default 340e9)
#   TN_MODEL_RANKS_PER_NODE  ranks sharing it                    (default 120)
#   TN_MODEL_LATENCY     message latency, s                      (default 1.3e-6)
#   TN_MODEL_NET_BW      network bandwidth, bytes/s              (default 12.5e9)
#
# Outputs in STUDY_DIR: one run directory per job (logdensity-j<id>-...),
# slurm-<id>.out per job, jobs.txt (job id, P, size, series), scaling.csv:
#   mode,series,ranks,N,nnz,time_per_step_s,synaptic_updates_per_s,
#   parallel_efficiency,scheme,batch,steps,samples,job_id,run_dir,
#   model_time_per_step_s,measured_over_model
# time_per_step_s = evaluate time / (K * number of batches), one step of B
# samples; parallel_efficiency = (updates/s per rank) / (that at the smallest
# rank count of the same series), which is T(P0) P0 / (T(P) P) for strong
# scaling and T(P0) / T(P) for weak scaling. model_time_per_step_s is the cost
# model's time for that run's P, N, nnz, halo, neighbours, B and scheme (its
# summary.json) on the cluster described by TN_MODEL_*; measured_over_model
# their ratio (empty where the model has no kernel rate, e.g. smallworld).
# Exit status 1 if a job left no summary.json.
set -u
TN_SCRIPT=scaling.sh
TN_JOBS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$TN_JOBS_DIR/common.sh"

usage() { sed -n '2,/^set -u/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

# json_get FILE KEY: the first value of "KEY": in tenor's one-object-per-line JSON.
json_get() { grep -o "\"$2\": *[^,}]*" "$1" | head -1 | sed 's/^[^:]*: *//; s/"//g'; }

# collect DIR: DIR/scaling.csv from DIR/*/summary.json (series from DIR/jobs.txt).
collect() {
  local dir=$1 s id p size series mode out="$1/scaling.csv" rows="$1/.rows" missing=0 d
  [ -d "$dir" ] || tn_die "no study directory '$dir'"
  tn_check_output "$rows"
  tn_check_output "$out"
  : >"$rows"
  for s in "$dir"/*/summary.json; do
    [ -f "$s" ] || continue
    d=$(cd "$(dirname "$s")" && pwd)
    id=$(basename "$d" | sed -n 's/^logdensity-j\([^-]*\)-.*/\1/p')
    series=$(awk -v id="$id" '$1 == id { print $4; exit }' "$dir/jobs.txt" 2>/dev/null)
    mode=$(awk -v id="$id" '$1 == id { print $5; exit }' "$dir/jobs.txt" 2>/dev/null)
    echo "${mode:-strong} ${series:-$(json_get "$s" N)} $(json_get "$s" ranks) $(json_get "$s" N) $(json_get "$s" nnz)" \
      "$(json_get "$s" evaluate) $(json_get "$s" K) $(json_get "$s" samples) $(json_get "$s" batch)" \
      "$(json_get "$s" synaptic_updates_per_s) $(json_get "$s" scheme) ${id:-?} $d" >>"$rows"
  done
  if [ -f "$dir/jobs.txt" ]; then
    while read -r id p size series mode; do
      [ -n "$(ls -d "$dir"/logdensity-j"$id"-*/summary.json 2>/dev/null)" ] && continue
      echo "$TN_SCRIPT: job $id (P = $p, size $size) left no summary.json: see $dir/slurm-$id.out" >&2
      missing=$((missing + 1))
    done <"$dir/jobs.txt"
  fi
  sort -k2,2n -k3,3n "$rows" | awk '
    BEGIN { print "mode,series,ranks,N,nnz,time_per_step_s,synaptic_updates_per_s,parallel_efficiency,scheme,batch,steps,samples,job_id,run_dir" }
    { n++; for (i = 1; i <= NF; i++) f[n, i] = $i
      per = $10 / $3
      if (!($2 in p0) || $3 < p0[$2]) { p0[$2] = $3; ref[$2] = per } }
    END { for (r = 1; r <= n; r++) {
            nb = int((f[r, 8] + f[r, 9] - 1) / f[r, 9]); if (nb < 1) nb = 1
            tps = f[r, 6] / (f[r, 7] * nb)
            eff = ref[f[r, 2]] > 0 ? (f[r, 10] / f[r, 3]) / ref[f[r, 2]] : 0
            printf "%s,%s,%s,%s,%s,%.6g,%.6g,%.4f,%s,%s,%s,%s,%s,%s\n", f[r, 1], f[r, 2], f[r, 3], f[r, 4], f[r, 5],
                   tps, f[r, 10], eff, f[r, 11], f[r, 9], f[r, 7], f[r, 8], f[r, 12], f[r, 13] } }' >"$out"
  rm -f "$rows"
  model_columns "$out"
  echo "$TN_SCRIPT: wrote $out ($(($(wc -l <"$out") - 1)) run(s))"
  awk -F, '{ printf "%-8s %8s %6s %12s %12s %16s %22s %20s %22s %19s\n", $1, $2, $3, $4, $5, $6, $7, $8, $15, $16 }' "$out"
  [ $missing -eq 0 ]
}

# model_columns CSV: appends model_time_per_step_s and measured_over_model,
# the cost model's prediction for each run's summary.json (bench/costmodel.py).
model_columns() {
  local out=$1 pred="$1.model" py=${TN_PYTHON:-python3} step1 sums
  mapfile -t sums < <(tail -n +2 "$out" | cut -d, -f14 | sed 's|$|/summary.json|')
  read -r -a step1 <<<"${TN_MODEL_STEP1:-$TN_JOBS_DIR/../bench/results/costmodel/step_np1_N1e6.json $TN_JOBS_DIR/../bench/results/costmodel/step_np1_N5e5.json}"
  tn_check_output "$pred"
  tn_check_output "$out.tmp"
  : >"$pred"
  if [ "${TN_MODEL:-1}" != 0 ] && [ "$(wc -l <"$out")" -gt 1 ]; then
    if ! "$py" "$TN_JOBS_DIR/../bench/costmodel.py" predict --step1 "${step1[@]}" --node-triad "${TN_MODEL_NODE_TRIAD:-340e9}" \
      --ranks-per-node "${TN_MODEL_RANKS_PER_NODE:-120}" --latency "${TN_MODEL_LATENCY:-1.3e-6}" --net-bw "${TN_MODEL_NET_BW:-12.5e9}" \
      --summaries "${sums[@]}" >"$pred"; then
      echo "$TN_SCRIPT: the cost model failed (bench/costmodel.py predict, see above): its columns stay empty" >&2
      : >"$pred"
    fi
  fi
  # predict prints one line per summary, in order: "PATH SECONDS" (nan: none)
  awk -F, -v OFS=, 'NR == FNR { n = split($0, w, " "); m[FNR] = w[n]; next }
    FNR == 1 { print $0, "model_time_per_step_s", "measured_over_model"; next }
    { t = m[FNR - 1]; if (t == "" || t == "nan" || t + 0 <= 0) print $0, "", ""; else printf "%s,%.6g,%.4f\n", $0, t, $6 / t }' "$pred" "$out" >"$out.tmp" &&
    mv "$out.tmp" "$out"
  rm -f "$pred"
}

# --local: sbatch's part of the contract, running the job at once with bash
# in a faked allocation (SLURM_JOB_ID, SLURM_NTASKS, SLURM_SUBMIT_DIR).
local_sbatch() {
  local ntasks=1 output=/dev/stdout name=job a id
  while [ $# -gt 1 ]; do
    case $1 in
      --ntasks=*) ntasks=${1#--ntasks=} ;;
      --output=*) output=${1#--output=} ;;
      --job-name=*) name=${1#--job-name=} ;;
    esac
    shift
  done
  id=$(($(cat "$STUDY_DIR/jobs.txt" 2>/dev/null | wc -l) + 1)) # this study's job count
  a=${output//%j/$id}
  [ "$a" = /dev/stdout ] || tn_check_output "$a"
  echo "$TN_SCRIPT: running job $id now (--local)" >&2
  SLURM_JOB_ID=$id SLURM_NTASKS=$ntasks SLURM_SUBMIT_DIR=$PWD SLURM_JOB_NAME=$name bash "$1" >"$a" 2>&1
  echo "$id"
}

wait_for() { # wait_for ID,ID,...
  local ids=$1 out rc left last=""
  while :; do
    out=$($SQUEUE -h -o %i -j "$ids" 2>&1)
    rc=$?
    if [ $rc -ne 0 ]; then
      # jobs that ended long ago are unknown to squeue: done
      grep -qi "invalid job id" <<<"$out" && return 0
      echo "$TN_SCRIPT: $SQUEUE failed ($out); retrying in $TN_POLL s" >&2
    else
      left=$(grep -c . <<<"$out")
      [ "$left" -eq 0 ] && return 0
      [ "$left" != "$last" ] && echo "$TN_SCRIPT: $(date '+%T') waiting for $left job(s): $(echo $out)"
      last=$left
    fi
    sleep "$TN_POLL"
  done
}

mode_submit=wait
case ${1:-} in
  -h | --help) usage; exit 0 ;;
  --collect) [ $# -eq 2 ] || tn_die "usage: scaling.sh --collect STUDY_DIR"; collect "$2"; exit ;;
  --no-wait) mode_submit=nowait ;;
  --local) mode_submit=local ;;
  "") ;;
  *) tn_die "unknown argument '$1' (scaling.sh --help)" ;;
esac

tn_find_tenor
export TENOR TN_JOBS_DIR
: "${TN_MODE:=strong}" "${TN_RANKS:=1 2 4}" "${TN_SIZES:=256}" "${TN_POLL:=10}" "${TN_NET_TYPE:=lattice2d}"
export TN_NET_TYPE
case $TN_MODE in strong | weak) ;; *) tn_die "TN_MODE='$TN_MODE': choose strong or weak" ;; esac
read -r -a ranks <<<"$TN_RANKS"
read -r -a sizes <<<"$TN_SIZES"
[ ${#ranks[@]} -gt 0 ] && [ ${#sizes[@]} -gt 0 ] || tn_die "TN_RANKS and TN_SIZES must not be empty"
for v in "${ranks[@]}" "${sizes[@]}"; do
  tn_is_uint "$v" && [ "$v" -ge 1 ] || tn_die "'$v' in TN_RANKS or TN_SIZES is not a positive integer"
done
p0=$(printf '%s\n' "${ranks[@]}" | sort -n | head -1)
SBATCH_CMD=${SBATCH:-sbatch}
SQUEUE=${SQUEUE:-squeue}
if [ $mode_submit = local ]; then
  SBATCH_CMD=local_sbatch
else
  command -v "${SBATCH_CMD%% *}" >/dev/null || tn_die "'$SBATCH_CMD' not found: run on a Slurm login node, or use --local"
fi
STUDY_DIR=${STUDY_DIR:-$PWD/runs/scaling-$TN_MODE-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$STUDY_DIR" || tn_die "cannot create STUDY_DIR '$STUDY_DIR'"
STUDY_DIR=$(cd "$STUDY_DIR" && pwd)
tn_check_output "$STUDY_DIR/jobs.txt"
read -r -a extra <<<"${SBATCH_ARGS:-}"
read -r -a sb <<<"$SBATCH_CMD"
echo "$TN_SCRIPT: $TN_MODE scaling of tenor logdensity ($TN_NET_TYPE), ranks: ${ranks[*]}, sizes: ${sizes[*]}; study directory $STUDY_DIR"

ids=()
for size in "${sizes[@]}"; do
  for p in "${ranks[@]}"; do
    n=$size
    if [ "$TN_MODE" = weak ]; then
      if [ "$TN_NET_TYPE" = lattice2d ]; then
        n=$(awk -v n="$size" -v p="$p" -v q="$p0" 'BEGIN { printf "%d", n * sqrt(p / q) + 0.5 }')
      else
        n=$(awk -v n="$size" -v p="$p" -v q="$p0" 'BEGIN { printf "%d", n * p / q + 0.5 }')
      fi
    fi
    cmd=("${sb[@]}" --parsable --export=ALL --ntasks="$p" --job-name="tenor-$TN_MODE-P$p-n$n"
      --output="$STUDY_DIR/slurm-%j.out" "${extra[@]}" "$TN_JOBS_DIR/logdensity.sbatch")
    echo "$TN_SCRIPT: TN_NET_N=$n RUN_ROOT=$STUDY_DIR $(printf '%q ' "${cmd[@]}")"
    out=$(TN_NET_N=$n RUN_ROOT=$STUDY_DIR RUN_DIR="" "${cmd[@]}") || tn_die "submission failed: $out"
    id=${out%%;*}
    id=$(tail -1 <<<"$id")
    tn_is_uint "$id" || tn_die "cannot read a job id from the submit command's output: '$out'"
    echo "$id $p $n $size $TN_MODE" >>"$STUDY_DIR/jobs.txt"
    echo "$TN_SCRIPT: submitted job $id (P = $p, -net_n $n)"
    ids+=("$id")
  done
done

if [ $mode_submit = nowait ]; then
  echo "$TN_SCRIPT: submitted ${#ids[@]} job(s); when they have run: $0 --collect $STUDY_DIR"
  exit 0
fi
[ $mode_submit = local ] || wait_for "$(IFS=,; echo "${ids[*]}")"
collect "$STUDY_DIR"
