"""The evaluation report: an evaluation's automatic scores beside a session's votes, CSV and HTML.

`write_evaluation_report(database, report, evaluation, out_dir)` takes a `build_report`
dict and an evaluation (its id in the workspace database, or its folder) and writes

- evaluation_report.csv: one row per model of either, side by side: the human figures
  (Bradley–Terry rating, interval and rank, criterion means) and, on the session's split,
  each automatic metric from the evaluation's scores.json (value and interval) and its
  delta against the baseline from comparisons.json (paired interval and p-value). A model
  only one side knows has empty cells on the other. UTF-8 with a BOM, formula-safe.
- report.html: one self-contained page (figures embedded as PNG): the counts and what was
  left out, the "enough data?" verdict, the model table, the win-rate heatmap, the ratings
  with intervals, the metric deltas and how often each metric agrees with the raters.

Numbers are taken from the report and the evaluation's files as they are; nothing is
recomputed here, so the page, the CSV, report.json and the UI show the same figures.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from ftcore.errors import ConfigError, DataError
from ftcore.files import read_json, spreadsheet_safe, write_csv, write_text
from ftcore.metrics.comparisons import COMPARISONS_JSON
from ftcore.metrics.score_files import SCORES_JSON
from ftcore.rating import report_figures
from ftcore.rating.sessions import get_session

EVALUATION_CSV = "evaluation_report.csv"
REPORT_HTML = "report.html"
HUMAN_COLUMNS = ("bt_rating", "bt_ci_low", "bt_ci_high", "rank")
# The metrics the page's model table shows (all of them are in the CSV), where present.
PAGE_METRICS = ("chrf", "rougeL", "sentence_bleu_mean", "bleu", "perplexity")
METRIC_SUFFIXES = ("", "_ci_low", "_ci_high", "_delta", "_delta_ci_low", "_delta_ci_high",
                   "_delta_p")  # fmt: skip


def evaluation_folder(database, evaluation: str | int | Path) -> Path:
    """The folder of an evaluation given by its workspace id or as a folder."""
    text = str(evaluation)
    if text.isdigit():
        rows = database.query("SELECT out_dir FROM evaluations WHERE id = ?", [int(text)])
        if not rows:
            known = [str(r["id"]) for r in database.query("SELECT id FROM evaluations")]
            allowed = f"an evaluation id ({', '.join(known) or 'none registered'}) or a folder"
            raise ConfigError("evaluation", text, allowed)
        return Path(rows[0]["out_dir"])
    folder = Path(text)
    if not (folder / SCORES_JSON).is_file():
        raise DataError(f"{folder}: no {SCORES_JSON}; not an evaluation folder")
    return folder


def linked_evaluation(database, session_id: str) -> Path | None:
    """The evaluation folder a session was made from, while it still holds its scores;
    None for a session made from a predictions file or whose evaluation is gone."""
    source = json.loads(get_session(database, session_id)["source_json"])
    folder = Path(source["path"]) if source.get("kind") == "evaluation" else None
    return folder if folder is not None and (folder / SCORES_JSON).is_file() else None


def evaluation_results(folder: Path, split: str) -> tuple[dict, list[dict]]:
    """(model → metric → scores.json entry, comparisons.json rows) on `split`."""
    scores = read_json(folder / SCORES_JSON)
    splits = sorted({s for by_split in scores.values() for s in by_split})
    if split not in splits:
        raise DataError(
            f"{folder / SCORES_JSON}: no split {split!r} (the session's); it has "
            f"{', '.join(splits) or 'none'}"
        )
    on_split = {model: by_split[split] for model, by_split in scores.items() if split in by_split}
    comparisons = read_json(folder / COMPARISONS_JSON, missing_ok=True) or []
    return on_split, [row for row in comparisons if row["split"] == split]


def evaluation_table(
    report: Mapping, scores: Mapping[str, Mapping], comparisons: Sequence[Mapping]
) -> tuple[list[str], list[dict]]:
    """evaluation_report.csv's header and rows (see the module docstring)."""
    criteria = list(dict.fromkeys(c for e in report["models"].values() for c in e["criteria"]))
    metrics = list(dict.fromkeys(m for by_metric in scores.values() for m in by_metric))
    models = list(dict.fromkeys([*report["models"], *scores]))
    deltas = {(row["model"], row["metric"]): row for row in comparisons}
    baselines = {row["model"]: row["baseline"] for row in comparisons}
    header = ["model", "in_session", "in_evaluation", *HUMAN_COLUMNS]
    header += [f"{c}_mean" for c in criteria] + ["baseline"]
    header += [f"{m}{suffix}" for m in metrics for suffix in METRIC_SUFFIXES]
    rows = []
    for model in models:
        human = report["models"].get(model)
        row = {"model": model, "in_session": human is not None, "in_evaluation": model in scores,
               "baseline": baselines.get(model)}  # fmt: skip
        if human is not None:
            low, high = human["bt_ci"] or (None, None)
            row.update(bt_rating=human["bt_rating"], bt_ci_low=low, bt_ci_high=high,
                       rank=human["rank"])  # fmt: skip
            for criterion, mean in human["criteria"].items():
                row[f"{criterion}_mean"] = mean["mean"]
        for metric, entry in scores.get(model, {}).items():
            row.update({metric: entry.get("value"), f"{metric}_ci_low": entry.get("ci_low"),
                        f"{metric}_ci_high": entry.get("ci_high")})  # fmt: skip
            if (delta := deltas.get((model, metric))) is not None:
                row.update({f"{metric}_delta": delta["delta"],
                            f"{metric}_delta_ci_low": delta["ci_low"],
                            f"{metric}_delta_ci_high": delta["ci_high"],
                            f"{metric}_delta_p": delta["p_value"]})  # fmt: skip
        rows.append(row)
    return header, rows


