"""The registry of case kinds: what a case can solve.

A case kind is a function ``run_case(params, comm, workdir) -> dict`` registered under a name
(``"balloon"``, ``"puncture"``, ``"selftest"``). ``params`` is the fully resolved ``base`` table
of the study (defaults filled in), ``comm`` the MPI communicator of the case's ranks, ``workdir``
a folder every rank sees, where the kind may write ``curves/`` and ``fields/``. It returns scalar
results (JSON numbers, strings, booleans); list values are stored as curves. A failure is either
an exception or a returned record ``{"status": "failed", "reason": "...", ...}``: both are
recorded and the sweep goes on.

A kind may also give a ``check(params) -> CaseInputs`` hook: it resolves a case into the inputs
its run will build (frozen, validated dataclasses; no meshing, no DOLFINx) and returns every
error that building them raises, attributed to the ``base`` key at fault, and the mesh specs the
case will mesh. ``nre study check`` (:mod:`studies.check`) runs it on every case, so that what a
run would refuse is refused before anything is submitted.

Kinds live in modules that call :func:`register_kind` (and register their ``base.*`` schema fields
in :data:`studies.schema.SCHEMA`) when imported. :data:`KIND_MODULES` lists the toolkit's modules;
a study can add its own with ``study.plugins = ["my.module"]`` and the environment with
``NRE_KIND_MODULES=mod1,mod2``. Kind modules should import DOLFINx inside ``run_case`` so that
``nre study check`` stays fast.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "KIND_MODULES",
    "CaseFailed",
    "CaseInputs",
    "CaseKind",
    "input_issue",
    "get_kind",
    "kind_names",
    "load_kind_modules",
    "register_kind",
]

#: Modules imported to register the toolkit's case kinds (the lead adds the physics here).
KIND_MODULES: tuple[str, ...] = (
    "studies.kinds.selftest",
    "studies.kinds.balloon",
    "studies.kinds.puncture",
)

_KINDS: dict[str, CaseKind] = {}


class CaseFailed(RuntimeError):
    """Raised by a kind to fail its case with a clear reason (no traceback needed)."""


@dataclass(frozen=True, slots=True)
class CaseInputs:
    """What a kind's ``check`` hook found building one case's inputs.

    Attributes:
        issues: ``(key, message)`` per error the run would raise; ``key`` is the path of the
            input at fault relative to ``base`` (``"calcium.thickness_mm"``), ``message`` the
            error (it names the value and the allowed range).
        meshes: ``(key, what, spec)`` per mesh the case will build: a mesh spec of
            :mod:`meshes.spec` or a :class:`meshes.disc.LayeredDiscSpec`, the input that sets
            its size (``"mesh.level"``) and a few words saying which mesh it is.
    """

    issues: tuple[tuple[str, str], ...] = ()
    meshes: tuple[tuple[str, str, Any], ...] = ()


_NAMED = re.compile(r"(?<![\w.])([A-Za-z_][\w.]*(?:\[\w+\])?[\w.]*) = ")


def input_issue(err: Exception, keys: Mapping[str, str], default: str) -> tuple[str, str]:
    """``(key, message)`` of an input error: the study key of the first input it names.

    The input dataclasses name what they refuse as ``field = value`` (``"calcification.
    thickness_mm = 2.5 is thicker ..."``, ``"calcium_poisson_ratio = 0.48 is outside ..."``);
    ``keys`` maps such names (dataclass paths or field names) to ``base`` keys. Names the study
    cannot set are skipped; ``default`` is used when none is known.
    """
    text = str(err)
    for name in _NAMED.findall(text):
        for candidate in (name, name.split(".")[-1]):
            if candidate in keys:
                return keys[candidate], text
    return default, text


@dataclass(frozen=True, slots=True)
class CaseKind:
    """A registered case kind.

    Attributes:
        name: The name used in ``study.solve``.
        run: ``run_case(params, comm, workdir) -> dict``.
        cost_core_s: Estimated cost of one case in core-seconds, from its params
            (used by ``nre study check`` and to size Slurm requests).
        module: The module that registered it (imported again by workers).
        check: ``check(params) -> CaseInputs`` (see the module docstring), or None: the
            schema's checks are all the kind has.
    """

    name: str
    run: Callable[..., dict]
    cost_core_s: Callable[[dict], float]
    module: str
    check: Callable[[dict], CaseInputs] | None = None


def register_kind(
    name: str,
    run: Callable[..., dict],
    *,
    cost_core_s: Callable[[dict], float] | float = 60.0,
    check: Callable[[dict], CaseInputs] | None = None,
) -> CaseKind:
    """Register a case kind under ``name`` (idempotent for the same function).

    Args:
        name: Kind name, as written in ``study.solve``.
        run: ``run_case(params: dict, comm, workdir: Path) -> dict``.
        cost_core_s: Core-seconds per case, a constant or a function of the params.
        check: ``check(params) -> CaseInputs``: the case's inputs built without running it
            (no meshing, no DOLFINx), for ``nre study check``.

    Returns:
        The registered :class:`CaseKind`.
    """
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"case kind name {name!r} must be alphanumeric (with - or _)")
    cost = cost_core_s if callable(cost_core_s) else (lambda _p, c=float(cost_core_s): c)
    kind = CaseKind(name, run, cost, getattr(run, "__module__", ""), check)
    old = _KINDS.get(name)
    if old is not None and (old.run.__module__, old.run.__qualname__) != (
        run.__module__,
        run.__qualname__,
    ):
        raise ValueError(f"case kind {name!r} already registered by {old.module}")
    _KINDS[name] = kind
    return kind


def load_kind_modules(extra: Iterable[str] = ()) -> None:
    """Import :data:`KIND_MODULES`, ``NRE_KIND_MODULES`` and ``extra`` so their kinds register."""
    env = [m for m in os.environ.get("NRE_KIND_MODULES", "").split(",") if m.strip()]
    for name in (*KIND_MODULES, *env, *extra):
        importlib.import_module(name.strip())


def kind_names() -> list[str]:
    """Names of the registered kinds."""
    return sorted(_KINDS)


def get_kind(name: str) -> CaseKind:
    """The kind registered as ``name``.

    Raises:
        KeyError: naming the registered kinds when ``name`` is unknown.
    """
    try:
        return _KINDS[name]
    except KeyError:
        raise KeyError(f"unknown case kind {name!r}; registered: {', '.join(kind_names())}") \
            from None


def describe_kinds() -> dict[str, Any]:
    """Name -> module of every registered kind (for messages and ``nre study check``)."""
    return {k.name: k.module for k in _KINDS.values()}
