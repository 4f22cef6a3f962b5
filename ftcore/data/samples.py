"""The sample datasets that ship in data/, by the names the UI and CLI show."""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent.parent / "data"

SAMPLE_SETS: dict[str, Path] = {
    "Spring Festival greetings (alpaca, 460 rows)": (
        DATA_DIR / "greetings" / "spring_festival_greetings.jsonl"
    ),
    "Greeting conversations (ShareGPT, 40 chats)": (
        DATA_DIR / "multiturn" / "greeting_chats.sharegpt.json"
    ),
    "General-ability probe (alpaca, 80 rows)": DATA_DIR / "probe" / "general_probe.jsonl",
}
