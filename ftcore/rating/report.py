"""A session's rating report: report.json and the votes, models, raters and items CSVs.

The votes are read from SQLite once, turned into `Vote` records, and handed to the pure
statistics in ftcore.stats; nothing here computes a statistic itself. Which votes the
models are compared on is `select_votes`'s rule: gold items and repeated showings are
always left out (they check raters), and a rater in `exclude_raters` or, with
`exclude_flagged`, a vote flagged too fast is left out too, and with `exclude_failing`
every rater `failing_raters` names (listed under "excluded_failing"); report.json's
"excluded" counts every dropped vote under its reason, so nothing is dropped silently.
Rater quality and agreement with the rest are computed on all votes, so an excluded
rater still shows why; a vote is too fast by the session's own min_seconds (the rule
the rating app flagged it by), and "flagged_too_fast" counts those votes. Human vs
automatic ("metric_agreement", and per-metric columns `<metric>_a` / `<metric>_b` in
items.csv) is ftcore.rating.automatic_scores. Numbers
that are not finite (an unbounded rating interval) become null in JSON and an empty cell
in CSV, which both JSON readers and spreadsheets accept.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ftcore.errors import ConfigError, did_you_mean
from ftcore.files import spreadsheet_safe, write_csv, write_json
from ftcore.rating.automatic_scores import agreement_entries, session_pair_items
from ftcore.rating.export import export_votes, vote_rows
from ftcore.rating.rubrics import rubric_from_json
from ftcore.rating.sessions import get_session
from ftcore.stats.agreement import (
    criterion_ratings,
    krippendorff_alpha,
    pairwise_agreement,
    preference_ratings,
)
from ftcore.stats.bradley_terry import bradley_terry
from ftcore.stats.criterion_scores import criterion_means
from ftcore.stats.pairwise import length_bias, pair_results, position_bias
from ftcore.stats.power import enough_data
from ftcore.stats.rater_quality import (
    QualityThresholds,
    failing_raters,
    rater_quality,
    select_votes,
)
from ftcore.stats.vote_records import Vote, models_in

# Flags that `exclude_flagged` drops: a vote cast faster than the session's minimum.
EXCLUDED_FLAGS = ("too_fast",)
REPORT_JSON = "report.json"
MODELS_CSV = "models.csv"
RATERS_CSV = "raters.csv"
ITEMS_CSV = "items.csv"


def _number(value: float | None) -> float | None:
    """`value`, or None where it is missing or not finite (JSON has no inf/NaN)."""
    return None if value is None or not math.isfinite(value) else float(value)


def _interval(interval) -> list[float | None] | None:
    return None if interval is None else [_number(interval.low), _number(interval.high)]


def session_votes(database, session_id: str) -> list[Vote]:
    """The session's votes, in the order cast, as `Vote` records."""
    votes = []
    for row in vote_rows(database, session_id):
        scores = json.loads(row["scores_json"] or "{}")
        votes.append(
            Vote(
                item_id=str(row["item_id"]),
                rater_id=row["rater_id"],
                model_left=row["left_model"],
                model_right=row["right_model"],
                choice=row["choice"],
                scores_left=scores.get("left") or {},
                scores_right=scores.get("right") or {},
                seconds=row["seconds"],
                flags=tuple(flag for flag in (row["flags"] or "").split(",") if flag),
                is_gold=row["item_kind"] == "gold",
                gold_answer=row["gold_answer"],
                vote_id=row["vote_id"],
                repeat_of=row["repeat_of"],
            )
        )
    return votes


def response_lengths(database, session_id: str) -> dict[tuple[str, str], int]:
    """(item_id, model) → characters in that model's response on that item."""
    lengths = {}
    for item in database.query(
        "SELECT id, model_first, response_first, model_second, response_second "
        "FROM rating_items WHERE session_id = ?",
        [session_id],
    ):
        for model, text in ((item["model_first"], item["response_first"]),
                            (item["model_second"], item["response_second"])):  # fmt: skip
            lengths[(str(item["id"]), model)] = len(text or "")
    return lengths


def _share(result) -> dict:
    return {"share": _number(result.share), "ci": _interval(result.ci), "n": result.n,
            "p_value": result.p_value}  # fmt: skip


def _bt_entry(ratings, model: str) -> tuple[float | None, list | None, int | None]:
    if ratings is None:
        return None, None, None
    value = ratings.ratings.get(model) if ratings.ratings else None
    return _number(value), _interval(ratings.intervals.get(model)), ratings.ranks.get(model)


