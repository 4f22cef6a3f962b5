"""Extract modern prose from Debian documentation packages for the demo model's corpus.

The demo model needs modern Chinese and English prose, and Debian ships free-licensed
documentation that anyone can install with apt. This module turns those packages'
HTML and man pages into plain paragraphs, keeping prose and dropping what would teach the
model to write shell: command listings, tables, tables of contents, code-heavy lines.

    apt-get install -y fortunes-zh debian-reference-zh-cn debian-faq-zh-cn \\
        maint-guide-zh-cn manpages-zh debian-reference-en
"""

from __future__ import annotations

import gzip
import html.parser
import logging
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("build_demo_model")


@dataclass(frozen=True)
class DebianSource:
    name: str  # corpus source name, e.g. "debian/debian-reference-zh-cn"
    package: str
    licence: str  # as the package's copyright file states it
    files: str  # glob over the filesystem root
    kind: str  # "html" or "man"
    language: str  # "zh" or "en"


DEBIAN_SOURCES = (
    DebianSource(
        "debian/debian-reference-zh-cn",
        "debian-reference-zh-cn",
        "GPL-2+",
        "usr/share/debian-reference/*.zh-cn.html",
        "html",
        "zh",
    ),
    DebianSource(
        "debian/debian-faq-zh-cn",
        "debian-faq-zh-cn",
        "Debian FAQ licence (verbatim and modified copies permitted, SPI 1996-2003)",
        "usr/share/doc/debian/FAQ/zh-cn/*.zh-cn.html",
        "html",
        "zh",
    ),
    DebianSource(
        "debian/maint-guide-zh-cn",
        "maint-guide-zh-cn",
        "GPL-2.0+",
        "usr/share/doc/maint-guide-zh-cn/html/*.zh-cn.html",
        "html",
        "zh",
    ),
    DebianSource(
        "debian/manpages-zh",
        "manpages-zh",
        "GFDL-1.2+",
        "usr/share/man/zh_CN/man*/*.gz",
        "man",
        "zh",
    ),
    DebianSource(
        "debian/debian-reference-en",
        "debian-reference-en",
        "GPL-2+",
        "usr/share/debian-reference/*.en.html",
        "html",
        "en",
    ),
)
# fortunes-zh holds the classical poems and sayings that build_demo_model.py reads itself
REQUIRED_PACKAGES = ("fortunes-zh", *(s.package for s in DEBIAN_SOURCES))
APT_COMMAND = "apt-get install -y " + " ".join(REQUIRED_PACKAGES)

CJK = re.compile(r"[\u4e00-\u9fff]")
# characters that mark code, paths and markup rather than prose
CODE_CHARS = re.compile(r"[/$=_{}<>|\\`#*~^@\[\]]")
# the old CMPP man page translations put spaces between words: 程序 维护 的 -> 程序维护的
SPACE_BETWEEN_CJK = re.compile(
    r"(?<=[\u4e00-\u9fff，。、；：！？”）])\s+(?=[\u4e00-\u9fff，。、；：！？“（])"
)
MAX_DOC_CHARS = 1500
SKIP_TAGS = {"pre", "table", "script", "style", "head"}
MAX_CODE_SPANS = 3  # a paragraph naming more commands or files than this is a listing


class _ProseParser(html.parser.HTMLParser):
    """Text of <p> elements outside pre/table/tables of contents, if few <code> spans."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self._skip: tuple[str, int] | None = None  # (tag being skipped, its nesting depth)
        self._in_p = False
        self._buf: list[str] = []
        self._code_spans = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if self._skip:
            if tag == self._skip[0]:
                self._skip = (tag, self._skip[1] + 1)
            return
        if tag in SKIP_TAGS or "toc" in (dict(attrs).get("class") or "").split():
            self._skip = (tag, 1)
        elif tag == "code":
            self._code_spans += 1
        elif tag == "p":
            self._in_p, self._buf, self._code_spans = True, [], 0

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            if tag == self._skip[0]:
                depth = self._skip[1] - 1
                self._skip = (tag, depth) if depth else None
            return
        if tag == "p" and self._in_p:
            self._in_p = False
            if self._code_spans <= MAX_CODE_SPANS:
                self.paragraphs.append("".join(self._buf))

    def handle_data(self, data: str) -> None:
        if self._in_p and not self._skip:
            self._buf.append(data)


def tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return SPACE_BETWEEN_CJK.sub("", text)


def is_prose(text: str, language: str) -> bool:
    """Long enough, few code characters, and (for Chinese sources) mostly Chinese."""
    if len(text) < 20 or len(CODE_CHARS.findall(text)) > 0.02 * len(text):
        return False
    if language == "zh":
        letters = [c for c in text if not c.isspace()]
        return len(CJK.findall(text)) >= 0.4 * len(letters)
    words = re.findall(r"[A-Za-z]+", text)
    return len(words) >= 8 and text[-1] in ".:?!)\"'"


def html_paragraphs(path: Path) -> list[str]:
    parser = _ProseParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return [tidy(p) for p in parser.paragraphs]


def man_paragraphs(path: Path) -> list[str]:
    """Render with groff (preconv for UTF-8, a very long line so a paragraph is one line)."""
    source = gzip.decompress(path.read_bytes())
    rendered = subprocess.run(
        ["groff", "-k", "-Tutf8", "-mandoc", "-rLL=5000n", "-P-cbou"],
        input=source,
        capture_output=True,
        check=False,
    ).stdout.decode("utf-8", errors="replace")
    # prose lines are indented 7 spaces; option tags and examples are indented further
    return [tidy(line) for line in rendered.splitlines() if re.match(r"^ {7}\S", line)]


def chunk(paragraphs: list[str]) -> list[str]:
    """Consecutive paragraphs joined into documents of at most MAX_DOC_CHARS characters."""
    docs, current = [], ""
    for para in paragraphs:
        if current and len(current) + len(para) + 1 > MAX_DOC_CHARS:
            docs.append(current)
            current = ""
        current = f"{current}\n{para}" if current else para
    return docs + [current] if current else docs


def package_version(package: str) -> str | None:
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=False
    )
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else None


def load_debian_source(source: DebianSource, root: Path = Path("/")) -> list[str]:
    """The source's prose documents, in a fixed (sorted-file) order."""
    files = sorted(root.glob(source.files))
    reader = html_paragraphs if source.kind == "html" else man_paragraphs
    docs, seen = [], set()
    for path in files:
        kept = []
        for para in reader(path):
            if is_prose(para, source.language) and para not in seen:
                seen.add(para)  # the FAQ and reference repeat licence boilerplate per page
                kept.append(para)
        docs += chunk(kept)
    log.info("%s: %d files -> %d documents", source.name, len(files), len(docs))
    return docs
