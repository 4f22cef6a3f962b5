"""Build ftstudio's embedded demo base model: a tiny Qwen2 pretrained from scratch on CPU.

    sudo apt-get install -y fortunes-zh debian-reference-zh-cn debian-faq-zh-cn \\
        maint-guide-zh-cn manpages-zh debian-reference-en
    python data/build_demo_model.py [--steps 600] [--out data/demo-model]

ftstudio must work fully offline, so it ships its own small base model instead of
downloading Qwen2.5. This script rebuilds that model from nothing but files on disk, in
the order below; each step exists for a reason:

1. Corpus. Modern Chinese and English prose from Debian's documentation packages
   (debian_corpus.py: paragraphs only, listings and code dropped), classical Chinese texts
   in the public domain from Debian's `fortunes-zh` (Tang and Song poems, the Analects,
   proverbs; only items whose attribution is a classical work, as modern authors in the
   same files are still under copyright), and the project's own everyday text and chat
   transcripts (data/pretrain_corpus/), repeated per pass as they are closest to the
   demo's task. The build stops, naming the apt command, if a package is missing. Chats
   are rendered with the same ChatML template the tokenizer ships, so the base model
   already knows the turn format that fine-tuning and the chat tab use. About 5% of
   documents (chosen by a seeded hash of the text, so adding documents never reshuffles
   the rest) are held out to measure perplexity honestly; a sample of the held-out modern
   Chinese ships beside the model for the tests. Fine-tuning and probe data
   (data/greetings, data/multiturn, data/probe) are never read: a base model that has seen
   them would make every fine-tuning gain in the demo look smaller or larger than it is.
2. Tokenizer. A byte-level BPE with Qwen2's pre-tokenisation. transformers 5 loads any
   folder whose config says `qwen2` with its own Qwen2Tokenizer built from vocab.json and
   merges.txt, ignoring tokenizer.json's pipeline; matching Qwen2's pipeline exactly
   makes both loaders agree. The save is verified through AutoTokenizer round trips.
3. Model. Qwen2Config/Qwen2ForCausalLM, so LoRA target names (q_proj ... down_proj)
   match Qwen2.5 and the same code path serves the demo and real models.
4. Pretraining. A plain PyTorch loop on packed 256-token sequences for a fixed number of
   steps (a busy machine makes the build slower, not different), cosine schedule over
   those steps, keeping the weights with the best held-out loss; --max-minutes is only a
   safety stop, recorded in the card when it fires.
5. Save (float16 weights, float32 in config.json) and verify: reload from disk with
   HF_HUB_OFFLINE=1, measure held-out perplexity against a random initialisation of the
   same architecture, and generate after a ChatML prompt, exactly as the app will.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))  # debian_corpus sits beside this file
from debian_corpus import (  # noqa: E402
    APT_COMMAND,
    DEBIAN_SOURCES,
    REQUIRED_PACKAGES,
    load_debian_source,
    package_version,
)

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
VOCAB_SIZE = 8000
SEQ_LEN = 256
BATCH_SIZE = 8
PEAK_LR = 2e-3
MIN_LR_FRACTION = 0.1
WARMUP_STEPS = 40
WEIGHT_DECAY = 0.1
GRAD_CLIP = 1.0
MAX_MODEL_BYTES = 25 * 1024 * 1024
DEFAULT_STEPS = 600
# Evaluations during pretraining use this many evenly spread chunks of each of the train
# and held-out streams (cheap on a busy CPU); the final figures use the whole held-out set.
EVAL_CHUNKS = 40
MODEL_SHAPE = dict(
    hidden_size=288,
    num_hidden_layers=4,
    num_attention_heads=4,
    num_key_value_heads=2,
    intermediate_size=768,
    max_position_embeddings=2048,
)
# The weights are stored in float16 (half the bytes, so twice the parameters fit the size
# limit); config.json still says float32 so that every loader, dtype="auto" included,
# computes in float32 on CPU.
SAVED_DTYPE = torch.float16
# The project's everyday text is closest to what the demo is fine-tuned for but small
# beside the Debian documentation: it is repeated this many times per training pass.
UPWEIGHT = {
    "project/everyday_zh.txt": 3,
    "project/everyday_en.txt": 2,
    "project/chat_general.jsonl": 3,
}
MODERN_ZH_SOURCES = (
    "debian/debian-reference-zh-cn",
    "debian/debian-faq-zh-cn",
    "debian/maint-guide-zh-cn",
    "debian/manpages-zh",
    "project/everyday_zh.txt",
)
HELDOUT_SAMPLE_FILE = "heldout_modern_zh.jsonl"  # shipped so tests can measure perplexity
HELDOUT_SAMPLE_CHARS = 20_000
# Greedy decoding loops on a model this small ("新年年年年年"); these stop it.
DECODING_DEFAULTS = {"repetition_penalty": 1.2, "no_repeat_ngram_size": 4}
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


def load_debian_docs() -> tuple[list[Doc], dict[str, dict]]:
    """Prose from the Debian documentation packages, and each one's package, version, licence."""
    docs, provenance = [], {}
    for source in DEBIAN_SOURCES:
        docs += [Doc(source.name, text) for text in load_debian_source(source)]
        provenance[source.name] = {
            "package": source.package,
            "version": package_version(source.package),
            "licence": source.licence,
            "files": "/" + source.files,
        }
    return docs, provenance


