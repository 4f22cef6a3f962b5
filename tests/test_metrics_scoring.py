"""score_predictions, generalisation_gap and the score files: values equal to the metric
libraries called directly, grouping, seeding, and what the files hold."""

import csv
import json

import pytest
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU, CHRF

from ftcore.errors import ConfigError, DataError, EmptyPredictionsError
from ftcore.metrics.generalisation import generalisation_gap
from ftcore.metrics.rouge import CjkLatinTokenizer
from ftcore.metrics.score_files import format_table, write_report
from ftcore.metrics.scoring import score_predictions

PREDICTIONS = ["新年快乐，万事如意！", "祝您身体健康，阖家幸福。", "恭喜发财", "新年好", ""]
REFERENCES = [
    "新年快乐，心想事成！",
    "祝您身体健康，万事如意。",
    "恭喜发财，红包拿来",
    "过年好呀",
    "新年好",
]
ROWS = [
    {"id": f"r{i}", "prompt": "写一句祝福", "prediction": p, "reference": r}
    for i, (p, r) in enumerate(zip(PREDICTIONS, REFERENCES, strict=True))
]


@pytest.fixture(scope="module")
def report():
    return score_predictions(ROWS, bootstrap=200, seed=0)


def test_corpus_scores_equal_the_libraries_called_directly(report):
    scores = report.scores["predictions"]["all"]
    assert report.language == "zh"
    assert scores["bleu"].value == BLEU(tokenize="zh").corpus_score(PREDICTIONS, [REFERENCES]).score
    assert scores["chrf"].value == CHRF().corpus_score(PREDICTIONS, [REFERENCES]).score
    sentence = BLEU(tokenize="zh", effective_order=True)
    expected = [
        sentence.sentence_score(p, [r]).score for p, r in zip(PREDICTIONS, REFERENCES, strict=True)
    ]
    assert scores["sentence_bleu_mean"].value == pytest.approx(sum(expected) / 5, rel=1e-12)
    scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=CjkLatinTokenizer())
    rouge_l = [
        scorer.score(r, p)["rougeL"].fmeasure for p, r in zip(PREDICTIONS, REFERENCES, strict=True)
    ]
    assert scores["rougeL"].value == pytest.approx(sum(rouge_l) / 5, rel=1e-12)
    assert [e.scores["rougeL"] for e in report.examples] == rouge_l
    assert [e.scores["sentence_bleu"] for e in report.examples] == expected


def test_every_score_carries_n_signature_direction_and_an_interval(report):
    for name, score in report.scores["predictions"]["all"].items():
        assert score.n == 5 and score.higher_is_better
        assert score.ci_low <= score.ci_high, name
        assert score.signature
    assert "tok:zh" in report.scores["predictions"]["all"]["bleu"].signature


def test_examples_keep_their_fields_and_order(report):
    first = report.examples[0]
    assert (first.model, first.split, first.id, first.prompt) == (
        "predictions",
        "all",
        "r0",
        "写一句祝福",
    )
    assert [e.prediction for e in report.examples] == PREDICTIONS
    assert set(first.scores) == {
        "sentence_bleu",
        "chrf",
        "rouge1",
        "rouge2",
        "rougeL",
        "exact_match",
    }


def test_same_seed_same_intervals_and_no_bootstrap_no_intervals():
    again = score_predictions(ROWS, ["rouge1"], bootstrap=200, seed=0).scores
    other = score_predictions(ROWS, ["rouge1"], bootstrap=200, seed=5).scores
    first = score_predictions(ROWS, ["rouge1"], bootstrap=200, seed=0).scores
    assert again == first and other != first
    none = score_predictions(ROWS, ["rouge1"], bootstrap=0).scores["predictions"]["all"]["rouge1"]
    assert none.ci_low is None and none.ci_high is None and none.ci_signature is None


def test_rows_are_grouped_by_model_and_split_with_one_tokenizer():
    rows = [
        {"model": "base", "split": "train", "prediction": "新年好", "reference": "新年好呀"},
        {
            "model": "base",
            "split": "test",
            "prediction": "Happy new year",
            "reference": "Happy new year!",
        },
        {
            "model": "lora",
            "split": "test",
            "prediction": "Happy year",
            "reference": "Happy new year!",
        },
    ]
    report = score_predictions(rows, ["bleu", "rouge1"], bootstrap=50)
    assert {m: list(s) for m, s in report.scores.items()} == {
        "base": ["train", "test"],
        "lora": ["test"],
    }
    assert report.language == "mixed"
    # Every group follows one per-row rule (zh where the reference has Han characters,
    # 13a elsewhere), named in the signature: comparable with the other groups.
    assert "tok:zh" in report.scores["lora"]["test"]["bleu"].signature
    one = report.scores["base"]["test"]["rouge1"]
    assert one.n == 1 and one.ci_low is None and one.ci_signature is None  # no CI from one
    assert [e.id for e in report.examples] == [1, 2, 3]  # position when rows carry no id


