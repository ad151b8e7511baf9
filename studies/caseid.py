"""Stable case identifiers: a hash of the fully resolved parameters.

The id is the SHA-256 of a canonical JSON text (sorted keys, no whitespace, floats normalised
to 12 significant digits so that ``0.1 + 0.2`` and ``0.3`` agree, ``-0.0`` equal to ``0.0``),
so the same parameters give the same id in any process on any machine, and any change of a
value, a key or a type (``1`` versus ``1.0``) changes it.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

__all__ = ["ID_LENGTH", "canonical_json", "case_id", "normalise"]

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
    text = _ID_VERSION + "\n" + canonical_json(params)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:ID_LENGTH]
