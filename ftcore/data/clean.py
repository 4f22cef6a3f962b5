"""Cleaning rules for message text, each switchable and each counted in a report.

Every text is first put in Unicode NFC and given plain "\\n" line breaks. NFC, not NFKC:
NFKC folds compatibility characters, turning the Chinese full-width comma "，" into ","
and full-width letters into ASCII, which changes what a Chinese model learns to write.
NFC only joins decomposed accents, so text that looks the same stays the same.

The switchable rules run in a fixed order (masking before removal, so that a masked
e-mail is not also deleted; whitespace last, to tidy what the other rules left behind).
Rules that delete meaning (URLs, e-mail addresses) are off by default.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields

from ftcore.chat_format import Message
from ftcore.errors import ConfigError, did_you_mean


@dataclass(frozen=True)
class CleaningSettings:
    """Which rules run; each is counted in the CleaningReport whether or not it changes text."""

    html: bool = True  # remove HTML tags and decode entities (&amp; → &)
    control_chars: bool = True  # remove control and zero-width characters (not \n, \t)
    mask_emails: bool = False  # replace e-mail addresses with [EMAIL]
    emails: bool = False  # remove e-mail addresses
    urls: bool = False  # remove http(s):// and www. links
    mask_phones: bool = False  # replace phone numbers with [PHONE]
    whitespace: bool = True  # collapse runs of spaces/tabs and of blank lines, trim

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


@dataclass
class RuleCount:
    rows: int = 0  # rows with at least one change by this rule
    matches: int = 0  # changes in all


@dataclass
class CleaningReport:
    """How many rows and matches each rule changed ("normalise" is NFC + line breaks)."""

    settings: CleaningSettings = field(default_factory=CleaningSettings)
    counts: dict[str, RuleCount] = field(
        default_factory=lambda: {name: RuleCount() for name in ("normalise", *RULES)}
    )

    def to_json(self) -> dict:
        enabled = {name: getattr(self.settings, name) for name in RULES}
        enabled["normalise"] = True
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
        for name, matches in hits.items():
            self.report.counts[name].rows += 1
            self.report.counts[name].matches += matches
        return cleaned
