"""Validation helpers for the input dataclasses: each error names field, value and range."""

from __future__ import annotations

import math
from collections.abc import Iterable


def check_range(
    owner: str,
    field: str,
    value: float,
    lo: float,
    hi: float,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    unit: str = "",
) -> None:
    """Raise ``ValueError`` unless ``lo <= value <= hi`` (open ends as asked), naming everything."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > lo if lo_open else value >= lo) and (value < hi if hi_open else value <= hi)
    if not ok:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        u = f" {unit}" if unit else ""
        raise ValueError(
            f"{owner}.{field} = {value!r} is out of range: allowed {left}{lo:g}, {hi:g}{right}{u}"
        )


def check_choice(owner: str, field: str, value: object, allowed: Iterable[object]) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{owner}.{field} = {value!r} is not allowed: choose one of {allowed}")
