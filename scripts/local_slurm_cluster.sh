#!/usr/bin/env bash
# A one-node SLURM cluster on localhost, for trying and testing profiles/slurm.
#
#   scripts/local_slurm_cluster.sh start DIR   # prints `export SLURM_CONF=DIR/slurm.conf`
#   scripts/local_slurm_cluster.sh stop DIR
#
# Needs Debian's slurmctld, slurmd, slurm-client and munge (scripts/install_system_tools.sh slurm)
# and root (slurmd launches jobs as their owner). Everything the daemons write lives in DIR;
# /etc/slurm is not touched, so point the SLURM commands at DIR/slurm.conf with SLURM_CONF.
# No accounting database: job states come from squeue, so MinJobAge keeps finished jobs
# visible for an hour (the Snakemake plugin's `status_command: squeue` relies on that).
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
action=$1
dir=$(realpath -m "$2")

for tool in slurmctld slurmd sinfo munged; do
    if ! command -v "$tool" >/dev/null; then
        echo "error: '$tool' not found; install Debian's slurmctld slurmd slurm-client munge" \
             "(bash scripts/install_system_tools.sh slurm)" >&2
        exit 3
    fi
done

stop_daemon() {  # pidfile
    local pid
    [[ -f $1 ]] || return 0
    pid=$(cat "$1")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$1"
}

case $action in
stop)
    stop_daemon "$dir/slurmd.pid"
    stop_daemon "$dir/slurmctld.pid"
    exit 0
    ;;
start) ;;
*) usage ;;
esac

mkdir -p "$dir/state" "$dir/spool"
node=$(hostname -s)
cpus=$(nproc)
# Leave the operating system 2 GiB; a job asking for more than RealMemory would pend forever.
mem_mb=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) - 2048 ))
# Ports away from the defaults so a real slurmd on the host does not collide.
ctld_port=${SPIKEMEM_SLURMCTLD_PORT:-16817}
slurmd_port=${SPIKEMEM_SLURMD_PORT:-16818}

cat > "$dir/slurm.conf" <<EOF
# Written by scripts/local_slurm_cluster.sh: one node, this host, no accounting.
ClusterName=spikemem-local
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
# Configless: slurmd fetches this file from the controller and caches it under /run/slurm/conf,
# where the SLURM commands inside jobs find it (the Snakemake job step drops SLURM_CONF).
SlurmctldParameters=enable_configless
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
MinJobAge=3600
ReturnToService=2
SlurmdTimeout=60
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF

# munged: Debian's package made the key; start it once (it may already run for another cluster).
if ! pgrep -x munged >/dev/null; then
    mkdir -p /run/munge && chown munge:munge /run/munge
    runuser -u munge -- munged
fi

export SLURM_CONF=$dir/slurm.conf
stop_daemon "$dir/slurmd.pid"
stop_daemon "$dir/slurmctld.pid"
# -c: a fresh controller state, no jobs left over from an earlier run of this directory.
slurmctld -c
slurmd --conf-server "127.0.0.1:$ctld_port"

# Wait until the node is idle (slurmd has registered), at most 60 s.
for _ in $(seq 120); do
    state=$(sinfo -h -n "$node" -o %T 2>/dev/null || true)
    if [[ $state == idle* ]]; then
        echo "export SLURM_CONF=$dir/slurm.conf"
        exit 0
    fi
    sleep 0.5
done
echo "error: the local SLURM node did not become idle (state: '${state:-none}');" \
     "see $dir/slurmctld.log and $dir/slurmd.log" >&2
tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
exit 1
