"""Response-only, token-weighted NLL: corpus aggregation by hand, and the model call."""

import json
import math
from pathlib import Path

import pytest
import torch

from ftcore.chat_format import IGNORE_INDEX, encode_for_training
from ftcore.data.formats import alpaca_to_messages, sharegpt_to_messages
from ftcore.errors import ConfigError, FtcoreError, NoTargetTokensError
from ftcore.nll import (
    ExampleNLL,
    corpus_totals,
    example_nlls,
    mean_nll,
    mean_of_totals,
    nll_per_char,
    pad_batch,
    perplexity,
    reference_chars,
    shift_labels,
    token_nll_sums,
)

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.mark.parametrize(
    ("pairs", "total", "mean"),
    [
        ([(2.0, 1), (6.0, 3)], (8.0, 4), 2.0),
        ([ExampleNLL(1.0, 1), ExampleNLL(9.0, 3)], (10.0, 4), 2.5),
        ([(0.0, 5)], (0.0, 5), 0.0),
        ([ExampleNLL(3.0, 2), (0.0, 0), (5.0, 2)], (8.0, 4), 2.0),  # an empty reply adds nothing
    ],
)
def test_corpus_mean_is_total_nll_over_total_tokens(pairs, total, mean):
    assert corpus_totals(pairs) == total
    assert mean_nll(pairs) == pytest.approx(mean)
    assert perplexity(pairs) == pytest.approx(math.exp(mean))


def test_corpus_perplexity_is_not_the_mean_of_example_perplexities():
    pairs = [(1.0, 1), (9.0, 3)]  # per-example mean NLL 1 and 3
    assert perplexity(pairs) == pytest.approx(math.exp(2.5))  # 12.18
    mean_of_ppl = (math.exp(1.0) + math.exp(3.0)) / 2  # 11.40
    assert abs(perplexity(pairs) - mean_of_ppl) > 0.7


def test_per_character_nll_and_reference_characters():
    messages = [
        {"role": "user", "content": "写一句"},
        {"role": "assistant", "content": "新年快乐"},
        {"role": "user", "content": "再来"},
        {"role": "assistant", "content": "万事如意！"},
    ]
    assert reference_chars(messages) == 9
    assert nll_per_char([(3.0, 2), (6.0, 2)], 9) == pytest.approx(1.0)


def test_zero_tokens_or_characters_are_refused():
    with pytest.raises(ValueError, match="zero target tokens"):
        mean_nll([])
    with pytest.raises(ValueError, match="empty reference"):
        nll_per_char([(1.0, 1)], 0)


def test_every_mean_nll_refuses_zero_tokens_with_a_named_error():
    # Training validation, evaluation perplexity and the verdicts all divide through
    # nll.mean_of_totals, so an all-empty split fails the same way everywhere.
    from ftcore.evaluation.assess import mean_nll as assess_mean_nll
    from ftcore.evaluation.perplexity import SplitPerplexity
    from ftcore.verdicts.nll_gaps import token_mean

    with pytest.raises(NoTargetTokensError, match="zero target tokens"):
        mean_nll([(0.0, 0), ExampleNLL(0.0, 0)])
    with pytest.raises(NoTargetTokensError):
        perplexity([])
    with pytest.raises(NoTargetTokensError):
        mean_of_totals(1.5, 0)
    with pytest.raises(NoTargetTokensError):
        assess_mean_nll([(2.0, 0)])
    with pytest.raises(NoTargetTokensError):
        token_mean([2.0, 0.0], 3)
    with pytest.raises(NoTargetTokensError):
        _ = SplitPerplexity(nll_sum=0.0, n_tokens=0, n_chars=5, tokenizer="t").value
    assert issubclass(NoTargetTokensError, FtcoreError)
    assert mean_of_totals(3.0, 4) == 0.75


