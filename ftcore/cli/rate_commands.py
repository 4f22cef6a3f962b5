"""`ftcore rate …`: create, list, watch, close, invite to, export and report on sessions.

The command line over ftcore.rating.sessions and ftcore.rating.export. The top-level CLI
(ftcore.cli) turns FtcoreError into a one-line message and exit code 1, so nothing here
catches library errors. The `create` flags take their help from SessionPlan's fields.
"""

from __future__ import annotations

import argparse
import json

from ftcore.cli.train_commands import HOME_HELP, workspace_database
from ftcore.rating.plan import SessionPlan, plan_help

DEFAULT_BASE_URL = "http://127.0.0.1:7860/"  # where `python app.py` serves, rater mode too

# flag → (SessionPlan field, type); the flags the issue names, then the rest of the plan.
CREATE_FLAGS = {
    "--eval": ("eval_dir", str),
    "--predictions": ("predictions", str),
    "--split": ("split", str),
    "--rubric": ("rubric", str),
    "--name": ("name", str),
    "--models": ("models", str),
    "--ratings-per-item": ("ratings_per_item", int),
    "--items-per-rater": ("items_per_rater", int),
    "--gold": ("gold", str),
    "--repeat-share": ("repeat_share", float),
    "--min-seconds": ("min_seconds", float),
    "--closes-at": ("closes_at", str),
    "--reservation-minutes": ("reservation_minutes", float),
}


def _print_json(value) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def run_rate_create(args: argparse.Namespace) -> int:
    from ftcore.rating.sessions import create_session
    from ftcore.workspace import Workspace

    values = {name: getattr(args, name) for name, _ in CREATE_FLAGS.values()}
    values = {key: value for key, value in values.items() if value is not None}
    if args.adaptive:
        values["adaptive"] = True
    if args.invite:
        values.update(access="invite", invites=args.invite)
    plan = SessionPlan(**values)
    with workspace_database(args.home) as database:
        info = create_session(database, Workspace.open(args.home or None), plan)
    result = info.to_json()
    result["url"] = args.base_url + info.link if info.link else None
    result["invite_urls"] = [args.base_url + link for link in info.invite_links]
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"session {info.session_id}: {info.name!r}, {info.items} items, rubric {info.rubric_id}")
    print(f"models: {', '.join(info.models)}")
    if result["url"]:
        print(f"rater link (open): {result['url']}")
    for url in result["invite_urls"]:
        print(f"personal link: {url}")
    return 0


def run_rate_list(args: argparse.Namespace) -> int:
    from ftcore.rating.sessions import list_sessions

    with workspace_database(args.home) as database:
        sessions = list_sessions(database)
    if args.json:
        _print_json(sessions)
        return 0
    for s in sessions:
        counts = f"{s['votes']:>5} votes {s['raters']:>4} raters {s['items']:>5} items"
        print(f"{s['id']}  {s['state']:<6} {counts}  {s['name']}")
    return 0


def run_rate_status(args: argparse.Namespace) -> int:
    from ftcore.rating.sessions import session_status

    with workspace_database(args.home) as database:
        status = session_status(database, args.session_id)
    if args.json:
        _print_json(status)
        return 0
    coverage = status["coverage"]
    print(f"session {status['id']}: {status['name']!r} ({status['state']}, {status['access']})")
    print(
        f"votes {status['votes']}, raters joined {status['raters']}, voted {status['raters_voted']}"
    )
    print(
        f"pair items with {status['ratings_per_item']} votes: "
        f"{coverage['complete']} of {coverage['pair_items']}; "
        f"votes per item: {coverage['votes_per_item']}"
    )
    if status["flags"]:
        print("flags: " + ", ".join(f"{k} {v}" for k, v in status["flags"].items()))
    print(f"{'item':>6} {'kind':<5} {'example':<16} {'votes':>5} {'rsv':>4}  models")
    for item in status["per_item"]:
        models = f"{item['model_first']} / {item['model_second']}"
        example = str(item["example_id"])[:16]
        print(
            f"{item['item_id']:>6} {item['kind']:<5} {example:<16} "
            f"{item['votes']:>5} {item['reserved']:>4}  {models}"
        )
    return 0


def run_rate_close(args: argparse.Namespace) -> int:
    from ftcore.rating.sessions import close_session

    with workspace_database(args.home) as database:
        summary = close_session(database, args.session_id)
    print(f"session {summary['id']} closed at {summary['closed_at']}: {summary['votes']} votes")
    return 0


def run_rate_invite(args: argparse.Namespace) -> int:
    from ftcore.rating.sessions import add_invites, rater_link

    with workspace_database(args.home) as database:
        codes = add_invites(database, args.session_id, args.n)
    urls = [args.base_url + rater_link(code) for code in codes]
    if args.json:
        print(json.dumps({"session_id": args.session_id, "codes": codes, "urls": urls}))
        return 0
    print("\n".join(urls))
    return 0


