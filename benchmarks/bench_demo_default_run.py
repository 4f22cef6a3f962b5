"""Benchmark: the default demo run, before and after, on held-out greeting prompts.

What a new user does first, from the README: prepare the greetings, then
`ftcore train --data DS` with no other flag on the demo base model (the demo preset).
Both commands run exactly as typed, through the CLI's entry point, in a fresh workspace.
The base model and the trained adapter (best/) then answer every prompt of the dataset's
held-out test split as the Chat tab answers by default (greedy, with the demo model's loop
guards from its generation_config.json), and again with plain greedy batched generation
as `ftcore eval` decodes; each reply is checked by ftcore.evaluation.greeting_check.
Target: training in at most 3 minutes on a 2-core CPU, and at least 80% clean greetings
after it.
Results: benchmarks/results/demo_default_run.json.

    python benchmarks/bench_demo_default_run.py [--out FILE] [--threads 2] [-- TRAIN FLAGS]

Flags after `--` go to `ftcore train` and `--base FOLDER` replaces the demo model (with the
demo preset), to try other settings or a model being built; the recorded results use none.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "demo_default_run.json"
GREETINGS = ROOT / "data" / "greetings" / "spring_festival_greetings.jsonl"
PREPARE = ["data", "prepare", str(GREETINGS), "--stratify", "style", "--name", "greetings"]
MAX_NEW_TOKENS = 160  # the longest reference greeting is about 150 demo tokens
TARGET_SECONDS, TARGET_CLEAN_RATE = 180, 0.8


def replies(model, tokenizer, prompts: list[list[int]]) -> list[str]:
    from ftcore.evaluation.generate import generate_batch

    return [
        reply
        for start in range(0, len(prompts), 16)
        for reply in generate_batch(model, tokenizer, prompts[start : start + 16], MAX_NEW_TOKENS)
    ]


def chat_replies(model, tokenizer, prompts: list[list[int]], base: str) -> list[str]:
    """Replies as the Chat tab and `ftcore chat` give them by default: greedy, with the
    base model's loop guards (GenerationSettings.for_model), one prompt at a time."""
    from dataclasses import replace

    import torch

    from ftcore.runtime.generation import GenerationSettings, decode_complete, generation_config

    settings = replace(GenerationSettings.for_model(base), max_new_tokens=MAX_NEW_TOKENS)
    config = generation_config(settings, model, tokenizer)
    out = []
    with torch.inference_mode():
        for ids in prompts:
            row = model.generate(input_ids=torch.tensor([ids]), generation_config=config)[0]
            out.append(decode_complete(tokenizer, row[len(ids) :].tolist()))
    return out


def run(threads: int, base: str, train_flags: list[str]) -> dict:
    import torch
    from peft import PeftModel

    from ftcore.chat_format import encode_for_generation
    from ftcore.cli import main as ftcore
    from ftcore.data.versions import load_split
    from ftcore.evaluation.generate import eval_example
    from ftcore.evaluation.greeting_check import clean_greeting_rate, greeting_problems
    from ftcore.runtime.models import load_model

    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory(prefix="bench-demo-run-") as home:
        os.environ["FTSTUDIO_HOME"] = home
        if ftcore(PREPARE) != 0:
            raise SystemExit("ftcore data prepare failed")
        (dataset,) = Path(home, "datasets", "greetings").iterdir()
        train_command = ["train", "--data", str(dataset), "--name", "default-run"]
        if base != "demo":
            train_command += ["--base", base, "--preset", "demo"]
        train_command += train_flags
        start, cpu_start = time.perf_counter(), time.process_time()
        if ftcore(train_command) != 0:
            raise SystemExit("ftcore train failed")
        train_seconds = time.perf_counter() - start
        # CPU time does not grow when other processes share the cores: on a busy machine
        # it tells what the wall time would be on an idle one (about cpu / threads).
        train_cpu_seconds = time.process_time() - cpu_start
        run_dir = Path(home, "runs", "default-run")
        config = (run_dir / "config.yaml").read_text(encoding="utf-8")

        examples = [
            eval_example(r.id, r.messages) for r in load_split(dataset, "test", allow_test=True)
        ]
        loaded = load_model(base, device="cpu")
        prompts = [encode_for_generation(loaded.tokenizer, e.messages) for e in examples]
        start = time.perf_counter()
        before = chat_replies(loaded.model, loaded.tokenizer, prompts, base)
        best = run_dir / "best"
        if (best / "adapter_config.json").is_file():
            tuned = PeftModel.from_pretrained(loaded.model, str(best))
        else:  # full fine-tuning saves a whole model
            tuned = load_model(str(best), device="cpu").model
        after = chat_replies(tuned, loaded.tokenizer, prompts, base)
        generate_seconds = time.perf_counter() - start
        plain = replies(tuned, loaded.tokenizer, prompts)
    return {
        "commands": [
            "ftcore " + " ".join(PREPARE[:2] + [str(GREETINGS.relative_to(ROOT))] + PREPARE[3:]),
            "ftcore train --data DATASET  (--name only names the folder)",
        ],
        "base": base,
        "extra_train_flags": train_flags,
        "train_seconds": round(train_seconds, 1),
        "train_cpu_seconds": round(train_cpu_seconds, 1),
        "target_seconds": TARGET_SECONDS,
        "generate_seconds": round(generate_seconds, 1),
        "torch_threads": threads,
        "cpu_count": os.cpu_count(),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "machine": platform.platform(),
        "held_out_prompts": len(examples),
        "clean_rate_before": clean_greeting_rate(before),
        "clean_rate_after": clean_greeting_rate(after),
        "clean_rate_after_plain_greedy": clean_greeting_rate(plain),
        "target_clean_rate": TARGET_CLEAN_RATE,
        "config_yaml": config,
        "replies": [
            {
                "id": e.id,
                "prompt": e.prompt,
                "before": b,
                "before_problems": greeting_problems(b),
                "after": a,
                "after_problems": greeting_problems(a),
                "after_plain_greedy": g,
                "after_plain_greedy_problems": greeting_problems(g),
            }
            for e, b, a, g in zip(examples, before, after, plain, strict=True)
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS, help="results JSON file")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--base", default="demo", help="another base model folder, to try one")
    parser.add_argument("train_flags", nargs=argparse.REMAINDER, help="-- then ftcore train flags")
    args = parser.parse_args(argv)
    result = run(args.threads, args.base, [f for f in args.train_flags if f != "--"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(
        f"default run: {result['train_seconds']:.0f} s of training "
        f"({result['train_cpu_seconds']:.0f} s of CPU; target "
        f"{TARGET_SECONDS} s); clean greetings {result['clean_rate_before']:.0%} before, "
        f"{result['clean_rate_after']:.0%} after (as the Chat tab decodes: greedy with the "
        f"model's loop guards; {result['clean_rate_after_plain_greedy']:.0%} with plain "
        f"greedy, as `ftcore eval`), on {result['held_out_prompts']} held-out "
        f"prompts -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
