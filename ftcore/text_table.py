"""Plain-text tables for a terminal: each column as wide as its widest cell on screen.

A CJK character takes two terminal columns (`unicodedata.east_asian_width` W or F) and a
combining mark none, so widths are counted in display columns, not in characters: padding
with `str.ljust` misaligns every row that holds Chinese or a long model name.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

WIDE = ("W", "F")  # East Asian Wide and Fullwidth: two columns each


def display_width(text: str) -> int:
    """How many terminal columns `text` takes."""
    return sum(
        0 if unicodedata.combining(char) else 2 if unicodedata.east_asian_width(char) in WIDE else 1
        for char in text
    )


def pad(text: str, width: int, align: str = "l") -> str:
    """`text` padded with spaces to `width` display columns, on the right for align 'l'
    and on the left for 'r'."""
    fill = " " * max(0, width - display_width(text))
    return text + fill if align == "l" else fill + text


def format_text_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], align: str, *, gap: int = 2
) -> str:
    """Header and rows of already formatted cells, one `align` letter per column ('l' or
    'r'), columns `gap` spaces apart; no line ends in spaces."""
    if len(align) != len(header) or any(len(row) != len(header) for row in rows):
        raise ValueError(f"every row and `align` need {len(header)} cells, one per column")
    table = [list(header), *(list(row) for row in rows)]
    widths = [max(display_width(row[i]) for row in table) for i in range(len(header))]
    spacer = " " * gap
    lines = (
        spacer.join(pad(cell, w, a) for cell, w, a in zip(row, widths, align, strict=True))
        for row in table
    )
    return "\n".join(line.rstrip() for line in lines)
