"""Reports tab: a rating session's results, live while it runs, with its report files.

The numbers come from `ftcore.rating.report.build_report` (what `ftcore rate report` writes
as report.json) and are laid out by report_views. Every handler asks the app's access policy
first, as the Rate tab's admin handlers do: a listener is an HTTP endpoint whether its tab
shows or not, and a report names the models. While the tab is open a timer looks at the
session's vote count every POLL_SECONDS (one small query) and recomputes only when votes
came in, so an open tab costs the database almost nothing between votes.
"""

from __future__ import annotations

import gradio as gr
from matplotlib.figure import Figure

from ftcore.rating.evaluation_report import linked_evaluation, write_evaluation_report
from ftcore.rating.export import SESSION_JSON
from ftcore.rating.report import build_report, write_report_files
from ftcore.rating.report_figures import rating_intervals, win_rate_heatmap
from ftcore.rating.sessions import list_sessions
from ftcore.ui import rate_views, report_views
from ftcore.ui.access import require_admin
from ftcore.ui.downloads import offer_copies
from ftcore.ui.error_toasts import shows_errors

POLL_SECONDS = 10.0
TAB_LABEL = "Reports"
REPORTS_FOLDER = "reports"  # under the workspace: reports/<session id>/
NO_SESSIONS = "No rating sessions yet. Create one in **Rate → Sessions (admin)**."
PICK_SESSION = "Pick a session to see its results."
NO_VOTES = (
    "**No votes in this session yet.** Hand out its rater link (Rate → Sessions (admin)); "
    f"while this tab is open it looks for new votes every {POLL_SECONDS:.0f} s."
)
ALL_LEFT_OUT = "**Every vote is left out by the exclusions below**: nothing to compare."
INTRO = (
    "What the raters said about a blind A/B session: which model wins and by how much, "
    "whether there are enough votes to say so, whether the raters agree, and which raters "
    "to trust. Updates by itself while votes come in."
)


def fitted(figure: Figure) -> Figure:
    """`figure` laid out to fit its labels: gr.Plot saves it as it is, where report.html
    crops with bbox_inches="tight"."""
    figure.set_layout_engine("tight")
    return figure


# What `show` and `tick` fill, in order: the report's parts, the two sections (hidden
# when there is nothing to show) and the (session, votes cast) last shown.
OUTPUTS = ("summary", "results", "power", "heatmap", "ratings_plot", "ratings", "pairs",
           "criteria_plot", "criteria", "agreement", "biases", "metrics", "cast", "exclude",
           "raters", "seen")  # fmt: skip


class ReportHandlers:
    """The tab's listeners; `show` and `tick` return the values of OUTPUTS, in order."""

    def __init__(self, context):
        self.context = context

    def admin(self, request: gr.Request | None, action: str) -> None:
        require_admin(self.context.access, request, action)

    @shows_errors
    def sessions(self, session_id: str | None, request: gr.Request):
        self.admin(request, "listing rating sessions")
        choices = rate_views.session_choices(list_sessions(self.context.db))
        known = session_id in {value for _, value in choices}
        return gr.Dropdown(choices=choices, value=session_id if known else None)

    def follow(self, tab: gr.SelectData, request: gr.Request):
        """Run the timer only while this tab is the one shown, and only for an admin. It
        answers every tab switch, so it stops the timer for others rather than refusing."""
        admin = self.context.access.admin_refusal(request) is None
        return gr.Timer(active=admin and tab.value == TAB_LABEL)

    @staticmethod
    def _exclusions(raters, flagged: bool, failing: bool) -> dict:
        """build_report's options from the three toggles."""
        return {"exclude_raters": sorted(raters or ()), "exclude_flagged": bool(flagged),
                "exclude_failing": bool(failing)}  # fmt: skip

    def _hidden(self, summary: str, seen) -> list:
        """Only the summary line, for a session with nothing to show (or none picked)."""
        values = {"summary": summary, "results": gr.Column(visible=False),
                  "cast": gr.Column(visible=False), "seen": seen}  # fmt: skip
        return [values.get(name, gr.skip()) for name in OUTPUTS]

    @shows_errors
    def show(self, session_id, raters, flagged, failing, request: gr.Request):
        self.admin(request, "reading a rating report")
        if not session_id:
            have_sessions = bool(list_sessions(self.context.db))
            return self._hidden(PICK_SESSION if have_sessions else NO_SESSIONS, None)
        report = build_report(
            self.context.db, session_id, **self._exclusions(raters, flagged, failing)
        )
        seen = [session_id, report["n_votes_cast"]]
        if not report["n_votes_cast"]:
            return self._hidden(NO_VOTES, seen)
        summary = report_views.summary_markdown(report)
        compared = report["n_votes"] > 0
        values = {
            "summary": summary if compared else f"{ALL_LEFT_OUT} {summary}",
            "results": gr.Column(visible=compared),
            "cast": gr.Column(visible=True),
            "seen": seen,
            "raters": report_views.raters_table(report),
            "exclude": gr.CheckboxGroup(  # a new session keeps only its own raters ticked
                choices=report_views.rater_choices(report),
                value=[r["rater_id"] for r in report["raters"] if r["rater_id"] in (raters or ())],
            ),
        }
        if compared:
            values |= {
                "power": report_views.power_markdown(report),
                "heatmap": fitted(win_rate_heatmap(report)),
                "ratings_plot": fitted(rating_intervals(report)),
                "ratings": report_views.ratings_table(report),
                "pairs": report_views.pairs_table(report),
                "criteria_plot": report_views.criteria_figure(report),
                "criteria": report_views.criteria_table(report),
                "agreement": report_views.agreement_markdown(report),
                "biases": report_views.biases_markdown(report),
                "metrics": report_views.metric_agreement_markdown(report),
            }
        return [values.get(name, gr.skip()) for name in OUTPUTS]

    @shows_errors
    def tick(self, session_id, raters, flagged, failing, seen, request: gr.Request):
        """Recompute only when the session's vote count moved since it was last shown."""
        self.admin(request, "following a rating session")
        votes = next(
            (s["votes"] for s in list_sessions(self.context.db) if s["id"] == session_id), None
        )
        if not session_id or list(seen or ()) == [session_id, votes]:
            return [gr.skip()] * len(OUTPUTS)
        return self.show(session_id, raters, flagged, failing, request)

    @shows_errors
    def files(self, session_id, raters, flagged, failing, request: gr.Request):
        """Write the report folder into the workspace and offer each file for download."""
        self.admin(request, "writing a rating report")
        if not session_id:
            raise gr.Error("Pick a session first.")
        out = self.context.workspace.root / REPORTS_FOLDER / session_id
        options = self._exclusions(raters, flagged, failing)
        report = build_report(self.context.db, session_id, **options)
        paths = [*write_report_files(self.context.db, report, out).values()]
        paths.append(out / SESSION_JSON)  # written beside votes.csv by the export
        if (evaluation := linked_evaluation(self.context.db, session_id)) is not None:
            paths += write_evaluation_report(self.context.db, report, evaluation, out).values()
        note = f"Written to `{out}`. {report_views.summary_markdown(report)}"
        return gr.File(offer_copies(paths, f"report-{session_id}"), visible=True), note


