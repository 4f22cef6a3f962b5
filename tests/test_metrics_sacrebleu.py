"""BLEU and chrF from per-example statistics, held equal to sacrebleu called directly."""

import pytest
from sacrebleu.metrics import BLEU, CHRF

from ftcore.metrics import sacrebleu_stats as stats
from ftcore.metrics.registry import get_metrics
from ftcore.metrics.text import PER_ROW_BLEU

ZH = (
    ["新年快乐，万事如意！", "祝您身体健康，阖家幸福。", "恭喜发财", "新年好"],
    ["新年快乐，心想事成！", "祝您身体健康，万事如意。", "恭喜发财，红包拿来", "过年好呀"],
)
EN = (
    ["Happy new year to you and your family.", "Wishing you health and joy.", "Good luck!"],
    ["Happy New Year to you and your family!", "Wishing you joy and health.", "Best of luck!"],
)
MIXED = (
    ["祝你 Happy New Year 2024！", "新年快乐, and best wishes", "万事如意 OK"],
    ["祝您 happy new year 2024！", "新年快乐，best wishes to all", "万事如意"],
)
EDGES = (  # empty prediction, whitespace-only prediction, empty reference
    ["", "   ", "新年好", "恭喜发财"],
    ["新年快乐", "万事如意", "", "恭喜发财"],
)
CORPORA = {"zh": ZH, "en": EN, "mixed": MIXED, "edges": EDGES}


def corpus_bleu(corpus, tokenize):
    rows = stats.bleu_statistics(*corpus, tokenize)
    return stats.bleu_from_statistics([sum(column) for column in zip(*rows, strict=True)], tokenize)


@pytest.mark.parametrize("name", CORPORA)
@pytest.mark.parametrize("tokenize", ["zh", "13a"])
def test_summed_statistics_give_sacrebleus_corpus_bleu_exactly(name, tokenize):
    hyps, refs = CORPORA[name]
    expected = BLEU(tokenize=tokenize).corpus_score(hyps, [refs]).score
    assert corpus_bleu((hyps, refs), tokenize) == expected


@pytest.mark.parametrize("name", CORPORA)
def test_sentence_bleu_is_sacrebleus_with_effective_order(name):
    hyps, refs = CORPORA[name]
    reference = BLEU(tokenize="zh", effective_order=True)
    rows = stats.bleu_statistics(hyps, refs, "zh")
    for row, hyp, ref in zip(rows, hyps, refs, strict=True):
        assert stats.sentence_bleu_from_statistics(row, "zh") == (
            reference.sentence_score(hyp, [ref]).score
        )


@pytest.mark.parametrize("name", CORPORA)
def test_chrf_corpus_and_sentence_are_sacrebleus(name):
    hyps, refs = CORPORA[name]
    rows = stats.chrf_statistics(hyps, refs)
    summed = [sum(column) for column in zip(*rows, strict=True)]
    assert stats.chrf_from_statistics(summed) == CHRF().corpus_score(hyps, [refs]).score
    for row, hyp, ref in zip(rows, hyps, refs, strict=True):
        assert stats.chrf_from_statistics(row) == CHRF().sentence_score(hyp, [ref]).score


def test_mixed_text_bleu_golden_value_needs_the_zh_tokenizer():
    hyps, refs = MIXED
    zh = BLEU(tokenize="zh").corpus_score(hyps, [refs]).score
    wrong = BLEU(tokenize="13a").corpus_score(hyps, [refs]).score
    (bleu,) = get_metrics(["bleu"], language="mixed")
    assert bleu.corpus_score(hyps, refs) == zh
    assert zh == pytest.approx(35.5043, abs=1e-4)  # pinned: a sacrebleu change shows here
    # 13a keeps "新年快乐，best" and "万事如意" as single words: a different, wrong number.
    assert wrong == pytest.approx(6.5212, abs=1e-4)
    assert zh - wrong > 25


def test_13a_scores_identical_chinese_zero_and_zh_scores_it_100():
    text = ["新年快乐，万事如意"]
    assert BLEU(tokenize="13a").corpus_score(text, [text]).score == 0.0  # the pitfall
    (bleu,) = get_metrics(["bleu"], language="zh")
    expected = BLEU(tokenize="zh").corpus_score(text, [text]).score
    assert bleu.corpus_score(text, text) == expected == pytest.approx(100.0)


def test_the_reference_shape_pitfall_our_statistics_use_one_stream():
    hyps, refs = ZH
    right = BLEU(tokenize="zh").corpus_score(hyps, [refs]).score
    wrong = BLEU(tokenize="zh").corpus_score(hyps, [[ref] for ref in refs]).score
    assert corpus_bleu(ZH, "zh") == right != wrong


def test_corpus_bleu_is_not_the_mean_of_sentence_bleu():
    bleu, sentence_mean = get_metrics(["bleu", "sentence_bleu_mean"], language="zh")
    hyps, refs = ZH
    sentences = [
        BLEU(tokenize="zh", effective_order=True).sentence_score(h, [r]).score
        for h, r in zip(hyps, refs, strict=True)
    ]
    assert sentence_mean.corpus_score(hyps, refs) == pytest.approx(sum(sentences) / len(hyps))
    assert bleu.corpus_score(hyps, refs) != pytest.approx(sentence_mean.corpus_score(hyps, refs))
    assert bleu.example_scores(hyps, refs) is None  # corpus BLEU has no per-example value


