#!/bin/bash
# The Slurm job scripts in jobs/ without Slurm: each runs with bash in a faked
# allocation (SLURM_JOB_ID, SLURM_NTASKS, SLURM_SUBMIT_DIR), the driver
# scaling.sh with sbatch and squeue replaced by shims (SBATCH, SQUEUE) that run
# the jobs in the background. Checks the run directories, the outputs, the
# collected CSV, the signal forwarding (SIGTERM to the job script reaches every
# rank as SIGUSR1), train.sbatch's TN_REQUEUE=1 (scontrol through a shim; on a
# real Slurm with TENOR_TEST_SLURM=1), that no output is written through a
# symbolic link, and the error messages. Usage: jobs.sh TENOR WORKDIR
set -u
JOBS=$(cd "$(dirname "$0")/../../jobs" && pwd) || exit 1
TENOR=$(cd "$(dirname "$1")" && pwd)/$(basename "$1"); W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
fail=0
bad() { echo "FAIL $*"; fail=1; }
has() { grep -q -- "$2" "$1" || { bad "$1 lacks '$2'"; cat "$1"; }; }
unset SLURM_JOB_ID SLURM_NTASKS SLURM_NPROCS SLURM_SUBMIT_DIR RUN_ROOT RUN_DIR SBATCH SQUEUE SBATCH_ARGS
for v in $(env | sed -n 's/^\(TN_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
export TENOR

# 1. a missing binary fails fast, naming it, in every script
for s in logdensity.sbatch gapstudy.sbatch scaling.sh; do
  TENOR=$W/no/tenor bash "$JOBS/$s" >nobin.log 2>&1 && bad "$s ran without a tenor binary"
  grep -q "$W/no/tenor' does not exist" nobin.log || { bad "$s: no clear message for a missing binary"; cat nobin.log; }
done

# 2. logdensity.sbatch in a faked 2-task allocation: run directory named after job id and parameters
SLURM_JOB_ID=101 SLURM_NTASKS=2 SLURM_SUBMIT_DIR=$W TN_NET_N=32 TN_STEPS=3 bash "$JOBS/logdensity.sbatch" >ld.log 2>&1 || { cat ld.log; bad "logdensity.sbatch failed"; }
R=$W/runs/logdensity-j101-lattice2d-n32-sync-B16-P2
for f in summary.json logphi.csv tenor.log command.sh; do [ -s "$R/$f" ] || bad "logdensity.sbatch: missing $R/$f"; done
has ld.log "running: mpirun -n 2 "
has "$R/summary.json" '"ranks": 2,'
has "$R/summary.json" '"N": 1024,'
has "$R/summary.json" '"K": 3,'
grep -q -- "--oversubscribe" "$R/command.sh" && bad "--oversubscribe given without TN_OVERSUBSCRIBE=1"
[ "$(wc -l <"$R/logphi.csv")" -eq 17 ] || bad "logphi.csv: 16 samples expected"
# an er network, more options, an explicit run directory, --oversubscribe on request
SLURM_JOB_ID=102 SLURM_NTASKS=2 TN_NET_TYPE=er TN_NET_N=300 TN_NET_K=4 TN_SCHEME=colored TN_BATCH=4 TN_SAMPLES=6 \
  TN_OVERSUBSCRIBE=1 TN_ARGS="-net_seed 3 -dyn_nodeloss" RUN_DIR=$W/er bash "$JOBS/logdensity.sbatch" >er.log 2>&1 || { cat er.log; bad "er run failed"; }
has er/command.sh "mpirun -n 2 --oversubscribe"
has er/command.sh "-net_k 4"
has er/command.sh "-net_seed 3 -dyn_nodeloss"
has er/summary.json '"scheme": "colored"'
[ -s er/nodeloss.csv ] || bad "TN_ARGS -dyn_nodeloss: no nodeloss.csv"
# bad parameters are refused by the script or by tenor, with a non-zero status
SLURM_NTASKS=1 TN_NET_N=abc bash "$JOBS/logdensity.sbatch" >badn.log 2>&1 && bad "TN_NET_N=abc accepted"
has badn.log "TN_NET_N='abc' is not a non-negative integer"
SLURM_NTASKS=1 TN_NET_N=16 TN_LAUNCHER=aprun bash "$JOBS/logdensity.sbatch" >badl.log 2>&1 && bad "TN_LAUNCHER=aprun accepted"
has badl.log "choose mpirun or srun"
SLURM_NTASKS=1 TN_NET_N=16 TN_SCHEME=implicit RUN_DIR=$W/bads bash "$JOBS/logdensity.sbatch" >bads.log 2>&1 && bad "TN_SCHEME=implicit accepted"
has bads.log "exit status [1-9]"

# 3. gapstudy.sbatch
SLURM_JOB_ID=103 SLURM_NTASKS=2 SLURM_SUBMIT_DIR=$W TN_NET_N=60 TN_NET_K=4 TN_RECIPROCITY=0.5 TN_METHODS=diag,trace \
  TN_STEPS=2 TN_SAMPLES=2 TN_BATCH=2 bash "$JOBS/gapstudy.sbatch" >gs.log 2>&1 || { cat gs.log; bad "gapstudy.sbatch failed"; }
G=$W/runs/gapstudy-j103-er-n60-r0.5-P2
for f in logdet.json logdet_steps.csv tenor.log command.sh; do [ -s "$G/$f" ] || bad "gapstudy.sbatch: missing $G/$f"; done
has "$G/command.sh" "logdet -net_type er -net_n 60 -net_k 4 -net_reciprocity 0.5 -logdet_methods diag"

# 3b. train.sbatch: run directory named after the parameters, a second job resumes from the checkpoint
for j in 105 106; do
  SLURM_JOB_ID=$j SLURM_NTASKS=2 SLURM_SUBMIT_DIR=$W TN_NET_N=8 TN_SAMPLES=256 TN_CKPT_EVERY=5 TN_ARGS="-train_steps 10" \
    bash "$JOBS/train.sbatch" >train$j.log 2>&1 || { cat train$j.log; bad "train.sbatch (job $j) failed"; }
done
T=$W/runs/train-lattice2d-n8
for f in train.json model.h5 ckpt.h5 train_metrics.csv tenor.log command.sh; do [ -s "$T/$f" ] || bad "train.sbatch: missing $T/$f"; done
has "$T/command.sh" "train -out_dir $T -train_restart -net_n 8 -data_samples 256 -train_ckpt_every 5 -train_steps 10"
has train106.log "resumed from $T/ckpt.h5 at step 10"
[ "$(ls "$T" | grep -c '^tenor\.log\.')" -eq 1 ] || bad "train.sbatch: the first job's tenor.log was not kept"
TENOR=$W/no/tenor bash "$JOBS/train.sbatch" >nobin.log 2>&1 && bad "train.sbatch ran without a tenor binary"
has nobin.log "does not exist"

# 3c. TN_REQUEUE=1: after a checkpoint on the signal the job requeues itself
# (scontrol through a shim that records its arguments, or fails on request)
mkdir -p shim
cat >shim/scontrol <<'SHIM'
#!/bin/bash
echo "$*" >>"$(dirname "$0")/scontrol.calls"
[ -e "$(dirname "$0")/scontrol.fail" ] && { echo "scontrol: error: Requested operation is presently disabled for job $2" >&2; exit 1; }
exit 0
SHIM
chmod +x shim/scontrol
# train_signalled NAME [VAR=VALUE...]: a long train job in a faked allocation,
# SIGTERM to the script once tenor has checkpointed (its handler is in place)
train_signalled() {
  local name=$1 pid
  shift
  env SLURM_JOB_ID=107 SLURM_NTASKS=2 SLURM_SUBMIT_DIR=$W TN_NET_N=8 TN_SAMPLES=256 TN_CKPT_EVERY=5 TN_ARGS="-train_steps 10000000" \
    TN_SCONTROL=$W/shim/scontrol RUN_DIR=$W/$name "$@" bash "$JOBS/train.sbatch" >"$name.log" 2>&1 &
  pid=$!
  for i in $(seq 600); do [ -s "$name/ckpt.h5" ] && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  kill -TERM $pid
  wait $pid
}
rm -f shim/scontrol.calls
train_signalled rq TN_REQUEUE=1
rc=$?
[ $rc -eq 0 ] || { bad "TN_REQUEUE=1: the job script ended with status $rc"; cat rq.log; }
has rq/train.json '"status": "interrupted"'
has rq.log "requeueing job 107"
[ "$(cat shim/scontrol.calls 2>/dev/null)" = "requeue 107" ] || { bad "TN_REQUEUE=1: scontrol was not called as 'requeue 107': '$(cat shim/scontrol.calls 2>/dev/null)'"; cat rq.log; }
# the same at TN_REQUEUE_MAX, and when scontrol refuses
rm -f shim/scontrol.calls
train_signalled rqmax TN_REQUEUE=1 SLURM_RESTART_COUNT=3 TN_REQUEUE_MAX=3
has rqmax.log "not requeued: already requeued 3 time(s)"
[ -e shim/scontrol.calls ] && bad "requeued beyond TN_REQUEUE_MAX"
touch shim/scontrol.fail
train_signalled rqfail TN_REQUEUE=1
rc=$?
rm -f shim/scontrol.fail
[ $rc -eq 3 ] || bad "a failed requeue: status $rc, 3 expected"
has rqfail.log "requeue 107' failed: scontrol: error: Requested operation is presently disabled"
has rqfail.log "sbatch --requeue"
# a run that ends by itself is not requeued
SLURM_JOB_ID=108 SLURM_NTASKS=1 TN_NET_N=8 TN_SAMPLES=64 TN_REQUEUE=1 TN_SCONTROL=$W/shim/scontrol TN_ARGS="-train_steps 3" RUN_DIR=$W/rqdone \
  bash "$JOBS/train.sbatch" >rqdone.log 2>&1 || { bad "TN_REQUEUE=1, short run failed"; cat rqdone.log; }
has rqdone.log "not requeued: no signal came"
[ "$(cat shim/scontrol.calls 2>/dev/null)" = "requeue 107" ] || bad "scontrol called for a run that ended by itself"
TN_REQUEUE=yes bash "$JOBS/train.sbatch" >badrq.log 2>&1 && bad "TN_REQUEUE=yes accepted"
has badrq.log "TN_REQUEUE='yes': choose 1"

# 3c'. the same on a real Slurm, only when asked (TENOR_TEST_SLURM=1 with SLURM_CONF
# or a default Slurm, e.g. from jobs/local-slurm.sh): it takes 2-3 minutes,
# as Slurm makes a requeued job eligible about 2 minutes after the requeue
if [ "${TENOR_TEST_SLURM:-0}" = 1 ] && command -v sbatch >/dev/null && sinfo -h >/dev/null 2>&1; then
  J=$(TN_REQUEUE=1 TN_NET_N=8 TN_SAMPLES=256 TN_CKPT_EVERY=5 TN_ARGS="-train_steps 300" RUN_DIR=$W/slurmrq \
    sbatch --parsable --requeue --ntasks=2 --output="$W/slurmrq-%j.out" "$JOBS/train.sbatch")
  for i in $(seq 600); do [ -s slurmrq/ckpt.h5 ] && break; sleep 0.2; done
  scancel --batch --signal=TERM "$J"
  for i in $(seq 150); do
    st=$(scontrol show job "$J" 2>/dev/null | grep -o 'JobState=[A-Z]*')
    case $st in *COMPLETED* | *FAILED* | *CANCELLED* | "") break ;; esac
    sleep 2
  done
  has "slurmrq-$J.out" "requeueing job $J"
  has "slurmrq-$J.out" "start of job $J (requeued 1 time(s))"
  has "slurmrq-$J.out" "resumed from $W/slurmrq/ckpt.h5 at step"
  has slurmrq/train.json '"status": "done"'
  [ "$st" = JobState=COMPLETED ] || bad "Slurm requeue: job $J ended $st"
