#!/usr/bin/env bash
# A real single-node Slurm on 127.0.0.1 for testing cluster submission (see ../shared/reference/local-cluster.md).
#
#   scripts/local_slurm.sh start    install (Debian, root) if needed, write slurm.conf, start munged/slurmctld/slurmd
#   scripts/local_slurm.sh stop     stop the daemons this script started, by the PIDs in their pid files
#   scripts/local_slurm.sh status   show the daemons and the node
#   scripts/local_slurm.sh env      print `export SLURM_CONF=…` (eval it so sbatch/squeue find this cluster)
#
# Everything lives in $ATOMFLOW_SLURM_DIR (default /tmp/atomflow-slurm): slurm.conf, pid files, spool, logs.
# No system file is changed: the client commands find the cluster through SLURM_CONF. Every daemon listens on
# 127.0.0.1 only (CommunicationParameters=NoInAddrAny,NoCtldInAddrAny). munged is started only if none runs,
# and stopped only if this script started it.
set -euo pipefail

DIR="${ATOMFLOW_SLURM_DIR:-/tmp/atomflow-slurm}"
CONF="$DIR/slurm.conf"
CTLD_PORT="${ATOMFLOW_SLURM_CTLD_PORT:-6817}"
SLURMD_PORT="${ATOMFLOW_SLURM_SLURMD_PORT:-6818}"
PARTITION="debug"

log() { echo "local_slurm: $*" >&2; }
die() { log "$*"; exit 1; }

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
        && command -v munged >/dev/null; then
        return
    fi
    [[ $(id -u) -eq 0 ]] || die "slurm-wlm/munge are not installed and this is not root: cannot apt-get install them."
    command -v apt-get >/dev/null || die "no apt-get here: install slurm-wlm, slurm-client and munge by hand."
    log "installing slurm-wlm munge slurm-client (apt-get)…"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge slurm-client >"$DIR/apt.log" 2>&1; then
        # the package lists may be missing on a fresh machine
        DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$DIR/apt.log" 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge slurm-client >>"$DIR/apt.log" 2>&1 \
            || die "apt-get install slurm-wlm munge slurm-client failed (log: $DIR/apt.log)."
    fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_conf() {
    # CPUs and RealMemory as slurmd itself detects them (a larger value would drain the node).
    local detected cpus mem
    detected="$(slurmd -C 2>/dev/null | head -1 || true)"
    cpus="$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$detected")"
    mem="$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$detected")"
    cpus="${cpus:-$(nproc)}"
    mem="${mem:-$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)}"
    mem=$(( mem * 9 / 10 ))  # leave headroom: slurmd drains a node that reports less than configured
    cat >"$CONF" <<EOF
# Written by atomflow scripts/local_slurm.sh: a single-node test cluster on 127.0.0.1.
ClusterName=atomflowlocal
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
CommunicationParameters=NoInAddrAny,NoCtldInAddrAny
SlurmdSpoolDir=$DIR/spool/d
StateSaveLocation=$DIR/spool/ctld
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.log
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
InactiveLimit=0
KillWait=5
MinJobAge=300
SlurmctldTimeout=60
SlurmdTimeout=60
Waittime=0
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=$PARTITION Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        return  # a munged already answers; not ours to start or stop
    fi
    [[ -f /etc/munge/munge.key ]] || die "/etc/munge/munge.key is missing (reinstall munge or run mungekey)."
    mkdir -p /run/munge
    chown munge:munge /run/munge 2>/dev/null || true
    # munged (as user munge) writes its pid file under /run/munge; a copy in $DIR marks it as ours to stop
    runuser -u munge -- munged 2>>"$DIR/log/munged.err" || die "munged did not start (see $DIR/log/munged.err)."
    for _ in $(seq 50); do
        if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
            cp /run/munge/munged.pid "$DIR/run/munged.pid" 2>/dev/null || true
            return
        fi
        sleep 0.1
    done
    die "munged started but does not answer (see $DIR/log/munged.err)."
}

wait_idle() {
    local state=""
    for _ in $(seq 150); do
        state="$(SLURM_CONF="$CONF" sinfo -h -n localhost -o %T 2>/dev/null | head -1 || true)"
        [[ "$state" == idle* || "$state" == mixed* || "$state" == allocated* ]] && return
        sleep 0.2
    done
    die "the node did not become idle (state: '${state:-none}'); logs in $DIR/log."
}

start() {
    [[ $(id -u) -eq 0 ]] || die "needs root (slurmd runs jobs as their user and must be root)."
    mkdir -p "$DIR"/{run,log,spool/d,spool/ctld}
    if pid_alive "$DIR/run/slurmctld.pid" && pid_alive "$DIR/run/slurmd.pid"; then
        log "already running ($CONF)"
        echo "export SLURM_CONF=$CONF"
        return
    fi
    install_packages
    port_free "$CTLD_PORT" || die "port $CTLD_PORT is in use (set ATOMFLOW_SLURM_CTLD_PORT)."
    port_free "$SLURMD_PORT" || die "port $SLURMD_PORT is in use (set ATOMFLOW_SLURM_SLURMD_PORT)."
    write_conf
    start_munge
    # -c: cold start, no state from an earlier test cluster; -N: the node name differs from the hostname
    slurmctld -c -f "$CONF" || die "slurmctld did not start (see $DIR/log/slurmctld.log)."
    slurmd -f "$CONF" -N localhost || die "slurmd did not start (see $DIR/log/slurmd.log)."
    SLURM_CONF="$CONF" wait_idle
    log "running: partition $PARTITION on 127.0.0.1 ($(grep -o 'CPUs=[0-9]* RealMemory=[0-9]*' "$CONF"))"
    echo "export SLURM_CONF=$CONF"
}

stop_pid() {  # stop_pid NAME PIDFILE
    local file="$2" pid
    [[ -f "$file" ]] || return 0
    pid="$(cat "$file")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            log "$1 ($pid) ignored SIGTERM for 10 s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$file"
}

stop() {
    stop_pid slurmd "$DIR/run/slurmd.pid"
    stop_pid slurmctld "$DIR/run/slurmctld.pid"
    stop_pid munged "$DIR/run/munged.pid"  # only present if this script started munged
    log "stopped"
}

status() {
    for name in munged slurmctld slurmd; do
        if pid_alive "$DIR/run/$name.pid"; then echo "$name: running (pid $(cat "$DIR/run/$name.pid"))"
        else echo "$name: not started by this script"; fi
    done
    [[ -f "$CONF" ]] && SLURM_CONF="$CONF" sinfo 2>/dev/null || true
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    env) echo "export SLURM_CONF=$CONF" ;;
    *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
