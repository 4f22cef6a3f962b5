"""Benchmark: every metric on 10,000 mixed Chinese/English (prediction, reference) pairs,
with 1,000 bootstrap resamples, timed metric by metric; and ROUGE-L on one 5,000-character
output against rouge-score's own O(n·m) table.

Pairs are synthetic Spring Festival greetings, 20–200 characters; 70% of references are
Chinese (some with English words), 30% English. A prediction is its reference with
phrases dropped, swapped or replaced, so overlap is realistic rather than 0 or 1.
Results: benchmarks/results/metrics.json. The target is "seconds, not minutes".

    python benchmarks/bench_metrics.py [--pairs 10000] [--resamples 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import time
from pathlib import Path

from ftcore.metrics import rouge, sacrebleu_stats
from ftcore.metrics.registry import get_metrics
from ftcore.metrics.scoring import score_predictions
from ftcore.metrics.text import detect_language, has_han
from ftcore.stats.bootstrap import bootstrap_ci

RESULTS = Path(__file__).resolve().parent / "results" / "metrics.json"
ZH = [
    *("新年快乐", "万事如意", "身体健康", "恭喜发财", "阖家幸福", "步步高升", "心想事成"),
    *("吉祥如意", "龙马精神", "年年有余", "岁岁平安", "前程似锦", "笑口常开", "福寿安康"),
    *("祝您", "愿你", "今年", "一定", "工作顺利", "学业进步", "生意兴隆", "家和万事兴"),
]
ZH_GLUE = ["，", "！", "。", "、", ""]
EN = [
    *("happy", "new", "year", "wishing", "you", "and", "your", "family", "health", "joy"),
    *("luck", "success", "peace", "warmth", "love", "prosperity", "laughter", "reunion"),
    *("dumplings", "lanterns", "fireworks", "spring", "festival", "dragon", "bright", "2024"),
]


def reference(rng: random.Random) -> str:
    target = rng.randint(20, 200)
    chinese = rng.random() < 0.7
    parts: list[str] = []
    while len("".join(parts).strip()) < target:
        if chinese:
            word = rng.choice(EN).capitalize() if rng.random() < 0.1 else rng.choice(ZH)
            parts.append(word + rng.choice(ZH_GLUE))
        else:
            parts.append(rng.choice(EN) + " ")
    return "".join(parts).strip()[:target]


def prediction(rng: random.Random, ref: str) -> str:
    english = not has_han(ref)
    # English is edited word by word, Chinese in 4-character pieces (about a phrase).
    pieces = ref.split() if english else [ref[i : i + 4] for i in range(0, len(ref), 4)]
    out = []
    for piece in pieces:
        roll = rng.random()
        if roll < 0.1:
            continue  # dropped
        if roll < 0.25:
            piece = rng.choice(EN) if english else rng.choice(ZH)  # replaced
        out.append(piece)
    if len(out) > 2 and rng.random() < 0.3:
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]  # swapped
    return (" " if english else "").join(out)


def synthetic_pairs(count: int, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    refs = [reference(rng) for _ in range(count)]
    return [prediction(rng, ref) for ref in refs], refs


def clear_caches() -> None:
    # bleu/sentence_bleu_mean and the three ROUGE types share one computation each, and
    # sacrebleu caches tokenized lines: cleared so that every metric is timed on its own.
    from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh

    TokenizerZh.__call__.cache_clear()
    sacrebleu_stats._bleu_rows.cache_clear()
    sacrebleu_stats._chrf_rows.cache_clear()
    rouge._rouge_table.cache_clear()


def bench_metrics(hyps: list[str], refs: list[str], resamples: int) -> dict:
    language = detect_language(refs)
    for metric in get_metrics(None, language):  # imports and first-call set-up, untimed
        metric.corpus_score(["新年好 warm-up"], ["新年快乐 warm-up"])
    results = {}
    for metric in get_metrics(None, language):
        clear_caches()
        start = time.perf_counter()
        rows = metric.statistics(hyps, refs)
        value = metric.corpus_from_statistics(rows)
        scored = time.perf_counter()
        low, high = bootstrap_ci(rows, metric.aggregate, n_resamples=resamples)
        done = time.perf_counter()
        results[metric.name] = {
            "value": round(value, 4),
            "ci95": [round(low, 4), round(high, 4)],
            "score_seconds": round(scored - start, 3),
            "bootstrap_seconds": round(done - scored, 3),
            "signature": metric.signature,
        }
    return {"language": language, "metrics": results}


def bench_end_to_end(hyps: list[str], refs: list[str], resamples: int) -> dict:
    clear_caches()
    rows = [{"prediction": h, "reference": r} for h, r in zip(hyps, refs, strict=True)]
    start = time.perf_counter()
    report = score_predictions(rows, bootstrap=resamples, seed=0)
    return {"seconds": round(time.perf_counter() - start, 2), "metrics": report.metrics}


def bench_bleu_exactness(hyps: list[str], refs: list[str]) -> dict:
    """Summed-statistics corpus BLEU against sacrebleu's corpus_score, and what a naive
    bootstrap (corpus_score per resample) would cost."""
    from sacrebleu.metrics import BLEU

    (bleu,) = get_metrics(["bleu"], "zh")  # one tokenizer for every row, as corpus_score
    start = time.perf_counter()
    direct = BLEU(tokenize="zh").corpus_score(hyps, [refs]).score
    one_corpus_score = time.perf_counter() - start
    ours = bleu.corpus_score(hyps, refs)
    return {
        "sacrebleu_corpus_score": direct,
        "from_summed_statistics": ours,
        "equal": direct == ours,
        "sacrebleu_corpus_score_seconds": round(one_corpus_score, 3),
        "naive_bootstrap_1000_seconds_estimate": round(1000 * one_corpus_score, 1),
    }


def bench_long_rouge_l(characters: int = 5000) -> dict:
    from rouge_score import rouge_scorer

    rng = random.Random(1)
    ref = "".join(rng.choice("新年快乐万事如意身体健康") for _ in range(characters))
    hyp = "".join(c if rng.random() > 0.1 else "好" for c in ref)
    start = time.perf_counter()
    ours = rouge.rouge_scores(hyp, ref)["rougeL"]
    ours_seconds = time.perf_counter() - start
    scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=rouge.CjkLatinTokenizer())
    start = time.perf_counter()
    theirs = scorer.score(ref, hyp)["rougeL"].fmeasure
    theirs_seconds = time.perf_counter() - start
    return {
        "characters": characters,
        "bit_parallel_seconds": round(ours_seconds, 4),
        "rouge_score_table_seconds": round(theirs_seconds, 2),
        "equal": ours == theirs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=10_000)
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    hyps, refs = synthetic_pairs(args.pairs)
    lengths = sorted(map(len, refs))
    per_metric = bench_metrics(hyps, refs, args.resamples)
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "pairs": args.pairs,
        "resamples": args.resamples,
        "reference_chars": {
            "min": lengths[0],
            "median": lengths[len(lengths) // 2],
            "max": lengths[-1],
        },
        **per_metric,
        "end_to_end": bench_end_to_end(hyps, refs, args.resamples),
        "bleu_exactness": bench_bleu_exactness(hyps, refs),
        "long_rouge_l": bench_long_rouge_l(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for name, row in results["metrics"].items():
        print(
            f"{name:<20} {row['value']:>9} {row['ci95']}  score {row['score_seconds']} s, "
            f"bootstrap {row['bootstrap_seconds']} s"
        )
    print(f"score_predictions, all metrics: {results['end_to_end']['seconds']} s")
    print(f"BLEU from summed statistics equals corpus_score: {results['bleu_exactness']['equal']}")
    long = results["long_rouge_l"]
    print(
        f"ROUGE-L, {long['characters']} chars: {long['bit_parallel_seconds']} s bit-parallel vs "
        f"{long['rouge_score_table_seconds']} s rouge-score table (equal: {long['equal']})"
    )


if __name__ == "__main__":
    main()
