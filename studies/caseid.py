"""Stable case identifiers: a hash of the fully resolved parameters.

The id is the SHA-256 of a canonical JSON text (sorted keys, no whitespace, floats normalised
to 12 significant digits so that ``0.1 + 0.2`` and ``0.3`` agree, ``-0.0`` equal to ``0.0``),
so the same parameters give the same id in any process on any machine, and any change of a
value, a key or a type (``1`` versus ``1.0``) changes it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import uuid
from typing import Any

__all__ = ["ID_LENGTH", "CaseIds", "canonical_json", "case_id", "normalise"]

#: Hex digits kept from the hash: 16 (64 bits) makes collisions in any sweep negligible.
ID_LENGTH = 16

# Bumped only if the canonical form itself changes (every id would change with it).
_ID_VERSION = "nre-case-v1"


def normalise(value: Any) -> Any:
    """Return ``value`` with floats normalised and containers made JSON-canonical.

    Raises:
        ValueError: for NaN/inf or values JSON cannot represent.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"case parameter {value!r} is not finite")
        value = float(f"{value:.12g}")
        return 0.0 if value == 0.0 else value
    if isinstance(value, dict):
        return {str(k): normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    # numpy scalars and the like: go through their Python value
    if hasattr(value, "item"):
        return normalise(value.item())
    raise ValueError(f"case parameter {value!r} of type {type(value).__name__} is not JSON data")


def canonical_json(value: Any) -> str:
    """Canonical JSON text of ``value`` (sorted keys, compact, normalised floats)."""
    return json.dumps(normalise(value), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def case_id(params: dict) -> str:
    """The stable id of a case with the fully resolved parameters ``params``."""
    return _hash(canonical_json(params))


def _hash(text: str) -> str:
    return hashlib.sha256((_ID_VERSION + "\n" + text).encode("ascii")).hexdigest()[:ID_LENGTH]


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


class CaseIds:
    """:func:`case_id` of ``{"solve": solve, "params": base with a few paths set}``, for sweeps.

    A sweep's cases differ from the base only at their axis paths. The canonical JSON of the
    base is written once with a placeholder at each axis path and cut there; a case's text is
    the pieces joined with the canonical JSON of its axis values (each value written once per
    sweep). The ids are those of :func:`case_id` (the tests compare them); an axis path that
    is not a leaf of the base falls back to :func:`case_id`.
    """

    def __init__(self, solve: list[str], base: dict, paths: list[str]) -> None:
        self._solve = list(solve)
        self._base = base
        self._paths = list(dict.fromkeys(paths))
        self._values: dict[tuple, str] = {}
        self._pieces: list[str] | None = None
        marked = normalise(base)
        marks = {}
        for i, path in enumerate(self._paths):
            node = marked
            parts = path.split(".")
            for part in parts[:-1]:
                node = node.get(part) if isinstance(node, dict) else None
            if not isinstance(node, dict) or parts[-1] not in node or isinstance(
                    node[parts[-1]], dict):
                return  # not a leaf of the base: every id the slow way
            marks[i] = f"@nre-axis-{i}-{uuid.uuid4().hex}@"
            node[parts[-1]] = marks[i]
        text = _dumps({"solve": self._solve, "params": marked})
        pieces, order = [text], []
        if marks:
            pieces = re.split("|".join(re.escape(_dumps(m)) for m in marks.values()), text)
            order = [int(m.split("-")[2])
                     for m in re.findall("|".join(map(re.escape, marks.values())), text)]
        if sorted(order) != list(range(len(self._paths))):  # a mark lost: play safe
            return
        self._pieces = pieces
        self._order = [self._paths[i] for i in order]  # the axis paths in text order

    def _text(self, path: str, value: Any) -> str:
        key = (path, type(value), tuple(value) if isinstance(value, list) else value)
        try:
            return self._values[key]
        except (KeyError, TypeError):
            text = _dumps(normalise(value))
            try:
                self._values[key] = text
            except TypeError:  # unhashable (nested lists): not kept
                pass
            return text

    def __call__(self, axes: dict[str, Any]) -> str:
        """The id of the case whose ``params`` are the base with ``axes`` (path -> value) set."""
        if self._pieces is None or not set(axes) <= set(self._paths):
            params = copy.deepcopy(self._base)
            for path, value in axes.items():
                node = params
                parts = path.split(".")
                for part in parts[:-1]:
                    node = node.setdefault(part, {})
                node[parts[-1]] = value
            return case_id({"solve": self._solve, "params": params})
        out = [self._pieces[0]]
        for i, path in enumerate(self._order):
            value = axes[path] if path in axes else _leaf(self._base, path)
            out.append(self._text(path, value))
            out.append(self._pieces[i + 1])
        return _hash("".join(out))


def _leaf(tree: dict, path: str) -> Any:
    for part in path.split("."):
        tree = tree[part]
    return tree
