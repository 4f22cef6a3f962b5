"""Language detection (which picks BLEU's tokenizer) and exact-match normalisation."""

import pytest

from ftcore.metrics.text import bleu_tokenizer, detect_language, has_han, normalize_for_match


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (["新年快乐，万事如意！"], "zh"),
        (["新年快乐", "身体健康 2024"], "zh"),  # digits are not Latin letters
        (["Happy new year!", "Best wishes"], "en"),
        (["新年快乐", "Happy new year"], "mixed"),  # mixed across texts
        (["祝你 Happy New Year"], "mixed"),  # mixed inside one text
        (["Café crème"], "en"),  # accented Latin is Latin
        (["12345", "!!"], "en"),  # no letters at all: 13a is as good as any
        ([""], "en"),
        ([], "en"),
        (["𠀀𠀁"], "zh"),  # extension B ideographs, outside the BMP
        (["，。！"], "en"),  # CJK punctuation alone is not Chinese text
    ],
)
def test_detect_language(texts, expected):
    assert detect_language(texts) == expected


def test_detect_language_reads_a_generator_once():
    assert detect_language(text for text in ["新年好", "hello"]) == "mixed"


@pytest.mark.parametrize(("language", "tokenizer"), [("zh", "zh"), ("mixed", "zh"), ("en", "13a")])
def test_bleu_tokenizer_per_language(language, tokenizer):
    assert bleu_tokenizer(language) == tokenizer


def test_has_han():
    assert has_han("a新b") and not has_han("abc，。")


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("  Warm ", "warm", True),  # strip and case
        ("温馨\u3000", "温馨", True),  # the ideographic space is whitespace
        ("happy \t new\n year", "Happy New Year", True),  # inner whitespace collapsed
        ("e\u0301", "\u00e9", True),  # NFC: decomposed é equals composed é
        ("STRASSE", "straße", True),  # casefold, not lower
        ("好！", "好!", False),  # full-width and half-width punctuation stay different
        ("２０２４", "2024", False),  # full-width digits too (no NFKC)
        ("温馨", "温暖", False),
        ("", "   ", True),  # empty and whitespace-only are both ""
    ],
)
def test_normalize_for_match(a, b, equal):
    assert (normalize_for_match(a) == normalize_for_match(b)) is equal


def test_normalize_for_match_keeps_chinese_punctuation():
    assert normalize_for_match(" 新年快乐，\u3000万事如意！ ") == "新年快乐， 万事如意！"
