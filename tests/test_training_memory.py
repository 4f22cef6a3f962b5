"""Memory estimate: model shapes and every part of the estimate, computed by hand."""

from pathlib import Path

import pytest
from transformers import Qwen2Config

from ftcore.training.config import TrainConfig
from ftcore.training.execute import oom_advice
from ftcore.training.memory import (
    NF4_BYTES,
    estimate_for_config,
    estimate_memory,
    lora_params,
    model_shape,
    shape_of,
)
from ftcore.training.modeling import ATTENTION_AND_MLP

GIB = 2**30


@pytest.fixture(scope="module")
def qwen05b():
    """Qwen2.5-0.5B's architecture, built by hand (nothing is downloaded)."""
    config = Qwen2Config(
        vocab_size=151936,
        hidden_size=896,
        intermediate_size=4864,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        tie_word_embeddings=True,
    )
    return model_shape(config)


def qwen_layer(hidden, inter, kv):
    """Parameters of one Qwen2 decoder layer: q/k/v have biases, two RMSNorms."""
    attention = (hidden * hidden + hidden) + 2 * (hidden * kv + kv) + hidden * hidden
    return attention + 3 * hidden * inter + 2 * hidden


def test_demo_model_shape_by_hand():
    shape = shape_of("demo")
    # vocab 8000, hidden 288, 4 layers, intermediate 768, kv 2 heads x 72; tied embeddings
    assert shape.n_params == 8000 * 288 + 4 * qwen_layer(288, 768, 144) + 288 == 5_958_432
    assert shape.linear_params == 4 * (2 * 288 * 288 + 2 * 288 * 144 + 3 * 288 * 768)
    assert lora_params(shape, 8, ATTENTION_AND_MLP) == 4 * 8 * (
        2 * 576 + 2 * 432 + 3 * 1056
    )  # r x (in + out) per adapted layer
    assert (shape.hidden, shape.intermediate, shape.kv_dim, shape.vocab) == (288, 768, 144, 8000)


def test_qwen25_05b_shape_by_hand(qwen05b):
    assert qwen05b.n_params == 151936 * 896 + 24 * qwen_layer(896, 4864, 128) + 896
    assert qwen05b.n_params == 494_032_768  # the published figure
    assert lora_params(qwen05b, 8, ATTENTION_AND_MLP) == 4_399_104


def lora_layer_bytes(hidden, inter, kv, heads):
    return 48.8 * hidden + 12.3 * inter + 4.1 * kv + 0.8 * heads  # measured, see memory.py


def test_qwen25_05b_lora_batch4_seq2048_by_hand(qwen05b):
    estimate = estimate_memory(qwen05b, method="lora", batch_size=4, max_length=2048)
    n, trainable, tokens = 494_032_768, 4_399_104, 4 * 2048
    assert estimate.trainable_params == trainable
    assert estimate.weights_gb == pytest.approx(2 * n / GIB)  # bf16 frozen base
    assert estimate.trainable_gb == pytest.approx(4 * trainable / GIB)
    assert estimate.gradients_gb == pytest.approx(4 * trainable / GIB)
    assert estimate.optimizer_gb == pytest.approx(8 * trainable / GIB)
    per_token = 24 * lora_layer_bytes(896, 4864, 128, 14) + 16 * 896
    assert estimate.activations_gb == pytest.approx(tokens * per_token / GIB)
    assert estimate.logits_gb == pytest.approx(tokens * 151936 * 16 / GIB)  # 18.5 GB
    parts = (
        estimate.weights_gb + estimate.trainable_gb + estimate.gradients_gb
        + estimate.optimizer_gb + estimate.activations_gb + estimate.logits_gb
    )  # fmt: skip
    assert estimate.overhead_gb == pytest.approx(0.5 + 0.1 * parts)
    assert estimate.total_gb == pytest.approx(1.1 * parts + 0.5)
    assert 40 < estimate.total_gb < 45
    assert estimate.fits == {12: False, 16: False, 24: False, 80: True}


