# Shared by the tenor job scripts (sourced, not run). Sets up the environment
# inside a Slurm allocation (or a faked one), builds the MPI launch command and
# runs it with signal forwarding. Variables read here (all optional):
#   TENOR              the tenor binary              (default: <jobs>/../build/tenor)
#   TN_LAUNCHER        mpirun | srun                 (default: mpirun)
#   TN_OVERSUBSCRIBE   1: pass --oversubscribe to mpirun (more ranks than slots)
#   TN_MPIRUN_ARGS     extra launcher arguments, split on blanks
#   TN_FORWARD_SIGNAL  signal sent to the launcher when the job script gets
#                      SIGTERM/SIGUSR1/SIGINT (default: USR1; mpirun and srun
#                      pass USR1 on to every rank, tenor train checkpoints on it)
#   RUN_ROOT           where run directories go       (default: $SLURM_SUBMIT_DIR/runs)
#   RUN_DIR            the run directory itself        (default: RUN_ROOT/<name>)

tn_die() {
  echo "$TN_SCRIPT: error: $*" >&2
  exit 2
}

tn_is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

# The tenor binary: $TENOR, else ../build/tenor next to the jobs folder.
tn_find_tenor() {
  TENOR=${TENOR:-$TN_JOBS_DIR/../build/tenor}
  [ -e "$TENOR" ] || tn_die "the tenor binary '$TENOR' does not exist: build it (cmake --build build) or set TENOR=/path/to/tenor"
  [ -f "$TENOR" ] && [ -x "$TENOR" ] || tn_die "'$TENOR' is not an executable file: set TENOR=/path/to/tenor"
  TENOR=$(cd "$(dirname "$TENOR")" && pwd)/$(basename "$TENOR")
}

# Job id, rank count and submit directory, from Slurm or defaults outside it.
tn_job_info() {
  TN_JOBID=${SLURM_JOB_ID:-local$$}
  TN_NTASKS=${SLURM_NTASKS:-${SLURM_NPROCS:-1}}
  tn_is_uint "$TN_NTASKS" && [ "$TN_NTASKS" -ge 1 ] || tn_die "SLURM_NTASKS='$TN_NTASKS' is not a positive integer"
  TN_SUBMIT_DIR=${SLURM_SUBMIT_DIR:-$PWD}
  RUN_ROOT=${RUN_ROOT:-$TN_SUBMIT_DIR/runs}
}

# tn_make_run_dir NAME: RUN_DIR (default RUN_ROOT/NAME) created and absolute.
tn_make_run_dir() {
  RUN_DIR=${RUN_DIR:-$RUN_ROOT/$1}
  mkdir -p "$RUN_DIR" || tn_die "cannot create the run directory '$RUN_DIR' (set RUN_ROOT or RUN_DIR)"
  RUN_DIR=$(cd "$RUN_DIR" && pwd)
}

# tn_check_output FILE: an output file that is a symbolic link is refused,
# never written through (nor one that is not a regular file).
tn_check_output() {
  if [ -L "$1" ]; then
    tn_die "'$1' is a symbolic link: refusing to write through it (remove it, or choose another RUN_DIR)"
  elif [ -e "$1" ] && [ ! -f "$1" ]; then
    tn_die "'$1' exists and is not a regular file: refusing to write it"
  fi
  return 0
}

# tn_write_file FILE TEXT: FILE holds TEXT, written to a new file next to it
# and renamed over it (a symbolic link at FILE is refused first).
tn_write_file() {
  local tmp
  tn_check_output "$1"
  tmp=$(mktemp "$1.XXXXXX") || tn_die "cannot write in $(dirname "$1")"
  printf '%s\n' "$2" >"$tmp" && chmod "$(printf '%03o' $((0666 & ~$(umask))))" "$tmp" && mv -f -- "$tmp" "$1" || {
    rm -f -- "$tmp"
    tn_die "cannot write '$1'"
  }
}

