"""The detail pane of the highlighted plan: overview, profile snapshot and drift, inputs,
decisions and correction history, one tab each. Everything from the database is literal.

The text of the Overview and Snapshot tabs is written by `detail_overview` and
`detail_snapshot`; this module is the pane, its tabs and tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.lazy import Lazy
from textual.widget import Widget
from textual.widgets import DataTable, Static, TabbedContent, TabPane, Tabs

from store.enums import CorrectionState, DecisionState
from tui.widgets.detail_overview import overview_content, projects_text
from tui.widgets.detail_snapshot import (
    drift_content,
    snapshot_json_content,
    snapshot_source_content,
)
from tui.widgets.detail_text import heading, when
from tui.widgets.literal import literal, literal_text, visible
from tui.widgets.vim_keys import VimDataTable, VimScroll

if TYPE_CHECKING:
    from store.models import CorrectionAttempt, Decision
    from store.plans import PlanDetail


def state_progress(state: CorrectionState | str) -> int:
    # store.corrections loads SQLAlchemy, which the pane (drawn with the first roots, before
    # the database is open) does without until it shows an attempt
    from store.corrections import state_progress as progress

    return progress(state)


TABS = ("overview", "snapshot", "inputs", "decisions", "corrections")
CORRECTION_COLUMNS = ("state", "mode", "decision", "new", "guidance", "failure", "created")


class PlanDetailPane(Vertical):
    """Stands for one plan (`plan_id`): loading it, showing its PlanDetail, or saying why it
    could not be loaded. It never shows one plan's content under another plan's id."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "plan-detail--unreadable",
        *(f"plan-detail--correction-{state.value}" for state in CorrectionState),
    }

    DEFAULT_CSS = """
    PlanDetailPane > .plan-detail--correction-pending { color: $text-muted; text-style: italic; }
    PlanDetailPane > .plan-detail--correction-executing { color: $text-accent; text-style: bold; }
    PlanDetailPane > .plan-detail--correction-complete { color: $text-success; }
    PlanDetailPane > .plan-detail--correction-failed { color: $text-error; text-style: bold; }
    PlanDetailPane > .plan-detail--unreadable { color: $text-error; text-style: bold; }
    """

    ALLOW_MAXIMIZE = True  # `f` fills the screen with it

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.detail: PlanDetail | None = None
        self.plan_id: str | None = None  # the plan this pane stands for, loaded or not
        self.failure: str | None = None  # why the detail of `plan_id` could not be loaded
        # States reported by running corrections, newer than the last loaded detail.
        self.live_attempts: dict[str, CorrectionAttempt] = {}
        self._waiting: PlanDetail | None = None
        # the decision to highlight once the plan being read again shows
        self._keep_decision_id: str | None = None

    def compose(self) -> ComposeResult:
        def table(id: str, *columns: str) -> DataTable[Text]:
            data_table: DataTable[Text] = VimDataTable(id=id, cursor_type="row", zebra_stripes=True)
            data_table.add_columns(*columns)
            return data_table

        yield Static(Content("Highlight a plan to see its details."), id="detail-title")
        with TabbedContent(id="detail-tabs"):
            with TabPane("Overview", id="overview"), VimScroll():
                yield Static(id="overview-text")
            # The hidden tabs mount just after the first frame (Lazy): the screen appears sooner.
            with TabPane("Snapshot", id="snapshot"), Lazy(VimScroll()):
                yield Static(id="snapshot-source")
                yield Static(id="snapshot-drift")
                yield Static(id="snapshot-json")
            with TabPane("Inputs", id="inputs"), Lazy(VimScroll()):
                yield Static(heading("Arguments"), classes="section-title")
                yield table("arguments", "#", "name", "type", "value")
                yield Static(heading("Invariants"), classes="section-title")
                yield table("invariants", "#", "scope", "invariant")
                yield Static(heading("Projects"), classes="section-title")
                yield Static(id="projects")
            with TabPane("Decisions", id="decisions"), Lazy(Vertical()):
                yield table("decision-table", "seq", "state", "phase", "title", "artifacts")
                yield Static(id="decision-rationale")
            with TabPane("Corrections", id="corrections"), Lazy(VimScroll()):
                yield table("correction-table")
                yield Static(id="correction-detail")

    @property
    def tabs_mounted(self) -> bool:
        """Whether the lazily mounted tabs are in place (a frame or so after mounting)."""
        return not self.query(Lazy) and bool(self.query("#correction-detail"))

    def _show_when_mounted(self) -> None:
        if self._waiting is None:
            return
        if not self.tabs_mounted:
            self.call_after_refresh(self._show_when_mounted)
            return
        detail, self._waiting = self._waiting, None
        self.show(detail)

    def on_mount(self) -> None:
        self.border_title = "Detail"
        # tab goes from the tree straight to the tab's content, never to the tab strip
        # (query, not query_one: an app quitting while the pane mounts may have no strip)
        for strip in self.query(Tabs):
            strip.can_focus = False

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def focus_target(self) -> Widget | None:
        """What tab should focus in the active tab: its table or its scrolling text."""
        pane = self.query_one(TabbedContent).active_pane
        if pane is None:
            return None
        return next((w for w in pane.query("*") if w.focusable), None)

    def begin(self, plan_id: str, *, decision_id: str | None = None) -> None:
        """The tree moved to `plan_id`: nothing of the previous plan stays usable.

        The plan on screen read again (reload, a correction ended) keeps its highlighted
        decision, or highlights `decision_id` (the one a correction created) once it shows.
        """
        selected = self.selected_decision if plan_id == self.plan_id else None
        self._keep_decision_id = decision_id or (
            selected.decision_id if selected is not None else None)
        self.plan_id = plan_id
        self.detail = None
        self.failure = None
        self._waiting = None
        self.loading = True

    def show_failure(self, plan_id: str, error: str) -> None:
        """The detail of `plan_id` could not be loaded: say so, and show nothing else."""
        self.plan_id = plan_id
        self.failure = error
        self._clear(Content.assemble(
            ("Could not load plan ", "$text-error"), literal(plan_id, "bold $text-error")),
            literal(error, "$text-error"))

    def show_nothing(self) -> None:
        """The tree's cursor is on no plan (a "… more" row, or an empty tree)."""
        self.plan_id = None
        self.failure = None
        self._clear(Content("Highlight a plan to see its details."), Content(""))

    def _clear(self, title: Content, overview: Content) -> None:
        self.detail = None
        self._waiting = None
        self.loading = False
        self.query_one("#detail-title", Static).update(title)
        self.query_one("#overview-text", Static).update(overview)
        if not self.tabs_mounted:
            return
        for static_id in ("snapshot-source", "snapshot-drift", "snapshot-json", "projects",
                          "decision-rationale", "correction-detail"):
            self.query_one(f"#{static_id}", Static).update(Content(""))
        for table_id in ("arguments", "invariants", "decision-table", "correction-table"):
            self.query_one(f"#{table_id}", DataTable).clear()

    @property
    def active_tab(self) -> str:
        return self.query_one(TabbedContent).active

    @property
    def decision_table(self) -> DataTable[Text]:
        return self.query_one("#decision-table", DataTable)

    @property
    def selected_decision(self) -> Decision | None:
        """The decision under the Decisions table's cursor (for correction keys)."""
        if self.detail is None or not self.detail.decisions:
            return None
        row = self.decision_table.cursor_row
        if 0 <= row < len(self.detail.decisions):
            return self.detail.decisions[row]
        return None

    def show(self, detail: PlanDetail) -> None:
        if not self.tabs_mounted:
            self._waiting = detail  # a detail that arrived before the hidden tabs mounted
            self.call_after_refresh(self._show_when_mounted)
            return
        self._waiting = None
        # the same plan read again keeps its highlighted decision: the one still shown (a
        # live refresh), or the one begin() kept
        same_plan = self.plan_id == detail.plan.plan_id
        # the same plan read again while shown (a live refresh): only the parts that changed
        # are drawn again (the tables and the highlighted JSON cost the most)
        parts: frozenset[str] | None = None
        if same_plan and self.detail is not None and not self.loading and self.failure is None:
            from store import plans

            parts = plans.changed_parts(self.detail, detail)
        selected = self.selected_decision if same_plan else None
        keep = (selected.decision_id if selected is not None
                else self._keep_decision_id if same_plan else None)
        self._keep_decision_id = None
        self.plan_id = detail.plan.plan_id
        self.failure = None
        self.loading = False
        loaded = {a.correction_attempt_id: a for a in detail.corrections}
        attempts_before = self.live_attempts
        self.live_attempts = {
            attempt_id: live for attempt_id, live in self.live_attempts.items()
            if attempt_id not in loaded
            or state_progress(live.state) > state_progress(loaded[attempt_id].state)
        }
        self.detail = detail
        plan = detail.plan
        self.query_one("#detail-title", Static).update(Content.assemble(
            literal(plan.namespaced_name, "bold"), "  ", (plan.plan_id, "$text-muted"),
        ))
        self.query_one("#overview-text", Static).update(overview_content(detail))
        self.query_one("#snapshot-source", Static).update(snapshot_source_content(detail))
        if parts is None or parts & {"snapshot", "drift"}:
            self.query_one("#snapshot-json", Static).update(snapshot_json_content(detail))
            self.query_one("#snapshot-drift", Static).update(drift_content(detail))
        if parts is None or parts & {"arguments", "invariants", "projects"}:
            self._fill_inputs(detail)
        if parts is None or parts & {"decisions", "problems"}:
            self._fill_decisions(detail, keep)
        if parts is None or parts & {"decisions", "corrections"} \
                or self.live_attempts != attempts_before:
            self._fill_corrections(detail)

    def _fill_inputs(self, detail: PlanDetail) -> None:
        arguments = self.query_one("#arguments", DataTable)
        arguments.clear()
        for argument in detail.arguments:
            arguments.add_row(
                Text(str(argument.position)), literal_text(argument.name, one_line=True),
                literal_text(str(argument.value_type), one_line=True),
                literal_text(argument.value_json or "null", one_line=True),
            )
        invariants = self.query_one("#invariants", DataTable)
        invariants.clear()
        for invariant in detail.invariants:
            invariants.add_row(
                Text(str(invariant.position)),
                literal_text(str(invariant.source_scope), one_line=True),
                literal_text(invariant.invariant_text, one_line=True),
            )
        self.query_one("#projects", Static).update(literal(projects_text(detail.projects)))

    def _fill_decisions(self, detail: PlanDetail, keep: str | None = None) -> None:
        table = self.decision_table
        table.clear()
        for decision in detail.decisions:
            state_style = "dim strike" if decision.state == DecisionState.REVERTED else ""
            state = literal_text(str(decision.state), state_style, one_line=True)
            if detail.problems_of("decisions", decision.decision_id):
                state.append(" unreadable", self.get_component_rich_style(
                    "plan-detail--unreadable", partial=True))
            table.add_row(
                Text(str(decision.sequence)),
                state,
                literal_text(str(decision.phase), one_line=True),
                literal_text(decision.title, one_line=True),
                literal_text(decision.artifacts_path or "—", one_line=True),
                key=decision.decision_id,
            )
        row = next((i for i, d in enumerate(detail.decisions) if d.decision_id == keep), None)
        if row:
            table.move_cursor(row=row)
        self._show_rationale()

    def show_attempt(self, attempt: CorrectionAttempt) -> None:
        """A live state report of a running correction of the shown plan."""
        if self.detail is None or attempt.plan_id != self.detail.plan.plan_id:
            return
        known = self.live_attempts.get(attempt.correction_attempt_id)
        if known is not None and state_progress(known.state) > state_progress(attempt.state):
            return
        self.live_attempts[attempt.correction_attempt_id] = attempt
        self._fill_corrections(self.detail)

    def shown_attempts(self, detail: PlanDetail) -> list[CorrectionAttempt]:
        """The loaded attempts, each replaced by a live report that is further along."""
        attempts = {a.correction_attempt_id: a for a in detail.corrections}
        for attempt_id, live in self.live_attempts.items():
            if live.plan_id != detail.plan.plan_id:
                continue
            loaded = attempts.get(attempt_id)
            if loaded is None or state_progress(live.state) > state_progress(loaded.state):
                attempts[attempt_id] = live
        return sorted(attempts.values(),
                      key=lambda a: (a.created_at, a.correction_attempt_id))

    def _fill_corrections(self, detail: PlanDetail) -> None:
        table = self.query_one("#correction-table", DataTable)
        row = table.cursor_row
        table.clear(columns=True)  # auto widths only grow; start from the new rows
        table.add_columns(*CORRECTION_COLUMNS)
        sequences = {d.decision_id: d.sequence for d in detail.decisions}

        def decision_label(decision_id: str | None) -> Text:
            if decision_id is None:
                return Text("—")
            sequence = sequences.get(decision_id)
            return Text(f"#{sequence}" if sequence is not None else decision_id[:8])

        attempts = self.shown_attempts(detail)
        known_states = {state.value for state in CorrectionState}
        for attempt in attempts:
            state = str(attempt.state)
            table.add_row(
                Text(visible(state, keep_newlines=False),
                     style=self.get_component_rich_style(
                         f"plan-detail--correction-{state}", partial=True)
                     if state in known_states else ""),
                literal_text(str(attempt.mode), one_line=True),
                decision_label(attempt.original_decision_id),
                decision_label(attempt.new_decision_id),
                literal_text(attempt.guidance, one_line=True),
                literal_text(attempt.failure_reason or "", one_line=True),
                Text(when(attempt.created_at)),
                key=attempt.correction_attempt_id,
            )
        if not attempts:
            table.add_row(Text("none yet"), *(Text("") for _ in CORRECTION_COLUMNS[1:]))
        elif 0 < row < len(attempts):
            table.move_cursor(row=row)
        self._show_attempt_detail()

    def _selected_attempt(self) -> CorrectionAttempt | None:
        if self.detail is None:
            return None
        attempts = self.shown_attempts(self.detail)
        row = self.query_one("#correction-table", DataTable).cursor_row
        return attempts[row] if 0 <= row < len(attempts) else None

    def _show_attempt_detail(self) -> None:
        attempt = self._selected_attempt()
        box = self.query_one("#correction-detail", Static)
        if attempt is None:
            box.update(Content(""))
            return
        lines = [
            Content.assemble(("Guidance ", "$text-muted"), literal(attempt.guidance)),
        ]
        if attempt.failure_reason:
            lines.append(Content.assemble(
                ("Failed: ", "$text-error"), literal(attempt.failure_reason)))
        if attempt.archived_artifacts_path:
            lines.append(Content.assemble(
                ("Archived artifacts ", "$text-muted"), literal(attempt.archived_artifacts_path)))
        box.update(Content("\n").join(lines))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "decision-table":
            self._show_rationale()
        elif event.data_table.id == "correction-table":
            self._show_attempt_detail()

    def _show_rationale(self) -> None:
        decision = self.selected_decision
        rationale = self.query_one("#decision-rationale", Static)
        if decision is None:
            rationale.update(literal("No decisions recorded."))
            return
        problems = (self.detail.problems_of("decisions", decision.decision_id)
                    if self.detail is not None else ())
        rationale.update(Content("\n").join([
            # the table cuts long titles; here the whole title wraps
            Content.assemble((f"#{decision.sequence} ", "$text-muted"),
                             literal(decision.title, "bold")),
            Content.assemble(("Decision ", "$text-muted"), literal(decision.decision_id)),
            *(literal(f"unreadable: {p.explanation}", "$text-error") for p in problems),
            literal(decision.rationale or "(no rationale)"),
        ]))
