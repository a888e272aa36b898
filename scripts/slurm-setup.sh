#!/usr/bin/env bash
# Starts a real one-node Slurm cluster on this machine (Debian's slurm-wlm 22.05 + munge), for the Slurm
# executor's end-to-end tests (test/engine/sweepSlurm.test.ts) and for trying sweeps on Slurm by hand.
# Idempotent: packages are installed only when missing, the configuration is rewritten only when it
# differs, and daemons that already answer are left alone. Needs root (apt-get, daemons running as root
# and munge). Exits non-zero with a plain reason when the cluster cannot be started.
#
#   bash scripts/slurm-setup.sh          # install if needed, configure, start; waits until the node is idle
#   bash scripts/slurm-setup.sh --check  # only says whether the cluster answers (exit 0) or not (exit 1)
set -euo pipefail

say() { echo "slurm-setup: $*"; }
fail() {
  echo "slurm-setup: $*" >&2
  exit 1
}

node_state() { sinfo -h -N -o '%t' 2>/dev/null | head -n 1 || true; }

if [ "${1:-}" = "--check" ]; then
  command -v sinfo >/dev/null 2>&1 || fail "sinfo is not installed"
  state="$(node_state)"
  case "$state" in
    idle* | mix* | alloc* | comp*) say "cluster up (node $state)" && exit 0 ;;
    *) fail "cluster not answering (node state: '${state:-none}')" ;;
  esac
fi

if [ "$(id -u)" -ne 0 ]; then
  # Like scripts/e2e-setup.sh: sudo without a password prompt when there is one (CI machines).
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then exec sudo -n bash "$0" "$@"; fi
  fail "must run as root (it installs packages and starts munged, slurmctld and slurmd); run it with sudo"
fi

# 1. Packages: offline from the Debian mirror.
missing=()
command -v slurmctld >/dev/null 2>&1 || missing+=(slurm-wlm)
command -v munged >/dev/null 2>&1 || missing+=(munge)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
    fail "apt-get install ${missing[*]} failed"
fi

# 2. munge: a key and its folders, then the daemon as the munge user.
install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge /etc/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
  say "starting munged"
  rm -f /run/munge/munged.pid
  runuser -u munge -- /usr/sbin/munged || fail "munged did not start (see /var/log/munge/munged.log)"
  for _ in $(seq 50); do
    munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.1
  done
  munge -n </dev/null | unmunge >/dev/null 2>&1 || fail "munged does not answer (see /var/log/munge/munged.log)"
fi

# 3. slurm.conf for this one machine.
host="$(hostname -s)"
cpus="$(nproc)"
# 90% of the memory: a RealMemory above what slurmd finds would drain the node.
memory="$(awk '/MemTotal/ { print int($2 / 1024 * 0.9) }' /proc/meminfo)"
install -d /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
conf="$(
  cat <<EOF
# Written by scripts/slurm-setup.sh: a one-node cluster for the sweep executor's tests.
ClusterName=finetune-local
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# A cancelled trial stops by itself within seconds (it is asked first); this is the wait before SIGKILL.
KillWait=30
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
)"
restart=0
if [ ! -f /etc/slurm/slurm.conf ] || [ "$(cat /etc/slurm/slurm.conf)" != "$conf" ]; then
  say "writing /etc/slurm/slurm.conf (node $host, $cpus CPUs, $memory MiB)"
  printf '%s\n' "$conf" >/etc/slurm/slurm.conf
  restart=1
fi

# 4. The daemons. They fork into the background themselves.
running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
if [ "$restart" = 1 ]; then
  for pidfile in /run/slurmd.pid /run/slurmctld.pid; do
    if running "$pidfile"; then
      kill "$(cat "$pidfile")"
      for _ in $(seq 50); do running "$pidfile" || break; sleep 0.1; done
    fi
  done
fi
if ! running /run/slurmctld.pid; then
  say "starting slurmctld"
  slurmctld || fail "slurmctld did not start (see /var/log/slurm/slurmctld.log)"
fi
if ! running /run/slurmd.pid; then
  say "starting slurmd"
  slurmd || fail "slurmd did not start (see /var/log/slurm/slurmd.log)"
fi

# 5. Wait until the node takes jobs.
for _ in $(seq 150); do
  state="$(node_state)"
  case "$state" in
    idle* | mix* | alloc* | comp*)
      say "cluster up: node $host $state, partition debug"
      exit 0
      ;;
    down* | drain*)
      # A node that was down (an earlier restart) comes back once slurmd has registered.
      scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
      ;;
  esac
  sleep 0.2
done
fail "the node did not become idle within 30 s (state: '${state:-none}'; see /var/log/slurm/slurmctld.log and slurmd.log)"
