"""Benchmark: evaluation generation batched vs one prompt at a time, and ftcore.nll
perplexity vs one packed forward pass over the same tokens, on the demo model.

(a) 64 greetings prompts, greedy, the same max_new_tokens: generate_batch with batch 16
against generate_batch on one prompt at a time (target: at least 5x faster); the replies
must be identical. (b) Response-only NLL of the same 64 conversations via
ftcore.nll.example_nlls (length-sorted, right-padded batches of 8) against packing: all
token ids concatenated into rows of the model's context length and run through one
forward pass each, with the same target tokens scored (target: at most 1.5x its time).
Packing wastes nothing on padding but pays attention over the whole context (quadratic),
so on short conversations it can be the slower of the two.
Results: benchmarks/results/eval.json.

    python benchmarks/bench_eval.py [--prompts 64] [--max-new-tokens 32] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
from pathlib import Path

import torch

from ftcore.chat_format import IGNORE_INDEX, encode_for_generation, encode_for_training
from ftcore.data.formats import alpaca_to_messages
from ftcore.evaluation.generate import eval_example, generate_batch
from ftcore.nll import corpus_totals, example_nlls, token_nll_sums
from ftcore.runtime.models import load_model

ROOT = Path(__file__).resolve().parent.parent
GREETINGS = ROOT / "data/greetings/spring_festival_greetings.jsonl"
RESULTS = Path(__file__).resolve().parent / "results" / "eval.json"
logger = logging.getLogger("bench_eval")


def timed(fn, repeats: int = 3):
    """The fastest of `repeats` runs (after one warm-up) and the last result."""
    result = fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def bench_generation(model, tokenizer, prompts, max_new_tokens: int, batch: int) -> dict:
    # Sorted by length, as generate_predictions does, so batches hold similar lengths.
    ordered = sorted(prompts, key=len)

    def batched():
        out = []
        for start in range(0, len(ordered), batch):
            out += generate_batch(model, tokenizer, ordered[start : start + batch], max_new_tokens)
        return out

    def single():
        return [generate_batch(model, tokenizer, [p], max_new_tokens)[0] for p in ordered]

    batched_s, batched_out = timed(batched, repeats=1)
    single_s, single_out = timed(single, repeats=1)
    return {
        "prompts": len(prompts),
        "batch_size": batch,
        "max_new_tokens": max_new_tokens,
        "batched_s": round(batched_s, 3),
        "one_at_a_time_s": round(single_s, 3),
        "speedup": round(single_s / batched_s, 2),
        "target_speedup": 5.0,
        "identical_replies": batched_out == single_out,
    }


def packed_nll(model, rows, context: int) -> tuple[float, int]:
    """Total NLL over every row's target tokens, all rows concatenated into as few rows of
    `context` tokens as fit (no padding, no attention mask, no per-batch overhead)."""
    ids = [token for row in rows for token in row.input_ids]
    # A target never crosses into the next conversation: each row's first label is -100.
    labels = [label for row in rows for label in row.labels]
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(ids), context):
            chunk_ids = torch.tensor([ids[start : start + context]])
            chunk_labels = torch.tensor([labels[start : start + context]])
            sums, counts = token_nll_sums(model(input_ids=chunk_ids).logits, chunk_labels)
            total += sums.item()
            count += counts.item()
    return total, count


def bench_perplexity(model, tokenizer, conversations, context: int) -> dict:
    rows = [encode_for_training(tokenizer, messages) for messages in conversations]
    assert all(row.labels[0] == IGNORE_INDEX for row in rows)
    nll_s, pairs = timed(lambda: example_nlls(model, rows, pad_id=tokenizer.pad_token_id))
    packed_s, (packed_total, packed_count) = timed(lambda: packed_nll(model, rows, context))
    total, count = corpus_totals(pairs)
    return {
        "conversations": len(rows),
        "tokens": sum(len(row.input_ids) for row in rows),
        "target_tokens": count,
        "ftcore_nll_s": round(nll_s, 4),
        "packed_forward_s": round(packed_s, 4),
        "time_ratio": round(nll_s / packed_s, 2),
        "target_time_ratio": 1.5,
        "packed_rows": -(-sum(len(row.input_ids) for row in rows) // context),
        # Packing lets later conversations attend to earlier ones, so its NLL differs a
        # little; it is a speed reference, not a correct perplexity.
        "ftcore_mean_nll": total / count,
        "packed_mean_nll": packed_total / packed_count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    loaded = load_model("demo", device="cpu")
    model, tokenizer = loaded.model, loaded.tokenizer
    lines = GREETINGS.read_text("utf-8").splitlines()[: args.prompts]
    conversations = [alpaca_to_messages(json.loads(line)) for line in lines]
    examples = [eval_example(str(i), messages) for i, messages in enumerate(conversations)]
    prompts = [encode_for_generation(tokenizer, example.messages) for example in examples]
    context = model.config.max_position_embeddings
    result = {
        "model": "demo (Qwen2 architecture, 4 layers, hidden 256, float32)",
        "device": "cpu",
        "torch_threads": args.threads,
        "machine": f"{platform.machine()} {platform.system()}, torch {torch.__version__}",
        "generation": bench_generation(
            model, tokenizer, prompts, args.max_new_tokens, args.batch_size
        ),
        "perplexity": bench_perplexity(model, tokenizer, conversations, context),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", "utf-8")
    logger.info("%s", json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
