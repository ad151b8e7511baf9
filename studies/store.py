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
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import uuid
from enum import StrEnum
from pathlib import Path
from typing import Any

from studies.lock import lock_state

__all__ = ["CaseState", "ResultStore", "write_json_atomic"]


class CaseState(StrEnum):
    """Where a case stands."""

    DONE = "done"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    RUNNING = "running"
    MISSING = "missing"


#: States a (re)run picks up without ``--force``.
PENDING_STATES = (CaseState.MISSING, CaseState.FAILED, CaseState.INTERRUPTED)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=1, sort_keys=True, default=str)
            fh.write("\n")
            fh.flush()
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
        tmp.write_text(study.text)
        os.replace(tmp, self.root / "study.toml")
        write_json_atomic(self.root / "study.json", {
            "name": study.name,
            "solve": list(study.solve),
            "axes": study.axes,
            "grid": study.grid,
            "cases": [{"case_id": c.case_id, "index": c.index, "axes": c.axes,
                       "source": c.source} for c in study.cases],
        })

    def write_params(self, case, plugins: tuple[str, ...] = ()) -> None:
        """Write ``cases/<id>/params.json`` (idempotent: same id, same content)."""
        cdir = self.case_dir(case.case_id)
        cdir.mkdir(parents=True, exist_ok=True)
        path = cdir / "params.json"
        if not path.exists():
            write_json_atomic(path, {"case_id": case.case_id, "solve": list(case.solve),
                                     "params": case.params, "axes": case.axes,
                                     "plugins": list(plugins)})

    def read_params(self, cid: str) -> dict:
        return json.loads((self.case_dir(cid) / "params.json").read_text())

    # -- state ---------------------------------------------------------------------------
    def read_record(self, cid: str) -> dict | None:
        """The finished record of a case, or ``None``."""
        try:
            return json.loads(self.record_path(cid).read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            # record.json is renamed into place complete, so this is outside damage: rerun.
            return None

    def state(self, cid: str) -> tuple[CaseState, dict | None, str]:
        """``(state, record, note)``; RUNNING wins over an old record while a live lock exists."""
        record = self.read_record(cid)
        lock, info = lock_state(self.lock_path(cid))
        if lock == "live":
            return CaseState.RUNNING, record, info.describe() if info else "lock being written"
        if record is None:
            return CaseState.MISSING, None, ""
        status = record.get("status")
        if status == "done":
            return CaseState.DONE, record, ""
        if status == "interrupted":
            return CaseState.INTERRUPTED, record, record.get("reason", "")
        return CaseState.FAILED, record, record.get("reason", "")

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

    def expected_cases(self) -> list[dict]:
        """The case list of the snapshot (``study.json``)."""
        return json.loads((self.root / "study.json").read_text())["cases"]

    def known_case_ids(self) -> list[str]:
        """Ids of every case folder present (including ones no longer in the study)."""
        folder = self.root / "cases"
        return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.exists() else []
