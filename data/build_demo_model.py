"""Build ftstudio's embedded demo base model: a tiny Qwen2 pretrained from scratch on CPU.

    python data/build_demo_model.py [--minutes 35] [--out data/demo-model]

ftstudio must work fully offline, so it ships its own small base model instead of
downloading Qwen2.5. This script rebuilds that model from nothing but files on disk, in
the order below; each step exists for a reason:

1. Corpus. Classical Chinese texts that are in the public domain, taken from Debian's
   `fortunes-zh` package (Tang and Song poems, the Analects, proverbs, ...), plus the
   project's own everyday text and chat transcripts (data/pretrain_corpus/) when present.
   Only items whose attribution is a classical work are kept: modern authors in the same
   files are still under copyright and the Debian manual excerpts are off-topic. Chats are
   rendered with the same ChatML template the tokenizer ships, so the base model already
   knows the turn format that fine-tuning and the chat tab use. About 5% of documents
   (chosen by a seeded hash of the text, so adding documents never reshuffles the rest)
   are held out to measure perplexity honestly. Fine-tuning and probe data
   (data/greetings, data/multiturn, data/probe) are never read: a base model that has seen
   them would make every fine-tuning gain in the demo look smaller or larger than it is.
2. Tokenizer. A byte-level BPE with Qwen2's pre-tokenisation. transformers 5 loads any
   folder whose config says `qwen2` with its own Qwen2Tokenizer built from vocab.json and
   merges.txt, ignoring tokenizer.json's pipeline; matching Qwen2's pipeline exactly
   makes both loaders agree. The save is verified through AutoTokenizer round trips.
3. Model. Qwen2Config/Qwen2ForCausalLM, so LoRA target names (q_proj ... down_proj)
   match Qwen2.5 and the same code path serves the demo and real models.
4. Pretraining. A plain PyTorch loop on packed 256-token sequences under a wall-clock
   budget, keeping the weights with the best held-out loss (the corpus is small, so late
   steps overfit; the budget-based cosine schedule makes the run fit any --minutes).
5. Save and verify: reload from disk with HF_HUB_OFFLINE=1 and generate after a ChatML
   prompt, exactly as the app will.
6. Model card and build_info.json with the measured figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import random
import re
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # the whole build, verification included, is offline

import torch  # noqa: E402
from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers  # noqa: E402
from tokenizers.models import BPE  # noqa: E402
from tokenizers.trainers import BpeTrainer  # noqa: E402

log = logging.getLogger("build_demo_model")

REPO = Path(__file__).resolve().parent.parent
FORTUNES_DIR = Path("/usr/share/games/fortunes")
PROJECT_CORPUS_DIR = REPO / "data" / "pretrain_corpus"
# Fine-tuning and probe data: reading any of it would contaminate the base model.
FORBIDDEN_DIRS = tuple(REPO / "data" / name for name in ("greetings", "multiturn", "probe"))

ENDOFTEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
SPECIAL_TOKENS = [ENDOFTEXT, IM_START, IM_END]
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
# Qwen2's pre-tokenisation, verbatim (transformers.models.qwen2.tokenization_qwen2).
QWEN2_PRETOKENIZE_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"""
    r""" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
# chinese.u8 attributions (after "--") that name a classical, public-domain work.
CLASSICAL_ATTRIBUTIONS = (
    "《谚语》",
    "《论语》",
    "论语",
    "《菜根谭》",
    "《增广贤文》",
    "《道德经》",
    "荀子",
    "孟子",
    "庄子",
)

SEED = 20240601
HELDOUT_PER_MILLE = 50  # ~5% of documents
VOCAB_SIZE = 6000
SEQ_LEN = 256
BATCH_SIZE = 8
PEAK_LR = 3e-3
MIN_LR_FRACTION = 0.1
WARMUP_STEPS = 40
WEIGHT_DECAY = 0.1
GRAD_CLIP = 1.0
MAX_MODEL_BYTES = 25 * 1024 * 1024
MODEL_SHAPE = dict(
    hidden_size=256,
    num_hidden_layers=4,
    num_attention_heads=4,
    num_key_value_heads=2,
    intermediate_size=704,
    max_position_embeddings=2048,
)
SAMPLE_PROMPTS = [  # (kind, text, is_chat)
    ("classical poem (raw continuation)", "《秋夜山居》\n作者：王维\n", False),
    ("everyday Chinese question (ChatML)", "周末在家怎么休息比较好？", True),
    ("English question (ChatML)", "What is a good way to learn to cook?", True),
]
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
CJK_CHAR = re.compile(r"[\u4e00-\u9fff]")


@dataclass
class Doc:
    source: str
    text: str


@dataclass
class Corpus:
    train: list[Doc]
    heldout: list[Doc]
    sources: dict[str, dict] = field(default_factory=dict)  # per-source figures for the card


# ---------------------------------------------------------------------------
# 1. Corpus
# ---------------------------------------------------------------------------


def read_fortune_items(path: Path) -> list[str]:
    """Items of a fortune file ("%" lines separate them), colour escapes removed."""
    text = ANSI_ESCAPE.sub("", path.read_text(encoding="utf-8"))
    return [item for item in re.split(r"^%\n", text, flags=re.M) if item.strip()]


def tidy_lines(item: str) -> list[str]:
    """Lines stripped of indentation (the files indent for terminals), blank lines dropped."""
    return [line.strip() for line in item.splitlines() if line.strip()]


def normalise_poem(item: str) -> str:
    """One poem in tang300's layout: "《题》", "作者：名", then the verses.

    song100 writes "题目:《题》" and "作者:名（生卒年）"; both become the tang300 form so the
    model sees a single convention (and the poem prompt in the samples follows it).
    """
    lines = tidy_lines(item)
    out = []
    for line in lines:
        if line.startswith("题目:"):
            line = line.removeprefix("题目:").strip()
        match = re.match(r"^作者[:：]\s*([^（(\s]+)", line)
        out.append(f"作者：{match.group(1)}" if match else line)
    return "\n".join(out)


def poem_author(poem: str) -> str | None:
    match = re.search(r"^作者：(\S+)$", poem, flags=re.M)
    return match.group(1) if match else None


def attribution(item_lines: list[str]) -> str | None:
    """The text after the last "--" attribution line of a chinese.u8 item, if any."""
    for line in reversed(item_lines):
        if line.startswith("--"):
            return line.lstrip("-").strip()
    return None


def is_public_domain(attr: str | None, classical_authors: set[str]) -> bool:
    """Classical works by name, or a poem ("作者《题》") by a Tang/Song anthology author."""
    if attr is None:
        return False
    if attr.startswith(CLASSICAL_ATTRIBUTIONS):
        return True
    poem = re.match(r"^([^《\s]+)《[^》]+》$", attr)
    return bool(poem) and poem.group(1) in classical_authors


def load_fortunes() -> list[Doc]:
    """Tang 300, Song 100 and the classical part of chinese.u8 from fortunes-zh."""
    docs = []
    for name, source in (
        ("tang300.u8", "fortunes-zh/tang300"),
        ("song100.u8", "fortunes-zh/song100"),
    ):
        docs += [Doc(source, normalise_poem(it)) for it in read_fortune_items(FORTUNES_DIR / name)]
    authors = {a for d in docs if (a := poem_author(d.text))}
    kept = skipped = 0
    for item in read_fortune_items(FORTUNES_DIR / "chinese.u8"):
        lines = tidy_lines(item)
        attr = attribution(lines)
        if not is_public_domain(attr, authors):
            skipped += 1
            continue
        body = [line for line in lines if not line.startswith("--")]
        docs.append(Doc("fortunes-zh/chinese", "\n".join(body + [f"——{attr}"])))
        kept += 1
    log.info(
        "fortunes-zh: %d anthology authors; chinese.u8 kept %d items, excluded %d",
        len(authors),
        kept,
        skipped,
    )
    return docs


def render_chatml(messages: list[dict]) -> str:
    """The chat template above, rendered in Python (verified equal to apply_chat_template)."""
    return "".join(f"{IM_START}{m['role']}\n{m['content']}{IM_END}\n" for m in messages)


def checked_project_path(path: Path) -> Path:
    resolved = path.resolve()
    if any(resolved.is_relative_to(d.resolve()) for d in FORBIDDEN_DIRS):
        raise SystemExit(f"refusing to read fine-tuning/probe data for pretraining: {path}")
    return resolved


def load_project_text(corpus_dir: Path) -> list[Doc]:
    """The project's own text, whatever of it exists right now."""
    docs = []
    for name in ("everyday_zh.txt", "everyday_en.txt"):
        path = checked_project_path(corpus_dir / name)
        if not path.exists():
            log.warning("project corpus: %s not found, skipped", path)
            continue
        parts = [p.strip() for p in re.split(r"\n\s*\n", path.read_text(encoding="utf-8"))]
        docs += [Doc(f"project/{name}", p) for p in parts if p]
        log.info("project corpus: %s -> %d documents", name, sum(bool(p) for p in parts))
    path = checked_project_path(corpus_dir / "chat_general.jsonl")
    if not path.exists():
        log.warning("project corpus: %s not found, skipped", path)
        return docs
    rows = 0
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        messages = json.loads(line).get("messages")
        if not messages or not all({"role", "content"} <= set(m) for m in messages):
            raise SystemExit(
                f"{path}:{lineno}: expected {{'messages': [{{'role', 'content'}}, ...]}}"
            )
        docs.append(Doc("project/chat_general.jsonl", render_chatml(messages).rstrip("\n")))
        rows += 1
    log.info("project corpus: chat_general.jsonl -> %d conversations", rows)
    return docs


