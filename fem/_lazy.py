"""Public faces of the ``fem`` sub-packages without importing DOLFINx until a name is used.

``nre study check`` and ``nre --help`` import the input dataclasses (materials, needle, cases)
and must stay fast; solver modules import DOLFINx. A package's ``__init__`` lists its public
names and the module each lives in, and :func:`lazy_exports` resolves them on first access
(PEP 562 module ``__getattr__``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for ``package`` whose names live in ``exports[name]``
    (a sub-module name relative to the package)."""

    def __getattr__(name: str):
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        return value

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
