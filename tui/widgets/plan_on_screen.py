"""What the plans screen's keys act on: the tree's cursor plan once the detail pane shows it,
and the decision `r`/`a` would correct, or why there is none (what you act on is what you
see)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from store.enums import CorrectionMode
from tui.widgets.literal import visible
from tui.widgets.plan_detail import PlanDetailPane
from tui.widgets.plan_tree import PlanTree

if TYPE_CHECKING:
    # the models load with SQLAlchemy, after the first roots are on screen
    from store.models import Decision, Plan
    from store.plans import PlanDetail

HIGHLIGHT_FIRST = "Highlight a plan first."
STILL_LOADING = "The highlighted plan's detail is still loading; try again once it shows."


def shown_detail(tree: PlanTree, pane: PlanDetailPane) -> PlanDetail | str:
    """The detail of the tree's cursor plan as the pane shows it, or why it does not."""
    cursor = tree.cursor_plan_id
    if cursor is None:
        return HIGHLIGHT_FIRST
    if pane.failure is not None and pane.plan_id == cursor:
        return (f"The detail of plan {cursor} could not be loaded ({pane.failure}); "
                "nothing of it can be acted on here.")
    detail = pane.detail
    if detail is None or pane.loading or pane.plan_id != cursor \
            or detail.plan.plan_id != cursor:
        return STILL_LOADING
    return detail


def correction_target(tree: PlanTree, pane: PlanDetailPane, mode: CorrectionMode, *,
                      read_only: bool) -> tuple[Plan, Decision] | str:
    """The plan on screen and the decision `r`/`a` would correct, or why there is none."""
    verb = "revert" if mode == CorrectionMode.REVERT else "append after"
    if read_only:
        return ("read-only: plandesk was started with --read-only (or read_only = true in "
                "its config file); corrections are disabled.")
    detail = shown_detail(tree, pane)
    if isinstance(detail, str):
        return detail
    if not detail.decisions:
        return f"{visible(detail.plan.namespaced_name)} has no decisions to correct."
    if pane.active_tab != "decisions":
        return f"Pick the decision to {verb} in the Decisions tab, then press the key again."
    decision = pane.selected_decision
    if decision is None:
        return f"Pick the decision to {verb} in the Decisions table."
    refusal = detail.correction_refusal(decision.decision_id)
    if refusal is not None:
        return refusal
    return detail.plan, decision
