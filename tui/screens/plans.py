"""The plans screen: the lazy plan tree, a `/` filter, the detail pane of the highlighted
plan, and `r`/`a` on the Decisions tab to correct a decision. Every query runs in a thread
worker through `store.plans`."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Header, Input, Static, TabbedContent

from store import plans
from store.models import CorrectionAttempt, CorrectionMode, Plan
from store.plans import PlanFilter, PlanPage
from tui.messages import PlanDetailFailed, PlanDetailLoaded
from tui.screens.correction import CorrectionModal, CorrectionRequest
from tui.widgets.footer import KeysFooter
from tui.widgets.literal import literal
from tui.widgets.plan_detail import PlanDetailPane
from tui.widgets.plan_tree import PlanTree


class PlansScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("ctrl+r", "reload", "Reload"),
        Binding("tab", "app.focus_next", "Next pane", show=False),
        Binding("1", "show_tab('overview')", "Overview", show=False),
        Binding("2", "show_tab('snapshot')", "Snapshot"),
        Binding("3", "show_tab('inputs')", "Inputs", show=False),
        Binding("4", "show_tab('decisions')", "Decisions"),
        Binding("5", "show_tab('corrections')", "Corrections", show=False),
        Binding("r", "correct('revert')", "Revert",
                tooltip="Revert to the highlighted decision (Decisions tab)"),
        Binding("a", "correct('append')", "Append",
                tooltip="Append a correction to the highlighted decision (Decisions tab)"),
    ]

    def __init__(self, first_roots: PlanPage | None = None) -> None:
        super().__init__()
        self.first_roots = first_roots
        self.plan_filter = PlanFilter()
        self.shown_plan_id: str | None = None
        self._correction_keys_shown = False

    def compose(self) -> ComposeResult:
        from tui.app import PlandeskApp

        app = self.app
        assert isinstance(app, PlandeskApp)
        yield Header()
        with Horizontal(id="plans-body"):
            with Vertical(id="tree-column"):
                yield Input(
                    placeholder="filter: text phase:execute state:errored (enter applies)",
                    id="filter",
                )
                yield Static(id="filter-status")
                yield PlanTree(app.session, id="plan-tree")
            yield PlanDetailPane(id="detail")
        yield KeysFooter()

    @property
    def plan_tree(self) -> PlanTree:
        return self.query_one(PlanTree)

    @property
    def detail_pane(self) -> PlanDetailPane:
        return self.query_one(PlanDetailPane)

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one("#filter-status", Static).display = False
        self.plan_tree.load(first_page=self.first_roots)
        self.first_roots = None
        self.plan_tree.focus()

    # -- filter ----------------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.apply_filter(event.value)

    def apply_filter(self, query: str) -> None:
        try:
            plan_filter = PlanFilter.parse(query)
        except ValueError as exc:
            self.notify(str(exc), title="Filter", severity="error", markup=False)
            return
        self.plan_filter = plan_filter
        status = self.query_one("#filter-status", Static)
        if plan_filter.empty:
            status.display = False
            self.query_one("#filter", Input).display = False
        else:
            status.display = True
            status.update(literal(f"matches for {query.strip()} (escape clears)"))
        self.plan_tree.load(plan_filter)
        self.plan_tree.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if not box.display and self.plan_filter.empty:
            return
        box.value = ""
        self.apply_filter("")

    def action_reload(self) -> None:
        self.plan_tree.load(self.plan_filter)
        if self.shown_plan_id is not None:
            self.load_detail(self.shown_plan_id)

    def action_show_tab(self, tab: str) -> None:
        self.detail_pane.action_show_tab(tab)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Digits, slash and letters belong to the filter box while it has focus.
        if isinstance(self.focused, Input) and action in ("show_tab", "filter", "correct"):
            return False
        if action == "correct":
            return self._correction_possible()
        return True

    def _correction_possible(self) -> bool:
        """Only on the Decisions tab of a plan that has decisions, once that plan is shown
        (and so only then in the footer)."""
        try:
            pane = self.detail_pane
            return (pane.active_tab == "decisions" and not pane.loading
                    and pane.selected_decision is not None)
        except NoMatches:
            return False

    def _sync_correction_keys(self) -> None:
        # Refreshing bindings rebuilds the footer: only when `r`/`a` really come or go.
        possible = self._correction_possible()
        if possible != self._correction_keys_shown:
            self._correction_keys_shown = possible
            self.refresh_bindings()

    @on(TabbedContent.TabActivated)
    def _tab_activated(self) -> None:
        self._sync_correction_keys()

    # -- corrections -----------------------------------------------------------------------

    def action_correct(self, mode: str) -> None:
        from tui.app import PlandeskApp

        app = self.app
        assert isinstance(app, PlandeskApp)
        pane = self.detail_pane
        decision = pane.selected_decision
        if pane.detail is None or decision is None:
            return
        refusal = pane.detail.correction_refusal(decision.decision_id)
        if refusal is not None:
            self.notify(refusal, title="Correction", severity="warning", markup=False)
            return
        if app.correction_running(decision.decision_id):
            self.notify(f"A correction of decision #{decision.sequence} is still running.",
                        title="Correction", severity="warning", markup=False)
            return
        self.app.push_screen(
            CorrectionModal(
                app.session, pane.detail.plan.plan_id, decision, CorrectionMode(mode),
                artifacts_root=app.artifacts_root, archive_root=app.archive_root,
            ),
            callback=self._correction_confirmed,
        )

    def _correction_confirmed(self, request: CorrectionRequest | None) -> None:
        from tui.app import PlandeskApp

        if request is None:
            return
        app = self.app
        assert isinstance(app, PlandeskApp)
        app.start_correction(request)

    def show_attempt(self, attempt: CorrectionAttempt) -> None:
        """A running correction reported a new state: show it in the Corrections tab."""
        self.detail_pane.show_attempt(attempt)

    def correction_ended(self, plan_id: str, plan: Plan | None) -> None:
        """A correction of `plan_id` ended (or was refused): refresh its tree row and detail."""
        if plan is not None:
            self.plan_tree.update_plan(plan)
        if plan_id == self.shown_plan_id:
            self.load_detail(plan_id)

    # -- detail ----------------------------------------------------------------------------

    @on(PlanTree.PlanHighlighted)
    def _plan_highlighted(self, message: PlanTree.PlanHighlighted) -> None:
        if message.plan_id != self.shown_plan_id:
            self.shown_plan_id = message.plan_id
            self.detail_pane.loading = True
            self._sync_correction_keys()
            self.load_detail(message.plan_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail",
          description="Loading plan detail")
    def load_detail(self, plan_id: str) -> None:
        from tui.app import PlandeskApp

        app = self.app
        assert isinstance(app, PlandeskApp)
        try:
            with app.session() as session:
                detail = plans.plan_detail(session, plan_id)
        except Exception as exc:
            self.post_message(PlanDetailFailed(plan_id, str(exc)))
            return
        self.post_message(PlanDetailLoaded(detail))

    def on_plan_detail_loaded(self, message: PlanDetailLoaded) -> None:
        if message.detail.plan.plan_id != self.shown_plan_id:
            return
        self.detail_pane.show(message.detail)
        self.detail_pane.loading = False
        self.plan_tree.update_plan(message.detail.plan)
        self._sync_correction_keys()

    def on_plan_detail_failed(self, message: PlanDetailFailed) -> None:
        if message.plan_id == self.shown_plan_id:
            self.detail_pane.loading = False
            self._sync_correction_keys()
            self.notify(message.error, title="Could not load the plan", severity="error",
                        markup=False)

    def jump_to(self, plan_id: str) -> None:
        """Show `plan_id` in the tree (clearing any filter), expanding its ancestors."""
        if not self.plan_filter.empty:
            self.plan_filter = PlanFilter()
            box = self.query_one("#filter", Input)
            box.value = ""
            box.display = False
            self.query_one("#filter-status", Static).display = False
        self.plan_tree.focus()
        self.plan_tree.reveal(plan_id)
