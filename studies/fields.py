"""Schema entries the study machinery itself knows: ``study``, ``run``, ``slurm`` and a few
``base`` inputs shared by the physics (grade, balloon pressure, needle gauge, mesh level).

The physics modules add their own ``base.*`` entries to :data:`studies.schema.SCHEMA` with
:meth:`~studies.schema.Schema.add_section` when imported.
"""

from __future__ import annotations

import re
import string

from studies.schema import SCHEMA, Field

__all__ = [
    "GAUGES",
    "check_sbatch_option",
    "check_slurm_name",
    "check_study_name",
    "is_module_name",
    "parse_slurm_time_min",
    "results_dir_error",
]

#: Needle gauges with tabulated diameters (DOMAIN.md).
GAUGES = (18, 20, 21, 22)

_SLURM_TIME = re.compile(r"(?:(\d+)-)?(\d+)(?::(\d{1,2}))?(?::(\d{1,2}))?")
_MEM = re.compile(r"\d+[KMGT]?")
#: A dotted Python module name (``study.plugins``).
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
#: A study name: it names the results folder and the Slurm jobs.
_STUDY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
#: A Slurm partition, account or QOS name (what ``sbatch`` accepts without quoting).
_SLURM_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,99}")
#: An extra ``#SBATCH`` option: a long option, with a value of plain characters.
_SBATCH_OPTION = re.compile(r"--([a-z][a-z0-9-]*)(?:=([A-Za-z0-9_.,:@%/+=*&|!\[\]-]+))?")
#: Options ``nre slurm`` writes itself (or that move the job's files): not in ``slurm.extra``.
_SBATCH_OWN = {
    "array": "set from the cases", "job-name": "set from study.name",
    "ntasks": "slurm.ranks", "time": "slurm.time", "mem": "slurm.mem",
    "partition": "slurm.partition", "account": "slurm.account", "qos": "slurm.qos",
    "output": "the logs stay in the submission folder",
    "error": "the logs stay in the submission folder",
    "input": "tasks read no input", "chdir": "tasks run in the submission folder",
    "dependency": "set by nre slurm submit", "wrap": "the script is generated",
}


def parse_slurm_time_min(text: str) -> int:
    """Whole minutes of a Slurm time (``MM``, ``HH:MM:SS``, ``D-HH:MM``), rounded up.

    Raises:
        ValueError: naming the value and the accepted forms.
    """
    m = _SLURM_TIME.fullmatch(text)
    if not m:
        raise ValueError(f"slurm time {text!r} is not MM, HH:MM:SS or D-HH[:MM[:SS]]")
    days, a, b, c = m.groups()
    days = int(days or 0)
    if days and b is None:  # D-HH
        h, mi, s = int(a), 0, 0
    elif c is not None:  # [D-]HH:MM:SS
        h, mi, s = int(a), int(b), int(c)
    elif b is not None:  # MM:SS, or D-HH:MM
        h, mi, s = (int(a), int(b), 0) if days else (0, int(a), int(b))
    else:  # MM
        h, mi, s = 0, int(a), 0
    return days * 1440 + h * 60 + mi + (1 if s else 0)


def _check_grade(value: str) -> str | None:
    from meshes.grades import known_grades

    if value.strip().lower() not in known_grades():
        return (f"{value!r} is not a known grade (e.g. 'pacss-0'..'pacss-4', "
                "'fanelli-270-long', 'parc-severe', 'oct-3'; see the README)")
    return None


def _check_time(value: str) -> str | None:
    try:
        minutes = parse_slurm_time_min(value)
    except ValueError as err:
        return str(err)
    return None if minutes >= 1 else f"slurm time {value!r} must be at least 1 minute"


def _check_mem(value: str) -> str | None:
    return None if _MEM.fullmatch(value) else f"{value!r} is not a Slurm memory size like '4G'"


def is_module_name(text: str) -> bool:
    """Whether ``text`` is a dotted Python module name (what ``study.plugins`` may import)."""
    return bool(_MODULE.fullmatch(text))


def _check_module_names(value: list) -> str | None:
    bad = [v for v in value if not _MODULE.fullmatch(v)]
    return f"not module names: {bad}" if bad else None


def check_study_name(value: str) -> str | None:
    """Why ``value`` is not a study name, or ``None``."""
    if _STUDY_NAME.fullmatch(value):
        return None
    return (f"{value!r} is not a study name; allowed: 1 to 100 ASCII letters, digits, '_', '-' "
            "and '.', starting with a letter or digit")


