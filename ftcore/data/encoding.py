"""Detect a text file's encoding and read its lines, numbered, with plain line breaks.

The encoding is told from the first bytes: a byte-order mark, the null-byte pattern of
UTF-16, then whichever of UTF-8 and GB18030 (a superset of GBK and GB2312) decodes more
of the sample's lines. UTF-8 and GB18030 files are read as bytes and decoded line by
line, so one undecodable line becomes one reject instead of failing the file. CRLF and
CR line endings become line breaks here; everything else about the text is left to the
cleaning step.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from ftcore.errors import DataError

SAMPLE_BYTES = 1 << 16  # enough text to tell encodings and file types apart
BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
LIKELY = ("utf-8", "gb18030")  # tried in this order; GB18030 covers GBK and GB2312
MAX_BAD_LINE_SHARE = 0.1  # lines of the sample that may fail to decode in the chosen encoding


class Line(NamedTuple):
    number: int  # 1-based
    text: str  # without its line break; undecodable bytes shown as U+FFFD
    ok: bool  # False when the line's bytes are not valid in the file's encoding
    offset: int  # bytes of the file read so far, for progress


def read_head(path: Path) -> bytes:
    with open(path, "rb") as file:
        return file.read(SAMPLE_BYTES)


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def encoding_of(head: bytes, name: str = "the file") -> str:
    """The encoding of a file whose first bytes are `head` (a Python codec name)."""
    for bom, encoding in BOMS:
        if head.startswith(bom):
            return encoding
    half = max(len(head) // 2, 1)
    even_zeros, odd_zeros = head[0::2].count(0), head[1::2].count(0)
    # ASCII-range text in UTF-16 has a zero byte in every other position.
    if odd_zeros > 0.3 * half and even_zeros < 0.05 * half:
        return "utf-16-le"
    if even_zeros > 0.3 * half and odd_zeros < 0.05 * half:
        return "utf-16-be"
    if b"\x00" in head:
        raise DataError(f"{name} is not a text file (it contains binary data)")
    # Line by line, so that one stray line in another encoding does not decide for the
    # file: it becomes one reject when the file is read.
    lines = head.split(b"\n")
    if len(head) == SAMPLE_BYTES and len(lines) > 1:
        lines.pop()  # the sample may end inside a character
    bad = {encoding: sum(not _decodes(line, encoding) for line in lines) for encoding in LIKELY}
    best = min(LIKELY, key=bad.__getitem__)  # on a tie, UTF-8
    if bad[best] <= max(1, MAX_BAD_LINE_SHARE * len(lines)):
        return best
    import charset_normalizer

    best = charset_normalizer.from_bytes(head).best()
    if best is None:
        raise DataError(f"cannot tell the text encoding of {name}; save it as UTF-8")
    return best.encoding


def detect_encoding(path: Path) -> str:
    return encoding_of(read_head(path), str(path))


def iter_lines(path: Path, encoding: str) -> Iterator[Line]:
    """Lines of a text file; UTF-16/32 is decoded as a stream, others line by line."""
    if encoding.replace("_", "-").lower().startswith(("utf-16", "utf-32")):
        yield from _iter_wide_lines(path, encoding)
        return
    number = offset = 0
    with open(path, "rb") as file:
        for data in file:  # b"\n" never occurs inside a UTF-8 or GB18030 character
            offset += len(data)
            ok = True
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                ok, text = False, data.decode(encoding, errors="replace")
            text = text.removesuffix("\n").removesuffix("\r")
            for part in text.split("\r"):  # a lone CR is a line break too
                number += 1
                yield Line(number, part, ok, offset)


def _iter_wide_lines(path: Path, encoding: str) -> Iterator[Line]:
    with open(path, "rb") as binary:
        text_file = io.TextIOWrapper(binary, encoding=encoding, errors="replace", newline=None)
        for number, text in enumerate(text_file, start=1):
            yield Line(number, text.removesuffix("\n"), "\ufffd" not in text, binary.tell())
