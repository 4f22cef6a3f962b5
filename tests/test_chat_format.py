"""Conversations render and tokenise the same way for training and for generation."""

import copy

import pytest

from ftcore.chat_format import (
    IGNORE_INDEX,
    encode_for_generation,
    encode_for_training,
    render_segments,
    validate_messages,
)
from ftcore.data.formats import alpaca_to_messages, sharegpt_to_messages
from ftcore.errors import ChatTemplateError

ALPACA_ROW = {
    "instruction": "给外婆写一条春节祝福，温馨一点。",
    "input": "外婆今年八十岁",
    "output": "外婆，新年快乐！愿您身体硬朗，笑口常开。",
}
SHAREGPT_ROW = {
    "system": "你是一位擅长写春节祝福的助手。",
    "conversations": [
        {"from": "human", "value": "帮我给同事写个拜年短信。"},
        {"from": "gpt", "value": "新年快乐！愿你新的一年工作顺利。"},
        {"from": "human", "value": "Make it mixed: add some English."},
        {"from": "gpt", "value": "Happy New Year! 祝你万事顺意，升职加薪！"},
    ],
}


def trained_text(tokenizer, encoded):
    pairs = zip(encoded.input_ids, encoded.labels, strict=True)
    return tokenizer.decode([token for token, label in pairs if label != IGNORE_INDEX])


def test_alpaca_row_becomes_a_user_and_an_assistant_turn():
    assert alpaca_to_messages({**ALPACA_ROW, "system": "S", "history": [["q", "a"]]}) == [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "a"},
        {"role": "user", "content": "给外婆写一条春节祝福，温馨一点。\n外婆今年八十岁"},
        {"role": "assistant", "content": "外婆，新年快乐！愿您身体硬朗，笑口常开。"},
    ]


def test_alpaca_row_renders_as_chatml(demo_tokenizer):
    text = demo_tokenizer.apply_chat_template(alpaca_to_messages(ALPACA_ROW), tokenize=False)
    assert text == (
        "<|im_start|>user\n给外婆写一条春节祝福，温馨一点。\n外婆今年八十岁<|im_end|>\n"
        "<|im_start|>assistant\n外婆，新年快乐！愿您身体硬朗，笑口常开。<|im_end|>\n"
    )