def check_slurm_name(value: str, *, several: bool = False) -> str | None:
    """Why ``value`` is not a Slurm partition/account/QOS name ('' = none), or ``None``.

    Args:
        several: Allow a comma-separated list (partitions).
    """
    names = value.split(",") if several and value else [value] if value else []
    if all(_SLURM_NAME.fullmatch(n) for n in names):
        return None
    return (f"{value!r} is not a Slurm name; allowed: ASCII letters, digits, '_', '.', '+', '-'"
            + (", several separated by ','" if several else ""))


def check_sbatch_option(value: str) -> str | None:
    """Why ``value`` is not an extra ``#SBATCH`` option for a study, or ``None``."""
    m = _SBATCH_OPTION.fullmatch(value)
    if not m:
        return (f"{value!r} is not an sbatch option; allowed: '--name' or '--name=value' (long "
                "form, value of ASCII letters, digits and _ . , : @ % / + = * & | ! [ ] -)")
    if m.group(1) in _SBATCH_OWN:
        return f"{value!r}: --{m.group(1)} is not allowed here ({_SBATCH_OWN[m.group(1)]})"
    return None


def _check_sbatch_options(value: list) -> str | None:
    return next((err for err in map(check_sbatch_option, value) if err), None)


def results_dir_error(template: str) -> str | None:
    """Why ``template`` is not a results folder template (only ``{name}`` may be substituted),
    or ``None``."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as err:
        return f"{template!r}: {err}; allowed placeholder: {{name}} (write {{{{ for a brace)"
    for _text, field, spec, conversion in parts:
        if field is None:
            continue
        if field != "name" or spec or conversion:
            shown = "{" + field + (f"!{conversion}" if conversion else "") + \
                (f":{spec}" if spec else "") + "}"
            return f"{template!r}: placeholder {shown} is not allowed; allowed: {{name}}"
    return None


SCHEMA.add(
    Field("study.name", str, doc="Name of the study (results and Slurm job names)",
          check=check_study_name),
    Field("study.solve", list, item=str, min_items=1,
          doc="Case kinds each case runs, in order (registered kinds)"),
    Field("study.results_dir", str, default="results/{name}", check=results_dir_error,
          doc="Results folder, relative to the study file's folder; {name} is the study name"),
    Field("study.allow_outside", bool, default=False,
          doc="Allow a results folder outside the study file's folder"),
    Field("study.plugins", list, item=str, default=[], check=_check_module_names,
          doc="Extra modules to import that register case kinds and schema fields"),
    Field("study.description", str, default="", doc="Free text"),
    Field("run.ranks", int, default=1, low=1, high=4096, doc="MPI ranks per case"),
    Field("run.parallel_cases", int, default=0, low=0, high=1024,
          doc="Cases run at once locally; 0 = as many as the cores allow"),
    Field("run.case_timeout_s", float, default=0.0, low=0.0, unit="s",
          doc="Wall-clock limit per case in a local run (0 = none); over it the case is "
              "recorded as interrupted"),
    Field("slurm.partition", str, default="", check=lambda v: check_slurm_name(v, several=True),
          doc="Partition(s), comma-separated ('' = the cluster default)"),
    Field("slurm.account", str, default="", check=check_slurm_name, doc="Account ('' = none)"),
    Field("slurm.qos", str, default="", check=check_slurm_name,
          doc="Quality of service ('' = the account's default)"),
    Field("slurm.time", str, default="01:00:00", check=_check_time,
          doc="Time limit per array task (Slurm form, whole minutes)"),
    Field("slurm.mem", str, default="4G", check=_check_mem, doc="Memory per array task"),
    Field("slurm.ranks", int, default=0, low=0, high=4096,
          doc="MPI ranks per array task; 0 = run.ranks"),
    Field("slurm.throttle", int, default=0, low=0,
          doc="Array tasks running at once (the %K of --array); 0 = no limit"),
    Field("slurm.launcher", str, default="srun", choices=("srun", "mpirun"),
          doc="MPI launch inside a task: 'srun --mpi=pmi2' or the venv's mpirun"),
    Field("slurm.extra", list, item=str, default=[], check=_check_sbatch_options,
          doc="Extra '#SBATCH' options in long form, e.g. ['--gres=gpu:1', '--exclusive']"),
    Field("base.calcification.grade", str, default="pacss-3", check=_check_grade,
          doc="Calcification grade: 'pacss-0'..'pacss-4' or 'fanelli-<arc>-<short|long>'"),
    Field("base.balloon.pressure_atm", float, default=6.0, low=0.0, low_open=True, high=30.0,
          unit="atm", doc="Balloon inflation pressure"),
    Field("base.needle.gauge", int, default=18, choices=GAUGES, doc="Needle gauge"),
    Field("base.mesh.level", int, default=1, low=0, high=4,
          doc="Mesh refinement level (0 coarsest)"),
)
# ``sweep`` holds axis paths chosen by the user; the study loader validates it against ``base``.
SCHEMA.open_sections.add("sweep")
