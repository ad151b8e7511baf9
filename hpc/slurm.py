"""Slurm job arrays for studies: write readable sbatch scripts, submit, follow, resubmit.

``submit`` writes, under ``<results>/slurm/<tag>/``:

- ``cases.txt``: the ids of the cases to run, one per line (array task *i* runs line *i*);
- ``array.sbatch``: the job array (``--array=0-N%K``), one MPI task set per case, which runs
  ``python -m studies.worker supervise`` (claim the case, launch the ranks with
  ``srun --mpi=pmi2`` or the venv's ``mpirun``, record the result, SIGTERM -> ``interrupted``);
- ``aggregate.sbatch``: the aggregation job (``python -m studies.aggregate``);
- ``submit.sh``: the ``sbatch`` calls, the aggregation's with ``--dependency=afterany:<arrays>``
  so it runs even when some cases failed (it is what a person can run by hand; this module
  submits the same way);
- ``logs/``: the jobs' output (Slurm fails a job whose output folder does not exist).

A sweep with more cases than the cluster's ``MaxArraySize`` (``scontrol show config``; 1001,
Slurm's default, when it cannot be read) is split into several arrays, ``array-1.sbatch`` with
``cases-1.txt``, ``array-2.sbatch`` with ``cases-2.txt``, ...; with a throttle each array waits
for the one before it, so ``%K`` still bounds the tasks running at once.

Nothing from a study file reaches a shell unquoted: paths are ``shlex.quote``-d, names and
options are checked against strict character sets (:mod:`studies.fields`) before they are
written to an ``#SBATCH`` line, the log paths there are relative to the submission folder (the
jobs' working directory; a results folder holding ``%`` or ``\\``, which Slurm reads as
patterns there, is refused), and every script passes ``bash -n`` before anything is submitted.

Only cases that are missing, failed, interrupted or damaged are submitted, so ``resubmit`` is
``submit`` again from the results folder. Every submission is appended to
``<results>/slurm/submissions.jsonl``.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from studies.fields import (
    check_sbatch_option,
    check_slurm_name,
    check_study_name,
    parse_slurm_time_min,
)
from studies.schema import control_character_error
from studies.store import PENDING_STATES, ResultStore
from studies.study import Study

__all__ = [
    "DEFAULT_MAX_ARRAY_SIZE",
    "SlurmError",
    "SlurmOptions",
    "Submission",
    "cluster_max_array_size",
    "pending_case_ids",
    "slurm_task_states",
    "split_sizes",
    "submit_study",
    "sweep_warnings",
    "write_submission",
]

_REPO = Path(__file__).resolve().parent.parent
#: Time limit of the aggregation job.
AGGREGATE_TIME = "00:10:00"
#: Slurm's default ``MaxArraySize``: an array holds at most this many tasks (indices from 0).
DEFAULT_MAX_ARRAY_SIZE = 1001
#: ``nre study check`` warns from this many cases on.
LARGE_SWEEP_CASES = 10_000


class SlurmError(RuntimeError):
    """Submitting to Slurm failed (no ``sbatch``, ``sbatch`` refused a job, ...)."""


@dataclass(frozen=True, slots=True)
class SlurmOptions:
    """Resources of one array task (from the study's ``[slurm]`` table and the command line).

    Attributes:
        ranks: MPI ranks per case (``--ntasks``).
        time: Time limit per task (Slurm form; whole minutes).
        mem: Memory per task (``--mem``), e.g. ``"4G"``.
        partition: Partition(s), comma-separated, '' for the cluster default.
        account: Account, '' for none.
        qos: Quality of service, '' for the default.
        throttle: Tasks running at once (``%K``), 0 for no limit.
        launcher: ``"srun"`` (``srun --mpi=pmi2``) or ``"mpirun"`` (the venv's hydra).
        extra: Further ``#SBATCH`` options (long form, ``--name[=value]``).
    """

    ranks: int = 1
    time: str = "01:00:00"
    mem: str = "4G"
    partition: str = ""
    account: str = ""
    qos: str = ""
    throttle: int = 0
    launcher: str = "srun"
    extra: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # The same checks as the study file's [slurm] table: values from the command line
        # reach the #SBATCH lines as well.
        if self.ranks < 1:
            raise ValueError(f"slurm ranks={self.ranks} must be >= 1")
        for name in ("time", "mem", "partition", "account", "qos"):
            err = control_character_error(getattr(self, name))
            if err:
                raise ValueError(f"slurm {name}: {err}")
        parse_slurm_time_min(self.time)  # raises with the accepted forms
        if not re.fullmatch(r"\d+[KMGT]?", self.mem):
            raise ValueError(f"slurm mem={self.mem!r} is not a size like '4G'")
        for name, err in (("partition", check_slurm_name(self.partition, several=True)),
                          ("account", check_slurm_name(self.account)),
                          ("qos", check_slurm_name(self.qos)),
                          *(("extra", check_sbatch_option(x)) for x in self.extra)):
            if err:
                raise ValueError(f"slurm {name}: {err}")
        if self.throttle < 0:
            raise ValueError(f"slurm throttle={self.throttle} must be >= 0")
        if self.launcher not in ("srun", "mpirun"):
            raise ValueError(f"slurm launcher={self.launcher!r} is not 'srun' or 'mpirun'")

    @classmethod
    def from_study(cls, study: Study, **overrides) -> SlurmOptions:
        """The study's settings with ``overrides`` (``None`` values ignored)."""
        s = study.slurm
        opts = cls(ranks=study.slurm_ranks(), time=s["time"], mem=s["mem"],
                   partition=s["partition"], account=s["account"], qos=s.get("qos", ""),
                   throttle=s["throttle"], launcher=s["launcher"], extra=tuple(s["extra"]))
        return replace(opts, **{k: v for k, v in overrides.items() if v is not None})


@dataclass
class Submission:
    """Written (and possibly submitted) job arrays with their aggregation job.

    Attributes:
        tag: ``sub-<time>-<rand>``, the folder's name.
        folder: ``<results>/slurm/<tag>``.
        case_ids: Every case of the submission, in array order.
        options: The resources.
        sizes: Cases per array (one entry per array; several when the sweep is larger than
            ``max_array_size``).
        max_array_size: The limit the split used, and ``max_array_size_from`` where it came
            from (``"scontrol"`` or ``"default"``).
        array_job_ids: Slurm job id of each array once submitted.
        aggregate_job_id: Slurm job id of the aggregation job.
        submitted: When (ISO 8601), ``None`` for a dry run.
    """

    tag: str
    folder: Path
    case_ids: list[str]
    options: SlurmOptions
    sizes: list[int] = field(default_factory=list)
    max_array_size: int = DEFAULT_MAX_ARRAY_SIZE
    max_array_size_from: str = "default"
    array_job_ids: list[str] = field(default_factory=list)
    aggregate_job_id: str | None = None
    submitted: str | None = None

    @property
    def array_job_id(self) -> str | None:
        """The first array's job id (the only one unless the sweep was split)."""
        return self.array_job_ids[0] if self.array_job_ids else None

    def scripts(self) -> list[str]:
        """File names of the array scripts, in submission order."""
        return _part_names(len(self.sizes), "array", "sbatch")

    def to_json(self) -> dict:
        data = asdict(self)
        data["folder"] = str(self.folder)
        data["options"] = asdict(self.options)
        data["array_job_id"] = self.array_job_id
        return data


def _part_names(n: int, stem: str, suffix: str) -> list[str]:
    return [f"{stem}.{suffix}"] if n == 1 else [f"{stem}-{k}.{suffix}" for k in range(1, n + 1)]


def split_sizes(n: int, max_array_size: int) -> list[int]:
    """Cases per array for ``n`` cases and arrays of at most ``max_array_size`` tasks."""
    if max_array_size < 1:
        raise SlurmError(f"MaxArraySize = {max_array_size}: job arrays are disabled on this "
                         "cluster; allowed: a cluster with MaxArraySize >= 1")
    parts = math.ceil(n / max_array_size)
    return [min(max_array_size, n - k * max_array_size) for k in range(parts)]


def cluster_max_array_size(timeout_s: float = 30) -> tuple[int, str]:
    """``(MaxArraySize, source)``: from ``scontrol show config`` when it answers, else
    :data:`DEFAULT_MAX_ARRAY_SIZE` with source ``"default"``."""
    try:
        proc = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True,
                              timeout=timeout_s)
    except (OSError, subprocess.SubprocessError):
        return DEFAULT_MAX_ARRAY_SIZE, "default"
    m = re.search(r"^\s*MaxArraySize\s*=\s*(\d+)", proc.stdout, re.MULTILINE)
    if proc.returncode != 0 or not m:
        return DEFAULT_MAX_ARRAY_SIZE, "default"
    return int(m.group(1)), "scontrol"


def sweep_warnings(study: Study, max_array_size: int | None = None) -> list[str]:
    """Warnings about the size of a sweep (what ``nre study check`` prints): a sweep of
    :data:`LARGE_SWEEP_CASES` cases or more, and one that ``submit`` will split into several
    arrays (``max_array_size`` default: the cluster's, see :func:`cluster_max_array_size`)."""
    n = len(study.cases)
    out = []
    if n >= LARGE_SWEEP_CASES:
        axes = " x ".join(f"{a} ({len(v)})" for a, v in study.grid.items()) or "listed cases"
        out.append(f"{n} cases: a large sweep (a params.json, a record and a Slurm array task "
                   f"each); check that it is meant: {axes}")
    source = "given"
    if max_array_size is None:
        max_array_size, source = cluster_max_array_size(timeout_s=5)
    if n > max_array_size >= 1:
        parts = len(split_sizes(n, max_array_size))
        out.append(f"{n} cases exceed MaxArraySize {max_array_size} ({source}): nre slurm "
                   f"submit will split them into {parts} arrays")
    return out


def pending_case_ids(study: Study, *, force: bool = False) -> list[str]:
    """Ids of the cases to submit: missing, failed, interrupted or damaged (all but running
    ones if ``force``); cases a live runner holds are left to it."""
    store = ResultStore(study.results_dir)
    out = []
    for case in study.cases:
        state, _rec, _note = store.state(case.case_id)
        if state in PENDING_STATES or (force and state != "running"):
            out.append(case.case_id)
    return out


def _sbatch_header(lines: list[str], opts: SlurmOptions) -> None:
    # Every value here passed SlurmOptions' character-set checks (no quoting in #SBATCH lines).
    lines.append(f"#SBATCH --time={opts.time}")
    for name in ("partition", "account", "qos"):
        if getattr(opts, name):
            lines.append(f"#SBATCH --{name}={getattr(opts, name)}")
    lines.extend(f"#SBATCH {x}" for x in opts.extra)


def _env_lines(root: Path) -> list[str]:
    q = shlex.quote
    return [
        "set -euo pipefail",
        "# The toolkit's sources and the Python that runs them (the venv of the submitter).",
        f'export PYTHONPATH={q(str(_REPO))}"${{PYTHONPATH:+:$PYTHONPATH}}"',
        "# Mesh and form-compilation (FFCx JIT) cache shared by all tasks of the study.",
        f"NRE_STUDY_CACHE={q(str(root / 'cache'))}",
        'export NRE_CACHE_DIR="${NRE_CACHE_DIR:-$NRE_STUDY_CACHE}"',
        'export XDG_CACHE_HOME="$NRE_CACHE_DIR"',
    ]


def _check_script(path: Path) -> None:
    proc = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise SlurmError(f"{path}: generated script fails 'bash -n' (a bug of nre): "
                         f"{proc.stderr.strip()}")


def write_submission(study: Study, case_ids: list[str], opts: SlurmOptions, *,
                     max_array_size: int = DEFAULT_MAX_ARRAY_SIZE,
                     max_array_size_from: str = "default") -> Submission:
    """Write the scripts of a submission of ``case_ids`` (see the module docstring); on any
    error the submission folder is removed again."""
    if not case_ids:
        raise ValueError("no cases to submit")
    err = check_study_name(study.name)
    if err:  # load_study checked it; a Study built by hand may not have been
        raise ValueError(f"study.name: {err}")
    store = ResultStore(study.results_dir)
    if "%" in str(store.root) or "\\" in str(store.root):
        # Slurm expands %A, %j, %x ... and drops '\\' in the whole log path, the job's
        # working directory included: the job would fail to open its log (JobLaunchFailure).
        raise ValueError(f"{store.root}: a results folder with '%' or '\\' cannot hold Slurm "
                         "jobs (Slurm reads them as patterns in log file names); allowed: a "
                         "folder without them (--results)")
    sizes = split_sizes(len(case_ids), max_array_size)
    store.write_snapshot(study)
    for case in study.cases:
        store.write_params(case, study.plugins)
    tag = datetime.now(UTC).strftime("sub-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:4]
    folder = store.root / "slurm" / tag
    sub = Submission(tag=tag, folder=folder, case_ids=list(case_ids), options=opts,
                     sizes=sizes, max_array_size=max_array_size,
                     max_array_size_from=max_array_size_from)
    try:
        (folder / "logs").mkdir(parents=True)
        _write_scripts(study, sub, store.root)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return sub


def _write_scripts(study: Study, sub: Submission, root: Path) -> None:
    opts, folder = sub.options, sub.folder
    q = shlex.quote
    py = q(sys.executable)
    throttle = f"%{opts.throttle}" if opts.throttle else ""
    lists = _part_names(len(sub.sizes), "cases", "txt")
    scripts = sub.scripts()
    texts: dict[str, list[str]] = {}
    start = 0
    for k, (size, listing, script) in enumerate(zip(sub.sizes, lists, scripts, strict=True)):
        ids = sub.case_ids[start : start + size]
        start += size
        (folder / listing).write_text("".join(f"{cid}\n" for cid in ids))
        part = f", array {k + 1} of {len(sub.sizes)}" if len(sub.sizes) > 1 else ""
        array = [
            "#!/bin/bash",
            f"# nre study {study.name}: one array task per line of {listing} ({size} "
            f"cases{part}).",
            "# Written by `nre slurm submit`; submit by hand with ./submit.sh (or `sbatch "
            f"{script}` from this folder).",
            f"#SBATCH --job-name=nre-{study.name}",
            f"#SBATCH --array=0-{size - 1}{throttle}",
            f"#SBATCH --ntasks={opts.ranks}",
            f"#SBATCH --mem={opts.mem}",
            "#SBATCH --output=logs/case-%A_%a.out",
        ]
        _sbatch_header(array, opts)
        array += ["", *_env_lines(root), "",
                  "# The supervisor claims the case, launches its ranks "
                  f"({'srun --mpi=pmi2' if opts.launcher == 'srun' else 'the venv mpirun'}), "
                  "records the result;",
                  "# on SIGTERM (time limit, scancel) it records the case as interrupted.",
                  f"exec {py} -m studies.worker supervise --results {q(str(root))} \\",
                  f"    --case-list {q(str(folder / listing))} --index "
                  f"\"$SLURM_ARRAY_TASK_ID\" \\\n    --launcher {opts.launcher} --ranks "
                  f"{opts.ranks}", ""]
        texts[script] = array
    aggregate = [
        "#!/bin/bash",
        f"# nre study {study.name}: aggregate every case into a table and sweep.nc.",
        "# Submitted with --dependency=afterany:<array jobs> (runs even if cases failed).",
        f"#SBATCH --job-name=nre-{study.name}-aggregate",
        "#SBATCH --ntasks=1",
        "#SBATCH --output=logs/aggregate-%j.out",
    ]
    _sbatch_header(aggregate, replace(opts, time=AGGREGATE_TIME))
    aggregate += ["", *_env_lines(root), "",
                  f"exec {py} -m studies.aggregate {q(str(root))}", ""]
    texts["aggregate.sbatch"] = aggregate
    submit = [
        "#!/bin/bash",
        "# Submit the case array(s), then the aggregation job after them (afterany)"
        + (";\n# with a throttle each array waits for the one before it." if
           opts.throttle and len(scripts) > 1 else "."),
        "set -euo pipefail",
        'cd "$(dirname "$0")"',
    ]
    ids = []
    for k, script in enumerate(scripts, 1):
        after = f" --dependency=afterany:${{A{k - 1}%%;*}}" if opts.throttle and k > 1 else ""
        submit.append(f"A{k}=$(sbatch --parsable{after} {script})")
        ids.append(f"${{A{k}%%;*}}")
    submit += [f"AGG=$(sbatch --parsable --dependency=afterany:{':'.join(ids)} "
               "aggregate.sbatch)",
               'echo "' + " ".join(f"$A{k}" for k in range(1, len(scripts) + 1)) + ' $AGG"', ""]
    texts["submit.sh"] = submit
    for name, text in texts.items():
        path = folder / name
        path.write_text("\n".join(text))
        path.chmod(0o755)
        _check_script(path)


def _sbatch(args: list[str], cwd: Path) -> str:
    try:
        proc = subprocess.run(["sbatch", "--parsable", *args], capture_output=True, text=True,
                              timeout=60, cwd=cwd)
    except FileNotFoundError:
        raise SlurmError("sbatch: not found on PATH; allowed: run on a Slurm login node, or "
                         "--dry-run to write the scripts only") from None
    except subprocess.TimeoutExpired:
        raise SlurmError(f"sbatch {' '.join(args)}: no answer in 60 s") from None
    if proc.returncode != 0:
        raise SlurmError(f"sbatch {' '.join(args)} failed ({proc.returncode}): "
                         f"{' '.join(proc.stderr.split())}")
    # --parsable prints "jobid" or "jobid;cluster"
    return proc.stdout.strip().split(";")[0]


def submit_study(
    study: Study, opts: SlurmOptions, *, force: bool = False, dry_run: bool = False,
    max_array_size: int | None = None,
) -> Submission | None:
    """Submit the pending cases of ``study`` as job arrays plus the aggregation job.

    Args:
        max_array_size: Tasks per array at most (default: the cluster's ``MaxArraySize``, see
            :func:`cluster_max_array_size`).

    Returns:
        The submission, or ``None`` when no case is pending. With ``dry_run`` the scripts
        are written but nothing is submitted.

    Raises:
        SlurmError: ``sbatch`` is missing (checked before anything is written) or refused a job
            (a submission folder whose first array was refused is removed again).
    """
    ids = pending_case_ids(study, force=force)
    if not ids:
        return None
    if not dry_run and shutil.which("sbatch") is None:
        raise SlurmError("sbatch: not found on PATH; allowed: run on a Slurm login node, or "
                         "--dry-run to write the scripts only")
    source = "given"
    if max_array_size is None:
        max_array_size, source = cluster_max_array_size()
    sub = write_submission(study, ids, opts, max_array_size=max_array_size,
                           max_array_size_from=source)
    if dry_run:
        return sub
    log = ResultStore(study.results_dir).root / "slurm" / "submissions.jsonl"
    try:
        for script in sub.scripts():
            after = ([f"--dependency=afterany:{sub.array_job_ids[-1]}"]
                     if opts.throttle and sub.array_job_ids else [])
            sub.array_job_ids.append(_sbatch([*after, script], sub.folder))
        sub.aggregate_job_id = _sbatch([f"--dependency=afterany:{':'.join(sub.array_job_ids)}",
                                        "aggregate.sbatch"], sub.folder)
    except SlurmError as err:
        if not sub.array_job_ids:
            shutil.rmtree(sub.folder, ignore_errors=True)
            raise
        with open(log, "a") as fh:  # what was submitted, so `nre slurm status` follows it
            fh.write(json.dumps(sub.to_json()) + "\n")
        raise SlurmError(f"{err}; array job(s) {', '.join(sub.array_job_ids)} were submitted "
                         f"from {sub.folder} (scancel them, or run `nre study aggregate` when "
                         "they end)") from None
    sub.submitted = datetime.now(UTC).isoformat(timespec="seconds")
    with open(log, "a") as fh:
        fh.write(json.dumps(sub.to_json()) + "\n")
    return sub


def submissions(results_dir: str | os.PathLike) -> list[dict]:
    """Every submission recorded for a results folder, oldest first."""
    log = Path(results_dir) / "slurm" / "submissions.jsonl"
    if not log.exists():
        return []
    out = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut short (disk full, killed writer): not a submission
        if isinstance(entry, dict) and isinstance(entry.get("case_ids"), list):
            out.append(entry)
    return out


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
