"""Cleaning rules for message text, each switchable and each counted in a report.

Every text is first put in Unicode NFC and given plain "\\n" line breaks. NFC, not NFKC:
NFKC folds compatibility characters, turning the Chinese full-width comma "，" into ","
and full-width letters into ASCII, which changes what a Chinese model learns to write.
NFC only joins decomposed accents, so text that looks the same stays the same.

The switchable rules run in a fixed order (masking before removal, so that a masked
e-mail is not also deleted; whitespace last, to tidy what the other rules left behind).
HTML tags, URLs and e-mail addresses are removed by default, as fine-tuning guides teach
("正则移除HTML标签、URL、邮箱"): a model should not learn to write links or addresses it
cannot know. Each rule can be switched off.

The low-quality filter (off by default) rejects whole rows rather than editing them:
replies too short to teach anything, runs of one letter ("年年年年年年"), and mojibake
(U+FFFD, or UTF-8/GBK bytes that were read as Latin-1). Its checks are heuristics, so a
rejected row keeps its reason in rejected.jsonl and can be looked at.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields

from ftcore.chat_format import Message
from ftcore.data.records import LOW_QUALITY, RowProblem
from ftcore.errors import ConfigError, did_you_mean


def _rule(default: bool, help: str):
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class CleaningSettings:
    """Which rules run; each is counted in the CleaningReport whether or not it changes text."""

    html: bool = _rule(True, "remove HTML tags, decode entities (&amp; → &)")
    control_chars: bool = _rule(True, "remove control and zero-width characters")
    mask_emails: bool = _rule(False, "mask e-mail addresses as [EMAIL] (wins over removing)")
    emails: bool = _rule(True, "remove e-mail addresses")
    urls: bool = _rule(True, "remove URLs (http(s)://, www.)")
    mask_phones: bool = _rule(False, "mask phone numbers as [PHONE]")
    whitespace: bool = _rule(True, "collapse runs of spaces and blank lines, trim")
    low_quality: bool = _rule(
        False, "reject low-quality rows: replies too short, one letter repeated, mojibake"
    )

    def with_rules(self, on: Iterable[str] = (), off: Iterable[str] = ()) -> CleaningSettings:
        """A copy with the named rules switched on or off; unknown names raise."""
        names = [f.name for f in fields(self)]
        values = {name: getattr(self, name) for name in names}
        for rule, state in [(r, True) for r in on] + [(r, False) for r in off]:
            if rule not in names:
                raise ConfigError(
                    "clean", rule, f"one of {', '.join(names)}.{did_you_mean(rule, names)}"
                )
            values[rule] = state
        return CleaningSettings(**values)


def rule_help() -> dict[str, str]:
    """Each switch of CleaningSettings and what it does."""
    return {f.name: f.metadata["help"] for f in fields(CleaningSettings)}


EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# ASCII URL characters only, so a link written straight into Chinese text ends where
# the Chinese starts ("详见https://a.cn了解" keeps "了解").
URL = re.compile(r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
TRAILING_URL_PUNCTUATION = ".,;:!?)]'"
PHONE = re.compile(
    r"(?<![\d+])(?:"
    r"(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}"  # mainland China mobile
    r"|\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){1,3}"  # international
    r"|\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}"  # North American
    r"|0\d{2,3}-\d{7,8}"  # Chinese landline with area code
    r")(?!\d)"
)
HTML_TAG = re.compile(r"<!--.*?-->|</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>", re.DOTALL)
HTML_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u2060\ufeff]")
SPACES = re.compile(r"[ \t]{2,}")  # not U+3000: Chinese indents paragraphs with it
SPACE_AT_LINE_END = re.compile(r"[ \t]+\n")
BLANK_LINES = re.compile(r"\n{3,}")

MIN_REPLY_CHARS = 4  # an assistant reply with fewer non-space characters is too short
REPEATED_LETTER = re.compile(r"([^\W\d_])\1{5,}")  # one letter or hanzi 6+ times; not digits
# A character that a UTF-8 continuation byte (0x80-0xBF) becomes when read as Latin-1 or
# Windows-1252, e.g. the "–°" of "æ–°" (新).
_CONTINUATION = (
    "[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a"
    "\u20ac\u2122]"
)
MOJIBAKE = re.compile(
    "\ufffd"  # the replacement character: bytes were already lost
    # UTF-8 characters read as Latin-1, 2-byte ("Ã©" is é) or 3-byte (all of CJK: "æ–°")
    f"|(?:[\u00c2-\u00df]{_CONTINUATION}|[\u00e0-\u00ef]{_CONTINUATION}{{2}})+"
    # GBK read as Latin-1 ("ÐÂÄê¿ìÀÖ" is 新年快乐); real words rarely run 4 such letters
    "|[\u00a1-\u00ff]{4,}"
)


def _strip_url(match: re.Match) -> str:
    url = match.group()
    kept = url.rstrip(TRAILING_URL_PUNCTUATION)  # the sentence's full stop is not the URL's
    return url[len(kept) :]


def _html(text: str) -> tuple[str, int]:
    text, tags = HTML_TAG.subn("", text)
    entities = len(HTML_ENTITY.findall(text))
    return (html.unescape(text) if entities else text), tags + entities


def _whitespace(text: str) -> tuple[str, int]:
    text, spaces = SPACES.subn(" ", text)
    text, ends = SPACE_AT_LINE_END.subn("\n", text)
    text, blanks = BLANK_LINES.subn("\n\n", text)
    stripped = text.strip(" \t\n")  # not U+3000, which may indent the first paragraph
    return stripped, spaces + ends + blanks + int(stripped != text)


# name → text → (new text, number of matches), in the order they run
RULES: dict[str, Callable[[str], tuple[str, int]]] = {
    "control_chars": lambda text: CONTROL.subn("", text),
    "html": _html,
    "mask_emails": lambda text: EMAIL.subn("[EMAIL]", text),
    "emails": lambda text: EMAIL.subn("", text),
    "urls": lambda text: URL.subn(_strip_url, text),
    "mask_phones": lambda text: PHONE.subn("[PHONE]", text),
    "whitespace": _whitespace,
}


def normalise_text(text: str) -> str:
    """NFC and "\\n" line breaks: the form every stored text has."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def _too_short(message: Message) -> str | None:
    if message["role"] != "assistant":
        return None
    length = len("".join(message["content"].split()))
    if length >= MIN_REPLY_CHARS:
        return None
    return f"the reply is {length} characters long without spaces, under {MIN_REPLY_CHARS}"


