"""The study-file schema: typed, ranged, defaulted entries addressed by key path.

A study file is a nested TOML document. Every leaf the toolkit understands is a :class:`Field`
registered in a :class:`Schema` under its dotted path (``"base.balloon.pressure_atm"``), with a
type, an optional range or list of choices, a default and a unit. Sections (``base.balloon``)
exist implicitly as the prefixes of registered fields, so a module that adds a capability adds
its inputs with :meth:`Schema.add` and the validator knows them; anything else is an unknown key.

The module-level :data:`SCHEMA` is the registry the study loader uses. Case-kind modules register
their ``base.*`` fields in it when they are imported (see :mod:`studies.kinds`).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["REQUIRED", "SCHEMA", "Field", "Issue", "Schema", "StudyError",
           "control_character_error"]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: Marker default of a field that must be given in the file.
REQUIRED: Any = _Required()

_TYPE_NAMES = {int: "integer", float: "number", str: "string", bool: "boolean", list: "list"}


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem in a study file: the key path, its line (if found) and what is wrong."""

    key: str
    message: str
    line: int | None = None


class StudyError(ValueError):
    """A study file is invalid; the message lists every issue as ``FILE:LINE: key 'K': ...``."""

    def __init__(self, path: str, issues: list[Issue]) -> None:
        self.path = path
        self.issues = list(issues)
        super().__init__(self._format())

    def _format(self) -> str:
        lines = [f"{len(self.issues)} error(s) in study file {self.path}"]
        for issue in self.issues:
            where = f"{self.path}:{issue.line}" if issue.line else self.path
            lines.append(f"  {where}: key '{issue.key}': {issue.message}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Field:
    """One typed leaf of the study schema.

    Attributes:
        path: Dotted key path, e.g. ``"base.balloon.pressure_atm"``.
        type: ``int``, ``float``, ``str``, ``bool`` or ``list`` (then ``item`` types the items).
        default: Value used when the file omits the key; :data:`REQUIRED` makes it mandatory.
        low, high: Inclusive bounds unless ``low_open`` / ``high_open`` (numbers only).
        choices: Allowed values (any type); checked after the type.
        unit: Unit of the value, printed in messages and ``nre study check``.
        doc: One line saying what the value means.
        item: Item type of a list field.
        min_items: Smallest allowed list length.
        pattern_doc: For strings validated by ``check``: a human description of the form.
        check: Extra predicate on the (converted) value; returns an error text or ``None``.
    """

    path: str
    type: type
    default: Any = REQUIRED
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple | None = None
    unit: str = ""
    doc: str = ""
    item: type | None = None
    min_items: int = 0
    check: Any = None

    def __post_init__(self) -> None:
        if self.type not in _TYPE_NAMES:
            raise ValueError(f"Field {self.path!r}: type {self.type!r} not one of {_TYPE_NAMES}")
        if self.default is not REQUIRED:
            value, err = self.convert(self.default)
            if err:
                raise ValueError(f"Field {self.path!r}: default {self.default!r} invalid: {err}")

    def range_text(self) -> str:
        """The allowed values as text, e.g. ``0 < value <= 30 atm``."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        parts = []
        if self.low is not None:
            parts.append(f"{self.low:g} {'<' if self.low_open else '<='} ")
        parts.append("value")
        if self.high is not None:
            parts.append(f" {'<' if self.high_open else '<='} {self.high:g}")
        text = "".join(parts)
        return f"{text} {self.unit}".strip() if (self.low, self.high) != (None, None) else ""

    def _convert_scalar(self, value: Any, typ: type) -> tuple[Any, str | None]:
        # bool is an int in Python; TOML keeps them apart and so do we.
        if typ is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return value, f"expected a number, got {_describe(value)}"
            value = float(value)
            if not math.isfinite(value):
                return value, f"expected a finite number, got {value!r}"
            return value, None
        if typ is int:
            if isinstance(value, bool) or not isinstance(value, int):
                return value, f"expected an integer, got {_describe(value)}"
            return value, None
        if not isinstance(value, typ) or (typ is not bool and isinstance(value, bool)):
            return value, f"expected a {_TYPE_NAMES[typ]}, got {_describe(value)}"
        if typ is str:
            return value, control_character_error(value)
        return value, None

    def convert(self, value: Any) -> tuple[Any, str | None]:
        """Type-check, convert (int to float) and range-check ``value``.

        Returns:
            ``(converted, None)`` or ``(value, error text)``.
        """
        if self.type is list:
            if not isinstance(value, list):
                return value, f"expected a list, got {_describe(value)}"
            if len(value) < self.min_items:
                return value, f"needs at least {self.min_items} item(s), got {len(value)}"
            out = []
            for i, item in enumerate(value):
                conv, err = self._convert_scalar(item, self.item or str)
                if err:
                    return value, f"item {i}: {err}"
                if self.choices is not None and conv not in self.choices:
                    return value, f"item {i}: {conv!r} is not {self.range_text()}"
                out.append(conv)
            value = out
        else:
            value, err = self._convert_scalar(value, self.type)
            if err:
                return value, err
            if self.choices is not None and value not in self.choices:
                return value, f"{value!r} is not {self.range_text()}"
            if self.type in (int, float):
                below = self.low is not None and (
                    value <= self.low if self.low_open else value < self.low
                )
                above = self.high is not None and (
                    value >= self.high if self.high_open else value > self.high
                )
                if below or above:
                    return value, f"{value!r} out of range: allowed {self.range_text()}"
        if self.check is not None:
            err = self.check(value)
            if err:
                return value, err
        return value, None


def control_character_error(text: str) -> str | None:
    """Why ``text`` is not one line of printable text (a newline, NUL or other control
    character), or ``None``. Every string of a study passes this check: a newline in a value
    that reaches a shell script or a ``#SBATCH`` line would start a line of its own."""
    for pos, char in enumerate(text):
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            name = unicodedata.name(char, "") or {"\n": "LINE FEED", "\r": "CARRIAGE RETURN",
                                                  "\0": "NUL", "\t": "TAB"}.get(char, "")
            return (f"{text!r} holds the control character U+{ord(char):04X}"
                    f"{' (' + name.lower() + ')' if name else ''} at position {pos}; "
                    "allowed: one line of printable text")
    return None


def _describe(value: Any) -> str:
    name = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list",
            dict: "table"}.get(type(value), type(value).__name__)
    return f"{name} {value!r}" if not isinstance(value, dict) else name


