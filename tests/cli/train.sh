#!/bin/bash
# tenor train end to end: a short run writes metrics, JSON, model and
# checkpoint; `tenor logdensity -model` reproduces the final loss (also for
# the continuous scheme), and the
# command line overrides the model's dynamics settings with a note; a run
# killed with SIGKILL after its first checkpoint and restarted with
# -train_restart ends with bitwise the parameters of an uninterrupted run;
# SIGTERM checkpoints and exits 0; bad restarts are refused.
# Usage: train.sh TENOR WORKDIR
set -u
TENOR=$1; W=$2; rm -rf "$W"; mkdir -p "$W"; cd "$W"
MPI="mpirun -n 2 --oversubscribe"
fail=0
json() { grep -o "\"$2\": [^,}]*" "$1" | head -1 | sed 's/.*: //'; }
close() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; s = b < 0 ? -b : b; exit !(d <= t * s) }'; }

# 1. a short default-ish run
DATA="-data_type gmrf2d -data_samples 512 -data_valid_fraction 0.125"
$MPI "$TENOR" train -net_n 8 $DATA -train_epochs 3 -train_ckpt_every 10 -out_dir short >short.log 2>&1 || { cat short.log; exit 1; }
for f in short/train_metrics.csv short/train.json short/model.h5 short/ckpt.h5; do [ -s "$f" ] || { echo "FAIL missing $f"; fail=1; }; done
for key in status valid_loss all_loss gap_per_dim nll_indep ratio steps_shrunk samples_per_s synaptic_updates_per_s; do
  grep -q "\"$key\"" short/train.json || { echo "FAIL train.json lacks $key"; fail=1; }
done
[ "$(json short/train.json status)" = '"done"' ] || { echo "FAIL status is not done"; fail=1; }
grep -q "^step .* | train .* b/d) | valid .* gap/dim .* ratio .* samples/s .* syn upd/s | ETA" short.log || { echo "FAIL no progress line"; fail=1; }
head -1 short/train_metrics.csv | grep -q "^step,epoch,lr,train_loss,train_bpd,valid_loss,valid_bpd,gap_per_dim,ratio" || { echo "FAIL metrics header"; fail=1; }
[ "$(wc -l <short/train_metrics.csv)" -ge 4 ] || { echo "FAIL metrics rows"; fail=1; }

# 2. the saved model through logdensity (3 ranks: another partition) gives the final loss on all samples
mpirun -n 3 --oversubscribe "$TENOR" logdensity -model short/model.h5 $DATA -dyn_batch 50 -out_dir ld >ld.log 2>&1 || { cat ld.log; exit 1; }
a=$(json short/train.json all_loss); b=$(json ld/summary.json loss_nats_mean)
close "$a" "$b" 1e-11 || { echo "FAIL logdensity -model gives $b, training's final evaluation $a"; fail=1; }
grep -q "overrides the model's" ld.log && { echo "FAIL a note about an override nobody gave"; fail=1; }
# the command line over the model's settings, each change noted
$MPI "$TENOR" logdensity -model short/model.h5 $DATA -dyn_batch 50 -dyn_h 0.25 -dyn_steps 2 -dyn_coloring_seed 7 -out_dir ldo >ldo.log 2>&1 || { cat ldo.log; exit 1; }
for note in "note: -dyn_h 0.25 overrides the model's h = " "note: -dyn_steps 2 overrides the model's K = " "note: -dyn_coloring_seed 7 overrides the model's coloring_seed = "; do
  grep -q "^$note" ldo.log || { echo "FAIL no '$note...' note"; cat ldo.log; fail=1; }
done
grep -q "^dynamics: .* h = 0.25, K = 2 " ldo.log || { echo "FAIL the command line did not override the model's h and K"; fail=1; }

# the final evaluation passes over each sample once: 40 samples (8 held out),
# batches of 8, K = 1, one hebb step: the step's loss (1 forward step), the
# run's last validation (1), the final validation (1) and training (4) parts =
# 7 DynStep events; all_loss is their weighted mean (a third pass over all 40
# samples made it 12)
$MPI "$TENOR" train -net_n 4 -data_samples 40 -data_valid_fraction 0.2 -dyn_batch 8 -train_steps 1 -train_rule hebb -out_dir once -log_view >once.log 2>&1 || { cat once.log; exit 1; }
n=$(awk '$1 == "DynStep" { print $2 }' once.log)
[ "$n" = 7 ] || { echo "FAIL the final evaluation made $n forward steps, expected 7"; fail=1; }
a=$(json once/train.json all_loss); t=$(json once/train.json train_loss); v=$(json once/train.json valid_loss)
close "$a" "$(awk -v t="$t" -v v="$v" 'BEGIN { printf "%.17g", (32 * t + 8 * v) / 40 }')" 1e-12 || { echo "FAIL all_loss $a is not the mean of train $t and valid $v"; fail=1; }

# a misspelt option is refused before training starts, naming the option meant
$MPI "$TENOR" train -net_n 4 $DATA -train_steps 1 -train_lrr 0.1 -out_dir typo >typo.log 2>&1 && { echo "FAIL a misspelt option was accepted"; fail=1; }
grep -q "unknown option -train_lrr (did you mean -train_lr?)" typo.log || { echo "FAIL no error for a misspelt option"; cat typo.log; fail=1; }
grep -q "^step" typo.log && { echo "FAIL training started despite a misspelt option"; fail=1; }
grep -q "warning: option" short.log && { echo "FAIL a warning about an option nobody misspelt"; fail=1; }