else
  echo "skip the requeue on a real Slurm (TENOR_TEST_SLURM=1 and a running Slurm: jobs/local-slurm.sh)"
fi

# 3d. no file of a job is written through a symbolic link
echo keep >target
for f in command.sh tenor.log; do
  rm -rf "link-$f" && mkdir "link-$f" && ln -s "$W/target" "link-$f/$f"
  SLURM_NTASKS=1 TN_NET_N=8 RUN_DIR=$W/link-$f bash "$JOBS/logdensity.sbatch" >"link-$f.log" 2>&1 && bad "logdensity.sbatch wrote with $f a symbolic link"
  has "link-$f.log" "link-$f/$f' is a symbolic link: refusing to write through it"
  [ "$(cat target)" = keep ] || bad "$f: written through the symbolic link"
done
rm -f "$T/command.sh" && ln -s "$W/target" "$T/command.sh"
SLURM_NTASKS=1 TN_NET_N=8 TN_SAMPLES=256 TN_ARGS="-train_steps 10" bash "$JOBS/train.sbatch" >linktrain.log 2>&1 && bad "train.sbatch wrote command.sh through a symbolic link"
has linktrain.log "is a symbolic link"
[ "$(cat target)" = keep ] || bad "train.sbatch: written through the symbolic link"
rm -f "$T/command.sh"
# scaling.sh: jobs.txt and scaling.csv
mkdir -p linkstudy && ln -s "$W/target" linkstudy/jobs.txt
STUDY_DIR=$W/linkstudy TN_RANKS=1 TN_SIZES=8 bash "$JOBS/scaling.sh" --local >linkstudy.log 2>&1 && bad "scaling.sh wrote jobs.txt through a symbolic link"
has linkstudy.log "jobs.txt' is a symbolic link"
rm linkstudy/jobs.txt && ln -s "$W/target" linkstudy/scaling.csv
bash "$JOBS/scaling.sh" --collect linkstudy >linkcollect.log 2>&1 && bad "scaling.sh wrote scaling.csv through a symbolic link"
has linkcollect.log "scaling.csv' is a symbolic link"
[ "$(cat target)" = keep ] || bad "scaling.sh: written through the symbolic link"
[ "$(stat -c %a "$R/command.sh")" = "$(printf '%03o' $((0666 & ~$(umask))))" ] || bad "command.sh mode $(stat -c %a "$R/command.sh") ignores the umask"