@pytest.mark.parametrize(
    "messages", [alpaca_to_messages(ALPACA_ROW), sharegpt_to_messages(SHAREGPT_ROW)]
)
def test_segments_concatenate_to_the_template_rendering(demo_tokenizer, messages):
    segments = render_segments(demo_tokenizer, messages)
    assert "".join(s.text for s in segments) == demo_tokenizer.apply_chat_template(
        messages, tokenize=False
    )
    assert [s.trainable for s in segments] == [False, True] * (len(segments) // 2)


def test_only_assistant_turns_and_their_end_of_turn_are_trained(demo_tokenizer):
    encoded = encode_for_training(demo_tokenizer, sharegpt_to_messages(SHAREGPT_ROW))
    assert len(encoded.input_ids) == len(encoded.labels)
    # The "\n" the template writes after <|im_end|> is never generated: not a target.
    assert trained_text(demo_tokenizer, encoded) == (
        "新年快乐！愿你新的一年工作顺利。<|im_end|>"
        "Happy New Year! 祝你万事顺意，升职加薪！<|im_end|>"
    )
    im_end = demo_tokenizer.convert_tokens_to_ids("<|im_end|>")
    trained_ids = [label for label in encoded.labels if label != IGNORE_INDEX]
    assert trained_ids.count(im_end) == 2  # the model learns to stop after each reply


def test_training_labels_of_a_chatml_conversation_end_at_im_end(demo_tokenizer):
    """Audit finding 6: a reply's targets are its tokens plus the end-of-turn token; the
    "\n" after <|im_end|> (which generation never produces) carries no label."""
    encoded = encode_for_training(demo_tokenizer, alpaca_to_messages(ALPACA_ROW))
    im_end = demo_tokenizer.convert_tokens_to_ids("<|im_end|>")
    newline = demo_tokenizer("\n", add_special_tokens=False)["input_ids"]
    assert encoded.input_ids[-2:] == [im_end, *newline]  # the template does write it
    labelled = [i for i, label in enumerate(encoded.labels) if label != IGNORE_INDEX]
    assert encoded.labels[labelled[-1]] == im_end and labelled[-1] == len(encoded.labels) - 2
    reply = demo_tokenizer(ALPACA_ROW["output"], add_special_tokens=False)["input_ids"]
    assert [encoded.labels[i] for i in labelled] == [*reply, im_end]


def test_last_reply_only_labels_just_the_last_assistant_turn(demo_tokenizer):
    messages = sharegpt_to_messages(SHAREGPT_ROW)
    every = encode_for_training(demo_tokenizer, messages)
    last = encode_for_training(demo_tokenizer, messages, last_reply_only=True)
    assert last.input_ids == every.input_ids
    assert (
        trained_text(demo_tokenizer, last) == "Happy New Year! 祝你万事顺意，升职加薪！<|im_end|>"
    )


def test_a_cut_conversation_keeps_its_first_tokens(demo_tokenizer):
    encoded = encode_for_training(demo_tokenizer, alpaca_to_messages(ALPACA_ROW))
    cut = encoded.truncated(5)
    assert (cut.input_ids, cut.labels) == (encoded.input_ids[:5], encoded.labels[:5])
    assert encoded.truncated(None) == encoded


@pytest.mark.parametrize("turn", [1, 3])
def test_generation_prompt_is_the_training_prefix(demo_tokenizer, turn):
    """The ids a model is prompted with are exactly the ids it was trained to continue."""
    messages = sharegpt_to_messages(SHAREGPT_ROW)  # system, user, assistant, user, assistant
    prompt = encode_for_generation(demo_tokenizer, messages[: turn + 1])
    full = encode_for_training(demo_tokenizer, messages)
    assert prompt == full.input_ids[: len(prompt)]
    assert full.labels[len(prompt) - 1] == IGNORE_INDEX
    assert full.labels[len(prompt)] != IGNORE_INDEX
    assert demo_tokenizer.decode(prompt).endswith("<|im_start|>assistant\n")


QWEN25_STYLE_TEMPLATE = (
    "{% if messages[0]['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant."
    "<|im_end|>\n{% endif %}{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# Like templates that strip earlier replies (e.g. thinking traces): prefixes change.
REWRITING_TEMPLATE = (
    "{% for m in messages %}{% if m['role'] == 'assistant' and not loop.last %}<|im_start|>"
    "assistant\n...<|im_end|>\n{% else %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
    "<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def test_default_system_prompt_of_a_hub_template_lands_in_the_prompt(demo_tokenizer):
    tokenizer = copy.deepcopy(demo_tokenizer)
    tokenizer.chat_template = QWEN25_STYLE_TEMPLATE
    segments = render_segments(tokenizer, alpaca_to_messages(ALPACA_ROW))
    assert segments[0].text.startswith("<|im_start|>system\nYou are a helpful assistant.")
    assert not segments[0].trainable
    assert segments[1].text == "外婆，新年快乐！愿您身体硬朗，笑口常开。<|im_end|>\n"


def test_template_that_rewrites_earlier_turns_is_refused(demo_tokenizer):
    tokenizer = copy.deepcopy(demo_tokenizer)
    tokenizer.chat_template = REWRITING_TEMPLATE
    with pytest.raises(ChatTemplateError, match="re-renders earlier turns"):
        encode_for_training(tokenizer, sharegpt_to_messages(SHAREGPT_ROW))


def test_missing_chat_template_is_a_clear_error(demo_tokenizer):
    tokenizer = copy.deepcopy(demo_tokenizer)
    tokenizer.chat_template = None
    with pytest.raises(ChatTemplateError, match="has no chat template"):
        encode_for_generation(tokenizer, [{"role": "user", "content": "你好"}])


@pytest.mark.parametrize(
    ("messages", "ends_with", "error"),
    [
        ([], "user", "empty"),
        ([{"role": "bot", "content": "x"}], "user", "message 1 .*'role' must be one of"),
        ([{"role": "user", "content": "  "}], "user", "message 1 .*'content' is empty"),
        ([{"role": "user", "content": 3}], "user", "'content' must be text"),
        ([{"role": "assistant", "content": "x"}], "user", "expected a 'user' turn"),
        (
            [{"role": "user", "content": "q"}, {"role": "system", "content": "s"}],
            "user",
            "message 2 .*system message may only come first",
        ),
        ([{"role": "user", "content": "q"}], "assistant", "must end with a 'assistant' turn"),
        (
            [{"role": "user", "content": "q"}, {"role": "assistant", "content": ""}],
            "assistant",
            "message 2 .*'content' is empty",
        ),
    ],
)
def test_invalid_conversations_name_the_message_and_field(messages, ends_with, error):
    with pytest.raises(ChatTemplateError, match=error):
        validate_messages(messages, ends_with=ends_with)


def test_an_empty_earlier_reply_may_stay_in_a_chat_history():
    validate_messages(
        [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": ""},
            {"role": "user", "content": "again?"},
        ],
        ends_with="user",
    )
