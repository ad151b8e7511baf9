"""The local runner: every pending case of a study under MPI, several at once, resumable.

``run_study`` snapshots the study into its results folder, writes each case's parameters, then
runs the cases that are missing, failed, interrupted or damaged (all of them with ``force``); a
damaged record is kept beside the new one (``record.json.damaged-<time>``). Each case is
supervised by :func:`studies.worker.supervise_case` (its own ``mpirun -n R`` of the venv), in a
pool of ``parallel`` threads. The first case runs alone so that it compiles the forms into the
study's shared cache once; the others then find them there.

An error of the runner itself (a full disk, a results folder that went away) stops the run
and is raised once; the attempt it hit is removed. It is safe to kill (a killed runner's cases
are missing, not half-done, and its locks go stale with it) and to start twice on the same
study (cases are claimed with lock files, and a claimed case is skipped by the other runner).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TextIO

from studies.store import PENDING_STATES, CaseState, ResultStore
from studies.study import Case, Study
from studies.worker import launch_prefix, supervise_case

__all__ = ["RunSummary", "run_study"]


@dataclass
class RunSummary:
    """What a run did: counts per outcome over the cases it considered."""

    total: int
    counts: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        """No case failed, was interrupted or left unstarted (cases another runner holds, or
        that it finished first, are fine: they are its business)."""
        return not any(self.counts.get(k) for k in
                       (CaseState.FAILED, CaseState.INTERRUPTED, "not started"))


def _hms(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class _Progress:
    """Plain-text progress lines with an ETA (one line per finished case)."""

    def __init__(self, total: int, estimate_s: float, out: TextIO) -> None:
        self.total, self.estimate_s, self.out = total, estimate_s, out
        self.finished = 0
        self.counts: dict[str, int] = {}
        self.t0 = time.monotonic()
        self.lock = threading.Lock()

    def update(self, case: Case, state: str, note: str, wall_s: float) -> None:
        with self.lock:
            self.finished += 1
            self.counts[state] = self.counts.get(state, 0) + 1
            elapsed = time.monotonic() - self.t0
            left = self.total - self.finished
            eta = elapsed / self.finished * left if self.finished else self.estimate_s
            pct = 100 * self.finished // max(self.total, 1)
            tally = " ".join(f"{k} {v}" for k, v in sorted(self.counts.items()))
            detail = f": {note.splitlines()[0][:120]}" if note else ""
            print(f"[{self.finished:>{len(str(self.total))}}/{self.total}] {pct:3d}% | {tally} | "
                  f"elapsed {_hms(elapsed)} eta {_hms(eta)} | {case.case_id} "
                  f"({case.label()}) {state} in {wall_s:.1f} s{detail}",
                  file=self.out, flush=True)


def run_study(
    study: Study,
    *,
    force: bool = False,
    parallel: int | None = None,
    ranks: int | None = None,
    launcher: str = "mpirun",
    out: TextIO | None = None,
) -> RunSummary:
    """Run the pending cases of ``study`` locally (see the module docstring).

    Args:
        study: A loaded study (:func:`studies.study.load_study`).
        force: Rerun cases that are done.
        parallel: Cases at once (default ``study.parallel_cases()``).
        ranks: MPI ranks per case (default ``run.ranks``).
        launcher: ``"mpirun"`` (default) or ``"none"`` (1 rank, no MPI launcher).
        out: Where progress goes (default stdout).

    Returns:
        A :class:`RunSummary`; SIGINT/SIGTERM stop the run, recording running cases as
        interrupted.
    """
    out = out or sys.stdout
    ranks = ranks or study.run["ranks"]
    parallel = parallel or study.parallel_cases(ranks=ranks)
    t0 = time.monotonic()
    store = ResultStore(study.results_dir)
    store.write_snapshot(study)
    summary = RunSummary(total=len(study.cases))
    todo: list[Case] = []
    for case in study.cases:
        store.write_params(case, study.plugins)
        state, _record, note = store.state(case.case_id)
        if state == CaseState.RUNNING:
            summary.counts["running elsewhere"] = summary.counts.get("running elsewhere", 0) + 1
        elif force or state in PENDING_STATES:
            todo.append(case)
        else:
            summary.counts["already done"] = summary.counts.get("already done", 0) + 1
    estimate = sum(study.case_cost_core_s(c) for c in todo) / max(1, min(parallel, len(todo)))
    print(f"study {study.name}: {len(study.cases)} cases, {len(todo)} to run "
          f"({ranks} rank(s) each, {parallel} at once), results in {store.root}",
          file=out, flush=True)
    if not todo:
        summary.wall_s = time.monotonic() - t0
        return summary

    progress = _Progress(len(todo), estimate, out)
    stop = threading.Event()
    reason = ["runner stopped"]
    launch = launch_prefix(launcher, ranks)
    owner = f"runner pid {os.getpid()}"

    def one(case: Case) -> None:
        if stop.is_set():
            return
        c0 = time.monotonic()
        try:
            state, note = supervise_case(store, case.case_id, launch=launch, owner=owner,
                                         ranks=ranks, force=force, stop=stop,
                                         stop_reason=reason,
                                         timeout_s=study.run["case_timeout_s"])
        except BaseException as err:
            # An error of the runner itself (disk full, results folder gone): the other cases
            # would meet it too, so the run stops and the error is reported once.
            reason[0] = f"runner stopped by an error: {type(err).__name__}: {err}"
            stop.set()
            raise
        progress.update(case, str(state), note, time.monotonic() - c0)

    def on_signal(signum, frame):
        reason[0] = f"runner received {signal.Signals(signum).name}"
        stop.set()

    handlers = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            handlers[sig] = signal.signal(sig, on_signal)
    try:
        # The first case alone: it compiles the forms once into the shared cache.
        one(todo[0])
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            pending = {pool.submit(one, case) for case in todo[1:]}
            first_error: BaseException | None = None
            while pending:
                # Short waits keep the main thread responsive to signals.
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for fut in done:
                    if fut.exception() is not None and first_error is None:
                        first_error = fut.exception()
            if first_error is not None:
                raise first_error
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    for key, value in progress.counts.items():
        summary.counts[key] = summary.counts.get(key, 0) + value
    not_started = len(todo) - progress.finished
    if not_started:
        summary.counts["not started"] = not_started
    summary.wall_s = time.monotonic() - t0
    tally = ", ".join(f"{v} {k}" for k, v in sorted(summary.counts.items()))
    print(f"study {study.name}: {tally} ({_hms(summary.wall_s)})", file=out, flush=True)
    return summary