# 4. SIGTERM to the job script reaches every rank as SIGUSR1 (tenor train checkpoints on it)
cat >fake <<'FAKE'
#!/bin/bash
r=${OMPI_COMM_WORLD_RANK:-0}; out=${!#}
trap 'echo "rank $r got USR1"; echo "$r" >"$out/ckpt.$r"; exit 0' USR1
trap 'echo "rank $r got TERM"; exit 143' TERM
touch "$out/started.$r"
for i in $(seq 300); do sleep 0.1; done
FAKE
chmod +x fake
mkdir -p sig
SLURM_JOB_ID=104 SLURM_NTASKS=2 TENOR=$W/fake RUN_DIR=$W/sig bash "$JOBS/logdensity.sbatch" >sig.log 2>&1 &
pid=$!
for i in $(seq 100); do [ -e sig/started.0 ] && [ -e sig/started.1 ] && break; sleep 0.1; done
kill -TERM $pid
wait $pid
rc=$?
[ $rc -eq 0 ] || bad "signal: the job script ended with status $rc"
has sig.log "received SIGTERM"
[ -e sig/ckpt.0 ] && [ -e sig/ckpt.1 ] || { bad "signal: SIGUSR1 did not reach both ranks"; cat sig.log; }

# 5. scaling.sh through sbatch/squeue shims: jobs run in the background, the driver polls
mkdir -p shim
cat >shim/sbatch <<'SHIM'
#!/bin/bash
# sbatch stand-in: --ntasks and --output honoured, the job runs in the background
n=1 out=/dev/null d=$(dirname "$0")
for a; do case $a in --ntasks=*) n=${a#*=} ;; --output=*) out=${a#*=} ;; --parsable | --export=ALL | --job-name=* | --qos=ci) ;; -*) echo "shim sbatch: unexpected $a" >&2; exit 1 ;; esac; done
id=$((1000 + $(ls "$d" | grep -c '^submitted\.')))
touch "$d/submitted.$id"
(SLURM_JOB_ID=$id SLURM_NTASKS=$n SLURM_SUBMIT_DIR=$PWD bash "${!#}" >"${out//%j/$id}" 2>&1; touch "$d/done.$id") </dev/null >/dev/null 2>&1 &
echo "$id;ci"
SHIM
cat >shim/squeue <<'SHIM'
#!/bin/bash
# squeue stand-in: -h -o %i -j ID,ID: the ids not yet done
d=$(dirname "$0"); ids=${!#}
for id in ${ids//,/ }; do [ -e "$d/done.$id" ] || echo "$id"; done
SHIM
chmod +x shim/sbatch shim/squeue
SBATCH=$W/shim/sbatch SQUEUE=$W/shim/squeue SBATCH_ARGS=--qos=ci TN_POLL=0.2 STUDY_DIR=$W/strong TN_MODE=strong \
  TN_RANKS="1 2" TN_SIZES="24 32" TN_STEPS=2 bash "$JOBS/scaling.sh" >strong.log 2>&1 || { cat strong.log; bad "strong series failed"; }
has strong.log "waiting for"
csv=strong/scaling.csv
[ "$(head -1 $csv)" = "mode,series,ranks,N,nnz,time_per_step_s,synaptic_updates_per_s,parallel_efficiency,scheme,batch,steps,samples,job_id,run_dir,model_time_per_step_s,measured_over_model" ] || bad "CSV header: $(head -1 $csv)"
[ "$(wc -l <$csv)" -eq 5 ] || { bad "strong CSV: 4 rows expected"; cat $csv; }
[ "$(cut -d, -f2,3,4,5 $csv | tail -n +2 | tr '\n' ' ')" = "24,1,576,2880 24,2,576,2880 32,1,1024,5120 32,2,1024,5120 " ] || { bad "strong CSV: series, ranks, N, nnz"; cat $csv; }
awk -F, 'NR > 1 && $3 == 1 && $8 != "1.0000" { exit 1 } NR > 1 && !($6 > 0 && $7 > 0 && $8 > 0) { exit 1 }' $csv || { bad "strong CSV: efficiency 1 at P0, positive times"; cat $csv; }
# the efficiency is (updates/s per rank) / (that at P = 1)
awk -F, 'NR > 1 { u[$2, $3] = $7; e[$2, $3] = $8 } END { for (s in u) ; d = e[32, 2] - (u[32, 2] / 2) / u[32, 1]; exit !(d < 1e-3 && d > -1e-3) }' $csv || bad "strong CSV: efficiency formula"
# time per step = evaluate / (K * batches)
r=$(awk -F, 'NR == 2 { print $14 }' $csv)
ev=$(grep -o '"evaluate": [^,}]*' "$r/summary.json" | sed 's/.*: //')
awk -F, -v ev="$ev" 'NR == 2 { t = ev / 2; d = ($6 - t) / t; exit !(d < 1e-4 && d > -1e-4) }' $csv || bad "time_per_step_s != evaluate / (K * batches)"
# the cost model beside each run: bench/costmodel.py predict of the run's
# summary.json, the ratio measured / model, printed on stdout too; the
# cluster's parameters come from TN_MODEL_*
r2=$(awk -F, '$3 == 2 { print $14; exit }' $csv)
m=$(python3 "$JOBS/../bench/costmodel.py" predict --step1 "$JOBS/../bench/results/costmodel/step_np1_N1e6.json" "$JOBS/../bench/results/costmodel/step_np1_N5e5.json" --summaries "$r2/summary.json" 2>/dev/null | awk '{ print $2 }')
awk -F, -v r="$r2" -v m="$m" 'NR > 1 && $14 == r { d = ($15 - m) / m; q = ($16 - $6 / $15) / $16; exit !(m > 0 && d < 1e-4 && d > -1e-4 && q < 1e-3 && q > -1e-3) }' $csv ||
  { bad "model_time_per_step_s is not costmodel.py predict's ($m), or the ratio is not measured / model"; cat $csv; }
awk -F, 'NR > 1 && !($15 > 0 && $16 > 0) { exit 1 }' $csv || { bad "a run without the model's time"; cat $csv; }
grep -q "model_time_per_step_s *measured_over_model" strong.log || bad "stdout does not show the model's columns"
# --collect rebuilds the same table
cp $csv first.csv
bash "$JOBS/scaling.sh" --collect strong >collect.log 2>&1 || { cat collect.log; bad "--collect failed"; }
cmp -s first.csv $csv || bad "--collect gave another table"
# a slower network (1 MB/s) makes the 2-rank step slower in the model, and the 1-rank one not
TN_MODEL_NET_BW=1e6 TN_MODEL_LATENCY=1e-3 bash "$JOBS/scaling.sh" --collect strong >slownet.log 2>&1 || { cat slownet.log; bad "--collect with TN_MODEL_NET_BW failed"; }
paste -d, first.csv $csv | awk -F, 'NR > 1 && $3 == 2 && !($31 > 10 * $15) { exit 1 } NR > 1 && $3 == 1 && $31 != $15 { exit 1 }' ||
  { bad "TN_MODEL_NET_BW, TN_MODEL_LATENCY not used"; paste -d, first.csv $csv; }
TN_MODEL=0 bash "$JOBS/scaling.sh" --collect strong >nomodel.log 2>&1 || bad "--collect with TN_MODEL=0 failed"
awk -F, 'NR > 1 && ($15 != "" || $16 != "") { exit 1 }' $csv || bad "TN_MODEL=0 still filled the model's columns"
cp first.csv $csv

# weak scaling: lattice side grows with sqrt(P), er size with P
SBATCH=$W/shim/sbatch SQUEUE=$W/shim/squeue TN_POLL=0.2 STUDY_DIR=$W/weak TN_MODE=weak TN_RANKS="1 2" TN_SIZES=32 \
  TN_STEPS=2 bash "$JOBS/scaling.sh" >weak.log 2>&1 || { cat weak.log; bad "weak series failed"; }
[ "$(cut -d, -f1,2,3,4 weak/scaling.csv | tail -n +2 | tr '\n' ' ')" = "weak,32,1,1024 weak,32,2,2025 " ] || { bad "weak lattice sizes"; cat weak/scaling.csv; }
TN_NET_TYPE=er TN_NET_K=4 STUDY_DIR=$W/weaker TN_MODE=weak TN_RANKS="2 1" TN_SIZES=200 TN_STEPS=2 \
  bash "$JOBS/scaling.sh" --local >weaker.log 2>&1 || { cat weaker.log; bad "weak er series (--local) failed"; }
[ "$(cut -d, -f2,3,4 weaker/scaling.csv | tail -n +2 | tr '\n' ' ')" = "200,1,200 200,2,400 " ] || { bad "weak er sizes"; cat weaker/scaling.csv; }

# a job that fails is named, the others are collected, the status is 1
TN_SCHEME=implicit STUDY_DIR=$W/failing TN_RANKS=1 TN_SIZES=16 bash "$JOBS/scaling.sh" --local >failing.log 2>&1 && bad "a failed job gave status 0"
has failing.log "job 1 (P = 1, size 16) left no summary.json"
# submit-only mode, bad settings
SBATCH=$W/shim/sbatch STUDY_DIR=$W/nowait TN_RANKS=1 TN_SIZES=16 bash "$JOBS/scaling.sh" --no-wait >nowait.log 2>&1 || bad "--no-wait failed"
has nowait.log "--collect $W/nowait"
TN_MODE=diagonal STUDY_DIR=$W/x bash "$JOBS/scaling.sh" --local >badmode.log 2>&1 && bad "TN_MODE=diagonal accepted"
has badmode.log "choose strong or weak"
TN_RANKS="1 two" STUDY_DIR=$W/x bash "$JOBS/scaling.sh" --local >badranks.log 2>&1 && bad "TN_RANKS='1 two' accepted"
has badranks.log "'two' in TN_RANKS or TN_SIZES is not a positive integer"
SBATCH=$W/no-sbatch STUDY_DIR=$W/x bash "$JOBS/scaling.sh" >nosbatch.log 2>&1 && bad "missing sbatch accepted"
has nosbatch.log "not found"
for i in $(seq 50); do [ "$(ls shim | grep -c '^done\.')" -eq "$(ls shim | grep -c '^submitted\.')" ] && break; sleep 0.2; done

[ $fail -eq 0 ] && echo "ok   jobs/ scripts: run directories, outputs, signal forwarding, scaling CSV, errors"
exit $fail