@dataclass
class Schema:
    """A registry of :class:`Field` entries; sections are the prefixes of their paths."""

    fields: dict[str, Field] = field(default_factory=dict)
    #: Sections whose contents are free-form tables (validated elsewhere, e.g. ``sweep``).
    open_sections: set[str] = field(default_factory=set)

    def add(self, *fields: Field) -> None:
        """Register fields; registering the same path twice with a different entry is an error."""
        for f in fields:
            old = self.fields.get(f.path)
            if old is not None and old != f:
                raise ValueError(f"schema field {f.path!r} registered twice with different entries")
            self.fields[f.path] = f

    def add_section(self, prefix: str, fields: Iterable[Field]) -> None:
        """Register fields whose paths are relative to ``prefix`` (``"base.balloon"``)."""
        for f in fields:
            self.add(Field(**{**_as_dict(f), "path": f"{prefix}.{f.path}"}))

    def is_section(self, path: str) -> bool:
        """Whether ``path`` is a proper prefix of a registered field."""
        head = path + "."
        return any(p.startswith(head) for p in self.fields)

    def section_fields(self, prefix: str) -> list[Field]:
        """All fields under ``prefix``, in registration order."""
        head = prefix + "."
        return [f for p, f in self.fields.items() if p.startswith(head)]

    def resolve(
        self, data: dict, prefix: str, issues: list[Issue], lines: Any = None
    ) -> dict:
        """Validate ``data`` (the table at ``prefix``) and return it with defaults filled in.

        Unknown keys, wrong types, out-of-range values and missing required keys are appended
        to ``issues`` (with the line from ``lines``, a :class:`~studies.tomllines.KeyLines`).
        """
        out: dict = {}
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else key
            line = lines.line_of(tuple(path.split("."))) if lines else None
            if path in self.fields:
                conv, err = self.fields[path].convert(value)
                if err:
                    issues.append(Issue(path, err, line))
                out[key] = conv
            elif path in self.open_sections:
                out[key] = value
            elif self.is_section(path):
                if not isinstance(value, dict):
                    issues.append(Issue(path, f"expected a table, got {_describe(value)}", line))
                    continue
                out[key] = self.resolve(value, path, issues, lines)
            else:
                known = sorted({p[len(prefix) + 1 :].split(".")[0] for p in self.fields
                                if p.startswith(prefix + ".")} if prefix else
                               {p.split(".")[0] for p in self.fields} | self.open_sections)
                issues.append(Issue(path, f"unknown key (known here: {', '.join(known)})", line))
        # Fill defaults and report missing required keys for every field under this prefix.
        for f in self.section_fields(prefix) if prefix else self.fields.values():
            rel = f.path[len(prefix) + 1 :].split(".") if prefix else f.path.split(".")
            node = out
            for part in rel[:-1]:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    break
            else:
                if rel[-1] not in node:
                    if f.default is REQUIRED:
                        parent = ".".join(f.path.split(".")[:-1])
                        line = lines.line_of(tuple(parent.split("."))) if lines else None
                        issues.append(Issue(f.path, "missing required key", line))
                    else:
                        node[rel[-1]] = _copy(f.default)
        return out


def _as_dict(f: Field) -> dict:
    return {name: getattr(f, name) for name in Field.__slots__}


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


#: The registry used by :func:`studies.study.load_study`.
SCHEMA = Schema()
