#!/bin/bash
# A one-machine Slurm (Debian 12: slurmctld, slurmd, slurm-client, munge
# 22.05) started by hand, without systemd, to test the job scripts for real.
#
#   bash jobs/local-slurm.sh start DIR   # writes DIR/slurm.conf, starts munged, slurmctld, slurmd
#   export SLURM_CONF=DIR/slurm.conf     # then sbatch, squeue, scontrol use it
#   bash jobs/local-slurm.sh stop DIR    # stops the three daemons by their PID files
#
# Variables: LOCAL_SLURM_CPUS (CPUs declared for the node, default 4: more
# tasks than cores need SlurmdParameters=config_overrides), LOCAL_SLURM_PORT
# (slurmctld port, default 16817; slurmd uses the next one). Needs root (the
# daemons run as SlurmUser=root) and /etc/munge/munge.key (installed by the
# munge package). DIR and its parents are made o+x (munge's socket lives in DIR; said when done).
set -u
die() { echo "local-slurm.sh: error: $*" >&2; exit 2; }
[ $# -eq 2 ] || die "usage: local-slurm.sh start|stop DIR"
act=$1
mkdir -p "$2" && D=$(cd "$2" && pwd) || die "cannot create $2"

stop_pid() { # stop_pid NAME PIDFILE: TERM, wait up to 10 s
  local pid
  [ -f "$2" ] || return 0
  pid=$(cat "$2")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && echo "local-slurm.sh: $1 (pid $pid) still running" >&2
  fi
  echo "stopped $1 (pid $pid)"
  rm -f "$2"
}

case $act in
  stop)
    stop_pid slurmd "$D/slurmd.pid"
    stop_pid slurmctld "$D/slurmctld.pid"
    stop_pid munged "$D/munged.pid"
    exit 0
    ;;
  start) ;;
  *) die "usage: local-slurm.sh start|stop DIR" ;;
esac

for b in munged slurmctld slurmd sbatch; do
  command -v $b >/dev/null || die "$b not found: apt-get install -y slurmctld slurmd slurm-client munge"
done
[ -r /etc/munge/munge.key ] || die "/etc/munge/munge.key missing (reinstall munge)"
[ "$(id -u)" = 0 ] || die "run as root (SlurmUser=root)"
mkdir -p "$D/munge" "$D/state" "$D/spool"
chmod o+x "$D" "$D/munge"
d=$D
while [ "$d" != / ]; do # munged's socket directory and its parents must be o+x
  if [ -z "$(find "$d" -maxdepth 0 -perm -o+x)" ]; then
    chmod o+x "$d" && echo "local-slurm.sh: chmod o+x $d (for the munge socket)"
  fi
  d=$(dirname "$d")
done

cpus=${LOCAL_SLURM_CPUS:-4}
port=${LOCAL_SLURM_PORT:-16817}
host=$(hostname -s)
# node line from slurmd -C, with CPUs and cores per socket raised to $cpus
node=$(slurmd -C | head -1 | sed "s/CPUs=[0-9]*/CPUs=$cpus/; s/CoresPerSocket=[0-9]*/CoresPerSocket=$cpus/; s/SocketsPerBoard=[0-9]*/SocketsPerBoard=1/; s/ThreadsPerCore=[0-9]*/ThreadsPerCore=1/")
cat >"$D/slurm.conf" <<CONF
# One-machine Slurm for testing tenor's job scripts (jobs/local-slurm.sh)
ClusterName=tenorlocal
SlurmctldHost=$host
SlurmUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$D/munge/munge.socket.2
CredType=cred/munge
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/slurmctld.log
SlurmdLogFile=$D/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
EnforcePartLimits=ALL
MailProg=/bin/true
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$D/jobcomp.txt
ReturnToService=2
SchedulerParameters=sched_interval=1
MinJobAge=300
KillWait=30
# more CPUs than cores: take the node line below, not the hardware
SlurmdParameters=config_overrides
$node State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
sed -i "s/^NodeName=[^ ]*/NodeName=$host/" "$D/slurm.conf"

munged --socket="$D/munge/munge.socket.2" --pid-file="$D/munged.pid" --log-file="$D/munged.log" \
  --seed-file="$D/munge/munged.seed" --key-file=/etc/munge/munge.key --force || die "munged failed: see $D/munged.log"
export SLURM_CONF=$D/slurm.conf
slurmctld -f "$D/slurm.conf" || die "slurmctld failed: see $D/slurmctld.log"
slurmd -f "$D/slurm.conf" || die "slurmd failed: see $D/slurmd.log"
for _ in $(seq 50); do
  sinfo -h -o %T 2>/dev/null | grep -q idle && break
  sleep 0.2
done
sinfo
echo "local Slurm running; export SLURM_CONF=$D/slurm.conf; stop with: bash jobs/local-slurm.sh stop $D"
