"""The embedded demo model: offline loading, size, tokenizer round trips, sources."""

import json
import subprocess
import sys

import pytest

from ftcore.errors import ModelNotFoundError
from ftcore.runtime.models import DEMO_MODEL_DIR, resolve_model_source

ROUND_TRIP_TEXTS = [
    "新春快乐，万事如意！",
    "How do I keep cut apples from turning brown?",
    "Happy New Year！祝你2027年升职加薪，emoji 🧧 也行。",
    "全角标点：，。！？“引号”（括号）；顿号、",
    "  leading spaces\nand\ttabs  ",
]


def test_demo_model_folder_is_complete_and_small():
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "vocab.json",
        "merges.txt",
        "tokenizer_config.json",
        "generation_config.json",
        "README.md",
    ):
        assert (DEMO_MODEL_DIR / name).is_file(), name
    assert (DEMO_MODEL_DIR / "model.safetensors").stat().st_size <= 25 * 1024 * 1024
    config = json.loads((DEMO_MODEL_DIR / "config.json").read_text())
    assert config["model_type"] == "qwen2"


def test_loads_offline_with_plain_transformers():
    """A fresh interpreter with the Hub switched off loads it through the Auto classes."""
    script = (
        "from transformers import AutoModelForCausalLM, AutoTokenizer\n"
        f"path = {str(DEMO_MODEL_DIR)!r}\n"
        "m = AutoModelForCausalLM.from_pretrained(path)\n"
        "t = AutoTokenizer.from_pretrained(path)\n"
        "print(type(m).__name__, type(t).__name__, t.eos_token)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"HF_HUB_OFFLINE": "1", "PATH": ""},
        check=True,
    )
    assert result.stdout.split() == ["Qwen2ForCausalLM", "Qwen2Tokenizer", "<|im_end|>"]


def test_lora_target_modules_match_qwen25_names(demo_chat_model):
    names = {name.rsplit(".", 1)[-1] for name, _ in demo_chat_model.loaded.model.named_modules()}
    assert {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"} <= names


@pytest.mark.parametrize("text", ROUND_TRIP_TEXTS)
def test_tokenizer_round_trips_chinese_english_and_mixed(demo_tokenizer, text):
    ids = demo_tokenizer(text, add_special_tokens=False)["input_ids"]
    assert ids, "text must not encode to nothing"
    assert demo_tokenizer.decode(ids) == text


def test_chat_special_tokens_are_single_ids(demo_tokenizer):
    for token in ("<|im_start|>", "<|im_end|>", "<|endoftext|>"):
        assert len(demo_tokenizer(token, add_special_tokens=False)["input_ids"]) == 1


def test_demo_alias_and_folders_resolve(tmp_path):
    assert resolve_model_source("demo") == str(DEMO_MODEL_DIR)
    assert resolve_model_source(str(DEMO_MODEL_DIR)) == str(DEMO_MODEL_DIR)
    assert resolve_model_source("Qwen/Qwen2.5-0.5B-Instruct") == "Qwen/Qwen2.5-0.5B-Instruct"


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("", "no base model given"),
        ("./no/such/folder", "does not exist"),
        ("/abs/missing", "does not exist"),
    ],
)
def test_bad_sources_are_named(source, error):
    with pytest.raises(ModelNotFoundError, match=error):
        resolve_model_source(source)


def test_folder_without_config_is_refused(tmp_path):
    with pytest.raises(ModelNotFoundError, match="no config.json"):
        resolve_model_source(str(tmp_path))


def test_unreachable_hub_id_gives_a_clear_error():
    from ftcore.runtime.models import load_model

    with pytest.raises(ModelNotFoundError, match="HF_HUB_OFFLINE is set and it is not in the"):
        load_model("ftstudio-tests/no-such-model", device="cpu")


def test_four_bit_loading_quantises_the_linear_layers():
    import bitsandbytes as bnb

    from ftcore.runtime.models import load_model

    loaded = load_model("demo", load_in_4bit=True, device="cpu")
    linear4 = [m for m in loaded.model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert len(linear4) == 7 * loaded.model.config.num_hidden_layers
    assert linear4[0].weight.quant_type == "nf4"
    assert "4-bit NF4" in loaded.summary()
