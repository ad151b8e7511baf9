"""Case claims: an atomic lock file per case, so that two runners never run the same case.

A claim is the file ``cases/<id>/lock``, created with ``O_CREAT | O_EXCL`` (atomic on local
file systems and on NFSv3+), holding JSON with the holder's pid, the pid's start time, the host
and a free-text owner (``"runner"``, ``"slurm 1234_5"``). The holder refreshes the file's mtime
(a heartbeat) while it runs.

A lock is *stale* when its holder is gone: on the same host, the pid is dead or now belongs to
another process (start time differs); on another host, the heartbeat is older than
``NRE_LOCK_STALE_S`` seconds (default 600). A stale lock is broken under a second exclusive
file (``lock.break``) after re-checking, so two runners that both see it stale cannot both
take the case.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HEARTBEAT_S", "CaseLock", "LockInfo", "lock_state", "pid_start_time"]

#: How often holders refresh their locks; the stale age on other hosts is a multiple of it.
HEARTBEAT_S = 60.0
_BREAK_STALE_S = 60.0


def _stale_after_s() -> float:
    return float(os.environ.get("NRE_LOCK_STALE_S", 10 * HEARTBEAT_S))


def pid_start_time(pid: int) -> str:
    """Start time of ``pid`` in clock ticks since boot (``/proc``), '' where unavailable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces; fields after the closing ')' are fixed.
    return stat.rsplit(")", 1)[1].split()[19]


def _pid_alive(pid: int, start: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    now = pid_start_time(pid)
    return not start or not now or now == start


@dataclass(frozen=True, slots=True)
class LockInfo:
    """Who holds a case."""

    pid: int
    host: str
    start: str
    owner: str
    created: float

    def describe(self) -> str:
        return f"{self.owner} (pid {self.pid} on {self.host})"


def _read(path: Path) -> LockInfo | None:
    try:
        data = json.loads(path.read_text())
        return LockInfo(int(data["pid"]), str(data["host"]), str(data.get("start", "")),
                        str(data.get("owner", "")), float(data.get("created", 0.0)))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def lock_state(path: Path) -> tuple[str, LockInfo | None]:
    """``("free" | "live" | "stale", info)`` of the lock file at ``path``."""
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return "free", None
    info = _read(path)
    if info is None:
        # Being written right now (created, not yet filled) or garbage: judge by age.
        return ("stale" if time.time() - mtime > _BREAK_STALE_S else "live"), None
    if info.host == socket.gethostname():
        return ("live" if _pid_alive(info.pid, info.start) else "stale"), info
    return ("stale" if time.time() - mtime > _stale_after_s() else "live"), info


class CaseLock:
    """An exclusive claim on one case (see the module docstring).

    Args:
        path: The lock file, ``cases/<id>/lock``.
        owner: Free text naming the holder in ``nre study status``.
    """

    def __init__(self, path: Path, owner: str) -> None:
        self.path = Path(path)
        self.owner = owner
        self.held = False

    def acquire(self) -> bool:
        """Take the claim; breaks a stale lock. Returns False if someone live holds it."""
        for _ in range(3):
            if self._create():
                return True
            state, _info = lock_state(self.path)
            if state == "live":
                return False
            if state == "stale":
                self._break_stale()
        return False

    def _create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        pid = os.getpid()
        body = json.dumps({"pid": pid, "host": socket.gethostname(), "start": pid_start_time(pid),
                           "owner": self.owner, "created": time.time()})
        with os.fdopen(fd, "w") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        self.held = True
        return True

    def _break_stale(self) -> None:
        guard = self.path.with_name(self.path.name + ".break")
        try:
            fd = os.open(guard, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            # Someone else is breaking it; a guard left by a killed breaker expires.
            try:
                if time.time() - guard.stat().st_mtime > _BREAK_STALE_S:
                    guard.unlink()
            except FileNotFoundError:
                pass
            time.sleep(0.05)
            return
        os.close(fd)
        try:
            # Re-check under the guard: the lock may have been replaced by a live one.
            if lock_state(self.path)[0] == "stale":
                self.path.unlink(missing_ok=True)
        finally:
            guard.unlink(missing_ok=True)

    def heartbeat(self) -> None:
        """Refresh the mtime, so holders on other hosts are not judged stale."""
        if self.held:
            try:
                os.utime(self.path)
            except FileNotFoundError:
                pass

    def release(self) -> None:
        """Give the claim up (only if this process still holds it)."""
        if not self.held:
            return
        info = _read(self.path)
        if info is not None and info.pid == os.getpid() and info.host == socket.gethostname():
            self.path.unlink(missing_ok=True)
        self.held = False