def _cell(value):
    return int(value) if isinstance(value, bool) else value


def write_evaluation_report(
    database, report: Mapping, evaluation: str | int | Path, out_dir: str | Path
) -> dict[str, Path]:
    """Write evaluation_report.csv and report.html for a `build_report` dict and an
    evaluation (workspace id or folder) into `out_dir`; their paths."""
    session = get_session(database, report["session_id"])
    split = json.loads(session["source_json"]).get("split") or ""
    folder = evaluation_folder(database, evaluation)
    scores, comparisons = evaluation_results(folder, split)
    header, rows = evaluation_table(report, scores, comparisons)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cells = [[spreadsheet_safe(_cell(row.get(column))) for column in header] for row in rows]
    csv_path = write_csv(out / EVALUATION_CSV, [spreadsheet_safe(c) for c in header], cells)
    page = report_page(report, session["name"], folder, split, rows, comparisons)
    return {"evaluation": csv_path, "html": write_text(out / REPORT_HTML, page)}


def _number(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, float | int):
        return html.escape(str(value))
    return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:.0f}"


def _interval(low, high) -> str:
    if low is None and high is None:
        return ""
    return f" [{_number(low)}, {_number(high)}]"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An HTML table; cells are HTML already (escaped by the caller)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(title: str, figure) -> str:
    data = report_figures.png_base64(figure)
    return (f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(title)}</figcaption></figure>")  # fmt: skip


def _summary(report: Mapping) -> str:
    dropped = ", ".join(f"{n} {reason}" for reason, n in report["excluded"].items() if n)
    text = (f"{report['n_votes']} votes from {report['n_raters']} raters compared "
            f"({report['n_votes_cast']} cast; left out: {dropped or 'none'}).")  # fmt: skip
    if report["excluded_raters"]:
        text += f" Excluded raters: {', '.join(report['excluded_raters'])}."
    power = report.get("power")
    if power:
        text += f" Enough data? {power['message']}"
    return f"<p>{html.escape(text)}</p>"


def _with_interval(row: Mapping, column: str) -> str:
    return _number(row.get(column)) + _interval(
        row.get(f"{column}_ci_low"), row.get(f"{column}_ci_high")
    )


def _models_table(rows: Sequence[Mapping]) -> str:
    """Per model: rank and rating, then each headline metric with its delta."""
    metrics = [m for m in PAGE_METRICS if any(row.get(m) is not None for row in rows)]
    cells = []
    for row in rows:
        line = [html.escape(row["model"]), _number(row.get("rank"))]
        rating = row.get("bt_rating")  # an unbounded side shows as –
        if rating is not None:
            line.append(f"{_number(rating)} [{_number(row['bt_ci_low'])}, "
                        f"{_number(row['bt_ci_high'])}]")  # fmt: skip
        else:
            line.append(_number(rating))
        for metric in metrics:
            delta = f"{metric}_delta"
            extra = f" (Δ {_with_interval(row, delta)})" if row.get(delta) is not None else ""
            line.append(_number(row.get(metric)) + extra)
        cells.append(line)
    return _table(["model", "rank", "rating [95% CI]", *metrics], cells)


def _agreement_table(agreement: Mapping[str, Mapping]) -> str:
    rows = []
    for metric, entry in agreement.items():
        ci = entry["agreement_ci"] or (None, None)
        rows.append([html.escape(metric), _number(entry["agreement"]) + _interval(*ci),
                     _number(entry["kendall_tau"]), str(entry["n_decided"]), str(entry["n_items"]),
                     html.escape(entry.get("note") or "")])  # fmt: skip
    titles = ["metric", "agrees with raters [95% CI]", "Kendall's τ", "decided items",
              "items", "note"]  # fmt: skip
    return _table(titles, rows)


STYLE = (
    "body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;max-width:1100px;margin:2em auto;"
    "padding:0 1em;color:#222}table{border-collapse:collapse;margin:1em 0}"
    "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}th{background:#f2f2f2}"
    "figure{margin:1em 0}img{max-width:100%}figcaption{color:#555;font-size:.9em}"
    ".grid{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}"
)


def report_page(
    report: Mapping,
    title: str,
    folder: Path,
    split: str,
    rows: Sequence[Mapping],
    comparisons: Sequence[Mapping],
) -> str:
    """The one-page HTML summary; every text from users or files is escaped."""
    name = html.escape(title)
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{name}</title>",
        f"<style>{STYLE}</style></head><body><h1>{name}</h1>",
        f"<p>Session <code>{html.escape(report['session_id'])}</code>; automatic scores from "
        f"<code>{html.escape(str(folder))}</code>, split <code>{html.escape(split)}</code>.</p>",
        _summary(report),
        "<h2>Models</h2>",
        _models_table(rows),
        "<div class='grid'>",
        _figure(
            "Win rate of each row's model against each column's",
            report_figures.win_rate_heatmap(report),
        ),
        _figure(
            "Bradley–Terry ratings with 95% intervals", report_figures.rating_intervals(report)
        ),
        "</div>",
        "<h2>Automatic metrics against the baseline</h2>",
        _figure(
            "Metric deltas with paired 95% intervals", report_figures.metric_deltas(comparisons)
        ),
        "<h2>Do the automatic metrics agree with the raters?</h2>",
        _agreement_table(report["metric_agreement"]),
        _figure(
            "Agreement with the raters' winner per metric",
            report_figures.metric_agreement_bars(report["metric_agreement"]),
        ),
        "</body></html>",
    ]
    return "\n".join(parts)
