"""The results folder of a study and the life cycle of a case's files.

Layout under the study's results folder::

    study.toml              snapshot of the study file the last run/submit used
    study.json              its expanded cases (id, index, axes, source)
    cache/                  shared form-compilation (FFCx JIT) and mesh cache
    cases/<id>/params.json  the case's resolved parameters (written before it runs)
    cases/<id>/lock         the claim of whoever runs it now (studies.lock)
    cases/<id>/.work-*/     an attempt in progress: the kind's workdir (curves/, fields/, log)
    cases/<id>/result/      the finished attempt: record.json, curves/, fields/, worker.log
    aggregate/              cases.parquet, cases.csv, sweep.nc (studies.aggregate)
    slurm/                  generated sbatch scripts, case lists and logs (hpc.slurm)

An attempt becomes ``result/`` by one ``rename`` after its ``record.json`` is complete, so a killed
case never looks finished: what is not in ``result/record.json`` did not happen.

Records are read defensively: a ``result/`` whose ``record.json`` is not what the runner writes
(unreadable, not JSON, not a table, a state other than done/failed/interrupted, results that are
not tables of scalars, ``done`` without the results of every kind, ...) makes the case
``damaged``, with the reason (:func:`record_problem`); a rerun does it again and keeps the
damaged file beside the new record as ``record.json.damaged-<time>``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from studies.lock import lock_state

__all__ = ["CaseState", "ResultStore", "record_problem", "write_json_atomic"]


class CaseState(StrEnum):
    """Where a case stands."""

    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    RUNNING = "running"
    MISSING = "missing"
    DAMAGED = "damaged"


#: States a (re)run picks up without ``--force``.
PENDING_STATES = (CaseState.MISSING, CaseState.FAILED, CaseState.INTERRUPTED, CaseState.DAMAGED)

_SCALAR = (type(None), bool, int, float, str)


def _kind_of(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "a string", type(None): "null", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def record_problem(record: Any, cid: str | None = None) -> str | None:
    """What makes ``record`` (parsed ``record.json``) differ from what the runner writes, or
    ``None`` when it is a record readers can rely on."""
    if not isinstance(record, dict):
        return f"record is {_kind_of(record)}, not a table"
    status = record.get("status")
    if status not in ("done", "failed", "interrupted"):
        return f"status {status!r} is not done, failed or interrupted"
    if cid is not None and record.get("case_id", cid) != cid:
        return f"record of case {record.get('case_id')!r}, not of this case"
    results = record.get("results")
    if not isinstance(results, dict):
        return f"results is {_kind_of(results)}, not a table"
    for kind, values in results.items():
        if not isinstance(values, dict):
            return f"results.{kind} is {_kind_of(values)}, not a table"
        bad = [k for k, v in values.items() if not isinstance(v, _SCALAR)]
        if bad:
            return f"results.{kind}.{bad[0]} is {_kind_of(values[bad[0]])}, not a scalar"
    solve = record.get("solve")
    if not isinstance(solve, list) or not all(isinstance(k, str) for k in solve):
        return f"solve is {_kind_of(solve)}, not a list of case kinds"
    if status == "done":
        missing = [k for k in solve if k not in results]
        if not solve or missing:
            return f"status done without the results of {missing or 'any kind'}"
    if not isinstance(record.get("reason"), str | type(None)):
        return f"reason is {_kind_of(record['reason'])}, not text"
    for key in ("axes", "params", "provenance"):
        if not isinstance(record.get(key, {}), dict):
            return f"{key} is {_kind_of(record[key])}, not a table"
    for key in ("curves", "fields"):
        files = record.get(key, [])
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            return f"{key} is {_kind_of(files)}, not a list of file names"
    prov = record.get("provenance", {})
    for key in ("slurm", "versions"):
        if not isinstance(prov.get(key) or {}, dict):
            return f"provenance.{key} is {_kind_of(prov[key])}, not a table"
    return None


def write_json_atomic(path: Path, data: Any, *, durable: bool = True) -> None:
    """Write JSON to ``path`` through a temporary file in the same folder and a rename.

    Args:
        durable: ``fsync`` before the rename (a record survives a power cut); files that are
            checked and rewritten when damaged (``params.json``) skip it.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1, sort_keys=True, default=str)
            fh.write("\n")
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ResultStore:
    """Paths and state of the cases of one results folder."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).resolve()

    # -- paths ---------------------------------------------------------------------------
    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    def case_dir(self, cid: str) -> Path:
        return self.root / "cases" / cid

    def lock_path(self, cid: str) -> Path:
        return self.case_dir(cid) / "lock"

    def result_dir(self, cid: str) -> Path:
        return self.case_dir(cid) / "result"

    def record_path(self, cid: str) -> Path:
        return self.result_dir(cid) / "record.json"

    # -- study snapshot ------------------------------------------------------------------
    def write_snapshot(self, study) -> None:
        """Save the study file and its case list (what ``status`` compares against)."""
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".study.toml.{uuid.uuid4().hex}.tmp"
        try:
            tmp.write_text(study.text)
            os.replace(tmp, self.root / "study.toml")
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        write_json_atomic(self.root / "study.json", {
            "name": study.name,
            "solve": list(study.solve),
            "axes": study.axes,
            "grid": study.grid,
            "cases": [{"case_id": c.case_id, "index": c.index, "axes": c.axes,
                       "source": c.source} for c in study.cases],
        })

    def write_params(self, case, plugins: tuple[str, ...] = ()) -> None:
        """Write ``cases/<id>/params.json`` (idempotent: same id, same content; a file that
        does not hold this case's parameters is written again)."""
        cdir = self.case_dir(case.case_id)
        cdir.mkdir(parents=True, exist_ok=True)
        path = cdir / "params.json"
        want = {"case_id": case.case_id, "solve": list(case.solve), "params": case.params,
                "axes": case.axes, "plugins": list(plugins)}
        try:
            have = json.loads(path.read_text())
        except FileNotFoundError:
            have = None
        except (OSError, ValueError):
            have = {}  # damaged: replace it
        if have is None or not isinstance(have, dict) or \
                json.loads(json.dumps(want, default=str)) != have:
            write_json_atomic(path, want, durable=False)

    def read_params(self, cid: str) -> dict:
        return json.loads((self.case_dir(cid) / "params.json").read_text())

    # -- state ---------------------------------------------------------------------------
    def inspect_record(self, cid: str) -> tuple[dict | None, str | None]:
        """``(record, problem)``: the finished record of a case and ``None``; ``(None, None)``
        when there is none; ``(None, reason)`` when ``result/`` holds a damaged one."""
        path = self.record_path(cid)
        try:
            record = json.loads(path.read_bytes().decode("utf-8"))
        except FileNotFoundError:
            if self.result_dir(cid).is_dir():
                return None, "result/ holds no record.json"
            return None, None
        except OSError as err:
            return None, f"record.json cannot be read: {err.strerror}"
        except UnicodeDecodeError as err:
            return None, f"record.json is not UTF-8 text (offset {err.start})"
        except ValueError as err:  # record.json is renamed into place complete: outside damage
            return None, f"record.json is not valid JSON: {err}"
        problem = record_problem(record, cid)
        return (None, f"record.json: {problem}") if problem else (record, None)

    def read_record(self, cid: str) -> dict | None:
        """The finished record of a case, or ``None`` (none yet, or damaged)."""
        return self.inspect_record(cid)[0]

    def state(self, cid: str) -> tuple[CaseState, dict | None, str]:
        """``(state, record, note)``; RUNNING wins over an old record while a live lock exists;
        a damaged record is DAMAGED with the reason as note."""
        record, problem = self.inspect_record(cid)
        lock, info = lock_state(self.lock_path(cid))
        if lock == "live":
            return CaseState.RUNNING, record, info.describe() if info else "lock being written"
        if problem:
            return CaseState.DAMAGED, None, problem
        if record is None:
            return CaseState.MISSING, None, ""
        status = record["status"]
        if status == "done":
            return CaseState.DONE, record, ""
        if status == "interrupted":
            return CaseState.INTERRUPTED, record, record.get("reason") or ""
        return CaseState.FAILED, record, record.get("reason") or ""

    # -- attempts ------------------------------------------------------------------------
    def new_workdir(self, cid: str) -> Path:
        """A fresh attempt folder ``cases/<id>/.work-<host>-<pid>-<rand>``."""
        cdir = self.case_dir(cid)
        for old in cdir.glob(".trash-*"):
            shutil.rmtree(old, ignore_errors=True)
        work = cdir / f".work-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        work.mkdir(parents=True)
        return work

    def clean_attempts(self, cid: str, keep: Path | None = None) -> None:
        """Remove left-over attempt folders (call only while holding the case's lock)."""
        for old in self.case_dir(cid).glob(".work-*"):
            if keep is None or old != keep:
                shutil.rmtree(old, ignore_errors=True)

    def finalize(self, cid: str, workdir: Path, record: dict) -> Path:
        """Write ``record.json`` into ``workdir`` and rename it to ``result/`` (atomically)."""
        write_json_atomic(Path(workdir) / "record.json", record)
        result = self.result_dir(cid)
        if result.exists():
            trash = self.case_dir(cid) / f".trash-{uuid.uuid4().hex[:8]}"
            os.rename(result, trash)
            os.rename(workdir, result)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.rename(workdir, result)
        return result

    def keep_damaged(self, cid: str, workdir: Path) -> Path | None:
        """Copy a damaged ``record.json`` into the attempt folder as
        ``record.json.damaged-<time>``, so that it ends beside the new record; ``None`` when
        there is no file to keep."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = Path(workdir) / f"record.json.damaged-{stamp}"
        try:
            shutil.copyfile(self.record_path(cid), target)
        except OSError:
            return None
        return target

    def read_snapshot(self) -> dict:
        """The snapshot ``study.json`` (name, solve, axes, grid, cases).

        Raises:
            ValueError: it is missing or damaged, naming the file and what to do.
        """
        path = self.root / "study.json"
        try:
            meta = json.loads(path.read_bytes().decode("utf-8"))
        except FileNotFoundError:
            raise ValueError(f"{path}: missing; allowed: a results folder written by nre "
                             "study run / nre slurm submit") from None
        except ValueError as err:
            raise ValueError(f"{path}: damaged ({' '.join(str(err).split())}); allowed: run "
                             "the study file again to rewrite it") from None
        cases = meta.get("cases") if isinstance(meta, dict) else None
        if not isinstance(cases, list) or not all(
                isinstance(c, dict) and isinstance(c.get("case_id"), str)
                and isinstance(c.get("axes"), dict) for c in cases):
            raise ValueError(f"{path}: damaged (no list of cases); allowed: run the study file "
                             "again to rewrite it")
        return meta

    def expected_cases(self) -> list[dict]:
        """The case list of the snapshot (``study.json``)."""
        return self.read_snapshot()["cases"]

    def known_case_ids(self) -> list[str]:
        """Ids of every case folder present (including ones no longer in the study)."""
        folder = self.root / "cases"
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.exists() else []
