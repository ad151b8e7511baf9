"""JSON-ready values for result records (no DOLFINx)."""

from __future__ import annotations

import math

__all__ = ["json_ready"]


def json_ready(x):
    """``x`` with every non-finite float (nan, inf) replaced by None, recursively through
    dicts, lists and tuples (tuples become lists)."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: json_ready(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [json_ready(v) for v in x]
    return x
