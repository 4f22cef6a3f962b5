"""ROUGE with CJK characters as tokens: rouge-score's own numbers on English, hand-computed
numbers on Chinese and mixed text, and a bit-parallel LCS held equal to the DP table."""

import random

import pytest
from rouge_score import rouge_scorer

from ftcore.metrics.rouge import CjkLatinTokenizer, lcs_length, rouge_l, rouge_scores

TYPES = ["rouge1", "rouge2", "rougeL"]
ENGLISH_PAIRS = [
    ("The cat sat on the mat.", "The cat is on the mat"),
    ("Happy New Year to you and your family!", "Wishing you and your family a happy new year."),
    ("Police killed the gunman", "The gunman was shot down by police"),
    ("It's 2024, and we're all 100% ready!!", "2024: we are ready (100 %)"),
    ("Café au lait, s'il vous plaît", "cafe au lait"),  # é is not [a-z0-9]: default splits there
    ("\u212aelvin", "kelvin"),  # KELVIN SIGN lowercases to ASCII "k"
    ("", "something"),
    ("same same same", "same same same"),
    ("a b a b a b", "b a b a"),
]


@pytest.mark.parametrize(("prediction", "reference"), ENGLISH_PAIRS)
def test_english_equals_rouge_score_defaults_exactly(prediction, reference):
    default = rouge_scorer.RougeScorer(TYPES).score(reference, prediction)
    assert rouge_scores(prediction, reference) == {t: default[t].fmeasure for t in TYPES}


@pytest.mark.parametrize(("prediction", "reference"), ENGLISH_PAIRS)
def test_tokenizer_equals_the_default_tokenizer_on_english(prediction, reference):
    from rouge_score.tokenizers import DefaultTokenizer

    for text in (prediction, reference):
        assert CjkLatinTokenizer().tokenize(text) == DefaultTokenizer().tokenize(text)


def test_identical_chinese_scores_one_where_the_default_scores_zero():
    text = "新年快乐，万事如意！"
    default = rouge_scorer.RougeScorer(TYPES).score(text, text)
    assert all(default[t].fmeasure == 0.0 for t in TYPES)  # the pitfall: CJK is dropped
    assert rouge_scores(text, text) == {t: 1.0 for t in TYPES}


def test_chinese_by_hand():
    # prediction 新年好 (3 tokens), reference 新年快乐 (4): shared 新 年.
    # ROUGE-1: P = 2/3, R = 2/4, F = 2PR/(P+R) = 4/7.
    # ROUGE-2: bigrams 新年 年好 vs 新年 年快 快乐: P = 1/2, R = 1/3, F = 2/5.
    # ROUGE-L: LCS 新年 = 2, as ROUGE-1: 4/7.
    scores = rouge_scores("新年好", "新年快乐")
    assert scores == pytest.approx({"rouge1": 4 / 7, "rouge2": 2 / 5, "rougeL": 4 / 7}, rel=1e-12)


def test_mixed_text_by_hand():
    # prediction: 祝 你 happy new year 2024 (6), reference: 祝 您 happy new year (5).
    # ROUGE-1: shared 祝 happy new year = 4, P = 4/6, R = 4/5, F = 8/11.
    # ROUGE-2: shared "happy new", "new year" = 2 of 5 and 4 bigrams: F = 2·(2/5)(2/4)/(9/10) = 4/9.
    # ROUGE-L: LCS 祝 happy new year = 4: F = 8/11.
    scores = rouge_scores("祝你 Happy New Year 2024!", "祝您 happy new year！")
    assert scores == pytest.approx({"rouge1": 8 / 11, "rouge2": 4 / 9, "rougeL": 8 / 11}, rel=1e-12)
    # The default tokenizer sees only "happy new year 2024" vs "happy new year": 6/7.
    default = rouge_scorer.RougeScorer(["rouge1"]).score(
        "祝您 happy new year！", "祝你 Happy New Year 2024!"
    )
    assert default["rouge1"].fmeasure == pytest.approx(6 / 7)


def test_tokens_of_mixed_text():
    tokens = CjkLatinTokenizer().tokenize("AI新年快乐2024！Hello，World")
    assert tokens == ["ai", "新", "年", "快", "乐", "2024", "hello", "world"]


@pytest.mark.parametrize(
    ("prediction", "reference"),
    [("", "新年好"), ("新年好", ""), ("", ""), ("   ", "新年好"), ("，。！", "新年好")],
)
def test_empty_or_tokenless_text_scores_zero(prediction, reference):
    assert rouge_scores(prediction, reference) == {t: 0.0 for t in TYPES}


def dp_lcs(a, b):
    row = [0] * (len(b) + 1)
    for x in a:
        diagonal, row[0] = 0, 0
        for j, y in enumerate(b, start=1):
            diagonal, row[j] = row[j], diagonal + 1 if x == y else max(row[j], row[j - 1])
    return row[-1]


@pytest.mark.parametrize("seed", range(20))
def test_bit_parallel_lcs_equals_the_dp_table(seed):
    rng = random.Random(seed)
    alphabet = "新年快乐好福"[: rng.randint(1, 6)]
    a = [rng.choice(alphabet) for _ in range(rng.randint(0, 80))]
    b = [rng.choice(alphabet) for _ in range(rng.randint(0, 80))]
    assert lcs_length(a, b) == dp_lcs(a, b) == lcs_length(b, a)


@pytest.mark.parametrize("seed", range(10))
def test_rouge_l_equals_rouge_scores_own_lcs_on_chinese(seed):
    rng = random.Random(seed)
    words = ["新年", "快乐", "万事", "如意", "happy", "new", "year", "，", "2024"]
    prediction = "".join(rng.choice(words) for _ in range(rng.randint(1, 40)))
    reference = "".join(rng.choice(words) for _ in range(rng.randint(1, 40)))
    reference_scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=CjkLatinTokenizer())
    expected = reference_scorer.score(reference, prediction)["rougeL"].fmeasure
    assert rouge_scores(prediction, reference)["rougeL"] == expected


def test_a_5000_character_output_is_scored_exactly():
    # Its speed (vs rouge-score's own table) is measured in benchmarks/, not asserted here.
    reference = "新年快乐万事如意" * 625  # 5,000 characters
    prediction = reference[:2500] + "好" + reference[2501:]  # one character replaced
    scores = rouge_scores(prediction, reference)
    assert scores["rougeL"] == pytest.approx(4999 / 5000, rel=1e-12)  # P = R = 4999/5000


def test_rouge_l_of_token_lists():
    assert rouge_l(["a", "b", "c"], ["a", "c"]) == pytest.approx(0.8)  # LCS 2: P 2/3, R 1
    assert rouge_l([], ["a"]) == 0.0
