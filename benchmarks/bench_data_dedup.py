"""Benchmark: deduplication and the whole prepare pipeline on 100,000 rows, and streaming a
~200 MB JSONL in flat memory.

Rows are synthetic Chinese and English greetings with planted duplicates: 5% exact copies
(changed only in case and spacing) and 5% near copies (half-width punctuation, or one
character added to a long text). Generated files go to a temporary folder, never the
repository. Results: benchmarks/results/data_dedup.json.

    python benchmarks/bench_data_dedup.py [--rows 100000] [--stream-mb 200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "data_dedup.json"
# Phrases and words the synthetic rows are drawn from.
ZH = [
    *("新年快乐", "万事如意", "身体健康", "恭喜发财", "阖家幸福", "步步高升", "心想事成"),
    *("吉祥如意", "龙马精神", "年年有余", "岁岁平安", "前程似锦", "笑口常开", "福寿安康"),
    *("大吉大利", "金玉满堂", "生意兴隆", "学业进步", "工作顺利", "家和万事兴"),
]
ZH_GLUE = ["，", "！", "。", "、", "，祝您", "，愿你", "。希望", "，也祝"]
EN = [
    *("happy", "new", "year", "wishing", "you", "and", "your", "family", "health", "joy"),
    *("luck", "success", "peace", "warmth", "love", "prosperity", "laughter", "reunion"),
    *("dumplings", "lanterns", "fireworks", "spring", "festival", "dragon", "bright"),
    *("future", "may", "every", "day", "bring", "smiles"),
]


def sentence(rng: random.Random, chinese: bool, length: int) -> str:
    if chinese:
        parts = [rng.choice(ZH) + rng.choice(ZH_GLUE) for _ in range(length)]
        return "".join(parts)
    words = [rng.choice(EN) for _ in range(length * 3)]
    return " ".join(words).capitalize() + "."


def base_row(rng: random.Random, index: int, long: bool = False) -> dict:
    chinese = rng.random() < 0.6
    return {
        "id": f"row-{index}",
        "instruction": sentence(rng, chinese, rng.randint(1, 3)),
        "output": sentence(rng, chinese, rng.randint(25, 35) if long else rng.randint(4, 12)),
        "style": rng.choice(["warm", "humorous", "literary", "traditional"]),
    }


def exact_copy(row: dict, index: int) -> dict:
    return {**row, "id": f"row-{index}", "output": "  " + row["output"].upper() + "  "}


def near_copy(rng: random.Random, row: dict, index: int) -> dict:
    output = row["output"]
    if rng.random() < 0.5:  # other punctuation: the same text once punctuation is ignored
        output = output.replace("，", ",").replace("！", "!").replace("。", ".").replace(".", "!!")
    else:
        position = rng.randrange(len(output))
        output = output[:position] + rng.choice("的了呀好a") + output[position:]
    return {**row, "id": f"row-{index}", "output": output}


def synthetic_rows(count: int, seed: int = 0) -> tuple[list[dict], dict[str, list[tuple]]]:
    """`count` rows, 90% distinct and 5% each exact and near copies of earlier ones; and
    the planted (copy id, original id) pairs of each kind."""
    rng = random.Random(seed)
    unique = count - 2 * (count // 20)
    rows = [base_row(rng, i, long=i % 2 == 0) for i in range(unique)]
    planted: dict[str, list[tuple]] = {"exact": [], "near": []}
    for _ in range(count // 20):
        original = rows[rng.randrange(unique)]
        rows.append(exact_copy(original, len(rows)))
        planted["exact"].append((rows[-1]["id"], original["id"]))
    for _ in range(count // 20):
        # Near copies of long rows only: one added character in a short text is a real edit.
        original = rows[2 * rng.randrange(unique // 2)]
        rows.append(near_copy(rng, original, len(rows)))
        planted["near"].append((rows[-1]["id"], original["id"]))
    rng.shuffle(rows)
    return rows, planted


def planted_recall(rows: list[dict], group, planted: list[tuple], threshold: float) -> dict:
    """Of the planted pairs whose true similarity reaches the threshold, how many were
    put in one cluster."""
    from ftcore.data.dedup import near_text
    from ftcore.data.formats import alpaca_to_messages
    from ftcore.data.minhash import jaccard, shingles

    position = {row["id"]: index for index, row in enumerate(rows)}
    similar = found = 0
    for copy, original in planted:
        a, b = position[copy], position[original]
        texts = [near_text(alpaca_to_messages(rows[i])) for i in (a, b)]
        if jaccard(shingles(texts[0]), shingles(texts[1])) >= threshold:
            similar += 1
            found += int(group[a] == group[b])
    return {"planted": len(planted), "at_or_above_threshold": similar, "found": found}


def write_jsonl(path: Path, rows) -> int:
    with open(path, "w", encoding="utf-8") as file:
        for row in rows:
            file.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path.stat().st_size


def bench_dedup(rows: list[dict], planted: dict[str, list[tuple]]) -> dict:
    from ftcore.data.dedup import find_duplicates
    from ftcore.data.formats import alpaca_to_messages

    conversations = [alpaca_to_messages(row) for row in rows]
    start = time.perf_counter()
    duplicates = find_duplicates(conversations, threshold=0.95)
    seconds = time.perf_counter() - start
    return {
        "rows": len(rows),
        "seconds": round(seconds, 2),
        "rows_per_second": round(len(rows) / seconds),
        "exact_dropped": duplicates.exact_dropped,
        "near_dropped": duplicates.near_dropped,
        "clusters": len(duplicates.clusters),
        "candidate_pairs_checked": duplicates.pairs_checked,
        "planted_exact": planted_recall(rows, duplicates.group, planted["exact"], 1.0),
        "planted_near": planted_recall(rows, duplicates.group, planted["near"], 0.95),
    }


def bench_prepare(path: Path, out: Path) -> dict:
    from ftcore.data.prepare import prepare_dataset
    from ftcore.data.settings import PrepareSettings

    start = time.perf_counter()
    result = prepare_dataset([path], out, PrepareSettings(stratify="style"))
    seconds = time.perf_counter() - start
    counts = result.counts
    return {
        "seconds": round(seconds, 2),
        "rows_per_second": round(counts["read"] / seconds),
        "counts": counts,
        "leak_pairs": result.manifest["leakage"]["pairs"],
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM starts afresh at exec, whereas
    ru_maxrss keeps the parent's peak from before the fork."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def stream_child(path: str, out: str) -> None:
    """Run in a fresh process, so that its peak RSS is the pipeline's alone."""
    import numpy  # noqa: F401 - counted in the baseline, as prepare imports it anyway

    import ftcore.data.prepare  # noqa: F401

    baseline = peak_rss_mb()
    report = bench_prepare(Path(path), Path(out))
    report["baseline_rss_mb"] = baseline
    report["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(report))


def bench_streaming(folder: Path, megabytes: int) -> dict:
    path = folder / "big.jsonl"
    rng = random.Random(1)

    def rows():
        index, written = 0, 0
        while written < megabytes * 1024 * 1024:
            row = base_row(rng, index, long=True)
            written += len(json.dumps(row, ensure_ascii=False).encode()) + 1
            index += 1
            yield row

    size = write_jsonl(path, rows())
    command = [sys.executable, __file__, "--stream-child", str(path), str(folder / "big-out")]
    report = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    return {"file_mb": round(size / 1024 / 1024, 1), **report}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--stream-mb", type=int, default=200)
    parser.add_argument("--stream-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stream_child:
        stream_child(*args.stream_child)
        return
    rows, planted = synthetic_rows(args.rows)
    with tempfile.TemporaryDirectory(prefix="bench-data-") as tmp:
        folder = Path(tmp)
        dedup = bench_dedup(rows, planted)
        write_jsonl(folder / "rows.jsonl", rows)
        pipeline = bench_prepare(folder / "rows.jsonl", folder / "out")
        streaming = bench_streaming(folder, args.stream_mb) if args.stream_mb else None
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "dedup_100k": dedup,
        "prepare_100k": pipeline,
        "streaming": streaming,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    near = dedup["planted_near"]
    print(
        f"dedup: {dedup['rows']} rows in {dedup['seconds']} s ({dedup['rows_per_second']} rows/s);"
        f" dropped {dedup['exact_dropped']} exact, {dedup['near_dropped']} near; planted near"
        f" pairs found {near['found']} of {near['at_or_above_threshold']} at >= 0.95"
    )
    print(
        f"prepare: {pipeline['seconds']} s ({pipeline['rows_per_second']} rows/s), "
        f"kept {pipeline['counts']['kept']}, leaks {pipeline['leak_pairs']}"
    )
    if streaming:
        print(
            f"streaming: {streaming['file_mb']} MB, {streaming['counts']['read']} rows in "
            f"{streaming['seconds']} s; peak RSS {streaming['peak_rss_mb']} MB "
            f"(after imports {streaming['baseline_rss_mb']} MB)"
        )


if __name__ == "__main__":
    main()