def test_suggestions_say_what_each_remedy_brings(qwen05b):
    estimate = estimate_memory(qwen05b, method="lora", batch_size=4, max_length=2048)
    single = estimate_memory(qwen05b, method="lora", batch_size=1, max_length=2048)
    checkpointed = estimate_memory(
        qwen05b, method="lora", batch_size=4, max_length=2048, gradient_checkpointing=True
    )
    assert estimate.suggestions[0] == (
        f"batch_size=1 with 4x the grad_accum (same effective batch): ~{single.total_gb:.1f} GB"
    )
    assert (
        estimate.suggestions[1] == f"gradient_checkpointing=true: ~{checkpointed.total_gb:.1f} GB"
    )
    # On a 0.5B model QLoRA's fp32 hidden states outweigh its smaller weights: not offered.
    assert not any("qlora" in s for s in estimate.suggestions)
    together = estimate_memory(
        qwen05b, method="lora", batch_size=1, max_length=2048, gradient_checkpointing=True
    )
    assert estimate.suggestions[2] == f"all of these together: ~{together.total_gb:.1f} GB"
    assert single.fits[16] and checkpointed.fits[24] and not checkpointed.fits[16]
    layer = lora_layer_bytes(896, 4864, 128, 14)
    per_token = 24 * 2 * 896 + layer + 16 * 896  # layer inputs kept, one layer rebuilt
    assert checkpointed.activations_gb == pytest.approx(4 * 2048 * per_token / GIB)


def test_qlora_and_full_weights_by_hand(qwen05b):
    n, linear = 494_032_768, qwen05b.linear_params
    qlora = estimate_memory(qwen05b, method="qlora", batch_size=1, max_length=512)
    assert qlora.weights_gb == pytest.approx((linear * NF4_BYTES + (n - linear) * 4) / GIB)
    assert pytest.approx(0.5159, abs=1e-4) == NF4_BYTES
    full = estimate_memory(qwen05b, method="full", batch_size=1, max_length=512)
    assert full.trainable_params == n
    assert full.weights_gb == pytest.approx(6 * n / GIB)  # fp32 master + bf16 autocast copy
    assert (full.gradients_gb, full.optimizer_gb) == pytest.approx((4 * n / GIB, 8 * n / GIB))
    assert full.trainable_gb == 0


def test_demo_model_fits_every_card_and_the_config_helper_agrees():
    estimate = estimate_for_config(TrainConfig(data="ds", batch_size=4, max_length=2048))
    by_hand = estimate_memory(shape_of("demo"), method="lora", batch_size=4, max_length=2048)
    assert estimate == by_hand
    per_token = 4 * lora_layer_bytes(288, 768, 144, 4) + 16 * 288
    assert estimate.activations_gb == pytest.approx(8192 * per_token / GIB)
    assert estimate.logits_gb == pytest.approx(8192 * 8000 * 16 / GIB)
    assert 1.5 < estimate.total_gb < 2.5
    assert all(estimate.fits.values()) and estimate.suggestions == []
    assert "12 GB ✓" in estimate.summary()


def test_out_of_memory_advice_is_concrete():
    advice = oom_advice(TrainConfig(data="ds", batch_size=8, grad_accum=2), step=12)
    assert advice == (
        "the GPU ran out of memory at step 12 (method=lora, batch_size=8, max_length=2048); "
        "start a new run with batch_size=4 with grad_accum=4 (same effective batch), or "
        "gradient_checkpointing=true, or method=qlora"
    )