def run_rate_export(args: argparse.Namespace) -> int:
    from ftcore.rating.export import export_votes

    with workspace_database(args.home) as database:
        path = export_votes(database, args.session_id, args.out)
    print(f"written to {path.parent}: {path.name}, session.json")
    return 0


def run_rate_report(args: argparse.Namespace) -> int:
    from ftcore.rating.report import build_report, rater_ids, write_report_files

    with workspace_database(args.home) as database:
        report = build_report(
            database,
            args.session_id,
            exclude_flagged=args.exclude_flagged,
            exclude_raters=rater_ids(database, args.session_id, args.exclude_rater),
            exclude_failing=args.exclude_failing,
        )
        paths = write_report_files(database, report, args.out)
        if args.evaluation:
            from ftcore.rating.evaluation_report import write_evaluation_report

            paths.update(write_evaluation_report(database, report, args.evaluation, args.out))
    print(exclusion_summary(report))
    print(f"written to {args.out}: {', '.join(path.name for path in paths.values())}")
    return 0


def exclusion_summary(report: dict) -> str:
    """Votes kept of those cast, and how many were left out for each reason."""
    dropped = ", ".join(f"{reason} {n}" for reason, n in report["excluded"].items() if n)
    line = f"votes: {report['n_votes']} of {report['n_votes_cast']} compared"
    line += f" ({report['n_raters']} raters); left out: {dropped or 'none'}"
    if report["excluded_raters"]:
        line += f"; excluded raters: {', '.join(report['excluded_raters'])}"
    if report["excluded_failing"]:
        line += f" (failing checks: {', '.join(report['excluded_failing'])})"
    return line


def _add_create(actions) -> None:
    create = actions.add_parser(
        "create",
        help="create a session from an evaluation folder or a predictions JSONL",
        description="Every pair of models on an example becomes one item; the session "
        "copies the texts, so re-evaluating never changes it.",
    )
    source = create.add_mutually_exclusive_group(required=True)
    for flag, (name, kind) in CREATE_FLAGS.items():
        group = source if flag in ("--eval", "--predictions") else create
        group.add_argument(
            flag, dest=name, type=kind, default=None, help=plan_help(name).replace("%", "%%")
        )
    create.add_argument("--adaptive", action="store_true", help=plan_help("adaptive"))
    create.add_argument(
        "--invite",
        type=int,
        metavar="N",
        help="invite-only: create N personal links (no open link)",
    )
    create.add_argument("--base-url", default=DEFAULT_BASE_URL, help="the app's address for links")
    create.add_argument("--json", action="store_true", help="print one JSON object")
    create.add_argument("--home", help=HOME_HELP)
    create.set_defaults(run=run_rate_create)


def add_rate_commands(commands: argparse._SubParsersAction) -> None:
    """Add `rate create | list | status | close | invite | export | report`."""
    rate = commands.add_parser("rate", help="blind A/B rating sessions: create, watch, export")
    actions = rate.add_subparsers(dest="rate_command", required=True, metavar="ACTION")
    _add_create(actions)
    listing = actions.add_parser("list", help="every rating session, newest first")
    listing.add_argument("--json", action="store_true", help="print the rows as JSON")
    listing.add_argument("--home", help=HOME_HELP)
    listing.set_defaults(run=run_rate_list)
    for name, handler, text in (
        ("status", run_rate_status, "votes, raters, flags and per-item coverage"),
        ("close", run_rate_close, "stop accepting votes"),
        ("invite", run_rate_invite, "add personal invite links"),
        ("export", run_rate_export, "write votes.csv and session.json"),
        ("report", run_rate_report, "write the rating report: report.json and CSVs"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("session_id", help="the session id (see `ftcore rate list`)")
        action.add_argument("--home", help=HOME_HELP)
        action.set_defaults(run=handler)
        if name in ("status", "invite"):
            action.add_argument("--json", action="store_true", help="print JSON")
        if name == "invite":
            action.add_argument("--n", type=int, required=True, help="how many links")
            action.add_argument("--base-url", default=DEFAULT_BASE_URL, help="the app's address")
        if name in ("export", "report"):
            action.add_argument("--out", required=True, help="the folder to write to")
        if name == "report":
            _add_report_options(action)


def _add_report_options(report: argparse.ArgumentParser) -> None:
    report.add_argument(
        "--exclude-flagged", action="store_true", help="leave out votes flagged too fast"
    )
    report.add_argument(
        "--exclude-rater",
        action="append",
        default=[],
        metavar="RATER",
        help="leave out this rater's votes (a rater id or name; repeat for several)",
    )
    report.add_argument(
        "--exclude-failing",
        action="store_true",
        help="leave out raters who fail the gold, consistency or speed checks",
    )
    report.add_argument(
        "--evaluation",
        metavar="EVAL",
        help="also write evaluation_report.csv and report.html: this evaluation's automatic "
        "scores (a registered evaluation id or an evaluation folder) beside the votes",
    )