# 2b. the continuous scheme: trains, its model records the integrator, and
# logdensity -model (3 ranks) reproduces the final loss to the tolerance
$MPI "$TENOR" train -net_n 6 $DATA -dyn_scheme continuous -dyn_steps 2 -dyn_rtol 1e-9 -train_epochs 1 -out_dir cont >cont.log 2>&1 || { cat cont.log; exit 1; }
mpirun -n 3 --oversubscribe "$TENOR" logdensity -model cont/model.h5 $DATA -dyn_batch 50 -out_dir ldc >ldc.log 2>&1 || { cat ldc.log; exit 1; }
grep -q "^dynamics: continuous scheme.*rtol 1e-09" ldc.log || { echo "FAIL the continuous model did not reload its integrator"; cat ldc.log; fail=1; }
a=$(json cont/train.json all_loss); b=$(json ldc/summary.json loss_nats_mean)
close "$a" "$b" 1e-8 || { echo "FAIL continuous: logdensity -model gives $b, training's final evaluation $a"; fail=1; }

# 3. SIGKILL after the first checkpoint, restart: bitwise the uninterrupted parameters
RUN="-net_n 24 -data_type gmrf2d -data_samples 1536 -data_valid_fraction 0.125 -dyn_steps 12 -dyn_batch 32 -train_steps 150 -train_valid_every 25 -train_ckpt_every 10"
$MPI "$TENOR" train $RUN -out_dir full >full.log 2>&1 || { cat full.log; exit 1; }
start_and_wait_ckpt() { # $1 = out dir; starts the run in the background, waits for its first checkpoint
  $MPI "$TENOR" train $RUN -out_dir "$1" >"$1.log" 2>&1 &
  PID=$!
  for _ in $(seq 600); do [ -s "$1/ckpt.h5" ] && break; kill -0 $PID 2>/dev/null || break; sleep 0.1; done
}
start_and_wait_ckpt kill
[ -s kill/ckpt.h5 ] || { echo "FAIL no checkpoint appeared"; cat kill.log; exit 1; }
for p in $(pgrep -P $PID); do kill -9 "$p"; done
wait $PID 2>/dev/null
[ -e kill/model.h5 ] && echo "note: the run finished before it was killed (machine fast): the restart test is weaker"
$MPI "$TENOR" train $RUN -out_dir kill -train_restart >kill2.log 2>&1 || { cat kill2.log; exit 1; }
grep -q "resumed from kill/ckpt.h5 at step" kill2.log || { echo "FAIL the restart did not resume"; fail=1; }
h5diff full/model.h5 kill/model.h5 /theta >/dev/null || { echo "FAIL restarted parameters differ from the uninterrupted run"; fail=1; }
[ -z "$(cut -d, -f1 kill/train_metrics.csv | sort | uniq -d)" ] || { echo "FAIL duplicate metrics rows after restart"; fail=1; }
cmp -s <(cut -d, -f1-9 full/train_metrics.csv) <(cut -d, -f1-9 kill/train_metrics.csv) || { echo "FAIL metrics of the restarted run differ"; fail=1; }

# 4. SIGTERM: checkpoint, message, exit 0, status interrupted; then resume to the same end
start_and_wait_ckpt term
for p in $(pgrep -P $PID); do kill -TERM "$p"; done
wait $PID; rc=$?
if [ ! -e term/model.h5 ]; then
  [ $rc -eq 0 ] || { echo "FAIL SIGTERM: exit status $rc"; fail=1; }
  grep -q "received signal 15 (SIGTERM): checkpoint written" term.log || { echo "FAIL SIGTERM: no checkpoint message"; cat term.log; fail=1; }
  [ "$(json term/train.json status)" = '"interrupted"' ] || { echo "FAIL SIGTERM: status not interrupted"; fail=1; }
fi
$MPI "$TENOR" train $RUN -out_dir term -train_restart >term2.log 2>&1 || { cat term2.log; exit 1; }
h5diff full/model.h5 term/model.h5 /theta >/dev/null || { echo "FAIL parameters after SIGTERM + restart differ"; fail=1; }

# 5. refusals: a checkpoint of another configuration, a model that is not one
$MPI "$TENOR" train $RUN -dyn_steps 11 -out_dir kill -train_restart >bad.log 2>&1 && { echo "FAIL an incompatible checkpoint was accepted"; fail=1; }
grep -q "does not match this run: K is 12 in the file but 11 here" bad.log || { echo "FAIL unclear refusal:"; cat bad.log; fail=1; }
$MPI "$TENOR" logdensity -model nothere.h5 >bad2.log 2>&1 && { echo "FAIL a missing model was accepted"; fail=1; }
grep -q "cannot open nothere.h5 (-model): No such file" bad2.log || { echo "FAIL unclear missing-model error"; cat bad2.log; fail=1; }

[ $fail -eq 0 ] && echo "ok   train: outputs, logdensity -model (and overrides), SIGKILL/SIGTERM restarts bitwise, refusals"
exit $fail