def build_report_tab(context, app_tabs: gr.Tabs) -> None:
    with gr.Tab(TAB_LABEL, id="reports") as tab:
        gr.Markdown(INTRO)
        with gr.Row():
            session = gr.Dropdown([], label="Session", scale=5)
            refresh = gr.Button("Refresh list", scale=1)
        widgets = {"summary": gr.Markdown(PICK_SESSION)}
        # Plots carry no label badge: Gradio draws it over the image's top-left corner,
        # where the first model's name is.
        with gr.Column(visible=False) as widgets["results"]:
            gr.Markdown("### Enough data?")
            widgets["power"] = gr.Markdown()
            gr.Markdown("### Who wins")
            with gr.Row():
                widgets["heatmap"] = gr.Plot(show_label=False, format="png")
                with gr.Column():
                    widgets["ratings_plot"] = gr.Plot(show_label=False, format="png")
                    widgets["ratings"] = gr.Dataframe(
                        label="Bradley–Terry ratings (ranks shared where intervals overlap)",
                        wrap=True,  # "not bounded yet (too few votes)" must show whole
                        interactive=False,
                    )
            widgets["pairs"] = gr.Dataframe(
                label="Pairs",
                wrap=True,
                interactive=False,
                column_widths=report_views.PAIR_COLUMN_WIDTHS,
            )
            gr.Markdown("### Scores per criterion")
            widgets["criteria_plot"] = gr.Plot(show_label=False, format="png")
            with gr.Accordion("Scores as a table", open=False):
                widgets["criteria"] = gr.Dataframe(wrap=True, interactive=False)
            gr.Markdown("### Do the raters agree?")
            widgets["agreement"] = gr.Markdown()
            gr.Markdown("### Biases")
            widgets["biases"] = gr.Markdown()
            gr.Markdown("### Human vs automatic metrics")
            widgets["metrics"] = gr.Markdown()
        with gr.Column(visible=False) as widgets["cast"]:
            gr.Markdown("### Raters")
            with gr.Row():
                exclude = widgets["exclude"] = gr.CheckboxGroup(
                    [], label="Leave out these raters' votes", scale=3
                )
                with gr.Column(scale=2):
                    flagged = gr.Checkbox(label="Leave out votes flagged too fast")
                    failing = gr.Checkbox(label="Leave out raters who fail the quality checks")
            widgets["raters"] = gr.Dataframe(
                wrap=True, interactive=False, column_widths=report_views.RATER_COLUMN_WIDTHS
            )
            gr.Markdown("### Files")
            write = gr.Button("Write report files")
            written = gr.Markdown()
            download = gr.File(
                label="Report files",
                file_count="multiple",
                interactive=False,
                visible=False,  # an empty output box would only take room
                elem_id="ft-report-files",
            )
        widgets["seen"] = gr.State()
        timer = gr.Timer(POLL_SECONDS, active=False)

    handlers = ReportHandlers(context)
    outputs = [widgets[name] for name in OUTPUTS]
    choices = [session, exclude, flagged, failing]
    tab.select(handlers.sessions, session, session, api_name=False)
    refresh.click(handlers.sessions, session, session, api_name=False)
    app_tabs.select(handlers.follow, None, timer, api_name=False, show_progress="hidden")
    gr.on([session.change, exclude.input, flagged.input, failing.input], handlers.show,
          choices, outputs, api_name="rating_report")  # fmt: skip
    timer.tick(handlers.tick, [*choices, widgets["seen"]], outputs, api_name=False,
               show_progress="hidden")  # fmt: skip
    write.click(handlers.files, choices, [download, written], api_name="rating_report_files")
