"""Whole characters only: byte tokens that end mid-character are held back, then dropped."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest
import torch

from ftcore.chat_format import encode_for_generation
from ftcore.data.formats import alpaca_to_messages
from ftcore.evaluation.generate import eval_example, generate_batch
from ftcore.runtime.generation import (
    REPLACEMENT_CHARACTER,
    GenerationSettings,
    ReplyStreamer,
    decode_complete,
    generation_config,
    stream_reply,
)

DATA = Path(__file__).resolve().parent.parent / "data"


def split_character(tokenizer, parts: int) -> tuple[str, list[int]]:
    """A Chinese character the tokenizer spells with `parts` byte-level tokens, none of
    which is a whole character on its own (the 3-byte UTF-8 split 2+1 or 1+1+1)."""
    for code in range(0x4E00, 0xA000):
        ids = tokenizer(chr(code), add_special_tokens=False)["input_ids"]
        if len(ids) == parts and all(
            REPLACEMENT_CHARACTER in tokenizer.decode(ids[:k]) for k in range(1, parts)
        ):
            return chr(code), ids
    pytest.skip(f"the tokenizer spells no Chinese character with {parts} byte tokens")


def encode(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


@pytest.mark.parametrize("parts", [2, 3])
def test_a_character_split_over_tokens_is_held_back_until_its_last_byte(demo_tokenizer, parts):
    character, pieces = split_character(demo_tokenizer, parts)
    ids = encode(demo_tokenizer, "新年") + pieces + encode(demo_tokenizer, "快乐")
    start = len(encode(demo_tokenizer, "新年"))
    prefixes = [decode_complete(demo_tokenizer, ids[:k]) for k in range(len(ids) + 1)]
    # The tokenizer itself writes U+FFFD for the cut character; decode_complete never does.
    assert REPLACEMENT_CHARACTER in demo_tokenizer.decode(ids[: start + 1])
    assert prefixes[start : start + parts] == ["新年"] * parts  # held back, byte by byte
    assert prefixes[start + parts] == "新年" + character  # shown once complete
    assert prefixes[-1] == f"新年{character}快乐"
    assert all(REPLACEMENT_CHARACTER not in text for text in prefixes)


def test_bytes_that_can_never_complete_a_character_are_dropped(demo_tokenizer):
    character, pieces = split_character(demo_tokenizer, 3)
    # A character's first byte, then a whole different word: that byte stays incomplete.
    ids = encode(demo_tokenizer, "新年") + pieces[:1] + encode(demo_tokenizer, "快乐")
    assert demo_tokenizer.decode(ids) == f"新年{REPLACEMENT_CHARACTER}快乐"
    assert decode_complete(demo_tokenizer, ids) == "新年快乐"
    # ...and an incomplete character at the very end of a reply is dropped as well.
    assert decode_complete(demo_tokenizer, ids + pieces[:2]) == "新年快乐"


def test_special_tokens_are_not_part_of_the_text(demo_tokenizer):
    end = demo_tokenizer.convert_tokens_to_ids("<|im_end|>")
    ids = encode(demo_tokenizer, "新年快乐") + [end, demo_tokenizer.pad_token_id]
    assert decode_complete(demo_tokenizer, ids) == "新年快乐"


def test_the_streamer_passes_on_whole_characters_whose_deltas_make_the_reply(demo_tokenizer):
    character, pieces = split_character(demo_tokenizer, 3)
    words = "祝您新年快乐，" + character + "年大吉！"
    reply_ids = (
        encode(demo_tokenizer, "祝您新年快乐，") + pieces + encode(demo_tokenizer, "年大吉！")
    )
    streamer = ReplyStreamer(demo_tokenizer)
    streamer.put(torch.tensor([encode(demo_tokenizer, "写一条祝福")]))  # the prompt
    for token in reply_ids:  # one token at a time, as generate() passes them
        streamer.put(torch.tensor([token]))
    streamer.end()
    texts = list(streamer)
    pairs = list(zip(["", *texts], texts, strict=False))
    assert all(after.startswith(before) and after != before for before, after in pairs)
    deltas = [after[len(before) :] for before, after in pairs]
    assert "".join(deltas) == texts[-1] == words
    assert character in deltas  # it arrived whole, in one piece, never as U+FFFD
    assert all(words.startswith(text) for text in texts)


# Short sampled replies: a sampled stream must keep the same invariants as a greedy one.
SAMPLED = [GenerationSettings(max_new_tokens=9, temperature=1.0, seed=seed) for seed in range(10)]


def raw_sampled_reply(chat_model, messages, settings) -> str:
    """The same sampled reply decoded the plain way (U+FFFD and all), for comparison."""
    tokenizer = chat_model.tokenizer
    ids = torch.tensor([encode_for_generation(tokenizer, messages)])
    model = chat_model.loaded.model
    torch.manual_seed(settings.seed)
    out = model.generate(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        generation_config=generation_config(settings, model, tokenizer),
    )
    return tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)


def test_sampled_streams_hold_no_broken_character(demo_chat_model):
    """Each stream grows by appends, holds no U+FFFD, and ends on the plain decoding of
    the same tokens with only its cut bytes removed."""
    messages = [{"role": "user", "content": "给外婆写一条春节祝福"}]
    for settings in SAMPLED:
        raw = raw_sampled_reply(demo_chat_model, messages, settings)
        texts = list(stream_reply(demo_chat_model, messages, settings))
        assert all(REPLACEMENT_CHARACTER not in text for text in texts)
        assert all(after.startswith(before) for before, after in pairwise(texts))
        assert texts[-1] == raw.replace(REPLACEMENT_CHARACTER, "")
    # Cuts themselves are pinned by the hand-made token sequences above: today's demo
    # model rarely samples a lone byte token, so these streams may hold none.


def sample_prompts(n: int) -> list:
    rows = []
    for path in ("greetings/spring_festival_greetings.jsonl", "probe/general_probe.jsonl"):
        rows += [json.loads(line) for line in (DATA / path).read_text("utf-8").splitlines()]
    return [eval_example(str(i), alpaca_to_messages(row)) for i, row in enumerate(rows[:n])]


def test_two_hundred_demo_replies_hold_no_broken_character(demo_chat_model):
    """Evaluation's batched greedy decoding of 200 short replies (the texts that are
    scored): none holds U+FFFD, and each is the plain decoding of its tokens with only
    the cut bytes removed (3 of the 200 plain decodings held U+FFFD when written)."""
    tokenizer = demo_chat_model.tokenizer
    prompts = [encode_for_generation(tokenizer, ex.messages) for ex in sample_prompts(200)]
    replies, raw = [], []
    with demo_chat_model.using(None) as model:
        generate = model.generate

        def keep_output(**kwargs):
            output = generate(**kwargs)
            new = output[:, kwargs["input_ids"].shape[1] :]
            raw.extend(tokenizer.batch_decode(new, skip_special_tokens=True))
            return output

        model.generate = keep_output
        try:
            for start in range(0, 200, 50):
                replies += generate_batch(model, tokenizer, prompts[start : start + 50], 12)
        finally:
            del model.generate
    assert len(replies) == len(raw) == 200
    assert [text for text in replies if REPLACEMENT_CHARACTER in text] == []
    assert replies == [text.replace(REPLACEMENT_CHARACTER, "") for text in raw]
    assert sum(bool(text) for text in replies) >= 190
