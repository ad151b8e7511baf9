"""Running one case: the MPI worker and the serial supervisor around it.

Two entry points, both ``python -m studies.worker``:

``run``
    Started by ``mpirun``/``srun`` on the case's ranks. Reads ``cases/<id>/params.json``, runs
    each kind of ``solve`` in order on ``COMM_WORLD`` and rank 0 writes ``outcome.json`` (results,
    or the failure reason) into the attempt folder. An exception on every rank is a failed case;
    an exception on some ranks while the others wait in a collective aborts the MPI job (the
    supervisor then records the failure from the per-rank error files). SIGTERM on a rank is
    turned into an ``interrupted`` outcome.

``supervise``
    One serial process per case (the local runner runs the same function in a thread; a Slurm
    array task runs this command): claims the case's lock, launches ``run`` under MPI, forwards
    SIGTERM (Slurm time limit, ``scancel``) and the case timeout, and writes the final record
    with provenance, renaming the attempt to ``result/`` only when the record is complete.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import hpc.stack

from studies.caseid import case_id
from studies.kinds import CaseFailed, get_kind, load_kind_modules
from studies.lock import HEARTBEAT_S, CaseLock
from studies.provenance import code_version, library_versions, now_iso, runtime_provenance
from studies.store import CaseState, ResultStore, write_json_atomic

__all__ = ["SKIPPED", "CaseInterrupted", "launch_prefix", "run_worker", "supervise_case"]

_REPO = Path(__file__).resolve().parent.parent

#: Returned by :func:`supervise_case` for a case it did not run (done already, or claimed).
SKIPPED = "skipped"

#: Seconds an erring rank waits for the others to agree before aborting the MPI job. The case
#: has failed either way; waiting only buys a clean exit when every rank failed alike, and the
#: erring rank's reason and traceback are in its error file for the supervisor.
_AGREE_TIMEOUT_S = 5.0
#: Seconds a terminated worker gets to write its interrupted outcome before SIGKILL. Short:
#: Slurm's KillWait (30 s by default, often less) bounds the supervisor's own time to record.
_GRACE_S = 2.0
#: FFCx waits this long for another process compiling the same form (default 10 s is too
#: short when many Slurm tasks start at once on a shared cache).
_JIT_TIMEOUT_S = 900


class CaseInterrupted(BaseException):
    """SIGTERM reached a worker rank. A BaseException, so a kind's ``except Exception`` keeps
    out of the way."""


# --------------------------------------------------------------------------- MPI worker --


def configure_jit(cache_dir: Path, timeout_s: int = _JIT_TIMEOUT_S) -> None:
    """Point DOLFINx's form-compilation cache of this process at ``cache_dir/fenics``.

    DOLFINx 0.11 reads its JIT defaults from ``dolfinx.jit.DOLFINX_DEFAULT_JIT_OPTIONS``
    (``cache_dir`` from ``XDG_CACHE_HOME`` at import time, ``timeout`` fixed at 10 s) unless each
    ``fem.form`` call passes ``jit_options``. Kinds do not pass any, so the worker sets the
    process-wide defaults: the cache every case of a study shares, and a long wait for a form
    another process is compiling (FFCx creates the ``.c`` file with ``O_EXCL`` and others wait
    for its ``.c.cached`` marker, which is what makes the shared cache safe).
    """
    from dolfinx import jit

    opts = jit.DOLFINX_DEFAULT_JIT_OPTIONS
    opts["cache_dir"] = (Path(cache_dir) / "fenics", opts["cache_dir"][1])
    opts["timeout"] = (int(timeout_s), opts["timeout"][1])


def _agree(comm, ok: bool) -> bool:
    """True when every rank is ok. A failed rank whose peers are stuck in a collective of the
    kind (they never get here) aborts the job after :data:`_AGREE_TIMEOUT_S`."""
    if comm.size == 1:
        return ok
    import numpy as np
    from mpi4py import MPI

    mine = np.array([1 if ok else 0], dtype=np.int32)
    everyone = np.zeros(1, dtype=np.int32)
    req = comm.Iallreduce(mine, everyone, op=MPI.MIN)
    deadline = None if ok else time.monotonic() + _AGREE_TIMEOUT_S
    while not req.Test():
        if deadline is not None and time.monotonic() > deadline:
            comm.Abort(3)
        time.sleep(0.005)
    return bool(everyone[0])


def _split_results(kind: str, out: Any, workdir: Path) -> tuple[dict, list[str], str | None]:
    """Scalars of a kind's return value; lists go to ``curves/<kind>.<key>.json``."""
    if not isinstance(out, dict):
        return {}, [], f"{kind}: returned {type(out).__name__}, expected a dict of scalars"
    scalars: dict = {}
    curves: list[str] = []
    for key, value in out.items():
        if hasattr(value, "tolist"):  # numpy scalars and arrays
            value = value.tolist()
        if value is None or isinstance(value, bool | int | float | str):
            scalars[key] = value
        elif isinstance(value, list | tuple):
            path = workdir / "curves" / f"{kind}.{key}.json"
            path.parent.mkdir(exist_ok=True)
            path.write_text(json.dumps(list(value)))
            curves.append(str(path.relative_to(workdir)))
        else:
            return scalars, curves, f"{kind}: result {key!r} is a {type(value).__name__}, " \
                "not a scalar or a list"
    return scalars, curves, None