PROJECT_PROVENANCE = {
    "fortunes-zh/tang300": {
        "package": "fortunes-zh",
        "licence": "public domain (GPL-3+ packaging)",
    },
    "fortunes-zh/song100": {
        "package": "fortunes-zh",
        "licence": "public domain (GPL-3+ packaging)",
    },
    "fortunes-zh/chinese": {
        "package": "fortunes-zh",
        "licence": "public domain classical items only (GPL-3+ packaging)",
    },
    "project/everyday_zh.txt": {"package": None, "licence": "ftstudio project (Apache-2.0)"},
    "project/everyday_en.txt": {"package": None, "licence": "ftstudio project (Apache-2.0)"},
    "project/chat_general.jsonl": {"package": None, "licence": "ftstudio project (Apache-2.0)"},
}


def is_heldout(doc: Doc) -> bool:
    """Seeded hash of the text: stable per document, whatever else is in the corpus."""
    digest = hashlib.sha256(f"{SEED}:{doc.text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 1000 < HELDOUT_PER_MILLE


def assemble_corpus(corpus_dir: Path) -> Corpus:
    """All sources, NFC-normalised (as Qwen2Tokenizer does), deduplicated, then split."""
    missing = [p for p in REQUIRED_PACKAGES if package_version(p) is None]
    if missing:
        raise SystemExit(
            f"Debian packages not installed: {', '.join(missing)}. Install them with:\n"
            f"    sudo {APT_COMMAND}"
        )
    debian_docs, provenance = load_debian_docs()
    fortunes_version = package_version("fortunes-zh")
    for name in ("fortunes-zh/tang300", "fortunes-zh/song100", "fortunes-zh/chinese"):
        provenance[name] = {"version": fortunes_version}
    docs, seen = [], set()
    for doc in load_fortunes() + load_project_text(corpus_dir) + debian_docs:
        doc.text = unicodedata.normalize("NFC", doc.text)  # NFC keeps full-width punctuation
        if doc.text and doc.text not in seen:
            seen.add(doc.text)
            docs.append(doc)
    corpus = Corpus(
        train=[d for d in docs if not is_heldout(d)], heldout=[d for d in docs if is_heldout(d)]
    )
    for doc in docs:
        stats = corpus.sources.setdefault(
            doc.source,
            {
                **PROJECT_PROVENANCE.get(doc.source, {}),
                **provenance.get(doc.source, {}),
                "documents": 0,
                "characters": 0,
                "heldout_documents": 0,
                "train_repeats": UPWEIGHT.get(doc.source, 1),
            },
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


def spread(chunks: list, n: int) -> list:
    """At most n items taken at even intervals."""
    return chunks[:: max(1, len(chunks) // n)][:n]


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


def lr_at(step: int, total_steps: int, peak: float) -> float:
    """Linear warmup, then cosine to MIN_LR_FRACTION at `total_steps`."""
    warmup = min(1.0, (step + 1) / WARMUP_STEPS)
    cosine = 0.5 * (1 + math.cos(math.pi * min(step / total_steps, 1.0)))
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
    hit_time_limit: bool = False  # --max-minutes stopped the run before --steps
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
    model,
    train_ids,
    heldout_ids,
    eos_id: int,
    steps: int,
    peak_lr: float,
    max_minutes: float,
    on_best=None,
    stop_at: int | None = None,
) -> TrainResult:
    """Train for `steps` optimiser steps (a fixed budget: a busy machine makes the run
    slower, not different); `max_minutes` is only a safety stop, recorded if it fires, and
    `stop_at` ends the same schedule at that step, so a stopped build can be rebuilt
    exactly. The model ends holding the weights with the best held-out loss."""
    torch.manual_seed(SEED)
    # chunks spread evenly over each stream (the first training ones are all Tang poems)
    heldout = spread(eval_chunks(heldout_ids, eos_id), EVAL_CHUNKS)
    train_probe = spread(eval_chunks(train_ids, eos_id), EVAL_CHUNKS)
    optimizer, result, best, recent = make_optimizer(model), TrainResult(), {}, []
    eval_every = max(1, steps // 10)
    start = time.monotonic()
    model.train()
    for epoch, batch in train_batches(train_ids, eos_id):
        if result.steps >= min(steps, stop_at or steps):
            break
        if time.monotonic() - start >= max_minutes * 60:
            result.hit_time_limit = True
            log.warning(
                "--max-minutes %.0f reached after %d of %d steps", max_minutes, result.steps, steps
            )
            break
        if result.steps % eval_every == 0:
            best_step = result.best_step
            evaluate_and_keep_best(model, result, heldout, train_probe, recent, best)
            if on_best and result.best_step != best_step and result.steps:
                on_best(model)
        step_start, result.epochs = time.monotonic(), epoch + 1
        for group in optimizer.param_groups:
            group["lr"] = lr_at(result.steps, steps, peak_lr)
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


def save_checkpoint(model, out: Path, checkpoint_dir: Path) -> None:
    """The weights so far, with the tokenizer files, as a loadable model folder."""
    import shutil

    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    for path in out.iterdir():
        if path.name.startswith(("tokenizer", "vocab", "merges", "chat_template")):
            shutil.copy(path, checkpoint_dir / path.name)
    model.save_pretrained(checkpoint_dir)
    model.train()


def save_model(model, tok: Tokenizer, out: Path) -> int:
    """config.json, model.safetensors (float16), generation_config.json; returns the file size."""
    from transformers import GenerationConfig

    eos, im_end = tok.token_to_id(ENDOFTEXT), tok.token_to_id(IM_END)
    model.generation_config = GenerationConfig(
        do_sample=False,
        eos_token_id=[im_end, eos],
        pad_token_id=eos,
        bos_token_id=eos,
        max_new_tokens=256,
        **DECODING_DEFAULTS,
    )
    model.to(SAVED_DTYPE).save_pretrained(out)
    model.to(torch.float32)
    config = json.loads((out / "config.json").read_text())
    config["dtype"] = "float32"  # what loaders compute in; the file's float16 widens exactly
    (out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
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


def verify_saved(out: Path, heldout: dict[str, list[list[int]]]) -> tuple[dict, list[dict]]:
    """Reload from disk offline; held-out perplexity of the saved model and of a random
    initialisation of the same architecture; sample; demand Chinese output."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    hf_tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    if model.dtype != torch.float32:
        raise SystemExit(f"{out} loads as {model.dtype}, expected float32 on CPU")
    torch.manual_seed(SEED + 1)  # not the build's own initialisation: any random init
    random_init = AutoModelForCausalLM.from_config(model.config)
    eos = hf_tok.convert_tokens_to_ids(ENDOFTEXT)
    nll = {}
    for name, ids in heldout.items():
        chunks = eval_chunks(ids, eos)
        nll[name] = {"model": mean_nll(model, chunks), "random_init": mean_nll(random_init, chunks)}
        log.info(
            "held-out %s: perplexity %.1f (random init %.1f)",
            name,
            math.exp(nll[name]["model"]),
            math.exp(nll[name]["random_init"]),
        )
    samples = []
    for kind, prompt, is_chat in SAMPLE_PROMPTS:
        text = generate(model, hf_tok, prompt, is_chat)
        samples.append({"kind": kind, "prompt": prompt, "chatml": is_chat, "output": text})
        log.info("sample [%s] %r -> %r", kind, prompt, text)
    if not CJK_CHAR.search(samples[1]["output"]):
        raise SystemExit(
            f"greedy generation after a ChatML prompt gave no Chinese: {samples[1]['output']!r}"
        )
    return nll, samples


def write_heldout_sample(out: Path, corpus: Corpus) -> list[Doc]:
    """Held-out modern Chinese documents shipped beside the model, for tests to measure on."""
    docs, chars = [], 0
    for doc in corpus.heldout:
        if doc.source in MODERN_ZH_SOURCES and chars < HELDOUT_SAMPLE_CHARS:
            docs.append(doc)
            chars += len(doc.text)
    lines = [json.dumps({"source": d.source, "text": d.text}, ensure_ascii=False) for d in docs]
    (out / HELDOUT_SAMPLE_FILE).write_text("\n".join(lines) + "\n")
    log.info(
        "wrote %d held-out modern Chinese documents (%d chars) to %s",
        len(docs),
        chars,
        HELDOUT_SAMPLE_FILE,
    )
    return docs


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
    heldout_nll: dict,
    samples: list[dict],
) -> dict:
    sources = {s: {**stats, "tokens": token_counts[s]} for s, stats in corpus.sources.items()}
    return {
        "rebuild_command": (
            f"sudo {APT_COMMAND} && python data/build_demo_model.py --steps {args.steps}"
            # a run the time limit stopped is rebuilt by stopping the same schedule there
            + (f" --stop-at {result.steps}" if result.hit_time_limit or args.stop_at else "")
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
            "stored_dtype": str(SAVED_DTYPE).removeprefix("torch."),
            "compute_dtype": "float32",
            "model_safetensors_bytes": size,
        },
        "training": training_figures(args, result, heldout_nll),
        "samples": samples,
    }


def training_figures(args, result: TrainResult, heldout_nll: dict) -> dict:
    return {
        "steps_budget": args.steps,
        "hit_time_limit": result.hit_time_limit,
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
        "heldout_nll": round(heldout_nll["all"]["model"], 4),
        "heldout_perplexity": round(math.exp(heldout_nll["all"]["model"]), 2),
        "heldout_perplexity_vs_random_init": {
            name: {
                "model": round(math.exp(v["model"]), 2),
                "random_init": round(math.exp(v["random_init"]), 2),
            }
            for name, v in heldout_nll.items()
        },
        "torch_threads": torch.get_num_threads(),
        "epochs": result.epochs,
        "history": result.history,
    }


def write_build_info(out: Path, info: dict) -> None:
    (out / "build_info.json").write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n")


def write_model_card(out: Path, info: dict) -> None:
    """README.md from build_info.json's figures (rerun alone with --card-only)."""
    c, m, t = info["corpus"], info["model"], info["training"]
    rows = "\n".join(
        f"| {s} | {v.get('package') or '(ftstudio)'} {v.get('version') or ''} "
        f"| {v['licence']} | {v['documents']:,} | {v['heldout_documents']:,} "
        f"| {v['characters']:,} | {v['tokens']:,} | {v['train_repeats']} |"
        for s, v in c["sources"].items()
    )
    ppl = t["heldout_perplexity_vs_random_init"]
    ppl_rows = "\n".join(
        f"| {PPL_SET_NAMES[name]} | **{v['model']:,.1f}** | {v['random_init']:,.1f} "
        f"| {v['random_init'] / v['model']:,.0f}× |"
        for name, v in ppl.items()
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
        ppl_rows=ppl_rows,
        samples=samples,
        info=info,
        params_m=m["parameters"] / 1e6,
        size_mb=m["model_safetensors_bytes"] / 1e6,
        minutes=t["wall_seconds"] / 60,
        vocab=info["tokenizer"]["vocab_size"],
        held_out=HELDOUT_SAMPLE_FILE,
        decoding=", ".join(f"`{k}: {v}`" for k, v in DECODING_DEFAULTS.items()),
        stopped=(
            f"stopped by --max-minutes after {t['steps']:,} of {t['steps_budget']:,} steps"
            if t["hit_time_limit"]
            else f"all {t['steps_budget']:,} steps of the budget"
        ),
    )
    (out / "README.md").write_text(card)
    log.info("wrote %s", out / "README.md")


PPL_SET_NAMES = {
    "all": "all held-out documents",
    "modern_zh": "held-out modern Chinese prose (Debian documentation, project text)",
    "shipped_sample": f"`{HELDOUT_SAMPLE_FILE}` (shipped, used by the tests)",
}
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
**demo**: it writes modern Chinese and English that reads like documentation and everyday
text, not a capable assistant; a few minutes of LoRA on the greeting data make it write
greetings. Module names (`q_proj`, `k_proj`, `v_proj`, `o_proj`, `gate_proj`, `up_proj`,
`down_proj`) match Qwen2.5, so LoRA settings carry over to real models unchanged.

## Figures (measured by the build)

| | |
|---|---|
| parameters | {m[parameters]:,} ({params_m:.2f} M; embeddings tied) |
| model.safetensors | {m[model_safetensors_bytes]:,} bytes ({size_mb:.1f} MB), stored in \
{m[stored_dtype]}; `config.json` says {m[compute_dtype]}, so it loads and trains in \
{m[compute_dtype]} on CPU |
| shape | hidden {m[hidden_size]}, {m[num_hidden_layers]} layers, {m[num_attention_heads]} heads, \
{m[num_key_value_heads]} KV heads, MLP {m[intermediate_size]}, \
context {m[max_position_embeddings]} |
| tokenizer | byte-level BPE with Qwen2 pre-tokenisation, vocab {vocab:,}; \
`<|endoftext|>`, `<|im_start|>`, `<|im_end|>` |
| training | {t[steps]:,} steps ({stopped}), {t[tokens_seen]:,} tokens \
({t[batch_size]} × {t[seq_len]}-token packed sequences per step), {minutes:.1f} min wall \
clock on {t[torch_threads]} shared CPU threads ({t[tokens_per_second]:,} tokens/s), \
peak learning rate {t[peak_lr]:g} |
| final train loss | {t[final_train_loss]:.3f} (mean of the last 20 steps) |
| weights kept | step {t[best_step]:,}, the best held-out loss |

**Held-out perplexity** (exp of the token-weighted mean NLL over documents never trained
on, each against a random initialisation of the same architecture):

| held-out set | this model | random init | factor |
|---|---|---|---|
{ppl_rows}

## Training data

| source | Debian package, version | licence | documents | held out | characters | tokens | passes |
|---|---|---|---|---|---|---|---|
{rows}

{c[train_documents]:,} training and {c[heldout_documents]:,} held-out documents, \
{c[total_characters]:,} characters, {c[total_tokens]:,} tokens. About 5% of documents are held
out by a seeded hash of their text. The project's own text comes several times a pass (`passes`)
because it is closest to what the demo is fine-tuned on and small beside the documentation.

- `debian/*`: modern Chinese and English prose from Debian's documentation packages (the
  Debian Reference, the Debian FAQ, the New Maintainers' Guide, the Chinese manual pages).
  `data/debian_corpus.py` keeps the text of paragraphs (and of manual pages' prose lines)
  and drops command listings, tables, tables of contents, code blocks, paragraphs with
  more than three inline commands, paragraphs with many code characters, and (for the
  Chinese sources) paragraphs that are less than 40% Chinese.
- `fortunes-zh/*`: classical texts in the public domain from Debian's `fortunes-zh` package:
  Tang 300 and Song 100 poems, and from `chinese` only items attributed to 《谚语》,
  《论语》, 《菜根谭》, 《增广贤文》, 《道德经》, 荀子, 孟子, 庄子, or poems by an author of
  the two anthologies. Modern (copyrighted) authors and manual excerpts are excluded.
- `project/*`: ftstudio's own everyday Chinese/English text and general chat transcripts, the
  chats rendered in ChatML. ftstudio's fine-tuning and probe data (`data/greetings`,
  `data/multiturn`, `data/probe`) are never read, and tests check that none of their
  replies occurs in the corpus.

## Chat format

ChatML without a default system prompt; generation stops at `<|im_end|>` or `<|endoftext|>`:

```text
<|im_start|>user
你好<|im_end|>
<|im_start|>assistant
```

`generation_config.json`: greedy (`do_sample: false`), {decoding} (a model this small
otherwise loops, e.g. "新年年年年年年"), `max_new_tokens: 256`.

## Sample generations (greedy with the settings above, 80 new tokens at most)

{samples}

## Licence

Model weights: Apache-2.0, like ftstudio. The training texts keep their own licences (table
above: GPL-2+, GFDL-1.2+, the Debian FAQ's permissive licence, public domain); the shipped
`{held_out}` holds excerpts of them under those licences.

## Rebuild

```bash
{info[rebuild_command]}
```

Deterministic corpus (for the same package versions), split, tokenizer and initialisation
(seed {info[seed]}) and a fixed number of steps; `--max-minutes` only stops a run early on a
machine much slower than planned, which the table above then says.
"""


# ---------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="optimiser steps")
    parser.add_argument(
        "--stop-at",
        type=int,
        help="end after this many steps of the --steps schedule (rebuilds a time-stopped run)",
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=120.0,
        help="safety stop: end pretraining early (keeping the best weights) after this long",
    )
    parser.add_argument("--out", type=Path, default=Path("data/demo-model"), help="output folder")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads; on a shared machine one is faster than two fighting over cores",
    )
    parser.add_argument("--lr", type=float, default=PEAK_LR, help="peak learning rate")
    parser.add_argument(
        "--corpus-dir",
        type=Path,
        default=PROJECT_CORPUS_DIR,
        help="folder with the project's everyday_*.txt and chat_general.jsonl",
    )
    parser.add_argument(
        "--checkpoint-dir",
        type=Path,
        help="also save the best weights so far here during pretraining (to try them early)",
    )
    parser.add_argument(
        "--card-only",
        action="store_true",
        help="only rewrite README.md from the folder's build_info.json",
    )
    args = parser.parse_args(argv)
    if args.steps <= 0 or args.max_minutes <= 0:
        parser.error(
            f"--steps and --max-minutes must be positive, got {args.steps}, {args.max_minutes}"
        )
    return args


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.card_only:
        write_model_card(args.out, json.loads((args.out / "build_info.json").read_text()))
        return
    torch.set_num_threads(args.threads)
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
    weighted_train = [
        ids
        for doc, ids in zip(corpus.train, train_ids, strict=True)
        for _ in range(UPWEIGHT.get(doc.source, 1))
    ]
    heldout_sample = write_heldout_sample(args.out, corpus)
    heldout_sets = {
        "all": heldout_ids,
        "modern_zh": [
            ids
            for d, ids in zip(corpus.heldout, heldout_ids, strict=True)
            if d.source in MODERN_ZH_SOURCES
        ],
        "shipped_sample": encode_docs(tok, heldout_sample),
    }

    model = build_model(tok)
    eos_id = tok.token_to_id(ENDOFTEXT)
    on_best = (
        (lambda m: save_checkpoint(m, args.out, args.checkpoint_dir))
        if args.checkpoint_dir
        else None
    )
    result = pretrain(
        model,
        weighted_train,
        heldout_ids,
        eos_id,
        args.steps,
        args.lr,
        args.max_minutes,
        on_best,
        args.stop_at,
    )
    size = save_model(model, tok, args.out)
    heldout_nll, samples = verify_saved(args.out, heldout_sets)
    info = build_info(args, corpus, token_counts, tok, model, size, result, heldout_nll, samples)
    write_build_info(args.out, info)
    write_model_card(args.out, info)


if __name__ == "__main__":
    main()
