"""The plans screen: the lazy plan tree, a `/` filter, the detail pane of the highlighted
plan, and `r`/`a` to correct a decision of the plan on screen.

What you act on is what you see: the detail pane always stands for the tree's cursor plan, and
`r`/`a` refuse (saying why) unless that plan's detail is loaded and shown. Every query runs in
a thread worker through `store.plans`; the confirmed correction goes up to the App as a
`CorrectionRequested` message.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from textual import events, on, work
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Header, Input, TabbedContent
from textual.worker import get_current_worker

from store import plans
from store.enums import CorrectionMode
from store.plans import PlanPage
from tui.context import DatabaseContext
from tui.messages import (
    CorrectionRequest,
    CorrectionRequested,
    PlanDetailFailed,
    PlanDetailLoaded,
)
from tui.screens.plans_layout import PaneLayoutKeys
from tui.widgets.clipboard import COPY_BINDINGS, copy_for
from tui.widgets.footer import KeysFooter
from tui.widgets.literal import visible
from tui.widgets.pane_layout import (
    LAYOUT_BINDINGS,
    PaneLayout,
)
from tui.widgets.plan_detail import PlanDetailPane
from tui.widgets.plan_on_screen import correction_target, shown_detail
from tui.widgets.plan_search import DETAIL_SETTLE, FilterInput, PlanSearch
from tui.widgets.plan_tree import PlanTree

if TYPE_CHECKING:
    # the modals and their store services load when first opened, not before the first roots
    from store.models import CorrectionAttempt, Plan
    from tui.screens.export import ExportResult


def shown(widget: Widget) -> bool:
    """Whether a key given to `widget` would go to something the user can see and use."""
    maximized = widget.screen.maximized if widget.is_attached else None
    return not widget.disabled and all(
        node.display for node in widget.ancestors_with_self if isinstance(node, Widget)
    ) and (maximized is None or maximized in widget.ancestors_with_self)


class PlansScreen(PaneLayoutKeys, Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        # priority: the App runs it as it takes the key, before it hands the keys typed
        # right after `/` to the focused widget (see action_filter)
        Binding("slash", "filter", "Filter", key_display="/", priority=True, id="plans.filter"),
        Binding("enter", "filter_enter", "To the matches", show=False, priority=True,
                id="plans.filter_enter"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="plans.clear_filter"),
        Binding("ctrl+r", "reload", "Reload", id="plans.reload"),
        Binding("tab", "other_pane", "Tree ↔ tab content", show=False, id="plans.other_pane"),
        Binding("shift+tab", "other_pane", "Tree ↔ tab content", show=False,
                id="plans.other_pane_back"),
        # One footer entry for the five tab keys: the footer must fit 80 columns.
        Binding("1", "show_tab('overview')", "Tabs", key_display="1-5",
                tooltip="1 Overview, 2 Snapshot, 3 Inputs, 4 Decisions, 5 Corrections",
                id="plans.tab_overview"),
        Binding("2", "show_tab('snapshot')", "Snapshot tab", show=False, id="plans.tab_snapshot"),
        Binding("3", "show_tab('inputs')", "Inputs tab", show=False, id="plans.tab_inputs"),
        Binding("4", "show_tab('decisions')", "Decisions tab", show=False,
                id="plans.tab_decisions"),
        Binding("5", "show_tab('corrections')", "Corrections tab", show=False,
                id="plans.tab_corrections"),
        Binding("r", "correct('revert')", "Revert",
                tooltip="Revert the highlighted decision and every later one (Decisions tab)",
                id="plans.revert"),
        Binding("a", "correct('append')", "Append",
                tooltip="Append a correction after the highlighted decision (Decisions tab)",
                id="plans.append"),
        # In `?` help, not in the footer: at 80 columns it would push `? Help` off.
        Binding("e", "export", "Export", show=False,
                tooltip="Export the highlighted plan, or the tree under it, as JSON or CSV",
                id="plans.export"),
        # In `?` help, not in the footer: the footer is full at 80 columns.
        Binding("R", "jump_to_root", "Root", show=False,
                tooltip="Move the tree cursor to the root of the highlighted plan's tree",
                id="plans.jump_to_root"),
        Binding("i", "integrity", "Integrity check", show=False,
                tooltip="Integrity check: repairs and damaged rows by kind, enter jumps to one",
                id="plans.integrity"),
        *LAYOUT_BINDINGS,
        *COPY_BINDINGS,
    ]

    def __init__(self, context: DatabaseContext, first_roots: PlanPage | None = None, *,
                 layout: PaneLayout | None = None) -> None:
        super().__init__()
        self.pane_layout = layout or PaneLayout()  # as the user shaped it (for the config)
        self.context = context
        self.first_roots = first_roots
        # whether the detail pane had focus last: a hidden table's focus stays on that side
        self.detail_had_focus = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="plans-body"):
            yield PlanSearch(self.context.session, page_size=self.context.tree_page_size,
                             id="tree-column")
            yield PlanDetailPane(id="detail")
        yield KeysFooter()

    @property
    def plan_search(self) -> PlanSearch:
        return self.query_one(PlanSearch)

    @property
    def plan_tree(self) -> PlanTree:
        return self.query_one(PlanTree)

    @property
    def detail_pane(self) -> PlanDetailPane:
        return self.query_one(PlanDetailPane)

    @property
    def filter_box(self) -> Input:
        return self.plan_search.filter_box

    def on_mount(self) -> None:
        self.plan_tree.load(first_page=self.first_roots)
        self.first_roots = None
        self.plan_tree.focus()
        self.apply_layout(self.pane_layout)

    # -- focus: keys only ever reach what is on screen -------------------------------------

    def _ensure_focus(self) -> None:
        """If focus is nowhere or on something hidden, put it where the user is looking."""
        focused = self.focused
        if focused is not None and shown(focused):
            return
        target = self.detail_pane.focus_target() if self.detail_had_focus else None
        if target is None and not shown(self.plan_tree):
            target = self.detail_pane.focus_target()
        if target is not None or shown(self.plan_tree):
            (target or self.plan_tree).focus()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.detail_had_focus = self.detail_pane in event.widget.ancestors

    def on_screen_resume(self) -> None:
        self.call_after_refresh(self._ensure_focus)

    def action_other_pane(self) -> None:
        """tab / shift+tab: the tree <-> the active tab's content (never the tab strip)."""
        focused = self.focused
        in_detail = focused is not None and self.detail_pane in focused.ancestors
        target = None if in_detail else self.detail_pane.focus_target()
        if target is None and not shown(self.plan_tree):
            return  # the tree is hidden: focus stays in the detail
        (target or self.plan_tree).focus()

    # -- filter ----------------------------------------------------------------------------

    def action_filter(self) -> None:
        """Open the filter and focus it at once, so that no key typed after `/` is lost.

        The App hands each key to the widget focused when it takes the key, so keys typed
        right after `/` were already queued for the tree when a normal binding (run by the
        tree passing `/` up) moved the focus. A priority binding runs as the App takes `/`,
        and set_focus (unlike Widget.focus, which queues a callback) moves focus at once.
        """
        if self.focused is self.filter_box:
            raise SkipAction()  # a `/` typed in the box is text ("BILLING/Write")
        self._show_tree()
        self.plan_search.open()

    def action_filter_enter(self) -> None:
        """enter in the filter box: search now and go to the matches, where enter shows one
        in the full tree. A priority binding for the same reason as `/`: a second enter typed
        at once must reach the matches, not the box."""
        box = self.filter_box
        if self.focused is not box:
            raise SkipAction()
        if self.plan_search.search(box.value, delay=0, say_errors=True):
            self.set_focus(self.plan_tree)

    def action_clear_filter(self) -> None:
        """escape: close the filter, back to the forest and the place from before it."""
        self.plan_search.clear()

    @on(FilterInput.EscapedKey)
    async def _escaped_key(self, message: FilterInput.EscapedKey) -> None:
        """Escape and the next key arrived as one (see key_after_escape): escape, then the
        key's binding, run here: the tree, reloading after the escape, would not pass the
        key on to the screen."""
        self.action_clear_filter()
        self.set_focus(self.plan_tree)
        if not await self.app._check_bindings(message.key, priority=True):
            await self.app._check_bindings(message.key)

    def action_reload(self) -> None:
        """Read everything on screen again, keeping expanded nodes, the cursor and scroll."""
        tree = self.plan_tree
        self.plan_search.reload()
        pane = self.detail_pane
        if pane.plan_id is not None and pane.plan_id == tree.cursor_plan_id:
            pane.begin(pane.plan_id)
            self.load_detail(pane.plan_id)

    def refresh_live(self, plan_rows: frozenset[str] | None = None,
                     plans_touched: frozenset[str] | None = None) -> None:
        """Another connection committed (to the rows of `plan_rows` and to rows of the
        `plans_touched`; None: unknown): the tree re-reads what changed of what it shows, in
        place (tui/widgets/plan_tree_live.py), and the detail on screen is read again beside
        it if its plan was touched, not after it: both in workers."""
        # a change heard before this screen is composed (the watcher opens at once, and the
        # app's own start-up writes count) or while the app shuts it down: nothing to refresh
        if not self.query(PlanTree):
            return
        self.plan_tree.refresh_live(plan_rows)
        pane = self.detail_pane
        if pane.plan_id is not None and pane.detail is not None and not pane.loading \
                and pane.plan_id == self.plan_tree.cursor_plan_id:
            # no begin(): the pane stays usable. Other plans of its tree (children, ancestors)
            # show in it too: the worker reads it again if one of them changed
            if plans_touched is None or pane.plan_id in plans_touched:
                self.load_detail(pane.plan_id, live=True)
            elif plan_rows:
                self.load_detail(pane.plan_id, live=True,
                                 if_in_tree=(plan_rows, pane.detail.plan.root_plan_id))

    def changes_heard(self) -> None:
        """Other connections' commits are reported from now on (and drop what the tree read
        ahead): the tree may read the pages near its cursor ahead."""
        if self.query(PlanTree):
            self.plan_tree.read_ahead_soon()

    def action_show_tab(self, tab: str) -> None:
        self.detail_pane.action_show_tab(tab)

    @on(TabbedContent.TabActivated)
    def _tab_activated(self) -> None:
        # The table that had focus may just have been hidden with its tab.
        self.call_after_refresh(self._ensure_focus)

    def action_copy(self, what: str) -> None:
        """y / Y: the cursor plan's id (or the highlighted decision's) or path, via OSC 52."""
        copied = copy_for(self.plan_tree, self.detail_pane, self.focused, path=what == "path")
        if isinstance(copied, str):
            self.notify(copied, title="Copy", severity="warning", markup=False)
            return
        self.app.copy_to_clipboard(copied.text)
        self.notify(f"{copied.what}: {copied.text}", title="Copied", markup=False)

    # -- corrections -----------------------------------------------------------------------

    def action_correct(self, mode: str) -> None:
        chosen = CorrectionMode(mode)
        target = correction_target(self.plan_tree, self.detail_pane, chosen,
                                   read_only=self.context.read_only)
        if isinstance(target, str):
            self.notify(target, title="Correction", severity="warning", markup=False)
            pane = self.detail_pane
            if pane.detail is not None and pane.detail.decisions \
                    and pane.active_tab != "decisions":
                pane.action_show_tab("decisions")
                self.call_after_refresh(self._focus_decisions)
            return
        plan, decision = target
        if self.context.correction_running(decision.decision_id):
            self.notify(f"A correction of decision #{decision.sequence} is still running.",
                        title="Correction", severity="warning", markup=False)
            return
        detail = self.detail_pane.detail
        later = sum(1 for d in (detail.decisions if detail else ())
                    if d.sequence > decision.sequence and d.state == "active")
        from tui.screens.correction import CorrectionModal

        self.app.push_screen(
            CorrectionModal(self.context, plan.plan_id, plan.namespaced_name, decision,
                            chosen, later=later),
            callback=self._correction_confirmed,
        )

    def _focus_decisions(self) -> None:
        target = self.detail_pane.focus_target()
        if target is not None:
            target.focus()

    def _correction_confirmed(self, request: CorrectionRequest | None) -> None:
        if request is not None:
            self.post_message(CorrectionRequested(request))

    def show_attempt(self, attempt: CorrectionAttempt) -> None:
        """A running correction reported a new state: show it in the Corrections tab."""
        self.detail_pane.show_attempt(attempt)

    def correction_ended(self, plan_id: str, plan: Plan | None,
                         decision_id: str | None = None) -> None:
        """A correction of `plan_id` ended (or was refused): refresh its tree row and detail,
        in place (nothing collapses, the cursor stays), then highlight `decision_id`."""
        if plan is not None:
            self.plan_tree.update_plan(plan)
        pane = self.detail_pane
        if plan_id == pane.plan_id:
            pane.begin(plan_id, decision_id=decision_id)
            self.load_detail(plan_id)

    # -- export ----------------------------------------------------------------------------

    def action_export(self) -> None:
        """`e`: export the plan on screen (the tree's cursor plan, once its detail shows)."""
        detail = shown_detail(self.plan_tree, self.detail_pane)
        if isinstance(detail, str):
            self.notify(detail, title="Export", severity="warning", markup=False)
            return
        from tui.screens.export import ExportModal

        self.app.push_screen(
            ExportModal(self.context, detail.plan.plan_id, detail.plan.namespaced_name,
                        detail.child_count),
            callback=self._export_done)

    def _export_done(self, result: ExportResult | None) -> None:
        if result is not None:
            noun = "plan" if result.plan_count == 1 else "plans"
            self.notify(f"Exported {result.plan_count:,} {noun} to {result.path}",
                        title="Export", markup=False)

    # -- detail ----------------------------------------------------------------------------

    @on(PlanTree.PlanHighlighted)
    def _plan_highlighted(self, message: PlanTree.PlanHighlighted) -> None:
        pane = self.detail_pane
        if message.plan_id is None:
            pane.show_nothing()
            return
        pane.begin(message.plan_id)
        self.load_detail(message.plan_id,
                         settle=DETAIL_SETTLE if self.filter_box.has_focus else 0.0)

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail",
          description="Loading plan detail")
    def load_detail(self, plan_id: str, *, live: bool = False, settle: float = 0.0,
                    if_in_tree: tuple[frozenset[str], str] | None = None) -> None:
        if settle:
            time.sleep(settle)  # a newer highlight meanwhile cancels this worker
            if get_current_worker().is_cancelled:
                return
        try:
            with self.context.session() as session:
                if if_in_tree is not None and not plans.touch_tree(session, *if_in_tree):
                    return  # the plans that changed are in another tree
                detail = plans.plan_detail(session, plan_id)
        except Exception as exc:
            # a plan deleted meanwhile: the tree's own refresh moves the cursor and says so
            if not live:
                self.post_message(PlanDetailFailed(plan_id, str(exc)))
            return
        self.post_message(PlanDetailLoaded(detail))

    def on_plan_detail_loaded(self, message: PlanDetailLoaded) -> None:
        plan = message.detail.plan
        if plan.plan_id != self.detail_pane.plan_id:
            return  # the cursor has moved on since
        pane = self.detail_pane
        if pane.detail is not None and not pane.loading and pane.failure is None \
                and plans.same_detail(pane.detail, message.detail):
            return  # read again by a live refresh, unchanged: redrawing it costs ~0.1 s
        pane.show(message.detail)
        self.plan_tree.update_plan(plan)

    def on_plan_detail_failed(self, message: PlanDetailFailed) -> None:
        if message.plan_id != self.detail_pane.plan_id:
            return
        self.detail_pane.show_failure(message.plan_id, message.error)
        self.notify(message.error, title="Could not load the plan", severity="error",
                    markup=False)

    def action_jump_to_root(self) -> None:
        """The tree cursor to the root (root_plan_id) of the plan on screen."""
        detail = shown_detail(self.plan_tree, self.detail_pane)
        if isinstance(detail, str):
            self.notify(detail, title="Root", severity="warning", markup=False)
        elif detail.plan.root_plan_id == detail.plan.plan_id:
            self.notify(f"{visible(detail.plan.namespaced_name)} is the root of its tree.",
                        title="Root", markup=False)
        else:
            self.jump_to(detail.plan.root_plan_id)

    def action_integrity(self) -> None:
        """`i` / the palette's "Integrity check": the read-only integrity view."""
        from tui.screens.integrity import IntegrityScreen

        self.app.push_screen(IntegrityScreen(self.context), callback=self._integrity_closed)

    def _integrity_closed(self, plan_id: str | None) -> None:
        if plan_id is not None:
            self.jump_to(plan_id)

    def jump_to(self, plan_id: str) -> None:
        """Show `plan_id` in the tree (clearing any filter), expanding its ancestors."""
        self.plan_search.drop()
        self._show_tree()
        self.plan_tree.focus()
        self.plan_tree.reveal(plan_id)
