"""LoRA adapters: attach, switch, detach, merge and save."""

import pytest
import torch

from ftcore.errors import AdapterError
from ftcore.runtime.adapters import adapter_base_model, find_adapters, merge_and_save
from ftcore.runtime.generation import GenerationSettings, reply
from ftcore.runtime.models import DEMO_MODEL_DIR

PROMPT = [{"role": "user", "content": "给同事写一条新年祝福。"}]
SETTINGS = GenerationSettings(max_new_tokens=16)


def next_token_logits(chat_model, adapter):
    from ftcore.chat_format import encode_for_generation

    ids = torch.tensor([encode_for_generation(chat_model.tokenizer, PROMPT)])
    with chat_model.using(adapter) as model, torch.no_grad():
        return model(input_ids=ids).logits[0, -1]


def test_adapters_switch_outputs_and_base_is_restored(
    demo_chat_model, lora_adapter, other_lora_adapter
):
    base_logits = next_token_logits(demo_chat_model, None)
    base_reply = reply(demo_chat_model, PROMPT, SETTINGS)
    first = demo_chat_model.attach(lora_adapter)
    second = demo_chat_model.attach(other_lora_adapter)
    assert (first, second) == ("greetings-lora", "other-lora")

    first_logits = next_token_logits(demo_chat_model, first)
    second_logits = next_token_logits(demo_chat_model, second)
    assert not torch.allclose(first_logits, base_logits, atol=1e-3)
    assert not torch.allclose(first_logits, second_logits, atol=1e-3)
    # With every adapter off, the base model answers exactly as before attaching.
    assert torch.allclose(next_token_logits(demo_chat_model, None), base_logits)
    assert reply(demo_chat_model, PROMPT, SETTINGS, adapter=None) == base_reply
    assert reply(demo_chat_model, PROMPT, SETTINGS, adapter=first) != base_reply


def test_detaching_the_last_adapter_restores_the_plain_model(demo_chat_model, lora_adapter):
    base_logits = next_token_logits(demo_chat_model, None)
    name = demo_chat_model.attach(lora_adapter)
    demo_chat_model.detach(name)
    assert demo_chat_model.adapters == {}
    assert type(demo_chat_model.loaded.model).__name__ == "Qwen2ForCausalLM"
    assert torch.allclose(next_token_logits(demo_chat_model, None), base_logits)


def test_same_folder_attaches_once_and_same_names_are_kept_apart(
    demo_chat_model, lora_adapter, tmp_path
):
    import shutil

    twin = shutil.copytree(lora_adapter, tmp_path / "x" / lora_adapter.name)
    assert demo_chat_model.attach(lora_adapter) == demo_chat_model.attach(lora_adapter)
    assert demo_chat_model.attach(twin) == "greetings-lora-2"


def test_unknown_adapter_name_suggests_the_close_one(demo_chat_model, lora_adapter):
    demo_chat_model.attach(lora_adapter)
    with (
        pytest.raises(AdapterError, match="Did you mean 'greetings-lora'"),
        demo_chat_model.using("greetings-lora2"),
    ):
        pass


def test_folder_that_is_not_an_adapter_is_refused(demo_chat_model, tmp_path):
    with pytest.raises(AdapterError, match="does not exist"):
        demo_chat_model.attach(tmp_path / "missing")
    with pytest.raises(AdapterError, match="no adapter_config.json"):
        demo_chat_model.attach(tmp_path)


def test_merged_model_matches_base_plus_adapter(demo_chat_model, lora_adapter, tmp_path):
    from ftcore.runtime.adapters import ChatModel
    from ftcore.runtime.models import load_model

    name = demo_chat_model.attach(lora_adapter)
    with_adapter = next_token_logits(demo_chat_model, name)
    out = merge_and_save("demo", lora_adapter, tmp_path / "merged")
    merged = ChatModel(load_model(str(out), device="cpu"))
    assert type(merged.loaded.model).__name__ == "Qwen2ForCausalLM"
    assert torch.allclose(next_token_logits(merged, None), with_adapter, atol=1e-4)
    assert reply(merged, PROMPT, SETTINGS) == reply(demo_chat_model, PROMPT, SETTINGS, adapter=name)


def test_adapter_records_its_base_and_is_found_under_runs(lora_adapter):
    assert adapter_base_model(lora_adapter) == str(DEMO_MODEL_DIR)
    assert lora_adapter in find_adapters(lora_adapter.parent)


def test_a_run_is_listed_once_however_many_weights_it_keeps(lora_adapter, tmp_path):
    """A run folder publishes its chosen weights at its top and keeps best/ and last/:
    one run, one entry. An adapter copied in elsewhere is listed as it is."""
    import shutil

    runs = tmp_path / "runs"
    run = shutil.copytree(lora_adapter, runs / "20261130-043254-lora-demo")
    for kept in ("best", "last"):
        shutil.copytree(lora_adapter, run / kept)
    loose = shutil.copytree(lora_adapter, runs / "imported" / "best")
    assert sorted(find_adapters(runs)) == [run, loose]


def test_an_adapter_is_named_as_its_folder(demo_chat_model, lora_adapter, tmp_path):
    """The name evaluations and chats show is the run's folder name, hyphens and all;
    only a dot, which peft's adapter names cannot hold, is replaced."""
    import shutil

    run = shutil.copytree(lora_adapter, tmp_path / "20261130-043254-lora-demo")
    dotted = shutil.copytree(lora_adapter, tmp_path / "lora.v2")
    assert demo_chat_model.attach(run) == "20261130-043254-lora-demo"
    assert demo_chat_model.attach(dotted) == "lora_v2"
    tuned = reply(demo_chat_model, PROMPT, SETTINGS, adapter="20261130-043254-lora-demo")
    assert tuned == reply(demo_chat_model, PROMPT, SETTINGS, adapter="lora_v2")