# ---- issue 13: `ftcore memory` offline and on a terminal ---------------------------------


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """An empty Hugging Face cache in tmp_path, online, and a Hub that must never be
    retried: huggingface_hub sleeps between retries, so a sleep fails the test."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)

    def no_retry(seconds):
        raise AssertionError(f"slept {seconds} s: the Hub was retried")

    monkeypatch.setattr("huggingface_hub.utils._http.time.sleep", no_retry)
    return constants


def cache_model(hub, repo_id: str) -> None:
    """Put the demo model's config.json in the cache as `repo_id`'s, as a download would."""
    from ftcore.runtime.models import DEMO_MODEL_DIR

    repo = Path(hub.HF_HUB_CACHE) / f"models--{repo_id.replace('/', '--')}"
    (repo / "snapshots" / "0123abcd").mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    config = (DEMO_MODEL_DIR / "config.json").read_bytes()
    (repo / "snapshots" / "0123abcd" / "config.json").write_bytes(config)


def test_offline_hub_id_fails_at_once_in_one_line(hub, monkeypatch, capsys):
    from ftcore.cli import main

    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", True)
    assert main(["memory", "--base", "nobody/missing"]) == 1
    assert capsys.readouterr().err == (
        "ftcore memory: error: cannot load 'nobody/missing': HF_HUB_OFFLINE is set and it is "
        f"not in the local Hugging Face cache ({hub.HF_HUB_CACHE}); download it once while "
        "online, or give a model folder\n"
    )


def test_unreachable_hub_fails_at_once_in_one_line(hub, monkeypatch, capsys):
    from ftcore.cli import main

    monkeypatch.setattr(hub, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    assert main(["memory", "--base", "nobody/missing"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "ftcore memory: error: cannot load 'nobody/missing': cannot reach http://127.0.0.1:9 ("
    )
    assert err.count("\n") == 1 and "not in the local Hugging Face cache" in err


@pytest.mark.parametrize("offline", [True, False])
def test_a_cached_hub_model_is_estimated_without_the_hub(hub, monkeypatch, capsys, offline):
    from ftcore.cli import main

    cache_model(hub, "someone/cached")
    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", offline)
    monkeypatch.setattr(hub, "ENDPOINT", "http://127.0.0.1:9")
    assert main(["memory", "--base", "someone/cached"]) == 0
    cached = capsys.readouterr().out
    assert main(["memory", "--base", "demo"]) == 0
    assert cached == capsys.readouterr().out  # the same config, so the same estimate


def test_memory_prints_a_plain_table_and_markdown_only_when_asked(capsys):
    from ftcore.cli import main

    config = TrainConfig(base="demo", batch_size=64, max_length=4096)
    estimate = estimate_for_config(config, target_gb=12)
    assert main(["memory", "--base", "demo", "--batch-size", "64", "--max-length", "4096",
                 "--target-gb", "12"]) == 0  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        f"peak GPU memory: ~{estimate.total_gb:.1f} GB (lora, batch 64 x 4096 tokens, no "
        "gradient checkpointing)"
    )
    table = lines[2:9]
    assert table[0].split() == ["part", "GB"]
    assert table[-1].split() == ["total", f"{estimate.total_gb:.2f}"]
    assert len({len(line) for line in table}) == 1  # right-aligned numbers: one width
    assert lines[10] == "fits: 12 GB no, 16 GB no, 24 GB no, 80 GB yes"
    assert lines[12:] == ["to need less:", *(f"- {s}" for s in estimate.suggestions)]
    assert not any(mark in "\n".join(lines) for mark in ("**", "✓", "✗"))
    assert main(["memory", "--base", "demo", "--markdown"]) == 0
    markdown = capsys.readouterr().out
    assert (
        markdown.startswith("**~")
        and markdown == estimate_for_config(TrainConfig(base="demo")).summary() + "\n"
    )


def test_a_malformed_hub_id_is_one_line_naming_it(hub, capsys):
    from ftcore.cli import main

    assert main(["memory", "--base", "foo bar"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "ftcore memory: error: 'foo bar' is neither a model folder nor a Hugging Face model id: "
    )
    assert err.count("\n") == 1