def test_statistics_refuse_unpaired_lists():
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        stats.bleu_statistics(["a", "b"], ["a"], "13a")


def test_signatures_name_tokenizer_and_version():
    assert stats.bleu_signature("zh") == "nrefs:1|case:mixed|eff:no|tok:zh|smooth:exp|version:2.6.0"
    assert "eff:yes" in stats.bleu_signature("13a", effective_order=True)
    assert stats.chrf_signature().endswith("nc:6|nw:0|space:no|version:2.6.0")


def test_callers_get_copies_of_the_cached_statistics():
    rows = stats.bleu_statistics(*ZH, "zh")
    rows[0][0] = -1
    assert stats.bleu_statistics(*ZH, "zh")[0][0] != -1


# English with curly quotes, dashes and an ellipsis: inside U+2000–U+2A6D, which
# sacrebleu's `zh` tokenizer splits like Han characters (its range typo '\u20000').
CURLY = (
    ["“Happy new year” — to you… and yours!", "Wishing you health – and joy…", "‘Good luck’"],
    ["“Happy New Year” — to you and yours!", "Wishing you joy – and health…", "“Best of luck”"],
)
CHINESE_ROW = (["新年快乐，万事如意！"], ["新年快乐，心想事成！"])


def test_the_zh_range_typo_changes_english_counts():
    hyps, refs = CURLY
    assert stats.bleu_statistics(hyps, refs, "zh") != stats.bleu_statistics(hyps, refs, "13a")


def test_per_row_tokenizer_english_rows_do_not_depend_on_a_chinese_row_elsewhere():
    hyps, refs = CURLY
    alone = stats.bleu_statistics(hyps, refs, PER_ROW_BLEU)
    beside = stats.bleu_statistics([*hyps, *CHINESE_ROW[0]], [*refs, *CHINESE_ROW[1]], PER_ROW_BLEU)
    assert beside[:3] == alone == stats.bleu_statistics(hyps, refs, "13a")
    assert beside[3:] == stats.bleu_statistics(*CHINESE_ROW, "zh")
    # The old way, one tokenizer for the corpus once a Chinese row appears, moved them.
    assert (
        stats.bleu_statistics([*hyps, *CHINESE_ROW[0]], [*refs, *CHINESE_ROW[1]], "zh")[:3] != alone
    )
    (bleu,) = get_metrics(["bleu"], None)
    english_bleu = BLEU(tokenize="13a").corpus_score(hyps, [refs]).score
    assert bleu.corpus_score(hyps, refs) == english_bleu


@pytest.mark.parametrize(("corpus", "tokenize"), [(ZH, "zh"), (EN, "13a"), (CURLY, "13a")])
def test_per_row_bleu_on_a_one_language_corpus_equals_sacrebleu_exactly(corpus, tokenize):
    hyps, refs = corpus
    (bleu,) = get_metrics(["bleu"], None)
    assert bleu.corpus_score(hyps, refs) == BLEU(tokenize=tokenize).corpus_score(hyps, [refs]).score


def test_the_row_tokenizer_follows_the_reference_not_the_prediction():
    rows = stats.bleu_statistics(["新年快乐 happy"], ["happy new year"], PER_ROW_BLEU)
    assert rows == stats.bleu_statistics(["新年快乐 happy"], ["happy new year"], "13a")


def test_per_row_signature_says_how_rows_are_tokenized():
    signature = stats.bleu_signature(PER_ROW_BLEU)
    assert signature == "nrefs:1|case:mixed|eff:no|tok:zh-if-han-else-13a|smooth:exp|version:2.6.0"
    assert get_metrics(["bleu"], None)[0].signature.startswith(signature)
    assert "tok:13a|" in get_metrics(["bleu"], "en")[0].signature  # a fixed language: one tok


def test_paired_ar_p_value_is_sacrebleus_own_test(monkeypatch):
    """Equal to sacrebleu's PairedTest (what `sacrebleu --paired-ar` runs) with the seed
    set the way it reads it, for BLEU and chrF."""
    from sacrebleu.significance import PairedTest

    hyps, refs = ZH
    base = ["新年好", "祝您健康。", "恭喜", "好"]
    monkeypatch.setenv("SACREBLEU_SEED", "7")
    for name, metric, rows in (
        ("bleu", BLEU(tokenize="zh"), stats.bleu_statistics),
        ("chrf", CHRF(), lambda h, r, *_: stats.chrf_statistics(h, r)),
    ):
        _, scores = PairedTest(
            [("base", base), ("tuned", hyps)], {name: metric}, [refs], "ar", n_samples=500
        )()
        theirs = list(scores.values())[1][1].p_value
        ours = stats.paired_ar_p_value(
            name, rows(hyps, refs, "zh"), rows(base, refs, "zh"), n_trials=500, seed=7
        )
        assert ours == theirs
