"""Streaming replies: growth, greedy determinism, stop, settings validation."""

import threading
from itertools import pairwise

import pytest

from ftcore.errors import ConfigError
from ftcore.runtime.generation import GenerationSettings, end_of_turn_ids, reply, stream_reply

QUESTION = [{"role": "user", "content": "西红柿炒鸡蛋怎么做？"}]
SHORT = GenerationSettings(max_new_tokens=24)


def test_streaming_yields_growing_text(demo_chat_model):
    pieces = list(stream_reply(demo_chat_model, QUESTION, SHORT))
    assert len(pieces) >= 2
    for before, after in pairwise(pieces):
        assert after.startswith(before) and len(after) > len(before)


def test_stream_matches_plain_greedy_generate(demo_chat_model):
    """The streamed text is what `model.generate` decodes for the same prompt ids."""
    import torch

    from ftcore.chat_format import encode_for_generation

    tokenizer = demo_chat_model.tokenizer
    ids = torch.tensor([encode_for_generation(tokenizer, QUESTION)])
    model = demo_chat_model.loaded.model
    out = model.generate(
        ids,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=24,
        do_sample=False,
        repetition_penalty=1.0,
        no_repeat_ngram_size=0,  # the model's generation_config.json asks for 4
        eos_token_id=end_of_turn_ids(model, tokenizer),
        pad_token_id=tokenizer.pad_token_id,
    )
    expected = tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)
    assert reply(demo_chat_model, QUESTION, SHORT) == expected


def test_checkpoint_generation_config_does_not_leak_in(demo_chat_model):
    """A checkpoint that asks for sampling or a 20-token limit changes nothing."""
    greedy = reply(demo_chat_model, QUESTION, SHORT)
    config = demo_chat_model.loaded.model.generation_config
    config.do_sample, config.temperature, config.max_length = True, 5.0, 20
    config.repetition_penalty = 1.8
    assert reply(demo_chat_model, QUESTION, SHORT) == greedy


def test_greedy_is_reproducible_and_sampling_follows_the_seed(demo_chat_model):
    assert reply(demo_chat_model, QUESTION, SHORT) == reply(demo_chat_model, QUESTION, SHORT)
    sampled = GenerationSettings(max_new_tokens=24, temperature=1.0, seed=7)
    assert reply(demo_chat_model, QUESTION, sampled) == reply(demo_chat_model, QUESTION, sampled)


def test_max_new_tokens_bounds_the_reply(demo_chat_model, demo_tokenizer):
    text = reply(demo_chat_model, QUESTION, GenerationSettings(max_new_tokens=5))
    assert 0 < len(demo_tokenizer(text, add_special_tokens=False)["input_ids"]) <= 5


def test_stop_event_ends_the_reply_early(demo_chat_model):
    stop = threading.Event()
    long = GenerationSettings(max_new_tokens=200, repetition_penalty=1.0)
    pieces = []
    for text in stream_reply(demo_chat_model, QUESTION, long, stop=stop):
        pieces.append(text)
        stop.set()
    full = reply(demo_chat_model, QUESTION, long)
    assert len(pieces) <= 2 and len(pieces[-1]) < len(full)


def test_abandoned_stream_frees_the_model(demo_chat_model):
    stream = stream_reply(demo_chat_model, QUESTION, GenerationSettings(max_new_tokens=200))
    next(stream)
    stream.close()  # e.g. the browser went away
    assert reply(demo_chat_model, QUESTION, SHORT)  # the lock was released


def test_chat_end_token_is_an_end_of_turn_id(demo_chat_model, demo_tokenizer):
    ids = end_of_turn_ids(demo_chat_model.loaded.model, demo_tokenizer)
    assert demo_tokenizer.convert_tokens_to_ids("<|im_end|>") in ids


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_new_tokens", 0),
        ("temperature", -0.1),
        ("top_p", 0.0),
        ("repetition_penalty", 0.5),
    ],
)
def test_settings_out_of_range_name_the_field(field, value):
    with pytest.raises(ConfigError, match=f"{field}={value!r}"):
        GenerationSettings(**{field: value})


def test_chat_defaults_take_the_demo_models_loop_guards(tmp_path):
    import json

    from ftcore.runtime.models import DEMO_MODEL_DIR

    asked = json.loads((DEMO_MODEL_DIR / "generation_config.json").read_text("utf-8"))
    demo = GenerationSettings.for_model("demo")
    assert (demo.repetition_penalty, demo.no_repeat_ngram_size) == (
        asked["repetition_penalty"],
        asked["no_repeat_ngram_size"],
    )
    assert demo.greedy and demo.no_repeat_ngram_size > 0
    assert GenerationSettings.for_model(str(tmp_path)) == GenerationSettings()  # no file


def test_no_repeat_ngram_size_holds_in_the_reply(demo_chat_model, demo_tokenizer):
    guarded = GenerationSettings(max_new_tokens=60, no_repeat_ngram_size=3)
    ids = demo_tokenizer(
        reply(demo_chat_model, [{"role": "user", "content": "给外婆写一条春节祝福"}], guarded)
    )["input_ids"]
    trigrams = [tuple(ids[i : i + 3]) for i in range(len(ids) - 2)]
    assert len(trigrams) == len(set(trigrams))
    with pytest.raises(ConfigError, match="no_repeat_ngram_size=-1"):
        GenerationSettings(no_repeat_ngram_size=-1)
