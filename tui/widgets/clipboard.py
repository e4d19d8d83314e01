"""What `y` / `Y` copy on the plans screen: the cursor plan's full id or its path of names,
or the highlighted decision's id when the Decisions table has focus."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.widget import Widget

from tui.widgets.detail_overview import BREADCRUMB_SEPARATOR
from tui.widgets.plan_detail import PlanDetailPane
from tui.widgets.plan_on_screen import HIGHLIGHT_FIRST, STILL_LOADING
from tui.widgets.plan_tree import PlanTree

# The plans screen's copy keys (its `action_copy` asks `copy_for` what to copy).
COPY_BINDINGS: tuple[Binding, ...] = (
    Binding("y", "copy('id')", "Copy the plan's id (a decision's in the Decisions table)",
            show=False, id="copy.id"),
    Binding("Y", "copy('path')", "Copy the plan's path of names", show=False,
            id="copy.path"),
)


@dataclass(frozen=True)
class Copy:
    text: str  # what goes to the clipboard
    what: str  # what the toast calls it


def copy_for(tree: PlanTree, pane: PlanDetailPane, focused: Widget | None, *,
             path: bool) -> Copy | str:
    """What to copy, or why there is nothing (the plan's detail is the source of names)."""
    cursor = tree.cursor_plan_id
    if cursor is None:
        return HIGHLIGHT_FIRST
    detail = pane.detail if pane.plan_id == cursor and not pane.loading else None
    if not path and focused is pane.decision_table and pane.active_tab == "decisions":
        decision = pane.selected_decision
        if detail is None or decision is None:
            return "Highlight a decision first (its plan's detail must have loaded)."
        return Copy(decision.decision_id, f"decision #{decision.sequence} id")
    if not path:
        return Copy(cursor, "plan id")
    if detail is None or detail.plan.plan_id != cursor:
        return STILL_LOADING
    names = (*detail.ancestor_names, detail.plan.namespaced_name)
    return Copy(BREADCRUMB_SEPARATOR.join(names), "path")
