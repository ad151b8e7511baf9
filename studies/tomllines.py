"""Line numbers for keys of a TOML file.

``tomllib`` returns plain dicts without positions, so error messages that must name the line
of a bad key find it here by scanning the file text: table headers (``[a.b]``, ``[[a.b]]``),
``key = value`` lines with dotted and quoted keys, multi-line arrays and inline tables.
The scan is deliberately forgiving: if a path is not found exactly, the line of its closest
ancestor is used, which still points a person at the right place.
"""

from __future__ import annotations

import re

__all__ = ["KeyLines", "split_key"]

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def split_key(text: str) -> tuple[str, ...]:
    """Split a TOML key (``a."b.c".d``) into its parts, removing quotes.

    Args:
        text: The key as written, without the ``=`` and value.

    Returns:
        The key parts; an empty tuple when ``text`` is not a valid key.
    """
    parts: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            break
        if text[i] in "\"'":
            quote = text[i]
            end = text.find(quote, i + 1)
            if end < 0:
                return ()
            parts.append(text[i + 1 : end])
            i = end + 1
        else:
            m = _BARE.match(text, i)
            if not m:
                return ()
            parts.append(m.group(0))
            i = m.end()
        while i < n and text[i] in " \t":
            i += 1
        if i < n:
            if text[i] != ".":
                return ()
            i += 1
    return tuple(parts)


def _key_and_rest(line: str) -> tuple[str, str] | None:
    """Split ``key = value`` at the first ``=`` outside quotes."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "=":
            return line[:i], line[i + 1 :]
        elif ch == "#":
            return None
    return None


def _strip_strings(text: str) -> str:
    """Blank out string literals and comments so brackets inside them are not counted."""
    out: list[str] = []
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 2
                continue
            if ch == quote:
                quote = ""
            out.append(" ")
        elif ch in "\"'":
            quote = ch
            out.append(" ")
        elif ch == "#":
            break
        else:
            out.append(ch)
        i += 1
    return "".join(out)


class KeyLines:
    """Map key paths of a TOML text to their 1-based line numbers.

    Array-of-table entries are addressed by their index, so ``("sweep", "cases", 2, "x")``
    is key ``x`` of the third ``[[sweep.cases]]`` (or of the third inline table of
    ``cases = [...]``).
    """

    def __init__(self, text: str) -> None:
        self._lines: dict[tuple, int] = {}
        table: tuple = ()
        aot_count: dict[tuple[str, ...], int] = {}
        lines = text.splitlines()
        i = 0
        while i < len(lines):
            raw = lines[i]
            stripped = raw.strip()
            lineno = i + 1
            i += 1
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("[["):
                parts = split_key(stripped[2 : stripped.find("]]")])
                idx = aot_count.get(parts, 0)
                aot_count[parts] = idx + 1
                table = (*parts, idx)
                self._set(parts, lineno)
                self._set(table, lineno)
                continue
            if stripped.startswith("["):
                parts = split_key(stripped[1 : stripped.find("]")])
                table = parts
                self._set(table, lineno)
                continue
            split = _key_and_rest(stripped)
            if split is None:
                continue
            key = (*table, *split_key(split[0]))
            self._set(key, lineno)
            # A value that opens more brackets than it closes continues on later lines;
            # record the start line of each inline table of an array (``cases = [{..}, {..}]``).
            depth = 0
            element = 0
            value_lines = [(split[1], lineno)]
            while True:
                chunk, chunk_line = value_lines[-1]
                for ch in _strip_strings(chunk):
                    if ch in "[{":
                        depth += 1
                        if ch == "{" and depth == 2:
                            self._set((*key, element), chunk_line)
                            self._scan_inline(chunk, (*key, element), chunk_line)
                            element += 1
                    elif ch in "]}":
                        depth -= 1
                if depth <= 0 or i >= len(lines):
                    break
                value_lines.append((lines[i], i + 1))
                i += 1

    def _scan_inline(self, chunk: str, prefix: tuple, lineno: int) -> None:
        """Record ``key = `` entries of an inline table on one line (good enough for errors)."""
        start = chunk.find("{")
        body = chunk[start + 1 :]
        for piece in body.split(","):
            split = _key_and_rest(piece.strip().lstrip("{"))
            if split:
                self._set((*prefix, *split_key(split[0])), lineno)

    def _set(self, path: tuple, lineno: int) -> None:
        self._lines.setdefault(path, lineno)

    def line_of(self, path: tuple) -> int | None:
        """Line of ``path`` or of its closest recorded ancestor; ``None`` if nothing matches."""
        path = tuple(path)
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return None