def run_worker(results: Path, cid: str, workdir: Path, comm) -> dict | None:
    """Run case ``cid`` on ``comm``; rank 0 writes and returns ``outcome.json``'s content.

    Returns:
        The outcome on rank 0, ``None`` on the other ranks.
    """
    store = ResultStore(results)
    workdir = Path(workdir)
    spec = comm.bcast(store.read_params(cid) if comm.rank == 0 else None, root=0)
    started = time.time()
    outcome: dict = {"status": "done", "reason": None, "results": {}, "curves": [],
                     "ranks": comm.size, "started": now_iso()}
    try:
        load_kind_modules(spec.get("plugins", []))
        if case_id({"solve": spec["solve"], "params": spec["params"]}) != cid:
            raise CaseFailed("params.json does not hash to the case id (edited by hand, or "
                             "written by another version of the id scheme)")
        configure_jit(store.cache_dir if not os.environ.get("NRE_CACHE_DIR")
                      else Path(os.environ["NRE_CACHE_DIR"]))
        outcome["versions"] = library_versions()
    except Exception as err:  # noqa: BLE001  (same on every rank: no kind has run yet)
        outcome.update(status="failed", reason=f"setting up the case: {err}")
        spec = {**spec, "solve": []}
    for kind_name in spec["solve"]:
        error = None
        out: Any = None
        try:
            out = get_kind(kind_name).run(spec["params"], comm, workdir)
        except CaseFailed as err:
            error = {"reason": f"{kind_name}: {err}"}
        except Exception as err:  # noqa: BLE001  (any error of a kind is the case's failure)
            error = {"reason": f"{kind_name}: {type(err).__name__}: {err}",
                     "traceback": traceback.format_exc()}
        if error is not None:
            write_json_atomic(workdir / f"error-rank{comm.rank}.json", error)
        hpc.stack.collect(comm)  # the kind's solvers freed on every rank together
        if not _agree(comm, error is None):
            errors = comm.gather(error, root=0)
            first = next(e for e in errors if e) if comm.rank == 0 else None
            if first is not None:
                outcome.update(status="failed", reason=first["reason"],
                               traceback=first.get("traceback"))
            break
        if comm.rank == 0:
            if isinstance(out, dict) and out.get("status") == "failed":
                # A failure returned as data: keep its scalars (reason, step, residual...).
                scalars, _c, _e = _split_results(
                    kind_name, {k: v for k, v in out.items() if k != "status"}, workdir)
                outcome["results"][kind_name] = scalars
                outcome.update(status="failed", reason=f"{kind_name}: "
                               f"{out.get('reason', 'failed (no reason given)')}")
            else:
                scalars, curves, err_text = _split_results(kind_name, out, workdir)
                outcome["results"][kind_name] = scalars
                outcome["curves"] += curves
                if err_text:
                    outcome.update(status="failed", reason=err_text)
        # Rank 0 alone judged the returned values; the others follow its verdict.
        if comm.bcast(outcome["status"] if comm.rank == 0 else None, root=0) != "done":
            break
    outcome["wall_s"] = round(time.time() - started, 3)
    outcome["ended"] = now_iso()
    if comm.rank == 0:
        write_json_atomic(workdir / "outcome.json", outcome)
        return outcome
    return None


def _on_sigterm(signum, frame) -> None:
    raise CaseInterrupted(f"signal {signum}")


def _worker_main(args: argparse.Namespace) -> int:
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        run_worker(Path(args.results), args.case, Path(args.workdir), comm)
    except CaseInterrupted as err:
        # No collectives from here: the other ranks are being terminated as well.
        if comm.rank == 0:
            write_json_atomic(Path(args.workdir) / "outcome.json", {
                "status": "interrupted", "reason": f"worker received SIGTERM ({err})",
                "results": {}, "curves": [], "ranks": comm.size, "ended": now_iso()})
        sys.stdout.flush()
        os._exit(143)
    return 0


# ------------------------------------------------------------------------- supervisor --


try:  # resolved here, not in the forked child, where loading a library could deadlock
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux
    _PRCTL = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover  (runs in the child before exec)
    # If the runner is killed (even with SIGKILL) mpirun gets SIGKILL too, and hydra then takes
    # the ranks down, so a killed runner leaves no orphan computing a case.
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGKILL))


