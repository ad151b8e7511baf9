"""Slurm job arrays for studies: write readable sbatch scripts, submit, follow, resubmit.

``submit`` writes, under ``<results>/slurm/<tag>/``:

- ``cases.txt``: the ids of the cases to run, one per line (array task *i* runs line *i*);
- ``array.sbatch``: the job array (``--array=0-N%K``), one MPI task set per case, which runs
  ``python -m studies.worker supervise`` (claim the case, launch the ranks with
  ``srun --mpi=pmi2`` or the venv's ``mpirun``, record the result, SIGTERM -> ``interrupted``);
- ``aggregate.sbatch``: the aggregation job (``python -m studies.aggregate``);
- ``submit.sh``: the two ``sbatch`` calls, the second with ``--dependency=afterany:<array>``
  so it runs even when some cases failed (it is what this module runs, and what a person can run
  by hand);
- ``logs/``: the jobs' output (Slurm fails a job whose output folder does not exist).

Only cases that are missing, failed or interrupted are submitted, so ``resubmit`` is ``submit``
again from the results folder. Every submission is appended to
``<results>/slurm/submissions.jsonl``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from studies.fields import parse_slurm_time_min
from studies.store import PENDING_STATES, ResultStore
from studies.study import Study

__all__ = [
    "SlurmOptions",
    "Submission",
    "pending_case_ids",
    "slurm_task_states",
    "submit_study",
    "write_submission",
]

_REPO = Path(__file__).resolve().parent.parent
#: Time limit of the aggregation job.
AGGREGATE_TIME = "00:10:00"


@dataclass(frozen=True, slots=True)
class SlurmOptions:
    """Resources of one array task (from the study's ``[slurm]`` table and the command line).

    Attributes:
        ranks: MPI ranks per case (``--ntasks``).
        time: Time limit per task (Slurm form; whole minutes).
        mem: Memory per task (``--mem``), e.g. ``"4G"``.
        partition: Partition, '' for the cluster default.
        account: Account, '' for none.
        throttle: Tasks running at once (``%K``), 0 for no limit.
        launcher: ``"srun"`` (``srun --mpi=pmi2``) or ``"mpirun"`` (the venv's hydra).
        extra: Further ``#SBATCH`` options.
    """

    ranks: int = 1
    time: str = "01:00:00"
    mem: str = "4G"
    partition: str = ""
    account: str = ""
    throttle: int = 0
    launcher: str = "srun"
    extra: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.ranks < 1:
            raise ValueError(f"slurm ranks={self.ranks} must be >= 1")
        parse_slurm_time_min(self.time)  # raises with the accepted forms
        if not re.match(r"^\d+[KMGT]?$", self.mem):
            raise ValueError(f"slurm mem={self.mem!r} is not a size like '4G'")
        if self.throttle < 0:
            raise ValueError(f"slurm throttle={self.throttle} must be >= 0")
        if self.launcher not in ("srun", "mpirun"):
            raise ValueError(f"slurm launcher={self.launcher!r} is not 'srun' or 'mpirun'")

    @classmethod
    def from_study(cls, study: Study, **overrides) -> SlurmOptions:
        """The study's settings with ``overrides`` (``None`` values ignored)."""
        s = study.slurm
        opts = cls(ranks=study.slurm_ranks(), time=s["time"], mem=s["mem"],
                   partition=s["partition"], account=s["account"], throttle=s["throttle"],
                   launcher=s["launcher"], extra=tuple(s["extra"]))
        return replace(opts, **{k: v for k, v in overrides.items() if v is not None})


@dataclass
class Submission:
    """A written (and possibly submitted) job array with its aggregation job."""

    tag: str
    folder: Path
    case_ids: list[str]
    options: SlurmOptions
    array_job_id: str | None = None
    aggregate_job_id: str | None = None
    submitted: str | None = None

    def to_json(self) -> dict:
        data = asdict(self)
        data["folder"] = str(self.folder)
        data["options"] = asdict(self.options)
        return data


def pending_case_ids(study: Study, *, force: bool = False) -> list[str]:
    """Ids of the cases to submit: missing, failed or interrupted (all but running ones if
    ``force``); cases a live runner holds are left to it."""
    store = ResultStore(study.results_dir)
    out = []
    for case in study.cases:
        state, _rec, _note = store.state(case.case_id)
        if state in PENDING_STATES or (force and state != "running"):
            out.append(case.case_id)
    return out


def _sbatch_header(lines: list[str], opts: SlurmOptions) -> None:
    lines.append(f"#SBATCH --time={opts.time}")
    if opts.partition:
        lines.append(f"#SBATCH --partition={opts.partition}")
    if opts.account:
        lines.append(f"#SBATCH --account={opts.account}")
    lines.extend(f"#SBATCH {x}" for x in opts.extra)


def _env_lines(root: Path) -> list[str]:
    q = shlex.quote
    return [
        "set -euo pipefail",
        "# The toolkit's sources and the Python that runs them (the venv of the submitter).",
        f'export PYTHONPATH={q(str(_REPO))}"${{PYTHONPATH:+:$PYTHONPATH}}"',
        "# Mesh and form-compilation (FFCx JIT) cache shared by all tasks of the study.",
        f'export NRE_CACHE_DIR="${{NRE_CACHE_DIR:-{root / "cache"}}}"',
        'export XDG_CACHE_HOME="$NRE_CACHE_DIR"',
    ]


def write_submission(study: Study, case_ids: list[str], opts: SlurmOptions) -> Submission:
    """Write the scripts of a submission of ``case_ids`` (see the module docstring)."""
    if not case_ids:
        raise ValueError("no cases to submit")
    store = ResultStore(study.results_dir)
    store.write_snapshot(study)
    for case in study.cases:
        store.write_params(case, study.plugins)
    tag = datetime.now(UTC).strftime("sub-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:4]
    folder = store.root / "slurm" / tag
    (folder / "logs").mkdir(parents=True)
    (folder / "cases.txt").write_text("".join(f"{cid}\n" for cid in case_ids))
    q = shlex.quote
    py = q(sys.executable)
    n = len(case_ids)
    throttle = f"%{opts.throttle}" if opts.throttle else ""
    array = [
        "#!/bin/bash",
        f"# nre study '{study.name}': one array task per line of cases.txt ({n} cases).",
        "# Written by `nre slurm submit`; submit by hand with ./submit.sh (or `sbatch "
        "array.sbatch`).",
        f"#SBATCH --job-name=nre-{study.name}",
        f"#SBATCH --array=0-{n - 1}{throttle}",
        f"#SBATCH --ntasks={opts.ranks}",
        f"#SBATCH --mem={opts.mem}",
        f"#SBATCH --output={folder / 'logs' / 'case-%A_%a.out'}",
    ]
    _sbatch_header(array, opts)
    array += ["", *_env_lines(store.root), "",
              "# The supervisor claims the case, launches its ranks "
              f"({'srun --mpi=pmi2' if opts.launcher == 'srun' else 'the venv mpirun'}), "
              "records the result;",
              "# on SIGTERM (time limit, scancel) it records the case as interrupted.",
              f"exec {py} -m studies.worker supervise --results {q(str(store.root))} \\",
              f"    --case-list {q(str(folder / 'cases.txt'))} --index \"$SLURM_ARRAY_TASK_ID\" "
              f"\\\n    --launcher {opts.launcher} --ranks {opts.ranks}", ""]
    aggregate = [
        "#!/bin/bash",
        f"# nre study '{study.name}': aggregate every case into a table and sweep.nc.",
        "# Submitted with --dependency=afterany:<array job> (runs even if cases failed).",
        f"#SBATCH --job-name=nre-{study.name}-aggregate",
        "#SBATCH --ntasks=1",
        f"#SBATCH --output={folder / 'logs' / 'aggregate-%j.out'}",
    ]
    _sbatch_header(aggregate, replace(opts, time=AGGREGATE_TIME))
    aggregate += ["", *_env_lines(store.root), "",
                  f"exec {py} -m studies.aggregate {q(str(store.root))}", ""]
    submit = [
        "#!/bin/bash",
        "# Submit the case array, then the aggregation job after it (afterany).",
        "set -euo pipefail",
        'cd "$(dirname "$0")"',
        "ARRAY=$(sbatch --parsable array.sbatch)",
        "AGG=$(sbatch --parsable --dependency=afterany:${ARRAY%%;*} aggregate.sbatch)",
        'echo "$ARRAY $AGG"',
        "",
    ]
    for name, text in (("array.sbatch", array), ("aggregate.sbatch", aggregate),
                       ("submit.sh", submit)):
        path = folder / name
        path.write_text("\n".join(text))
        path.chmod(0o755)
    return Submission(tag=tag, folder=folder, case_ids=list(case_ids), options=opts)


def _sbatch(args: list[str]) -> str:
    proc = subprocess.run(["sbatch", "--parsable", *args], capture_output=True, text=True,
                          timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"sbatch {' '.join(args)} failed ({proc.returncode}): "
                           f"{proc.stderr.strip()}")
    # --parsable prints "jobid" or "jobid;cluster"
    return proc.stdout.strip().split(";")[0]


def submit_study(
    study: Study, opts: SlurmOptions, *, force: bool = False, dry_run: bool = False
) -> Submission | None:
    """Submit the pending cases of ``study`` as an array plus the aggregation job.

    Returns:
        The submission, or ``None`` when no case is pending. With ``dry_run`` the scripts
        are written but nothing is submitted.
    """
    ids = pending_case_ids(study, force=force)
    if not ids:
        return None
    sub = write_submission(study, ids, opts)
    if dry_run:
        return sub
    sub.array_job_id = _sbatch([str(sub.folder / "array.sbatch")])
    sub.aggregate_job_id = _sbatch([f"--dependency=afterany:{sub.array_job_id}",
                                    str(sub.folder / "aggregate.sbatch")])
    sub.submitted = datetime.now(UTC).isoformat(timespec="seconds")
    log = ResultStore(study.results_dir).root / "slurm" / "submissions.jsonl"
    with open(log, "a") as fh:
        fh.write(json.dumps(sub.to_json()) + "\n")
    return sub


def submissions(results_dir: str | os.PathLike) -> list[dict]:
    """Every submission recorded for a results folder, oldest first."""
    log = Path(results_dir) / "slurm" / "submissions.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def slurm_task_states(job_id: str) -> dict[str, tuple[str, str]]:
    """``{task: (JobState, ExitCode)}`` of a job (array tasks by index, else ``"job"``) from
    ``scontrol show job -o``; empty when slurmctld no longer knows it (after MinJobAge)."""
    proc = subprocess.run(["scontrol", "show", "job", "-o", str(job_id)], capture_output=True,
                          text=True, timeout=30)
    if proc.returncode != 0:
        return {}
    out = {}
    for line in proc.stdout.splitlines():
        fields = dict(re.findall(r"(\w+)=(\S*)", line))
        if not fields:
            continue
        key = fields.get("ArrayTaskId") or "job"
        out[key] = (fields.get("JobState", "?"), fields.get("ExitCode", "?"))
    return out