def _repeated_chars(message: Message) -> str | None:
    match = REPEATED_LETTER.search(message["content"])
    if match is None:
        return None
    return f"{match.group(1)!r} {len(match.group())} times in a row"


def _mojibake(message: Message) -> str | None:
    match = MOJIBAKE.search(message["content"])
    if match is None:
        return None
    if match.group() == "\ufffd":
        return "U+FFFD, the mark of bytes lost when the text was decoded"
    return f"mojibake {match.group()!r}: text decoded with the wrong encoding"


# the low-quality filter's checks: name → message → why it is low quality, or None
QUALITY_CHECKS: dict[str, Callable[[Message], str | None]] = {
    "too_short": _too_short,
    "repeated_chars": _repeated_chars,
    "mojibake": _mojibake,
}


@dataclass
class RuleCount:
    rows: int = 0  # rows with at least one change by this rule
    matches: int = 0  # changes in all


@dataclass
class CleaningReport:
    """How many rows and matches each rule changed ("normalise" is NFC + line breaks),
    and how many rows each low-quality check flagged (matches: messages flagged)."""

    settings: CleaningSettings = field(default_factory=CleaningSettings)
    counts: dict[str, RuleCount] = field(
        default_factory=lambda: {
            name: RuleCount() for name in ("normalise", *RULES, *QUALITY_CHECKS)
        }
    )

    def to_json(self) -> dict:
        enabled = {name: getattr(self.settings, name) for name in RULES}
        enabled["normalise"] = True
        enabled.update(dict.fromkeys(QUALITY_CHECKS, self.settings.low_quality))
        return {
            name: {"enabled": enabled[name], "rows": count.rows, "matches": count.matches}
            for name, count in self.counts.items()
        }


class Cleaner:
    """Applies the enabled rules to conversations and counts what each one changed."""

    def __init__(self, settings: CleaningSettings | None = None):
        self.settings = settings or CleaningSettings()
        self.report = CleaningReport(self.settings)
        self.rules = [(name, rule) for name, rule in RULES.items() if getattr(self.settings, name)]

    def clean_text(self, text: str, hits: dict[str, int]) -> str:
        normalised = normalise_text(text)
        if normalised != text:
            hits["normalise"] = hits.get("normalise", 0) + 1
        text = normalised
        for name, rule in self.rules:
            text, matches = rule(text)
            if matches:
                hits[name] = hits.get(name, 0) + matches
        return text

    def clean_messages(self, messages: list[Message]) -> list[Message]:
        """Cleaned copies of the messages; the row counts once per rule that changed it."""
        hits: dict[str, int] = {}
        cleaned = [
            {**message, "content": self.clean_text(message["content"], hits)}
            for message in messages
        ]
        self._count(hits)
        return cleaned

    def check_quality(self, messages: list[Message], fields: list[str]) -> None:
        """Raise RowProblem(LOW_QUALITY) naming every check the row fails, when the
        low-quality filter is on; each failing check counts the row once."""
        if not self.settings.low_quality:
            return
        hits: dict[str, int] = {}
        problems: list[tuple[str, str]] = []
        for message, where in zip(messages, fields, strict=True):
            for name, check in QUALITY_CHECKS.items():
                reason = check(message)
                if reason is not None:
                    hits[name] = hits.get(name, 0) + 1
                    problems.append((where, reason))
        if problems:
            self._count(hits)
            reasons = "; ".join(
                reason if where == problems[0][0] else f"{where}: {reason}"
                for where, reason in problems
            )
            raise RowProblem(LOW_QUALITY, problems[0][0], f"low quality: {reasons}")

    def _count(self, hits: dict[str, int]) -> None:
        for name, matches in hits.items():
            self.report.counts[name].rows += 1
            self.report.counts[name].matches += matches