def launch_prefix(launcher: str, ranks: int) -> list[str]:
    """The MPI launch command before ``python -m studies.worker run``.

    Args:
        launcher: ``"mpirun"`` (the venv's, next to ``sys.executable``), ``"srun"``
            (``srun --mpi=pmi2``, inside a Slurm allocation) or ``"none"`` (one process).
        ranks: Number of MPI ranks.
    """
    if launcher == "mpirun":
        local = Path(sys.executable).parent / "mpirun"
        return [str(local) if local.exists() else "mpirun", "-n", str(ranks)]
    if launcher == "srun":
        return ["srun", "--mpi=pmi2", "--kill-on-bad-exit=1", "-n", str(ranks)]
    if launcher == "none":
        if ranks != 1:
            raise ValueError(f"launcher 'none' runs 1 rank, not ranks={ranks}")
        return []
    raise ValueError(f"launcher {launcher!r} is not one of mpirun, srun, none")


def _child_env(store: ResultStore) -> dict:
    env = dict(os.environ)
    cache = Path(env.get("NRE_CACHE_DIR") or store.cache_dir)
    env["NRE_CACHE_DIR"] = str(cache)
    # DOLFINx derives its default JIT cache from XDG_CACHE_HOME at import time.
    env["XDG_CACHE_HOME"] = str(cache)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_REPO), env.get("PYTHONPATH")) if p)
    return env


def _terminate(proc: subprocess.Popen, grace_s: float) -> None:
    try:
        proc.send_signal(signal.SIGTERM)  # mpirun/srun forward it to the ranks
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    except ProcessLookupError:
        pass


def _rank_errors(workdir: Path) -> list[dict]:
    out = []
    for path in sorted(workdir.glob("error-rank*.json")):
        try:
            out.append({"rank": path.stem.removeprefix("error-rank"), **json.loads(
                path.read_text())})
        except (OSError, ValueError):
            pass
    return out


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def supervise_case(
    store: ResultStore,
    cid: str,
    *,
    launch: list[str],
    owner: str,
    ranks: int,
    force: bool = False,
    timeout_s: float = 0.0,
    stop: threading.Event | None = None,
    stop_reason: list[str] | None = None,
) -> tuple[str, str]:
    """Claim, run and record one case (see the module docstring).

    A damaged record (:meth:`~studies.store.ResultStore.inspect_record`) is kept beside the new
    one as ``record.json.damaged-<time>``; an error of our own (disk full) removes the attempt
    folder before it propagates.

    Args:
        store: The study's results folder.
        cid: Case id; ``cases/<cid>/params.json`` must exist.
        launch: MPI launch prefix (:func:`launch_prefix`).
        owner: Names the lock holder in ``nre study status``.
        ranks: Ranks requested (recorded if the worker never started).
        force: Run even if the case is done.
        timeout_s: Wall-clock limit (0 = none); over it the case is recorded as interrupted.
        stop: When set (signal to the runner), the case is terminated and recorded interrupted.
        stop_reason: One-element list holding the reason text for ``stop``.

    Returns:
        ``(state, note)``: a :class:`~studies.store.CaseState` value or :data:`SKIPPED`.
    """
    store.case_dir(cid).mkdir(parents=True, exist_ok=True)
    lock = CaseLock(store.lock_path(cid), owner)
    if not lock.acquire():
        return SKIPPED, "claimed by another runner"
    try:
        # Re-check under the lock: another runner may have finished it since we looked.
        record, damage = store.inspect_record(cid)
        if not force and record is not None and record.get("status") == "done":
            return SKIPPED, "already done"
        store.clean_attempts(cid)
        workdir = store.new_workdir(cid)
        try:
            if damage:
                store.keep_damaged(cid, workdir)
            return _run_attempt(store, cid, workdir, launch=launch, owner=owner, ranks=ranks,
                                timeout_s=timeout_s, stop=stop, stop_reason=stop_reason,
                                lock=lock)
        except BaseException:
            # A failure of our own (disk full, folder gone): no half-written attempt stays.
            shutil.rmtree(workdir, ignore_errors=True)
            raise
    finally:
        lock.release()


