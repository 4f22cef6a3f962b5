"""Tables and charts of a prepared dataset version, for the Data tab.

Everything here reads a version's manifest (or its files) and only shapes it for display:
the numbers themselves are computed once, by ftcore.data, and shown the same in the CLI.
"""

from __future__ import annotations

import pandas as pd

from ftcore.data.records import RawRow, Record, Reject
from ftcore.data.versions import SPLITS
from ftcore.ui.chart_style import legend_beside

PREVIEW_TEXT_CHARS = 120  # long turns are cut in preview tables, never in the data

# Columns of each table, so that an empty table shows its headers too. Short status
# columns come first and long texts last, so what matters is on screen at 1280 px.
PREVIEW_COLUMNS = ["line", "status", "problem", "as imported", "labels", "as written"]
PREVIEW_WIDTHS = ["56px", "72px", "16%", "32%", "12%", "28%"]
REJECT_COLUMNS = ["file", "line", "field", "reason", "raw"]
REJECT_WIDTHS = ["14%", "56px", "12%", "32%", "34%"]
CLEANING_COLUMNS = ["rule", "enabled", "rows changed", "matches"]
CLUSTER_COLUMNS = ["kept", "duplicate", "kind", "similarity", "dropped", "kept text"]
CLUSTER_COLUMNS += ["duplicate text"]
SPLIT_COLUMNS = ["split", "rows", "sealed", "length unit", "mean", "p95", "max"]
VERSION_COLUMNS = ["name", "version", "train", "val", "test", "rejected", "hash", "created"]
VERSION_COLUMNS += ["folder"]
VERSION_WIDTHS = ["15%", "80px", "64px", "56px", "56px", "88px", "120px", "15%", "32%"]


def _short(text: str) -> str:
    return text if len(text) <= PREVIEW_TEXT_CHARS else text[:PREVIEW_TEXT_CHARS] + "…"


def preview_table(pairs: list[tuple[RawRow, Record | Reject]]) -> pd.DataFrame:
    """One line per previewed row: as written, then as imported or why it was rejected."""
    rows = []
    for raw, outcome in pairs:
        row = {
            "line": raw.line,
            "as written": _short(raw.raw),
            "status": "ok",
            "as imported": "",
            "labels": "",
            "problem": "",
        }
        if isinstance(outcome, Reject):
            row.update(status="rejected", problem=f"{outcome.field or 'row'}: {outcome.reason}")
        else:
            row["as imported"] = " ⏎ ".join(
                f"[{m['role']}] {_short(m['content'])}" for m in outcome.messages
            )
            row["labels"] = ", ".join(f"{key}={value}" for key, value in outcome.labels.items())
        rows.append(row)
    return pd.DataFrame(rows, columns=PREVIEW_COLUMNS)


def rejects_table(rejects: list[Reject]) -> pd.DataFrame:
    """Rejected rows as in rejected.jsonl: file, line, field, reason and the raw text."""
    rows = [
        {"file": r.file, "line": r.line, "field": r.field, "reason": r.reason, "raw": _short(r.raw)}
        for r in rejects
    ]
    return pd.DataFrame(rows, columns=REJECT_COLUMNS)


def cleaning_table(manifest: dict) -> pd.DataFrame:
    rows = [
        {
            "rule": rule,
            "enabled": info["enabled"],
            "rows changed": info["rows"],
            "matches": info["matches"],
        }
        for rule, info in manifest["cleaning"].items()
    ]
    return pd.DataFrame(rows, columns=CLEANING_COLUMNS)


def _where(row: dict) -> str:
    return f"{row['file']}:{row['line']}"


def clusters_table(clusters: list[dict]) -> pd.DataFrame:
    """One line per duplicate: the row it duplicates (kept), how alike, and its fate."""
    rows = [
        {
            "kept": _where(c["kept"]),
            "kept text": c["kept"]["text"],
            "duplicate": _where(m),
            "duplicate text": m["text"],
            "kind": m["kind"],
            "similarity": m["similarity"],
            "dropped": m["dropped"],
        }
        for c in clusters
        for m in c["members"]
    ]
    return pd.DataFrame(rows, columns=CLUSTER_COLUMNS)


def split_table(manifest: dict) -> pd.DataFrame:
    """Rows and length statistics per split."""
    rows = []
    for split in SPLITS:
        info = manifest["splits"][split]
        length = info["length"]
        rows.append(
            {
                "split": split,
                "rows": info["rows"],
                "sealed": info["sealed"],
                "length unit": length["unit"],
                "mean": length.get("mean"),
                "p95": length.get("p95"),
                "max": length.get("max"),
            }
        )
    return pd.DataFrame(rows, columns=SPLIT_COLUMNS)


def versions_table(versions: list[dict]) -> pd.DataFrame:
    """Saved dataset versions (ftcore.data.versions.list_versions), newest first."""
    rows = [
        [
            v["name"],
            v["version"],
            v["counts"].get("train"),
            v["counts"].get("val"),
            v["counts"].get("test"),
            v["counts"].get("rejected"),
            v["content_hash"][:12],
            v["created_at"],
            v["path"],
        ]
        for v in versions
    ]
    return pd.DataFrame(rows, columns=VERSION_COLUMNS)


def empty_table(columns: list[str]) -> pd.DataFrame:
    """A table with headers and no rows, for before anything is prepared."""
    return pd.DataFrame(columns=columns)


def label_share_figure(manifest: dict, label: str | None):
    """Share of each value of `label` per split: equal bars mean a well-stratified split."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 3.2), layout="constrained")
    labels = [name for name in (label,) if name] or sorted(
        manifest["splits"]["train"].get("labels", {})
    )[:1]
    if not labels:
        axis.text(0.5, 0.5, "no labels in this dataset", ha="center", va="center")
        axis.axis("off")
        return figure
    name = labels[0]
    table = pd.DataFrame(
        {
            split: pd.Series(manifest["splits"][split]["labels"].get(name, {}), dtype=float)
            for split in SPLITS
        }
    ).fillna(0)
    (table / table.sum().where(table.sum() > 0, 1)).plot.bar(ax=axis, rot=0, width=0.8)
    legend_beside(axis)
    axis.set_ylabel("share of the split's rows")
    axis.set_title(f"'{name}' per split")
    return figure


def length_figure(manifest: dict):
    """Share of rows per length bin, one bar per split (bins double: 0, 16, 32, …)."""
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 3.2), layout="constrained")
    columns, unit = {}, "characters"
    for split in SPLITS:
        length = manifest["splits"][split]["length"]
        unit = length["unit"]
        if "histogram" in length:
            counts = pd.Series(length["histogram"]["counts"], dtype=float)
            columns[split] = counts / max(counts.sum(), 1)
            edges = length["histogram"]["edges"]
    if not columns:
        axis.text(0.5, 0.5, "no rows", ha="center", va="center")
        axis.axis("off")
        return figure
    table = pd.DataFrame(columns)
    table.index = [f"{lo}–{hi}" for lo, hi in zip(edges, [*edges[1:], "∞"], strict=True)]
    table = table.loc[(table > 0).any(axis=1)]
    table.plot.bar(ax=axis, rot=30, width=0.8)
    legend_beside(axis)
    axis.set_xlabel(f"length ({unit})")
    axis.set_ylabel("share of the split's rows")
    return figure
