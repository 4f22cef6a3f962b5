"""Split a JSON array (or concatenated objects) into rows without loading the file whole.

Valid JSON cannot hold a raw line break inside a string, so every token lies on one line
and the file can be scanned line by line: brackets are counted outside strings, and the
text of each top-level element is parsed on its own. A broken element becomes one reject
and the scan goes on with the next one. An element left unclosed ends where the next one
visibly begins: a line opening with '{' no deeper than the element's own first line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ftcore.data.encoding import Line
from ftcore.data.records import BAD_ENCODING, BROKEN_JSON, NOT_AN_OBJECT, RawRow, RowProblem

# A string (an unclosed one runs to the end of the line) or a bracket.
TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')
OPENER_OF = {"]": "[", "}": "{"}


@dataclass
class _Element:
    line: int  # where the element starts
    indent: int | None  # indentation of that line when the element opens it, else None
    pieces: list[str] = field(default_factory=list)
    stack: list[str] = field(default_factory=list)  # brackets open inside the element
    ok: bool = True  # False once one of its lines could not be decoded


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" \t"))


class _Scanner:
    """Feed lines in order; each call returns the rows that ended on that line."""

    def __init__(self, encoding: str):
        self.encoding = encoding
        self.state = "start"  # start → array (inside '[') or objects → after (past ']')
        self.element: _Element | None = None

    def feed(self, line: Line) -> list[RawRow]:
        rows: list[RawRow] = []
        text = line.text
        if self._opens_next_row(text):
            rows.append(self._close(line, "", f"the row is not closed before line {line.number}"))
        if self.element and not line.ok:
            self.element.ok = False
        cursor = piece_start = 0  # end of the text handled; start of the row's text
        for match in TOKEN.finditer(text):
            if self.element is None:
                rows.extend(self._outside(text[cursor : match.start()], line))
                rows.extend(self._top_level_token(match.group(), line, match.start()))
                cursor = match.end()
                piece_start = match.start() if self.element is not None else cursor
                continue
            ended = self._inner_token(match.group())
            if ended == "row":
                rows.append(self._close(line, text[piece_start : match.end()]))
                cursor = match.end()
            elif ended == "array":  # the array closes while the row is still open
                piece = text[piece_start : match.start()]
                rows.append(self._close(line, piece, "the row is not closed"))
                self.state, cursor = "after", match.end()
        if self.element is not None:
            self.element.pieces.append(text[piece_start:] + "\n")
        else:
            rows.extend(self._outside(text[cursor:], line))
        return rows

    def _opens_next_row(self, text: str) -> bool:
        """True when an open row's next line starts a new row at the row's own depth."""
        element = self.element
        return (
            element is not None
            and element.indent is not None
            and text.lstrip(" \t").startswith("{")
            and _indent(text) <= element.indent
        )

    def _inner_token(self, token: str) -> str | None:
        """Track brackets inside a row: 'row' when it closes, 'array' when the array
        closes around it, else None."""
        stack = self.element.stack
        if token.startswith('"'):
            return None
        if token in "{[":
            stack.append(token)
            return None
        opener = OPENER_OF[token]
        if opener in stack:  # a mismatched closer in between is left for json to report
            while stack.pop() != opener:
                pass
            return None if stack else "row"
        if token == "]" and self.state == "array":
            return "array"
        return None

    def finish(self, last: Line | None) -> list[RawRow]:
        if self.element is None or last is None:
            return []
        return [self._close(last, "", "the file ends inside this row")]

    def _top_level_token(self, token: str, line: Line, column: int) -> list[RawRow]:
        if self.state == "start":
            self.state = "objects" if token == "{" else "array"
            if token == "[":
                return []
        if token in "{[" and self.state != "after":
            opens_line = not line.text[:column].strip()
            indent = _indent(line.text) if opens_line and token == "{" else None
            self.element = _Element(line.number, indent, stack=[token], ok=line.ok)
            return []
        if token == "]" and self.state == "array":
            self.state = "after"
            return []
        return self._outside(token, line)

    def _outside(self, gap: str, line: Line) -> list[RawRow]:
        """Text between rows: only commas and whitespace belong there."""
        stray = gap.strip(" \t,")
        if not stray:
            return []
        if not line.ok:
            problem = RowProblem(BAD_ENCODING, None, f"the line is not valid {self.encoding}")
        elif self.state == "after":
            problem = RowProblem(BROKEN_JSON, None, "text after the closing ']' of the array")
        else:
            problem = RowProblem(NOT_AN_OBJECT, None, f"a value that is not an object: {stray}")
        return [RawRow(line.number, None, stray, line.offset, problem)]

    def _close(self, line: Line, last_piece: str, broken: str | None = None) -> RawRow:
        element, self.element = self.element, None
        assert element is not None
        raw = "".join(element.pieces) + last_piece
        if not element.ok:
            problem = RowProblem(BAD_ENCODING, None, f"the row is not valid {self.encoding}")
            return RawRow(element.line, None, raw, line.offset, problem)
        if broken:
            problem = RowProblem(BROKEN_JSON, None, f"not valid JSON: {broken}")
            return RawRow(element.line, None, raw.rstrip(), line.offset, problem)
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            where = f"line {element.line + exc.lineno - 1}, column {exc.colno}"
            problem = RowProblem(BROKEN_JSON, None, f"not valid JSON: {exc.msg} ({where})")
            return RawRow(element.line, None, raw, line.offset, problem)
        return RawRow(element.line, data, raw, line.offset)


def iter_json_rows(lines: Iterable[Line], encoding: str) -> Iterator[RawRow]:
    """The rows of a JSON array `[{...}, ...]` or of objects written one after another."""
    scanner = _Scanner(encoding)
    last = None
    for line in lines:
        last = line
        yield from scanner.feed(line)
    yield from scanner.finish(last)