# One BLAS thread per rank; Open MPI refuses root unless told.
tn_mpi_env() {
  export OPENBLAS_NUM_THREADS=1
  if [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  fi
}

# TN_LAUNCH: the launcher prefix for TN_NTASKS ranks.
tn_launch_prefix() {
  local extra=()
  read -r -a extra <<<"${TN_MPIRUN_ARGS:-}"
  case ${TN_LAUNCHER:-mpirun} in
    mpirun)
      TN_LAUNCH=(mpirun -n "$TN_NTASKS")
      [ "${TN_OVERSUBSCRIBE:-0}" = 1 ] && TN_LAUNCH+=(--oversubscribe)
      ;;
    srun)
      [ -n "${SLURM_JOB_ID:-}" ] || tn_die "TN_LAUNCHER=srun needs a Slurm allocation (use mpirun outside Slurm)"
      TN_LAUNCH=(srun --mpi=pmix -n "$TN_NTASKS")
      [ "${TN_OVERSUBSCRIBE:-0}" = 1 ] && TN_LAUNCH+=(--overcommit)
      ;;
    *) tn_die "TN_LAUNCHER='$TN_LAUNCHER': choose mpirun or srun" ;;
  esac
  command -v "${TN_LAUNCH[0]}" >/dev/null || tn_die "'${TN_LAUNCH[0]}' is not on PATH (load your site's MPI module)"
  TN_LAUNCH+=("${extra[@]}")
}

# Signal forwarding. Slurm sends SIGTERM to the batch shell (--signal=B:TERM@60:
# 60 s before the time limit); bash runs a trap only between commands, so the
# launcher runs in the background and the script waits for it. On SIGTERM,
# SIGUSR1 or SIGINT the launcher gets TN_FORWARD_SIGNAL (USR1): mpirun and srun
# forward SIGUSR1 to every rank, whereas mpirun answers SIGTERM by killing the
# ranks one second later, too soon for a checkpoint.
tn_forward() {
  echo "$TN_SCRIPT: received SIG$1 at $(date '+%F %T'); sending SIG$TN_FWD to ${TN_LAUNCH[0]} (pid $TN_PID) for tenor's handler"
  TN_SIGNALLED=$1
  kill -s "$TN_FWD" "$TN_PID" 2>/dev/null
}

# tn_run ARGS...: print and run "TN_LAUNCH ARGS" (output also in RUN_DIR/tenor.log),
# forwarding signals (TN_SIGNALLED: the name of the last one received, or
# empty); returns its exit status.
tn_run() {
  local cmd=("${TN_LAUNCH[@]}" "$@") rc
  TN_FWD=${TN_FORWARD_SIGNAL:-USR1}
  TN_SIGNALLED=""
  tn_check_output "$RUN_DIR/tenor.log"
  tn_write_file "$RUN_DIR/command.sh" "$(printf '%q ' "${cmd[@]}")"
  echo "$TN_SCRIPT: job $TN_JOBID, $TN_NTASKS rank(s) on $(hostname), run directory $RUN_DIR"
  echo "$TN_SCRIPT: running: $(cat "$RUN_DIR/command.sh")"
  "${cmd[@]}" > >(tee "$RUN_DIR/tenor.log") 2>&1 &
  TN_PID=$!
  trap 'tn_forward TERM' TERM
  trap 'tn_forward USR1' USR1
  trap 'tn_forward INT' INT
  while :; do
    wait "$TN_PID"
    rc=$?
    # a trap interrupted wait (status > 128) while the launcher still runs: wait again
    if [ $rc -gt 128 ] && kill -0 "$TN_PID" 2>/dev/null; then continue; fi
    break
  done
  trap - TERM USR1 INT
  sleep 0.2 # let tee flush
  echo "$TN_SCRIPT: exit status $rc; outputs in $RUN_DIR"
  return $rc
}
