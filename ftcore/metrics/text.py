"""Which script a text is written in, and the normalisation that exact match compares under.

Chinese text has no spaces between words, so every overlap metric needs to know when it
is looking at Chinese: sacrebleu's default `13a` tokenizer turns a Chinese sentence into
one "word" and rouge-score's default tokenizer drops it entirely. The functions here
decide that once, from the texts, the same way for every metric.

Scope: Chinese (Han characters), English and text that mixes them. Japanese kana and
Korean Hangul are not treated as CJK here; they are out of scope for this project.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Literal

Language = Literal["zh", "en", "mixed"]
LANGUAGES: tuple[Language, ...] = ("zh", "en", "mixed")

# Han ideographs: the basic block, extensions A to H (B+ lie outside the BMP) and the
# compatibility blocks. Punctuation such as "，" is deliberately not included: it is not
# a word, and rouge-score drops ASCII punctuation too.
HAN_RANGES = (
    "\u3400-\u4dbf"  # extension A
    "\u4e00-\u9fff"  # CJK Unified Ideographs
    "\uf900-\ufaff"  # compatibility ideographs
    "\U00020000-\U0002a6df"  # extension B
    "\U0002a700-\U0002ebef"  # extensions C to F
    "\U0002f800-\U0002fa1f"  # compatibility supplement
    "\U00030000-\U0003134f"  # extension G
)
HAN = re.compile(f"[{HAN_RANGES}]")
# Latin letters, accented ones included; digits say nothing about the language.
LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")

# sacrebleu tokenizer per language: "zh" splits Han characters one by one and tokenizes
# the rest like 13a, so it is right for Chinese and for mixed text alike.
BLEU_TOKENIZER: dict[Language, str] = {"zh": "zh", "mixed": "zh", "en": "13a"}
# BLEU's setting when each row picks its tokenizer from its own reference. Not one
# tokenizer for a whole mixed corpus: sacrebleu's `zh` has a range typo ('\u20000')
# that splits U+2000–U+2A6D (curly quotes, dashes, ellipsis) like Han characters, so the
# same English rows scored 62.05 alone and 63.22 once one Chinese row made every row `zh`.
PER_ROW_BLEU = "zh-if-han-else-13a"


def has_han(text: str) -> bool:
    return HAN.search(text) is not None


def detect_language(texts: Iterable[str]) -> Language:
    """'zh' when the texts hold Han characters and no Latin letters, 'mixed' when they hold
    both, 'en' otherwise (also for texts with no letters at all, e.g. only digits).

    One answer for the whole set: scores are only comparable when every example was
    tokenized the same way."""
    han = latin = False
    for text in texts:
        han = han or HAN.search(text) is not None
        latin = latin or LATIN.search(text) is not None
        if han and latin:
            return "mixed"
    return "zh" if han else "en"


def bleu_tokenizer(language: Language) -> str:
    """The sacrebleu `tokenize=` value for a language from detect_language."""
    return BLEU_TOKENIZER[language]


def bleu_setting(language: Language | None) -> str:
    """BLEU's tokenizer for a corpus: 'zh' or '13a' for every row when the caller fixes
    the language to 'zh' or 'en'; PER_ROW_BLEU for 'mixed' or None (not fixed)."""
    return PER_ROW_BLEU if language in (None, "mixed") else bleu_tokenizer(language)


def row_bleu_tokenizer(reference: str) -> str:
    """The tokenizer of one row under PER_ROW_BLEU: `zh` when its reference holds Han
    characters, else `13a`. Decided by the reference alone, so two models' answers to the
    same example are always tokenized alike, and never by any other row."""
    return bleu_tokenizer(detect_language([reference]))


def normalize_for_match(text: str) -> str:
    """The form two texts are compared in by exact match: NFC, case-folded, surrounding
    whitespace stripped and inner runs of whitespace (the ideographic space U+3000
    included) collapsed to one space.

    Full-width and half-width punctuation are *not* conflated ("好！" ≠ "好!"): that would
    need NFKC, which also rewrites "，" to "," and "２" to "2". In Chinese the choice of
    punctuation is part of the answer, and a label set that mixes widths should be
    cleaned, not silently forgiven."""
    # Unicode's canonical caseless match is NFD(casefold(NFD(x))); NFC at the end gives
    # the same equality and keeps the composed form that people read.
    folded = unicodedata.normalize("NFD", text).casefold()
    return " ".join(unicodedata.normalize("NFC", folded).split())
