"""A live refresh keeps "… N more" rows true (Pilot, a real SQLite file and the real
PostgreSQL): plans another connection adds or deletes inside a gap change its count, a plan
inside a gap shows once that page loads, and a gap that hides nothing any more goes; the cursor,
the detail and the expanded nodes stay where they were."""

from __future__ import annotations

import sqlalchemy as sa
from test_live import in_step, live_app, opened, plan_id_of, quiet, writer
from textual.pilot import Pilot
from textual.widgets.tree import TreeNode
from tui_states import run_async, until

from store.db import session_scope
from store.plans import create_plan
from tui.app import PlandeskApp
from tui.screens.plans import PlansScreen
from tui.widgets.plan_rows import MoreRow, PlanRow, TreeRow

__all__ = ["writer"]  # a fixture, shared with test_live

SIZE = (120, 36)
# the demo's widest plan: 212 children, a page of 200 and "… 12 more"
PARENT = "platform/remove-stale-flags"


def gap_of(node: TreeNode[TreeRow]) -> TreeNode[TreeRow] | None:
    return next((c for c in node.children if isinstance(c.data, MoreRow)), None)


def hidden_children(engine: sa.Engine, parent_id: str) -> list[str]:
    """The parent's children after its first page (those its gap hides)."""
    with engine.connect() as connection:
        return [str(row[0]) for row in connection.execute(sa.text(
            "SELECT plan_id FROM plans WHERE parent_plan_id = :p ORDER BY plan_id"),
            {"p": parent_id})][200:]


def delete_plans(engine: sa.Engine, plan_ids: list[str]) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM plans WHERE plan_id IN :ids").bindparams(
            sa.bindparam("ids", expanding=True)), {"ids": plan_ids})


def add_child(engine: sa.Engine, parent_id: str, name: str) -> str:
    with session_scope(engine) as session:
        # a new id sorts after the demo's: inside the trailing gap
        return create_plan(session, namespaced_name=name, description="added elsewhere",
                           parent_plan_id=parent_id).plan_id


async def expanded_parent(pilot: Pilot[None], app: PlandeskApp,
                          parent_id: str) -> tuple[PlansScreen, TreeNode[TreeRow]]:
    """The plans screen with the cursor on PARENT, expanded to its first page and its gap."""
    screen = await opened(pilot, app)
    tree = screen.plan_tree
    screen.jump_to(parent_id)
    await until(pilot, lambda: tree.cursor_plan_id == parent_id and in_step(screen)
                and quiet(app, tree), "the cursor on the wide plan")
    await pilot.press("right")
    node = tree.nodes_by_plan[parent_id]
    await until(pilot, lambda: gap_of(node) is not None and quiet(app, tree),
                "its first page and gap")
    gap = gap_of(node)
    assert gap is not None and str(gap.label) == "… 12 more"
    return screen, node


def steady(screen: PlansScreen, node: TreeNode[TreeRow], parent_id: str) -> None:
    """Cursor, detail and what a key acts on are the wide plan, still expanded."""
    tree = screen.plan_tree
    assert tree.cursor_plan_id == parent_id and in_step(screen)
    assert node.is_expanded and tree.nodes_by_plan[parent_id] is node


def gap_says(node: TreeNode[TreeRow], label: str) -> bool:
    gap = gap_of(node)
    return gap is not None and str(gap.label) == label


@run_async
async def test_a_gap_counts_what_others_add_and_delete(demo_url: str,
                                                       writer: sa.Engine) -> None:
    app = live_app(demo_url)
    parent_id = plan_id_of(writer, PARENT)
    async with app.run_test(size=SIZE) as pilot:
        screen, node = await expanded_parent(pilot, app, parent_id)
        tree = screen.plan_tree
        row = node.data
        assert isinstance(row, PlanRow)

        late = add_child(writer, parent_id, "platform/zz-in-the-gap")
        await until(pilot, lambda: gap_says(node, "… 13 more"), "the gap counting one more")
        assert late not in tree.nodes_by_plan and row.child_count == 213
        steady(screen, node, parent_id)
        await until(pilot, lambda: quiet(app, tree), "the refresh settled")

        delete_plans(writer, [late])
        await until(pilot, lambda: gap_says(node, "… 12 more"), "the gap counting one less")
        steady(screen, node, parent_id)
        await until(pilot, lambda: row.child_count == 212 and quiet(app, tree),
                    "the refresh settled")

        later = add_child(writer, parent_id, "platform/zz-shown-with-its-page")
        await until(pilot, lambda: gap_says(node, "… 13 more"), "the gap counting it")
        steady(screen, node, parent_id)
        await until(pilot, lambda: quiet(app, tree), "the refresh settled")
        # the page behind the gap brings it
        await pilot.press("down", "end")
        await until(pilot, lambda: later in tree.nodes_by_plan and gap_of(node) is None
                    and in_step(screen) and quiet(app, tree), "the last page with it")
        assert tree.nodes_by_plan[later].parent is node
        assert tree.cursor_plan_id == later and in_step(screen)


@run_async
async def test_a_gap_goes_with_the_last_plan_it_hid(demo_url: str, writer: sa.Engine) -> None:
    app = live_app(demo_url)
    parent_id = plan_id_of(writer, PARENT)
    hidden = hidden_children(writer, parent_id)
    assert len(hidden) == 12
    async with app.run_test(size=SIZE) as pilot:
        screen, node = await expanded_parent(pilot, app, parent_id)
        tree = screen.plan_tree
        loaded = [c.data.plan_id for c in node.children if isinstance(c.data, PlanRow)]

        delete_plans(writer, hidden)
        await until(pilot, lambda: gap_of(node) is None, "the empty gap gone")
        steady(screen, node, parent_id)
        await until(pilot, lambda: isinstance(node.data, PlanRow)
                    and node.data.child_count == 200 and quiet(app, tree), "the new count")
        assert [c.data.plan_id for c in node.children if isinstance(c.data, PlanRow)] == loaded
        steady(screen, node, parent_id)
