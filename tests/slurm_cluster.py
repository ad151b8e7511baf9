"""A real single-node Slurm on loopback for the tests (Debian's slurmctld/slurmd + munge).

Follows /work/shared/reference/slurm-local.md: fresh state folder per start, ``MpiDefault=pmi2``,
``DependencyParameters=kill_invalid_depend``, ``EnforcePartLimits=ALL``, daemons started in the
background and stopped by their PIDs. The configuration lives in the test's folder and is
selected with ``SLURM_CONF`` (``/etc/slurm`` is left alone); the daemons use free ports, so a
second cluster on the machine does not collide with this one.

Job ids start at a random ``FirstJobId``: MPICH under ``srun --mpi=pmi2`` names its shared-memory
segments after the PMI job (``<jobid>.<step>``), and a segment left in /dev/shm by a killed job of
an earlier test cluster with the same job id makes ``MPI_Init`` read garbage ("Message
truncated", UCX "failed to unpack address"). A real cluster never reuses job ids.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
_BINARIES = ("slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "munged")


def _which(name: str) -> str | None:
    return shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)), None)


def ensure_installed(timeout_s: float = 600) -> str | None:
    """Install the Slurm packages if missing (as root, with apt-get).

    Returns:
        ``None`` when Slurm is usable, else the reason why not.
    """
    if all(_which(b) for b in _BINARIES):
        return None
    if os.geteuid() != 0:
        return "Slurm is not installed and installing it needs root"
    if not shutil.which("apt-get"):
        return "Slurm is not installed and there is no apt-get to install it"
    try:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update"],
                    ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES]):
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env)
            if proc.returncode != 0:
                return f"{' '.join(cmd)} failed: {proc.stderr.strip()[-400:]}"
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"installing Slurm failed: {err}"
    missing = [b for b in _BINARIES if not _which(b)]
    return f"Slurm binaries missing after install: {missing}" if missing else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (defunct) is dead for our purpose
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class LocalSlurm:
    """Start/stop slurmctld + slurmd (+ munged if none runs) with their state under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.conf = self.root / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self.pids: dict[str, int] = {}
        self._munged_pid: int | None = None

    def _write_conf(self) -> None:
        host = socket.gethostname().split(".")[0]
        node = subprocess.run([_which("slurmd"), "-C"], capture_output=True, text=True,
                              check=True).stdout.splitlines()[0]
        node = node.replace(f"NodeName={host}", f"NodeName={host} NodeAddr=127.0.0.1")
        r = self.root
        self.conf.write_text(f"""\
ClusterName=nretest
FirstJobId={random.randint(100_000, 50_000_000)}
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=pmi2
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,bf_interval=2
DependencyParameters=kill_invalid_depend
EnforcePartLimits=ALL
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={r}/log/jobcomp.txt
MinJobAge=300
KillWait=5
{node} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
""")

    def _munge_works(self) -> bool:
        try:
            cred = subprocess.run(["munge", "-n"], capture_output=True, timeout=5)
            if cred.returncode != 0:
                return False
            return subprocess.run(["unmunge"], input=cred.stdout, capture_output=True,
                                  timeout=5).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    def start(self, timeout_s: float = 30) -> None:
        """Configure from scratch and start the daemons; wait until the node is idle."""
        shutil.rmtree(self.root, ignore_errors=True)
        for sub in ("state", "spool", "log"):
            (self.root / sub).mkdir(parents=True)
        self._write_conf()
        if not self._munge_works():
            Path("/run/munge").mkdir(parents=True, exist_ok=True)
            shutil.chown("/run/munge", "munge", "munge")
            subprocess.run(["runuser", "-u", "munge", "--", _which("munged")], check=True,
                           timeout=30)
            self._munged_pid = int(Path("/run/munge/munged.pid").read_text())
        for daemon in ("slurmctld", "slurmd"):
            subprocess.run([_which(daemon)], check=True, env=self.env, timeout=30)
            pidfile = self.root / f"{daemon}.pid"
            deadline = time.monotonic() + timeout_s
            while not pidfile.exists() or not pidfile.read_text().strip():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{daemon} wrote no pid file; log:\n{self.logs()}")
                time.sleep(0.1)
            self.pids[daemon] = int(pidfile.read_text())
        deadline = time.monotonic() + timeout_s
        while True:
            out = self.run(["sinfo", "-h", "-o", "%T"], check=False).stdout.split()
            if "idle" in out:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"node not idle after {timeout_s} s ({out}); logs:\n"
                                   f"{self.logs()}")
            time.sleep(0.3)

    def run(self, cmd: list[str], check: bool = True, **kw) -> subprocess.CompletedProcess:
        """Run a Slurm client command against this cluster."""
        return subprocess.run(cmd, capture_output=True, text=True, env={**self.env, **kw.pop(
            "env", {})}, check=check, timeout=kw.pop("timeout", 60), **kw)

    def wait_for(self, job_ids: list[str], timeout_s: float) -> None:
        """Poll ``squeue`` every second until the jobs left the queue (no ``sbatch --wait``)."""
        deadline = time.monotonic() + timeout_s
        while self.run(["squeue", "-h", "-j", ",".join(job_ids)], check=False).stdout.strip():
            if time.monotonic() > deadline:
                queue = self.run(["squeue"], check=False).stdout
                raise TimeoutError(f"jobs {job_ids} still queued after {timeout_s} s:\n{queue}")
            time.sleep(1.0)

    def logs(self) -> str:
        out = []
        for path in sorted((self.root / "log").glob("*.log")):
            out.append(f"--- {path.name}\n" + "\n".join(path.read_text(
                errors="replace").splitlines()[-30:]))
        return "\n".join(out)

    def stop(self) -> None:
        """``scontrol shutdown``, wait for the PIDs, kill what is left, then our munged."""
        if self.pids:
            # scontrol shutdown leaves running jobs alone: cancel ours first.
            jobs = self.run(["squeue", "-h", "-o", "%A"], check=False).stdout.split()
            if jobs:
                self.run(["scancel", *jobs], check=False)
                try:
                    self.wait_for(jobs, 20)
                except TimeoutError:
                    pass
            self.run(["scontrol", "shutdown"], check=False)
            deadline = time.monotonic() + 15
            while any(_alive(p) for p in self.pids.values()) and time.monotonic() < deadline:
                time.sleep(0.2)
            for pid in self.pids.values():
                if _alive(pid):
                    os.kill(pid, signal.SIGKILL)
            self.pids.clear()
        if self._munged_pid is not None:
            try:
                os.kill(self._munged_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            self._munged_pid = None
