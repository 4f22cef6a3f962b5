"""The shipped demo model: size, precision, held-out perplexity, decoding defaults, its
corpus extraction and contamination, the demo preset, and the clean-greeting check."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ftcore.evaluation.greeting_check import (
    chinese_share,
    clean_greeting_rate,
    greeting_problems,
)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
MODEL = DATA / "demo-model"
BUILD_INFO = json.loads((MODEL / "build_info.json").read_text("utf-8"))
# Windows longer than any phrase two independent texts share by chance: 12 characters
# that are mostly Chinese, or 50 of any kind (English shares 12-character words).
NGRAM, MIN_CJK_IN_NGRAM, LONG_NGRAM = 12, 8, 50

sys.path.insert(0, str(DATA))  # data/debian_corpus.py sits beside the build script
import debian_corpus  # noqa: E402


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


# --- the model files --------------------------------------------------------------------


def test_model_file_is_under_25_mb_in_float16_and_loads_in_float32_on_cpu():
    import torch
    from safetensors import safe_open

    from ftcore.runtime.models import load_model

    size = (MODEL / "model.safetensors").stat().st_size
    assert size <= 25 * 1024 * 1024 and size == BUILD_INFO["model"]["model_safetensors_bytes"]
    with safe_open(MODEL / "model.safetensors", "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}  # noqa: SIM118
    loaded = load_model("demo", device="cpu")
    # LoRA training and perplexity compute in float32; float16 widens to it exactly
    assert loaded.model.dtype == torch.float32
    n_params = sum(p.numel() for p in loaded.model.parameters())
    assert n_params == BUILD_INFO["model"]["parameters"]
    assert 2 * n_params < size < 2 * n_params + 100_000  # 2 bytes a weight, plus a header


def corpus_perplexity(model, tokenizer, texts: list[str]) -> float:
    """exp(total NLL / predicted tokens), each text after <|endoftext|>, 256-token windows."""
    import torch

    eos = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    total, count = 0.0, 0
    with torch.no_grad():
        for text in texts:
            ids = [eos] + tokenizer.encode(text, add_special_tokens=False)
            for start in range(0, len(ids) - 1, 255):
                window = torch.tensor([ids[start : start + 256]])
                logits = model(input_ids=window).logits[0, :-1]
                total += torch.nn.functional.cross_entropy(
                    logits, window[0, 1:], reduction="sum"
                ).item()
                count += window.shape[1] - 1
    return math.exp(total / count)


def test_model_beats_a_random_initialisation_on_held_out_modern_chinese_prose():
    import torch
    from transformers import AutoModelForCausalLM

    from ftcore.runtime.models import load_model

    docs = read_jsonl(MODEL / "heldout_modern_zh.jsonl")
    texts = [d["text"] for d in docs]
    assert sum(map(len, texts)) >= 15_000 and all(chinese_share(t) > 0.4 for t in texts)
    loaded = load_model("demo", device="cpu")
    torch.manual_seed(0)
    random_init = AutoModelForCausalLM.from_config(loaded.model.config).eval()
    trained = corpus_perplexity(loaded.model.eval(), loaded.tokenizer, texts)
    untrained = corpus_perplexity(random_init, loaded.tokenizer, texts)
    # a random model is near-uniform over the vocabulary
    assert untrained == pytest.approx(len(loaded.tokenizer), rel=0.3)
    assert untrained / trained > 8  # measured 9.1: 6.8 nats a token instead of 9.0
    recorded = BUILD_INFO["training"]["heldout_perplexity_vs_random_init"]["shipped_sample"]
    assert trained == pytest.approx(recorded["model"], rel=0.05)  # the build's own figure


def test_shipped_held_out_documents_are_in_the_builds_held_out_split():
    from build_demo_model import Doc, is_heldout

    docs = read_jsonl(MODEL / "heldout_modern_zh.jsonl")
    assert docs and all(is_heldout(Doc(d["source"], d["text"])) for d in docs)


def test_generation_config_is_greedy_and_stops_decoding_loops():
    from transformers import GenerationConfig

    from ftcore.chat_format import encode_for_generation
    from ftcore.runtime.models import load_model

    config = GenerationConfig.from_pretrained(MODEL)
    assert config.do_sample is False and config.num_beams in (None, 1)
    assert config.repetition_penalty > 1 and config.no_repeat_ngram_size >= 3
    loaded = load_model("demo", device="cpu")
    import torch

    for prompt in ("新年", "给外婆写一条春节祝福", "Write a New Year greeting."):
        ids = encode_for_generation(loaded.tokenizer, [{"role": "user", "content": prompt}])
        with torch.no_grad():
            out = loaded.model.generate(
                input_ids=torch.tensor([ids]), generation_config=config, max_new_tokens=60
            )
        reply = loaded.tokenizer.decode(out[0, len(ids) :], skip_special_tokens=True)
        assert not re.search(r"(.)\1{5}", reply), reply
        assert (
            reply
            == loaded.tokenizer.decode(  # greedy: the same reply every time
                loaded.model.generate(
                    input_ids=torch.tensor([ids]), generation_config=config, max_new_tokens=60
                )[0, len(ids) :],
                skip_special_tokens=True,
            )
        )


# --- the corpus -------------------------------------------------------------------------

DEBIAN_PAGE = """<html><head><title>ignored</title></head><body>
<div class="toc"><p>目录 第一章 第二章 第三章 第四章 第五章</p></div>
<p>Debian 是一个自由的操作系统，由全世界的志愿者共同开发和维护。</p>
<pre class="screen">$ sudo apt-get install foo bar baz qux</pre>
<table><tr><td><p>表格里的说明文字也不要，这些通常是命令的列表。</p></td></tr></table>
<p>使用 <code>a</code> <code>b</code> <code>c</code> <code>d</code> 四个命令来安装软件。</p>
<p>配置文件在 /etc/apt/sources.list 和 /etc/apt/preferences 里面。</p>
<p>软件包的 <code class="literal">版本</code> 号写在 changelog 文件的第一行里。</p>
</body></html>"""


def test_debian_html_keeps_prose_and_drops_listings_tables_and_code(tmp_path):
    page = tmp_path / "ch01.zh-cn.html"
    page.write_text(DEBIAN_PAGE, encoding="utf-8")
    kept = [p for p in debian_corpus.html_paragraphs(page) if debian_corpus.is_prose(p, "zh")]
    assert kept == [
        "Debian 是一个自由的操作系统，由全世界的志愿者共同开发和维护。",
        "软件包的版本号写在 changelog 文件的第一行里。",  # spaces between CJK dropped
    ]  # toc, pre, table, 4 inline commands, and paths (code characters) are all gone


def test_prose_filter_by_hand():
    assert debian_corpus.tidy("程序 维护 的 档案， 可以 恢复") == "程序维护的档案，可以恢复"
    assert not debian_corpus.is_prose("太短了", "zh")
    assert not debian_corpus.is_prose("This is English text in a Chinese source, not wanted.", "zh")
    english = "The package system keeps track of every file that each package installs."
    assert debian_corpus.is_prose(english, "en")
    assert not debian_corpus.is_prose("Run $HOME/bin/foo --bar=baz | grep x > /tmp/y now.", "en")


def test_every_corpus_source_records_its_package_version_and_licence():
    sources = BUILD_INFO["corpus"]["sources"]
    debian = {s.name: s for s in debian_corpus.DEBIAN_SOURCES}
    assert set(debian) <= set(sources)
    for name, stats in sources.items():
        assert stats["licence"] and stats["documents"] > 0 and stats["tokens"] > 0, name
        if name in debian:
            assert stats["package"] == debian[name].package and stats["version"], name
    assert all(p in BUILD_INFO["rebuild_command"] for p in debian_corpus.REQUIRED_PACKAGES)
    card = (MODEL / "README.md").read_text("utf-8")
    assert all(f"{s['package']} {s['version']}" in card for s in sources.values() if s["package"])


def windows(text: str) -> set[str]:
    short = {text[i : i + NGRAM] for i in range(len(text) - NGRAM + 1)}
    long = {text[i : i + LONG_NGRAM] for i in range(len(text) - LONG_NGRAM + 1)}
    return {w for w in short if len(re.findall(r"[\u4e00-\u9fff]", w)) >= MIN_CJK_IN_NGRAM} | long


def fine_tuning_ngrams() -> set[str]:
    """The windows of the greeting, multi-turn and probe replies."""
    texts = [
        r["output"] for r in read_jsonl(DATA / "greetings" / "spring_festival_greetings.jsonl")
    ]
    texts += [r["output"] for r in read_jsonl(DATA / "probe" / "general_probe.jsonl")]
    for row in json.loads((DATA / "multiturn" / "greeting_chats.sharegpt.json").read_text("utf-8")):
        texts += [turn["value"] for turn in row["conversations"] if turn["from"] == "gpt"]
    return set().union(*map(windows, texts))


def corpus_hits(corpus: str, ngrams: set[str]) -> list[str]:
    return [
        corpus[i : i + n]
        for n in (NGRAM, LONG_NGRAM)
        for i in range(len(corpus))
        if corpus[i : i + n] in ngrams
    ]


def test_contamination_check_finds_a_planted_greeting():
    greeting = read_jsonl(DATA / "greetings" / "spring_festival_greetings.jsonl")[0]["output"]
    assert corpus_hits("无关的文字。" + greeting[5:20] + "其他", fine_tuning_ngrams())


@pytest.mark.skipif(
    any(debian_corpus.package_version(p) is None for p in debian_corpus.REQUIRED_PACKAGES),
    reason=f"needs the corpus packages: {debian_corpus.APT_COMMAND}",
)
def test_debian_corpus_holds_no_fine_tuning_or_probe_text():
    """About 20 s: extracts all of the Debian prose the build reads (groff renders the man
    pages), which is the only way to know that none of it repeats our task data."""
    corpus = "\n".join(
        doc
        for source in debian_corpus.DEBIAN_SOURCES
        for doc in debian_corpus.load_debian_source(source)
    )
    assert len(corpus) > 500_000
    assert corpus_hits(corpus, fine_tuning_ngrams()) == []


def test_shipped_held_out_sample_holds_no_fine_tuning_text():
    sample = "\n".join(d["text"] for d in read_jsonl(MODEL / "heldout_modern_zh.jsonl"))
    assert corpus_hits(sample, fine_tuning_ngrams()) == []


# --- the demo preset --------------------------------------------------------------------


def parsed_train_config(*flags: str):
    from ftcore.cli import build_parser
    from ftcore.cli.train_commands import config_from_args

    return config_from_args(build_parser().parse_args(["train", *flags]))


def test_ftcore_train_uses_the_demo_preset_for_the_demo_base_unless_told_otherwise():
    from ftcore.training.presets import PRESETS

    config = parsed_train_config("--data", "ds")
    assert config.base == "demo"
    assert {k: getattr(config, k) for k in PRESETS["demo"]} == PRESETS["demo"]
    assert (config.learning_rate, config.lora_rank, config.max_length) == (3e-3, 64, 256)
    other = parsed_train_config("--data", "ds", "--base", "/models/qwen")
    assert (other.learning_rate, other.lora_rank, other.max_length) == (2e-4, 8, 2048)
    starter = parsed_train_config("--data", "ds", "--preset", "starter")
    assert (starter.base, starter.learning_rate) == ("demo", 2e-4)
    flagged = parsed_train_config("--data", "ds", "--lr", "1e-3")
    assert (flagged.learning_rate, flagged.lora_rank) == (1e-3, 64)  # flags win over presets


def test_equivalent_command_reproduces_any_config_on_the_demo_base():
    """The command lists what differs from the preset `ftcore train` will apply."""
    from ftcore.training.config import command_line
    from ftcore.training.presets import preset_config

    starter = preset_config("starter", data="ds")
    assert command_line(starter) == (
        "ftcore train --base demo --data ds --rank 8 --lora-alpha 16 --lora-dropout 0.05 "
        "--epochs 3 --lr 0.0002 --batch-size 4 --max-length 2048 --eval-every 50 --save-every 50"
    )
    assert parsed_train_config(*command_line(starter).split()[2:]) == starter
    demo = preset_config("demo", data="ds")
    assert command_line(demo) == "ftcore train --base demo --data ds"


# --- the clean-greeting check -----------------------------------------------------------


NO_CHINESE = ["only 0% Chinese characters (needs 70%)", "no blessing phrase"]


@pytest.mark.parametrize(
    ("reply", "problems"),
    [
        ("外婆，新年好！祝您身体健康，福寿绵长。", []),
        (
            "新年年年年年年年年。",
            [
                "no blessing phrase",
                "'年' repeated more than 5 times in a row",
                "only 2 different Chinese characters",
            ],
        ),
        ("祝您新年快乐，万事如意\ufffd", ["contains U+FFFD (a broken character)"]),
        (
            "How do I do not do I bes with a maps",
            [*NO_CHINESE, "only 0 different Chinese characters"],
        ),
        ("哈哈哈哈哈，祝你新年开心，万事如意！", []),  # five in a row is laughter, six a loop
        ("", [*NO_CHINESE, "only 0 different Chinese characters"]),
        (
            "。\n。\n。\n愿你一一一。",
            ["'。\\n' repeated three times in a row", "only 3 different Chinese characters"],
        ),
        ("祝你开心", ["only 4 different Chinese characters"]),
    ],
)
def test_greeting_problems_by_hand(reply, problems):
    assert greeting_problems(reply) == problems


def test_chinese_share_counts_letters_and_digits_only():
    assert chinese_share("祝你 happy！") == pytest.approx(2 / 7)
    assert chinese_share("，。！") == 0.0
    replies = ["祝你新年快乐，万事如意！", "nothing", "愿你平安喜乐，年年有余。", "新年年年年年年"]
    assert clean_greeting_rate(replies) == 0.5


def test_most_reference_greetings_pass_the_check():
    outputs = [
        r["output"] for r in read_jsonl(DATA / "greetings" / "spring_festival_greetings.jsonl")
    ]
    assert clean_greeting_rate(outputs) == pytest.approx(438 / 460)


# --- the default run, for real ----------------------------------------------------------


@pytest.mark.slow
def test_default_training_on_the_demo_model_writes_clean_greetings(tmp_path):
    """The real `ftcore train --data DS` on the greetings, through the benchmark script:
    about 3 minutes on two uncontended cores (training, then the 46 held-out replies as
    the Chat tab decodes them by default, and plain greedy ones as `ftcore eval` does)."""
    out = tmp_path / "result.json"
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_demo_default_run.py"), "--out", str(out)],
        check=True,
        env=env,
        timeout=900,
    )
    result = json.loads(out.read_text("utf-8"))
    after = [r["after"] for r in result["replies"]]
    assert result["held_out_prompts"] == len(after) >= 40
    assert result["clean_rate_after"] == clean_greeting_rate(after) >= 0.8
    assert result["clean_rate_before"] < 0.5  # the base model alone does not write greetings
    assert "learning_rate: 0.003" in result["config_yaml"]