def is_heldout(doc: Doc) -> bool:
    """Seeded hash of the text: stable per document, whatever else is in the corpus."""
    digest = hashlib.sha256(f"{SEED}:{doc.text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 1000 < HELDOUT_PER_MILLE


def assemble_corpus(corpus_dir: Path) -> Corpus:
    """All sources, NFC-normalised (as Qwen2Tokenizer does), deduplicated, then split."""
    docs, seen = [], set()
    for doc in load_fortunes() + load_project_text(corpus_dir):
        doc.text = unicodedata.normalize("NFC", doc.text)  # NFC keeps full-width punctuation
        if doc.text and doc.text not in seen:
            seen.add(doc.text)
            docs.append(doc)
    corpus = Corpus(
        train=[d for d in docs if not is_heldout(d)], heldout=[d for d in docs if is_heldout(d)]
    )
    for doc in docs:
        stats = corpus.sources.setdefault(
            doc.source, {"documents": 0, "characters": 0, "heldout_documents": 0}
        )
        stats["documents"] += 1
        stats["characters"] += len(doc.text)
        stats["heldout_documents"] += is_heldout(doc)
    for source, stats in corpus.sources.items():
        log.info(
            "corpus %-28s %5d docs %8d chars (%d held out)",
            source,
            stats["documents"],
            stats["characters"],
            stats["heldout_documents"],
        )
    log.info(
        "corpus total: %d train docs, %d held-out docs", len(corpus.train), len(corpus.heldout)
    )
    return corpus


# ---------------------------------------------------------------------------
# 2. Tokenizer
# ---------------------------------------------------------------------------


def train_tokenizer(texts: list[str]) -> Tokenizer:
    """Byte-level BPE with exactly Qwen2Tokenizer's normaliser, pre-tokeniser and decoder."""
    tok = Tokenizer(
        BPE(
            unk_token=None,
            continuing_subword_prefix="",
            end_of_word_suffix="",
            fuse_unk=False,
            byte_fallback=False,
        )
    )
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,  # ids 0, 1, 2
        # all 256 byte symbols, so any text (an unseen character, an emoji) still encodes
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    log.info("tokenizer: byte-level BPE, vocab %d", tok.get_vocab_size())
    return tok


def save_tokenizer(tok: Tokenizer, out: Path) -> None:
    """tokenizer.json for `tokenizers` users; vocab/merges + config for Qwen2Tokenizer."""
    tok.save(str(out / "tokenizer.json"))
    tok.model.save(str(out))  # vocab.json, merges.txt
    added = {
        str(tok.token_to_id(t)): {
            "content": t,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }
        for t in SPECIAL_TOKENS
    }
    config = {
        "tokenizer_class": "Qwen2Tokenizer",
        "added_tokens_decoder": added,
        "bos_token": None,
        "eos_token": IM_END,
        "pad_token": ENDOFTEXT,
        "unk_token": None,
        "add_prefix_space": False,
        "clean_up_tokenization_spaces": False,
        "errors": "replace",
        "split_special_tokens": False,
        "model_max_length": 2048,
        "chat_template": CHAT_TEMPLATE,
    }
    (out / "tokenizer_config.json").write_text(
        json.dumps(config, ensure_ascii=False, indent=2) + "\n"
    )
    (out / "chat_template.jinja").write_text(CHAT_TEMPLATE)


ROUND_TRIP_TEXTS = [
    "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
    "The quick brown fox jumps over the lazy dog. It's 3:45 p.m., isn't it?",
    "我在用 ftstudio 微调 Qwen2.5-0.5B，loss 从 2.31 降到了 1.07！",
    "全角标点：，。！？、；：“”‘’（）《》【】……——～　「」",
    "  indented\n\ttabs and\r\nnewlines  \n\n",
    "新年快乐🎉，万事如意😊",
]


def check_round_trips(hf_tok, tok: Tokenizer, texts: list[str]) -> None:
    """decode(encode(x)) == x through AutoTokenizer, with the same ids as tokenizer.json."""
    for text in texts:
        ids = hf_tok.encode(text, add_special_tokens=False)
        back = hf_tok.decode(ids)
        if not ids or back != text:
            raise SystemExit(f"tokenizer round trip failed: {text!r} -> {ids} -> {back!r}")
        if ids != tok.encode(text, add_special_tokens=False).ids:
            raise SystemExit(f"AutoTokenizer and tokenizer.json disagree on {text!r}")


def verify_tokenizer(out: Path, corpus_texts: list[str]) -> None:
    """Load the folder as the app will and fail loudly on any lossy round trip."""
    from transformers import AutoTokenizer

    hf_tok = AutoTokenizer.from_pretrained(out)
    log.info("AutoTokenizer loaded %s (vocab %d)", type(hf_tok).__name__, len(hf_tok))
    check_round_trips(
        hf_tok, Tokenizer.from_file(str(out / "tokenizer.json")), ROUND_TRIP_TEXTS + corpus_texts
    )
    for token in SPECIAL_TOKENS:
        ids = hf_tok.encode(token, add_special_tokens=False)
        if ids != [hf_tok.convert_tokens_to_ids(token)]:
            raise SystemExit(f"special token {token} is not a single id: {ids}")
    chat = [{"role": "user", "content": "你好"}, {"role": "assistant", "content": "你好！"}]
    rendered = hf_tok.apply_chat_template(chat, tokenize=False)
    if rendered != render_chatml(chat):
        raise SystemExit(f"chat template renders {rendered!r}, expected {render_chatml(chat)!r}")
    if hf_tok.eos_token != IM_END or hf_tok.pad_token != ENDOFTEXT or hf_tok.bos_token is not None:
        raise SystemExit(f"special tokens wrong: eos={hf_tok.eos_token} pad={hf_tok.pad_token}")
    log.info(
        "tokenizer verified: %d round trips exact, specials single ids, chat template ok",
        len(ROUND_TRIP_TEXTS) + len(corpus_texts),
    )


# ---------------------------------------------------------------------------
# 3. Model
# ---------------------------------------------------------------------------


def build_model(tok: Tokenizer):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(
        vocab_size=tok.get_vocab_size(),
        **MODEL_SHAPE,
        tie_word_embeddings=True,  # the embedding is most of a model this small
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        bos_token_id=tok.token_to_id(ENDOFTEXT),
        eos_token_id=tok.token_to_id(IM_END),
        pad_token_id=tok.token_to_id(ENDOFTEXT),
        dtype="float32",
    )
    torch.manual_seed(SEED)
    model = Qwen2ForCausalLM(config)
    n_params = sum(p.numel() for p in model.parameters())  # tied weights counted once
    log.info(
        "model: Qwen2ForCausalLM %s, %d parameters (%.2f M)", MODEL_SHAPE, n_params, n_params / 1e6
    )
    return model


# ---------------------------------------------------------------------------
# 4. Pretraining
# ---------------------------------------------------------------------------


def encode_docs(tok: Tokenizer, docs: list[Doc]) -> list[list[int]]:
    return [enc.ids for enc in tok.encode_batch([d.text for d in docs], add_special_tokens=False)]


def pack(doc_ids: list[list[int]], eos_id: int) -> list[int]:
    """One stream, <|endoftext|> before each document (so every document has a start)."""
    stream = []
    for ids in doc_ids:
        stream.append(eos_id)
        stream.extend(ids)
    return stream


def train_batches(doc_ids: list[list[int]], eos_id: int):
    """Endless (epoch, batch) pairs: each epoch reshuffles documents (seeded) and repacks."""
    rng = random.Random(SEED)
    epoch = 0
    while True:
        order = list(doc_ids)
        rng.shuffle(order)
        stream = torch.tensor(pack(order, eos_id))
        n_seq = len(stream) // SEQ_LEN
        seqs = stream[: n_seq * SEQ_LEN].view(n_seq, SEQ_LEN)
        seqs = seqs[torch.randperm(n_seq, generator=torch.Generator().manual_seed(SEED + epoch))]
        for start in range(0, n_seq - BATCH_SIZE + 1, BATCH_SIZE):
            yield epoch, seqs[start : start + BATCH_SIZE]
        epoch += 1


def eval_chunks(doc_ids: list[list[int]], eos_id: int) -> list[torch.Tensor]:
    """The whole held-out stream in SEQ_LEN chunks (the last one shorter): nothing dropped."""
    stream = torch.tensor(pack(doc_ids, eos_id))
    return [stream[i : i + SEQ_LEN] for i in range(0, len(stream), SEQ_LEN) if len(stream) - i > 1]


@torch.no_grad()
def mean_nll(model, chunks: list[torch.Tensor]) -> float:
    """Token-weighted mean NLL: total NLL over every predicted token / number of them."""
    model.eval()
    total, count = 0.0, 0
    for chunk in chunks:
        logits = model(input_ids=chunk[None]).logits[0, :-1].float()
        total += torch.nn.functional.cross_entropy(logits, chunk[1:], reduction="sum").item()
        count += len(chunk) - 1
    model.train()
    return total / count


def make_optimizer(model) -> torch.optim.AdamW:
    """AdamW; no weight decay on norms and biases (decaying a gain towards 0 only hurts)."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [
        {"params": decay, "weight_decay": WEIGHT_DECAY},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=PEAK_LR, betas=(0.9, 0.95), eps=1e-8)


def lr_at(step: int, progress: float, peak: float) -> float:
    """Linear warmup over steps, then cosine to MIN_LR_FRACTION over the wall-clock budget."""
    warmup = min(1.0, (step + 1) / WARMUP_STEPS)
    cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
    return peak * warmup * (MIN_LR_FRACTION + (1 - MIN_LR_FRACTION) * cosine)


@dataclass
class TrainResult:
    steps: int = 0
    tokens_seen: int = 0
    train_seconds: float = 0.0  # time in optimisation steps only (what tokens/s uses)
    wall_seconds: float = 0.0
    best_step: int = 0
    best_heldout_nll: float = float("inf")
    epochs: int = 0  # passes over the training documents started
    final_train_loss: float = float("nan")  # mean over the last 20 steps
    history: list[dict] = field(default_factory=list)


def evaluate_and_keep_best(model, result: TrainResult, heldout, train_probe, recent, best):
    heldout_nll, train_nll = mean_nll(model, heldout), mean_nll(model, train_probe)
    avg = sum(recent) / len(recent) if recent else float("nan")
    result.history.append(
        {
            "step": result.steps,
            "tokens": result.tokens_seen,
            "train_loss": None if math.isnan(avg) else avg,  # JSON has no NaN
            "train_probe_nll": train_nll,
            "heldout_nll": heldout_nll,
        }
    )
    improved = heldout_nll < result.best_heldout_nll
    if improved:
        result.best_heldout_nll, result.best_step = heldout_nll, result.steps
        best.clear()
        best.update({k: v.detach().clone() for k, v in model.state_dict().items()})
    log.info(
        "step %5d | tokens %8d | train loss %.3f | train-probe nll %.3f | held-out nll %.3f "
        "(ppl %.1f)%s",
        result.steps,
        result.tokens_seen,
        avg,
        train_nll,
        heldout_nll,
        math.exp(heldout_nll),
        " *best*" if improved else "",
    )


def pretrain(
    model, train_ids, heldout_ids, eos_id: int, minutes: float, peak_lr: float
) -> TrainResult:
    """Train for `minutes` of wall clock; the model ends holding the best held-out weights."""
    torch.manual_seed(SEED)
    heldout = eval_chunks(heldout_ids, eos_id)
    # as many training chunks, spread evenly over the stream (the first ones are all Tang
    # poems), to show train and held-out NLL side by side
    train_chunks = eval_chunks(train_ids, eos_id)
    train_probe = train_chunks[:: max(1, len(train_chunks) // len(heldout))][: len(heldout)]
    optimizer, result, best, recent = make_optimizer(model), TrainResult(), {}, []
    budget, eval_every = minutes * 60, max(15.0, minutes * 60 / 15)
    start = next_eval = time.monotonic()
    model.train()
    for epoch, batch in train_batches(train_ids, eos_id):
        now = time.monotonic()
        if now - start >= budget:
            break
        if now >= next_eval:
            evaluate_and_keep_best(model, result, heldout, train_probe, recent, best)
            next_eval = time.monotonic() + eval_every
        step_start, result.epochs = time.monotonic(), epoch + 1
        for group in optimizer.param_groups:
            group["lr"] = lr_at(result.steps, (now - start) / budget, peak_lr)
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        recent = (recent + [loss.item()])[-20:]
        result.steps, result.tokens_seen = result.steps + 1, result.tokens_seen + batch.numel()
        result.train_seconds += time.monotonic() - step_start
    evaluate_and_keep_best(model, result, heldout, train_probe, recent, best)
    result.wall_seconds, result.final_train_loss = (
        time.monotonic() - start,
        sum(recent) / len(recent) if recent else float("nan"),
    )
    model.load_state_dict(best)
    log.info(
        "trained %d steps (%d epochs started), %d tokens, %.0f tokens/s; best held-out nll "
        "%.3f at step %d",
        result.steps,
        result.epochs,
        result.tokens_seen,
        result.tokens_seen / result.train_seconds,
        result.best_heldout_nll,
        result.best_step,
    )
    return result


# ---------------------------------------------------------------------------
# 5. Save and verify
# ---------------------------------------------------------------------------


def save_model(model, tok: Tokenizer, out: Path) -> int:
    """config.json, model.safetensors (fp32), generation_config.json; returns the file size."""
    from transformers import GenerationConfig

    eos, im_end = tok.token_to_id(ENDOFTEXT), tok.token_to_id(IM_END)
    model.generation_config = GenerationConfig(
        do_sample=False,
        eos_token_id=[im_end, eos],
        pad_token_id=eos,
        bos_token_id=eos,
        max_new_tokens=256,
        repetition_penalty=1.1,
    )
    model.save_pretrained(out)
    (out / "model.safetensors").chmod(0o644)  # save_pretrained writes it owner-only
    size = (out / "model.safetensors").stat().st_size
    log.info("saved model.safetensors: %d bytes (%.1f MB)", size, size / 1e6)
    if size > MAX_MODEL_BYTES:
        raise SystemExit(
            f"model.safetensors is {size} bytes, over the {MAX_MODEL_BYTES} byte limit"
        )
    return size


def generate(model, hf_tok, prompt: str, is_chat: bool, max_new_tokens: int = 80) -> str:
    """Greedy decoding with the shipped generation_config; only the new tokens, decoded."""
    if is_chat:
        prompt = hf_tok.apply_chat_template(
            [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
        )
    ids = torch.tensor([hf_tok.encode(prompt, add_special_tokens=False)])
    with torch.no_grad():
        out = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            do_sample=False,
            max_new_tokens=max_new_tokens,
        )
    return hf_tok.decode(out[0, ids.shape[1] :], skip_special_tokens=True)


def verify_saved(out: Path, heldout_ids: list[list[int]]) -> tuple[float, list[dict]]:
    """Reload from disk offline; recompute held-out perplexity; sample; demand Chinese output."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    hf_tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    nll = mean_nll(model, eval_chunks(heldout_ids, hf_tok.convert_tokens_to_ids(ENDOFTEXT)))
    samples = []
    for kind, prompt, is_chat in SAMPLE_PROMPTS:
        text = generate(model, hf_tok, prompt, is_chat)
        samples.append({"kind": kind, "prompt": prompt, "chatml": is_chat, "output": text})
        log.info("sample [%s] %r -> %r", kind, prompt, text)
    if not CJK_CHAR.search(samples[1]["output"]):
        raise SystemExit(
            f"greedy generation after a ChatML prompt gave no Chinese: {samples[1]['output']!r}"
        )
    log.info("reloaded from %s offline: held-out perplexity %.2f", out, math.exp(nll))
    return nll, samples


# ---------------------------------------------------------------------------
# 6. Model card and build_info.json
# ---------------------------------------------------------------------------


def build_info(
    args,
    corpus: Corpus,
    token_counts: dict,
    tok: Tokenizer,
    model,
    size: int,
    result: TrainResult,
    heldout_nll: float,
    samples: list[dict],
) -> dict:
    sources = {s: {**stats, "tokens": token_counts[s]} for s, stats in corpus.sources.items()}
    return {
        "rebuild_command": (
            f"python data/build_demo_model.py --minutes {args.minutes:g} --out {args.out}"
        ),
        "seed": SEED,
        "corpus": {
            "sources": sources,
            "train_documents": len(corpus.train),
            "heldout_documents": len(corpus.heldout),
            "total_characters": sum(s["characters"] for s in sources.values()),
            "total_tokens": sum(token_counts.values()),
        },
        "tokenizer": {
            "type": "byte-level BPE (Qwen2 pre-tokenisation)",
            "vocab_size": tok.get_vocab_size(),
            "special_tokens": {t: tok.token_to_id(t) for t in SPECIAL_TOKENS},
        },
        "model": {
            "architecture": "Qwen2ForCausalLM",
            **MODEL_SHAPE,
            "vocab_size": tok.get_vocab_size(),
            "parameters": sum(p.numel() for p in model.parameters()),
            "dtype": "float32",
            "model_safetensors_bytes": size,
        },
        "training": training_figures(args, result, heldout_nll),
        "samples": samples,
    }


def training_figures(args, result: TrainResult, heldout_nll: float) -> dict:
    return {
        "minutes_budget": args.minutes,
        "wall_seconds": round(result.wall_seconds, 1),
        "train_seconds": round(result.train_seconds, 1),
        "steps": result.steps,
        "tokens_seen": result.tokens_seen,
        "seq_len": SEQ_LEN,
        "batch_size": BATCH_SIZE,
        "peak_lr": args.lr,
        "tokens_per_second": round(result.tokens_seen / result.train_seconds),
        "best_step": result.best_step,
        "final_train_loss": round(result.final_train_loss, 4),
        "heldout_nll": round(heldout_nll, 4),
        "heldout_perplexity": round(math.exp(heldout_nll), 2),
        "torch_threads": torch.get_num_threads(),
        "epochs": result.epochs,
        "history": result.history,
    }


def write_model_card(out: Path, info: dict) -> None:
    (out / "build_info.json").write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n")
    c, m, t = info["corpus"], info["model"], info["training"]
    rows = "\n".join(
        f"| {s} | {v['documents']:,} | {v['heldout_documents']:,} "
        f"| {v['characters']:,} | {v['tokens']:,} |"
        for s, v in c["sources"].items()
    )
    samples = "\n\n".join(
        f"**{s['kind']}**\n\n```text\n{s['prompt'].strip()}\n```\n\n→\n\n"
        f"```text\n{s['output'].strip() or '(nothing: the model ended the text at once)'}\n```"
        for s in info["samples"]
    )
    card = MODEL_CARD.format(
        c=c,
        m=m,
        t=t,
        rows=rows,
        samples=samples,
        info=info,
        params_m=m["parameters"] / 1e6,
        size_mb=m["model_safetensors_bytes"] / 1e6,
        minutes=t["wall_seconds"] / 60,
        vocab=info["tokenizer"]["vocab_size"],
    )
    (out / "README.md").write_text(card)
    log.info("wrote %s and %s", out / "README.md", out / "build_info.json")


MODEL_CARD = """\
---
license: apache-2.0
language: [zh, en]
library_name: transformers
pipeline_tag: text-generation
tags: [qwen2, tiny, demo, offline, ftstudio]
---

# ftstudio demo base model

A tiny Qwen2-architecture causal language model, pretrained from scratch on CPU, that ships
inside ftstudio so that fine-tuning, chat and evaluation work with no network. It is a
**demo**: it writes Chinese that looks like Chinese, not a capable assistant. Module names
(`q_proj`, `k_proj`, `v_proj`, `o_proj`, `gate_proj`, `up_proj`, `down_proj`) match Qwen2.5,
so LoRA settings carry over to real models unchanged.

## Figures (measured by the build)

| | |
|---|---|
| parameters | {m[parameters]:,} ({params_m:.2f} M; embeddings tied) |
| model.safetensors | {m[model_safetensors_bytes]:,} bytes ({size_mb:.1f} MB, float32) |
| shape | hidden {m[hidden_size]}, {m[num_hidden_layers]} layers, {m[num_attention_heads]} heads, \
{m[num_key_value_heads]} KV heads, MLP {m[intermediate_size]}, \
context {m[max_position_embeddings]} |
| tokenizer | byte-level BPE with Qwen2 pre-tokenisation, vocab {vocab:,}; \
`<|endoftext|>`, `<|im_start|>`, `<|im_end|>` |
| training time | {minutes:.1f} min wall clock ({t[torch_threads]} CPU threads), \
{t[steps]:,} steps, {t[epochs]} passes over the training text |
| tokens seen | {t[tokens_seen]:,} ({t[batch_size]} × {t[seq_len]}-token packed sequences \
per step, {t[tokens_per_second]:,} tokens/s) |
| final train loss | {t[final_train_loss]:.3f} (mean of the last 20 steps) |
| **held-out perplexity** | **{t[heldout_perplexity]:.2f}** (exp of the token-weighted mean \
NLL {t[heldout_nll]:.3f} over the held-out slice; weights from step {t[best_step]}, the best \
held-out loss) |

## Training data

| source | documents | held out | characters | tokens |
|---|---|---|---|---|
{rows}

{c[train_documents]:,} training and {c[heldout_documents]:,} held-out documents, \
{c[total_characters]:,} characters, {c[total_tokens]:,} tokens. About 5% of documents are held
out by a seeded hash of their text.

- `fortunes-zh/*`: classical texts in the public domain from Debian's `fortunes-zh` package
  (packaging GPL-3+): Tang 300 and Song 100 poems, and from `chinese` only items
  attributed to 《谚语》, 《论语》, 《菜根谭》, 《增广贤文》, 《道德经》, 荀子, 孟子, 庄子,
  or poems by an author of the two anthologies. Modern (copyrighted) authors and the Debian
  manual excerpts are excluded.
- `project/*`: ftstudio's own everyday Chinese/English text and general chat transcripts, the
  chats rendered in ChatML. ftstudio's fine-tuning and probe data are never used.

## Chat format

ChatML without a default system prompt; generation stops at `<|im_end|>` or `<|endoftext|>`:

```text
<|im_start|>user
你好<|im_end|>
<|im_start|>assistant
```

`generation_config.json`: greedy (`do_sample: false`), `repetition_penalty: 1.1`,
`max_new_tokens: 256`.

## Sample generations (greedy, 80 new tokens at most)

{samples}

## Licence

Model weights: Apache-2.0. Corpus: classical texts in the public domain (via Debian
`fortunes-zh`, whose packaging is GPL-3+) and the ftstudio project's own text.

## Rebuild

```bash
{info[rebuild_command]}
```

Deterministic corpus, split, tokenizer and initialisation (seed {info[seed]}); the learning-rate
schedule follows the wall clock, so the number of steps depends on the machine's speed.
"""


# ---------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=35.0, help="pretraining wall-clock budget")
    parser.add_argument("--out", type=Path, default=Path("data/demo-model"), help="output folder")
    parser.add_argument("--lr", type=float, default=PEAK_LR, help="peak learning rate")
    parser.add_argument(
        "--corpus-dir",
        type=Path,
        default=PROJECT_CORPUS_DIR,
        help="folder with the project's everyday_*.txt and chat_general.jsonl",
    )
    args = parser.parse_args(argv)
    if args.minutes <= 0:
        parser.error(f"--minutes must be positive, got {args.minutes}")
    return args


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = parse_args(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(2)
    args.out.mkdir(parents=True, exist_ok=True)

    corpus = assemble_corpus(args.corpus_dir)
    tok = train_tokenizer([d.text for d in corpus.train])
    save_tokenizer(tok, args.out)
    verify_tokenizer(args.out, [d.text for d in corpus.train + corpus.heldout])

    train_ids, heldout_ids = encode_docs(tok, corpus.train), encode_docs(tok, corpus.heldout)
    token_counts = dict.fromkeys(corpus.sources, 0)
    for doc, ids in zip(corpus.train + corpus.heldout, train_ids + heldout_ids, strict=True):
        token_counts[doc.source] += len(ids)
    log.info("tokens: %d train, %d held out", sum(map(len, train_ids)), sum(map(len, heldout_ids)))

    model = build_model(tok)
    eos_id = tok.token_to_id(ENDOFTEXT)
    result = pretrain(model, train_ids, heldout_ids, eos_id, args.minutes, args.lr)
    size = save_model(model, tok, args.out)
    heldout_nll, samples = verify_saved(args.out, heldout_ids)
    info = build_info(args, corpus, token_counts, tok, model, size, result, heldout_nll, samples)
    write_model_card(args.out, info)


if __name__ == "__main__":
    main()