def build_report(
    database,
    session_id: str,
    *,
    seed: int = 0,
    n_resamples: int = 1000,
    exclude_flagged: bool = False,
    exclude_raters=(),
    exclude_failing: bool = False,
) -> dict:
    """The report.json object of a session: counts, exclusions, per-model ratings and
    criterion means, per-pair results, agreement, biases, power, human vs automatic
    metrics, and per-rater and per-item rows (the rows of raters.csv and items.csv)."""
    session = get_session(database, session_id)
    criteria = rubric_from_json(json.loads(session["rubric_json"])).criterion_ids
    every_vote = session_votes(database, session_id)
    flags = EXCLUDED_FLAGS if exclude_flagged else ()
    # "Too fast" is the session's rule, the one the rating app flagged votes by: the
    # raters table, the failing check and the flagged count must not each use their own.
    min_seconds = float(session["min_seconds"] or 0)
    thresholds = QualityThresholds(min_seconds=min_seconds)
    quality = rater_quality(every_vote, thresholds)
    failing = failing_raters(quality, thresholds)
    dropped = set(exclude_raters) | (set(failing) if exclude_failing else set())
    kept, excluded = select_votes(every_vote, exclude_raters=dropped, exclude_flags=flags)
    models = models_in(kept)
    ratings = bradley_terry(kept, n_resamples, seed) if len(models) >= 2 else None
    order = list(ratings.models) if ratings else models
    pairs = pair_results(kept, order, n_resamples, seed)
    means = criterion_means(kept, n_resamples, seed)

    model_rows = {}
    for model in order:
        rating, interval, rank = _bt_entry(ratings, model)
        model_rows[model] = {
            "bt_rating": rating,
            "bt_ci": interval,
            "rank": rank,
            "criteria": {
                criterion: {"mean": _number(m.mean), "ci": _interval(m.ci), "n": m.n}
                for criterion in criteria
                if (m := means.get(criterion, {}).get(model)) is not None
            },
        }
    agreement = {"preference": _number(krippendorff_alpha(preference_ratings(kept), "nominal"))}
    for criterion in criteria:
        alpha = krippendorff_alpha(criterion_ratings(kept, criterion), "ordinal")
        agreement[criterion] = _number(alpha)
    raw = pairwise_agreement(preference_ratings(kept))
    agreement["preference_raw"] = {"share": _number(raw.share), "pairs": raw.pairs}

    power = None
    leading = next((p for p in pairs if {p.model_a, p.model_b} == set(order[:2])), None)
    if leading is not None:
        verdict = enough_data(leading.model_a, leading.model_b, leading.wins_a, leading.wins_b,
                              leading.ties + leading.both_bad)  # fmt: skip
        estimate = verdict.power
        power = {"model_a": leading.model_a, "model_b": leading.model_b,
                 "enough": verdict.enough, "message": verdict.message,
                 **{key: _number(value) if isinstance(value, float) else value
                    for key, value in estimate._asdict().items()}}  # fmt: skip

    items = session_pair_items(database, session_id)
    from_evaluation = json.loads(session["source_json"]).get("kind") == "evaluation"
    metric_agreement, scores = agreement_entries(kept, items, from_evaluation)
    names = rater_names(database, session_id)
    return {
        "session_id": session_id,
        "n_votes": len(kept),
        "n_raters": len({vote.rater_id for vote in kept}),
        "n_votes_cast": len(every_vote),
        "excluded": excluded,
        "excluded_raters": sorted(dropped),
        "excluded_failing": sorted(failing) if exclude_failing else [],
        "excluded_flags": list(flags),
        "min_seconds": min_seconds,
        "flagged_too_fast": sum(bool(set(vote.flags) & set(EXCLUDED_FLAGS)) for vote in every_vote),
        "models": model_rows,
        "pairs": [
            {
                "model_a": p.model_a,
                "model_b": p.model_b,
                "wins_a": p.wins_a,
                "wins_b": p.wins_b,
                "ties": p.ties,
                "both_bad": p.both_bad,
                "n_items": p.n_items,
                "win_rate_a": _number(p.win_rate_a),
                "win_rate_a_ci": _interval(p.win_rate_a_ci),
                "win_rate_a_no_ties": _number(p.win_rate_a_no_ties),
                "win_rate_a_no_ties_ci": _interval(p.win_rate_a_no_ties_ci),
            }
            for p in pairs
        ],  # fmt: skip
        "agreement": agreement,
        "position_bias": _share(position_bias(kept)),
        "length_bias": _share(length_bias(kept, response_lengths(database, session_id))),
        "power": power,
        "metric_agreement": metric_agreement,
        "raters": [
            {
                "rater_id": rater,
                "rater_name": names.get(rater, ""),
                "votes": q.n_votes,
                "median_seconds": _number(q.median_seconds),
                "gold_correct": q.gold.passed,
                "gold_total": q.gold.total,
                "consistent": q.consistency.passed,
                "repeats": q.consistency.total,
                "too_fast": q.too_fast.passed,
                "flags": ",".join(f"{flag}:{n}" for flag, n in sorted(q.flags.items())),
                "agreement": _number(q.agreement.share),
                "agreement_pairs": q.agreement.pairs,
                "fails": "; ".join(failing.get(rater, [])),
                "excluded": rater in dropped,
            }
            for rater, q in quality.items()
        ],  # fmt: skip
        "items": _item_rows(kept, criteria, {str(item["id"]): item for item in items}, scores),
    }


def rater_names(database, session_id: str) -> dict[str, str]:
    """rater id → the name they joined with ("" when they gave none)."""
    rows = database.query("SELECT id, name FROM rating_raters WHERE session_id = ?", [session_id])
    return {row["id"]: row["name"] or "" for row in rows}