def test_language_can_be_fixed_by_the_caller():
    rows = [{"prediction": "Happy new year", "reference": "Happy new year!"}]
    report = score_predictions(rows, ["bleu"], bootstrap=0, language="zh")
    assert (
        report.language == "zh"
        and "tok:zh" in report.scores["predictions"]["all"]["bleu"].signature
    )


def test_progress_is_reported_up_to_one():
    seen = []
    score_predictions(
        ROWS, ["bleu", "rouge1"], bootstrap=10, progress=lambda f, m: seen.append((f, m))
    )
    fractions = [fraction for fraction, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0 and fractions[-1] == 1.0
    assert any("bootstrap" in message for _, message in seen)


@pytest.mark.parametrize(
    ("rows", "error", "message"),
    [
        ([], EmptyPredictionsError, "no rows"),
        ([{"prediction": "a"}], DataError, "row 1: field 'reference': missing"),
        ([{"prediction": 3, "reference": "a"}], DataError, "must be a string, got int"),
        (["text"], DataError, "row 1: not a JSON object"),
    ],
)
def test_bad_rows(rows, error, message):
    with pytest.raises(error, match=message):
        score_predictions(rows)


@pytest.mark.parametrize(
    ("setting", "value"), [("bootstrap", -1), ("bootstrap", 2.5), ("confidence", 1.0)]
)
def test_bad_settings(setting, value):
    with pytest.raises(ConfigError, match=setting):
        score_predictions(ROWS, **{setting: value})


def test_generalisation_gap_is_train_minus_heldout():
    train = [{"prediction": r, "reference": r} for r in REFERENCES * 4]  # memorised: 20 rows
    heldout = ROWS[:4]  # 4 rows, partly right
    gaps = generalisation_gap(train, heldout, ["rouge1", "bleu"], bootstrap=300)
    heldout_report = score_predictions(heldout, ["rouge1", "bleu"], bootstrap=0)
    heldout_rouge = heldout_report.scores["predictions"]["all"]["rouge1"].value
    assert gaps["rouge1"].value == pytest.approx(1.0 - heldout_rouge)
    assert (gaps["rouge1"].n_train, gaps["rouge1"].n_heldout) == (20, 4)
    assert gaps["bleu"].ci_signature.startswith("bootstrap:percentile-independent|")
    for gap in gaps.values():
        assert gap.ci_low <= gap.value <= gap.ci_high
        assert gap.ci_low > 0  # train is better beyond doubt


def test_score_files(report, tmp_path):
    written = write_report(report, tmp_path / "out")
    assert sorted(written) == ["per_example.csv", "per_example.jsonl", "scores.csv", "scores.json"]
    scores = json.loads((tmp_path / "out" / "scores.json").read_text(encoding="utf-8"))
    bleu = scores["predictions"]["all"]["bleu"]
    assert set(bleu) == {
        *("value", "ci_low", "ci_high", "n", "signature", "higher_is_better", "ci_signature"),
        "warning",  # 5 examples: too few for a bootstrap to mean much
    }
    assert bleu["ci_signature"] == "bootstrap:percentile|conf:0.95|resamples:200|seed:0"
    assert bleu["warning"].startswith("only 5 examples (fewer than 30)")
    assert bleu["value"] == report.scores["predictions"]["all"]["bleu"].value
    lines = (tmp_path / "out" / "per_example.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    assert len(lines) == 5 and first["prediction"] == PREDICTIONS[0]
    assert first["scores"]["rouge1"] == report.examples[0].scores["rouge1"]
    with open(tmp_path / "out" / "scores.csv", encoding="utf-8-sig", newline="") as file:
        table = list(csv.DictReader(file))
    assert len(table) == 7 and table[0]["metric"] == "bleu"
    assert float(table[0]["value"]) == bleu["value"]
    with open(tmp_path / "out" / "per_example.csv", encoding="utf-8-sig", newline="") as file:
        examples = list(csv.DictReader(file))
    assert examples[1]["reference"] == REFERENCES[1] and "sentence_bleu" in examples[1]
    assert not list((tmp_path / "out").glob("*.partial"))


def test_format_table(report):
    table = format_table(report)
    assert table.splitlines()[0].split()[:4] == ["model", "split", "metric", "value"]
    assert "sentence_bleu_mean" in table and len(table.splitlines()) == 8


def test_one_example_gets_no_interval_and_a_missing_id_its_position():
    rows = [{"id": None, "prediction": "新年好", "reference": "新年快乐"}]
    report = score_predictions(rows, ["rouge1"], bootstrap=100)
    assert report.examples[0].id == 1
    assert report.scores["predictions"]["all"]["rouge1"].ci_low is None
    gap = generalisation_gap(rows, ROWS, ["rouge1"], bootstrap=100)["rouge1"]
    assert gap.ci_low is None and gap.ci_signature is None and gap.n_train == 1
