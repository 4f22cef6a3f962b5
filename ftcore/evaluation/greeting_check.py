"""Whether a reply is a clean Chinese greeting: the demo's pass mark for a default run.

A tiny demo model after a short fine-tune can write fluent-looking but broken text; this
check names what a new user would call broken. The blessing phrases are the greeting
data's own vocabulary (data/greetings): 454 of its 460 reference replies contain one, and
444 are at least 70% Chinese characters (438, 95%, pass the whole check). Loops are caught
in two forms, one character ("新年年年年年年") and a phrase ("福气满满，" three times);
no reference greeting repeats a 2-10 character phrase three times running, and every one
uses at least 19 different Chinese characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

BLESSINGS = (
    "祝",
    "愿",
    "福",
    "快乐",
    "安康",
    "如意",
    "吉祥",
    "顺利",
    "顺遂",
    "健康",
    "平安",
    "幸福",
    "兴旺",
    "红火",
    "团圆",
    "大吉",
    "拜年",
    "过年好",
    "新年好",
    "新春",
    "愉快",
)
_CHINESE = re.compile(r"[\u4e00-\u9fff]")
MIN_CHINESE_SHARE = 0.7  # of letters and digits; the references' mixed-language rows fall below
MAX_RUN = 5  # a character repeated six times in a row is a decoding loop
_RUN = re.compile(rf"(.)\1{{{MAX_RUN}}}", re.S)
_PHRASE_LOOP = re.compile(r"(.{2,10})\1\1", re.S)  # a short phrase, three times running
MIN_DISTINCT_CHINESE = 8  # fewer says nothing, however well-formed


def chinese_share(text: str) -> float:
    """CJK ideographs among the letters and digits of `text` (0 when it has none)."""
    chars = [c for c in text if c.isalnum()]
    return len(_CHINESE.findall("".join(chars))) / len(chars) if chars else 0.0


def greeting_problems(reply: str) -> list[str]:
    """What keeps `reply` from being a clean Chinese greeting; empty when it is one."""
    problems = []
    if "\ufffd" in reply:
        problems.append("contains U+FFFD (a broken character)")
    if (share := chinese_share(reply)) < MIN_CHINESE_SHARE:
        problems.append(f"only {share:.0%} Chinese characters (needs {MIN_CHINESE_SHARE:.0%})")
    if not any(phrase in reply for phrase in BLESSINGS):
        problems.append("no blessing phrase")
    if run := _RUN.search(reply):
        problems.append(f"{run.group(1)!r} repeated more than {MAX_RUN} times in a row")
    elif loop := _PHRASE_LOOP.search(reply):
        problems.append(f"{loop.group(1)!r} repeated three times in a row")
    if (distinct := len(set(_CHINESE.findall(reply)))) < MIN_DISTINCT_CHINESE:
        problems.append(f"only {distinct} different Chinese characters")
    return problems


def clean_greeting_rate(replies: Iterable[str]) -> float:
    """The share of `replies` with no greeting problem."""
    replies = list(replies)
    if not replies:
        raise ValueError("no replies to check")
    return sum(not greeting_problems(r) for r in replies) / len(replies)