def rater_ids(database, session_id: str, given) -> list[str]:
    """The rater ids that `given` names, each a rater id or the name of exactly one rater
    of the session; anything else raises ConfigError."""
    names = rater_names(database, session_id)
    ids = []
    for value in given:
        matches = [rater for rater, name in names.items() if value in (rater, name)]
        if len(matches) != 1:
            known = sorted({*names, *names.values()} - {""})
            problem = "names several raters; give its id" if matches else "names no rater"
            allowed = f"a rater id or name of session {session_id} ({problem})."
            raise ConfigError("exclude_rater", value, allowed + did_you_mean(value, known))
        ids.append(matches[0])
    return ids


def _item_rows(votes: list[Vote], criteria, items: dict[str, dict], scores: dict) -> list[dict]:
    """Per item of the kept votes: its pair, outcome counts, mean scores per model, the
    raw preference agreement among its raters, each automatic metric's score of each
    side's response, and its prompt."""
    by_item: dict[str, list[Vote]] = {}
    for vote in votes:
        by_item.setdefault(vote.item_id, []).append(vote)
    rows = []
    for item_id, shown in sorted(by_item.items(), key=lambda entry: int(entry[0])):
        model_a, model_b = shown[0].pair
        row = {"item_id": item_id, "model_a": model_a, "model_b": model_b, "votes": len(shown),
               "wins_a": sum(v.winner() == model_a for v in shown),
               "wins_b": sum(v.winner() == model_b for v in shown),
               "ties": sum(v.choice == "tie" for v in shown),
               "both_bad": sum(v.choice == "both_bad" for v in shown)}  # fmt: skip
        for criterion in criteria:
            for side, model in (("a", model_a), ("b", model_b)):
                given = [v.scores_of(model)[criterion] for v in shown
                         if criterion in v.scores_of(model)]  # fmt: skip
                row[f"{criterion}_{side}"] = sum(given) / len(given) if given else None
        row["agreement"] = _number(pairwise_agreement(preference_ratings(shown)).share)
        for metric, by_response in scores.items():
            row[f"{metric}_a"] = _number(by_response.get((item_id, model_a)))
            row[f"{metric}_b"] = _number(by_response.get((item_id, model_b)))
        item = items.get(item_id, {})
        row["example_id"], row["prompt"] = item.get("example_id"), item.get("prompt")
        rows.append(row)
    return rows


def _csv(path: Path, rows: list[dict], header: list[str]) -> Path:
    cells = [[spreadsheet_safe(_cell(row.get(column))) for column in header] for row in rows]
    # Headers too: a column such as win_rate_vs_<model> carries a model's name.
    return write_csv(path, [spreadsheet_safe(column) for column in header], cells)


def _cell(value):
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, list):  # an interval: "low;high", empty bounds where unbounded
        return ";".join("" if v is None else f"{v:g}" for v in value)
    return value


def write_report(database, session_id: str, out_dir: str | Path, **options) -> dict[str, Path]:
    """Write votes.csv (as `ftcore rate export` writes it), models.csv, raters.csv,
    items.csv and report.json into `out_dir`; `options` go to `build_report`."""
    return write_report_files(database, build_report(database, session_id, **options), out_dir)


def write_report_files(database, report: dict, out_dir: str | Path) -> dict[str, Path]:
    """Write the files of `write_report` for a report `build_report` made."""
    out = Path(out_dir)
    paths = {"votes": export_votes(database, report["session_id"], out)}
    criteria = sorted({c for entry in report["models"].values() for c in entry["criteria"]})
    model_rows = []
    for name, entry in report["models"].items():
        row = {"model": name, "bt_rating": entry["bt_rating"], "bt_ci": entry["bt_ci"],
               "rank": entry["rank"]}  # fmt: skip
        for pair in report["pairs"]:  # win rates against each opponent, from this side
            if name in (pair["model_a"], pair["model_b"]):
                a_side = name == pair["model_a"]
                other = pair["model_b"] if a_side else pair["model_a"]
                rate = pair["win_rate_a"] if a_side else 1 - pair["win_rate_a"]
                row[f"win_rate_vs_{other}"] = rate
        for criterion in criteria:
            row[f"{criterion}_mean"] = entry["criteria"].get(criterion, {}).get("mean")
        model_rows.append(row)
    header = ["model", "bt_rating", "bt_ci", "rank"]
    header += [f"win_rate_vs_{m}" for m in report["models"]]
    header += [f"{c}_mean" for c in criteria]
    paths["models"] = _csv(out / MODELS_CSV, model_rows, header)
    raters, items = report["raters"], report["items"]
    rater_header = list(raters[0]) if raters else ["rater_id"]
    paths["raters"] = _csv(out / RATERS_CSV, raters, rater_header)
    paths["items"] = _csv(out / ITEMS_CSV, items, list(items[0]) if items else ["item_id"])
    paths["report"] = write_json(out / REPORT_JSON, report)
    return paths