def _run_attempt(store: ResultStore, cid: str, workdir: Path, *, launch, owner, ranks,
                 timeout_s, stop, stop_reason, lock) -> tuple[str, str]:
    cmd = [*launch, sys.executable, "-m", "studies.worker", "run", "--results",
           str(store.root), "--case", cid, "--workdir", str(workdir)]
    started_iso, t0 = now_iso(), time.monotonic()
    interrupted = None
    with open(workdir / "worker.log", "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                env=_child_env(store), start_new_session=True,
                                preexec_fn=_die_with_parent)
        last_beat = t0
        while proc.poll() is None:
            now = time.monotonic()
            if stop is not None and stop.is_set():
                interrupted = (stop_reason or ["runner stopped"])[0]
                break
            if timeout_s and now - t0 > timeout_s:
                interrupted = f"case timeout after {timeout_s:g} s"
                break
            if now - last_beat > HEARTBEAT_S:
                lock.heartbeat()
                last_beat = now
            time.sleep(0.1)
        if interrupted:
            _terminate(proc, _GRACE_S)
    rc = proc.returncode
    try:
        outcome = json.loads((workdir / "outcome.json").read_text())
    except (OSError, ValueError):
        outcome = None
    if not isinstance(outcome, dict):
        outcome = None
    record = _build_record(store, cid, outcome, rc, interrupted, workdir, cmd, owner, ranks,
                           started_iso, time.monotonic() - t0)
    store.finalize(cid, workdir, record)
    return record["status"], record.get("reason") or ""


def _listing(workdir: Path, sub: str) -> list[str]:
    """Files a case wrote under ``sub/``, relative to its result folder."""
    root = workdir / sub
    return sorted(str(p.relative_to(workdir)) for p in root.rglob("*") if p.is_file()) \
        if root.exists() else []


def _build_record(store, cid, outcome, rc, interrupted, workdir, cmd, owner, ranks, started,
                  wall_s) -> dict:
    spec = store.read_params(cid)
    if interrupted:
        status, reason = "interrupted", interrupted
    elif outcome is not None:
        status, reason = outcome["status"], outcome.get("reason")
    else:
        errors = _rank_errors(workdir)
        if errors:
            status = "failed"
            reason = "; ".join(f"rank {e['rank']}: {e['reason']}" for e in errors)
            outcome = {"traceback": errors[0].get("traceback")}
        else:
            status = "failed"
            reason = f"worker exited with code {rc} before writing its outcome"
            tail = _log_tail(workdir / "worker.log", 5)
            if tail:
                reason += f"; log ends: {tail}"
    outcome = outcome or {}
    record = {
        "case_id": cid,
        "status": status,
        "reason": reason,
        "solve": spec["solve"],
        "axes": spec["axes"],
        "params": spec["params"],
        "results": outcome.get("results", {}),
        "curves": _listing(workdir, "curves"),
        "fields": _listing(workdir, "fields"),
        "provenance": {
            **code_version(),
            "versions": outcome.get("versions"),
            "ranks": outcome.get("ranks", ranks),
            **runtime_provenance(),
            "owner": owner,
            "command": " ".join(cmd),
            "exit_code": rc,
            "start": started,
            "end": now_iso(),
            "wall_s": round(wall_s, 3),
            "solve_wall_s": outcome.get("wall_s"),
        },
    }
    if outcome.get("traceback"):
        record["traceback"] = outcome["traceback"]
    return record


def _supervise_main(args: argparse.Namespace) -> int:
    store = ResultStore(args.results)
    if args.case:
        cid = args.case
    else:
        ids = [ln.strip() for ln in Path(args.case_list).read_text().splitlines() if ln.strip()]
        cid = ids[args.index]
    stop = threading.Event()
    reason = ["SIGTERM (Slurm time limit or scancel)"]

    def on_term(signum, frame):
        reason[0] = f"{signal.Signals(signum).name} received (Slurm time limit or scancel)"
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    ids = runtime_provenance()["slurm"]
    owner = (f"slurm {ids.get('array_job_id', '?')}_{ids['array_task_id']}"
             if "array_task_id" in ids else f"supervisor on {socket.gethostname()}")
    state, note = supervise_case(store, cid, launch=launch_prefix(args.launcher, args.ranks),
                                 owner=owner, ranks=args.ranks, force=args.force, stop=stop,
                                 stop_reason=reason, timeout_s=args.timeout_s)
    print(f"case {cid}: {state}{': ' + note if note else ''}", flush=True)
    return {CaseState.DONE: 0, SKIPPED: 0, CaseState.INTERRUPTED: 143}.get(state, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studies.worker", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    run = sub.add_parser("run", help="run a case on the MPI ranks of this job")
    run.add_argument("--results", required=True)
    run.add_argument("--case", required=True)
    run.add_argument("--workdir", required=True)
    sup = sub.add_parser("supervise", help="claim, launch and record one case")
    sup.add_argument("--results", required=True)
    which = sup.add_mutually_exclusive_group(required=True)
    which.add_argument("--case")
    which.add_argument("--case-list")
    sup.add_argument("--index", type=int, default=0, help="line of --case-list (from 0)")
    sup.add_argument("--launcher", default="srun", choices=("srun", "mpirun", "none"))
    sup.add_argument("--ranks", type=int, default=1)
    sup.add_argument("--timeout-s", type=float, default=0.0)
    sup.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    return _worker_main(args) if args.mode == "run" else _supervise_main(args)


if __name__ == "__main__":
    sys.exit(main())