def test_labels_shift_left_and_the_last_position_predicts_nothing():
    labels = torch.tensor([[5, 6, 7], [IGNORE_INDEX, 8, IGNORE_INDEX]])
    assert shift_labels(labels).tolist() == [[6, 7, IGNORE_INDEX], [8, IGNORE_INDEX, IGNORE_INDEX]]


def test_token_nll_sums_match_a_hand_computation():
    # Two-token vocabulary; position t predicts the label at t + 1.
    logits = torch.tensor([[[0.0, 0.0], [2.0, 0.0], [0.0, 5.0]]])
    labels = torch.tensor([[IGNORE_INDEX, 1, 0]])  # targets: pos 0 -> 1, pos 1 -> 0
    sums, counts = token_nll_sums(logits, labels)
    expected = math.log(2.0) + (math.log(math.exp(2.0) + 1.0) - 2.0)
    assert counts.tolist() == [2]
    assert sums.item() == pytest.approx(expected, rel=1e-6)


def conversations(tokenizer, n=10):
    lines = (DATA / "greetings/spring_festival_greetings.jsonl").read_text("utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    chats = json.loads((DATA / "multiturn/greeting_chats.sharegpt.json").read_text("utf-8"))
    messages = [alpaca_to_messages(r) for r in rows[: n // 2]]
    messages += [sharegpt_to_messages(c) for c in chats[: n - n // 2]]
    return [encode_for_training(tokenizer, m) for m in messages], messages


def test_padding_never_counts_and_batch_size_does_not_change_the_result(
    demo_chat_model, demo_tokenizer
):
    model = demo_chat_model.loaded.model
    rows, _ = conversations(demo_tokenizer)
    pad = demo_tokenizer.pad_token_id
    one = example_nlls(model, rows, pad_id=pad, batch_size=1)
    four = example_nlls(model, rows, pad_id=pad, batch_size=4)
    assert [p.n_tokens for p in one] == [
        sum(label != IGNORE_INDEX for label in row.labels[1:]) for row in rows
    ]
    assert [p.n_tokens for p in four] == [p.n_tokens for p in one]
    assert corpus_totals(four)[0] == pytest.approx(corpus_totals(one)[0], rel=1e-6)
    assert mean_nll(four) == pytest.approx(mean_nll(one), abs=1e-5)
    for a, b in zip(one, four, strict=True):
        assert a.nll_sum == pytest.approx(b.nll_sum, rel=1e-5)


def test_example_nll_is_the_log_probability_of_the_reply_tokens(demo_chat_model, demo_tokenizer):
    model = demo_chat_model.loaded.model
    rows, _ = conversations(demo_tokenizer, n=2)
    row = rows[1]  # the multi-turn one: every assistant turn counts
    with torch.no_grad():
        log_probs = torch.log_softmax(model(torch.tensor([row.input_ids])).logits[0], dim=-1)
    expected = -sum(
        log_probs[t - 1, row.input_ids[t]].item()
        for t in range(1, len(row.input_ids))
        if row.labels[t] != IGNORE_INDEX
    )
    got = example_nlls(model, rows, pad_id=demo_tokenizer.pad_token_id, batch_size=2)[1]
    assert got.nll_sum == pytest.approx(expected, rel=1e-5)
    assert model.training is False


def test_pad_batch_pads_right_with_no_labels_and_no_attention():
    class Row:
        def __init__(self, ids, labels):
            self.input_ids, self.labels = ids, labels

    batch = pad_batch([Row([1, 2, 3], [IGNORE_INDEX, 2, 3]), Row([4], [4])], pad_id=0)
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, 0, 0]]
    assert batch["labels"].tolist() == [[IGNORE_INDEX, 2, 3], [4, IGNORE_INDEX, IGNORE_INDEX]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]


def test_batch_size_below_one_is_a_config_error(demo_chat_model):
    with pytest.raises(ConfigError, match="batch_size=0"):
        example_nlls(demo_chat_model.loaded.model, [], pad_id=0, batch_size=0)
