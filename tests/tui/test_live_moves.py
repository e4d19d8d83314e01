"""A plan another connection moves to another tree (Pilot, a real SQLite file and the real
PostgreSQL, whose notification names the moved plan's old parent and old root): the tree and
the detail it left drop it, the parent it joined shows it, and the cursor stays put."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from test_live import PLAN, in_step, live_app, opened, plan_id_of, quiet, writer
from test_live_detail import OTHER_TREE, shown
from test_live_gaps import PARENT, expanded_parent, gap_says, hidden_children
from textual.pilot import Pilot
from tui_states import run_async, until

from tui.app import PlandeskApp
from tui.screens.plans import PlansScreen
from tui.widgets import plan_tree_live
from tui.widgets.plan_rows import PlanRow

__all__ = ["writer"]  # a fixture, shared with test_live

SIZE = (120, 36)


@pytest.fixture(autouse=True)
def short_marks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Changed rows stay marked a moment only: each step waits for the marks to fade."""
    monkeypatch.setattr(plan_tree_live, "FLASH_SECONDS", 0.05)


def move_plan(engine: sa.Engine, plan_id: str, new_parent_id: str) -> int:
    """Re-parent `plan_id` under `new_parent_id`, its subtree into the new parent's tree, in one
    transaction, as another process would; how many plans moved."""
    with engine.begin() as connection:
        root = connection.execute(sa.text("SELECT root_plan_id FROM plans WHERE plan_id = :p"),
                                  {"p": new_parent_id}).scalar_one()
        subtree = [row[0] for row in connection.execute(sa.text(
            "WITH RECURSIVE subtree(plan_id) AS (SELECT CAST(:p AS VARCHAR) UNION ALL"
            " SELECT plans.plan_id FROM plans JOIN subtree"
            " ON plans.parent_plan_id = subtree.plan_id)"
            " SELECT plan_id FROM subtree"), {"p": plan_id})]
        connection.execute(sa.text("UPDATE plans SET parent_plan_id = :parent WHERE plan_id = :p"),
                           {"parent": new_parent_id, "p": plan_id})
        connection.execute(sa.text("UPDATE plans SET root_plan_id = :root WHERE plan_id IN :ids")
                           .bindparams(sa.bindparam("ids", expanding=True)),
                           {"root": root, "ids": subtree})
    return len(subtree)


def child_count(screen: PlansScreen, plan_id: str) -> int:
    row = screen.plan_tree.nodes_by_plan[plan_id].data
    assert isinstance(row, PlanRow)
    return row.child_count


def children_shown(screen: PlansScreen, plan_id: str) -> list[str]:
    return [c.data.plan_id for c in screen.plan_tree.nodes_by_plan[plan_id].children
            if isinstance(c.data, PlanRow)]


async def expand(pilot: Pilot[None], app: PlandeskApp, screen: PlansScreen,
                 plan_id: str) -> None:
    """`plan_id` (shown) expanded, its children loaded; the cursor stays."""
    tree = screen.plan_tree
    cursor = tree.cursor_plan_id
    tree.nodes_by_plan[plan_id].expand()
    await until(pilot, lambda: isinstance(row := tree.nodes_by_plan[plan_id].data, PlanRow)
                and row.children_loaded and in_step(screen) and quiet(app, tree),
                "its children")
    assert tree.cursor_plan_id == cursor


async def both_trees_open(pilot: Pilot[None], app: PlandeskApp, old_root: str,
                         new_root: str) -> PlansScreen:
    """The plans screen with `new_root`, then `old_root`, expanded; the cursor on the first
    plan shown."""
    screen = await opened(pilot, app)
    await expand(pilot, app, screen, new_root)
    await expand(pilot, app, screen, old_root)
    return screen


@run_async
async def test_a_plan_moved_to_another_tree_leaves_the_detail_and_level_it_was_in(
        demo_url: str, writer: sa.Engine) -> None:
    app = live_app(demo_url)
    old_root, new_root = plan_id_of(writer, PLAN), plan_id_of(writer, OTHER_TREE)
    async with app.run_test(size=SIZE) as pilot:
        screen = await both_trees_open(pilot, app, old_root, new_root)
        tree, pane = screen.plan_tree, screen.detail_pane
        assert tree.cursor_plan_id == old_root and in_step(screen)
        moved = children_shown(screen, old_root)[0]
        children, size, _ = shown(pane)
        assert children == child_count(screen, old_root) and children > 1
        joined = child_count(screen, new_root)
        expanded = tree.place().expanded

        count = move_plan(writer, moved, new_root)
        await until(pilot, lambda: shown(pane)[:2] == (children - 1, size - count),
                    "the old tree's detail without the moved plan")
        await until(pilot, lambda: moved not in children_shown(screen, old_root)
                    and moved in children_shown(screen, new_root)
                    and child_count(screen, old_root) == children - 1
                    and child_count(screen, new_root) == joined + 1 and quiet(app, tree),
                    "the plan under its new parent, the old one counting one child less")
        assert tree.cursor_plan_id == old_root and in_step(screen)
        assert tree.place().expanded == expanded

        # the tree it joined shows it too
        screen.jump_to(new_root)
        await until(pilot, lambda: tree.cursor_plan_id == new_root and in_step(screen)
                    and quiet(app, tree), "the new parent's detail")
        assert shown(pane)[0] == joined + 1


@run_async
async def test_a_plan_moved_out_of_a_gap_counts_in_its_old_parents_gap(
        demo_url: str, writer: sa.Engine) -> None:
    app = live_app(demo_url)
    parent_id, new_root = plan_id_of(writer, PARENT), plan_id_of(writer, OTHER_TREE)
    hidden = hidden_children(writer, parent_id)
    async with app.run_test(size=SIZE) as pilot:
        screen, node = await expanded_parent(pilot, app, parent_id)
        tree = screen.plan_tree
        row = node.data
        assert isinstance(row, PlanRow) and row.child_count == 212

        move_plan(writer, hidden[0], new_root)
        await until(pilot, lambda: gap_says(node, "… 11 more") and row.child_count == 211
                    and quiet(app, tree), "the gap counting one less")
        assert hidden[0] not in tree.nodes_by_plan
        assert tree.cursor_plan_id == parent_id and in_step(screen)
        assert node.is_expanded and tree.nodes_by_plan[parent_id] is node


@run_async
async def test_the_cursor_goes_with_its_moved_plan_or_above_where_it_was(
        demo_url: str, writer: sa.Engine) -> None:
    app = live_app(demo_url)
    old_root, new_root = plan_id_of(writer, PLAN), plan_id_of(writer, OTHER_TREE)
    async with app.run_test(size=SIZE) as pilot:
        screen = await both_trees_open(pilot, app, old_root, new_root)
        tree, pane = screen.plan_tree, screen.detail_pane
        unloaded = children_shown(screen, new_root)[0]  # not expanded: its level is not read
        await pilot.press("down")
        moved = children_shown(screen, old_root)[0]
        await until(pilot, lambda: tree.cursor_plan_id == moved and in_step(screen)
                    and quiet(app, tree), "the cursor on the plan that moves")

        # moved into view: the cursor stays on its plan, under its new parent
        move_plan(writer, moved, new_root)
        await until(pilot, lambda: tree.cursor_plan_id == moved and in_step(screen)
                    and tree.nodes_by_plan[moved].parent is tree.nodes_by_plan[new_root]
                    and OTHER_TREE in shown(pane)[2] and quiet(app, tree),
                    "the cursor and detail on the plan under its new parent")
        assert moved not in children_shown(screen, old_root)

        # moved out of view (under a plan whose children are not loaded): the nearest plan
        # above where it was, with a toast that says it moved
        move_plan(writer, moved, unloaded)
        await until(pilot, lambda: tree.cursor_plan_id == new_root and in_step(screen)
                    and quiet(app, tree), "the cursor on the plan above where it was")
        assert moved not in tree.nodes_by_plan
        assert [n.message for n in app._notifications if n.title == "Plan moved"] == [
            f"The plan {moved} was moved; showing {OTHER_TREE}, the nearest plan above where it"
            " was."]
        assert not [n for n in app._notifications if n.title == "Plan deleted"]


@run_async
async def test_a_moved_plan_whose_children_were_loaded_shows_them_once_where_it_went(
        demo_url: str, writer: sa.Engine) -> None:
    app = live_app(demo_url)
    old_root, new_root = plan_id_of(writer, PLAN), plan_id_of(writer, OTHER_TREE)
    async with app.run_test(size=SIZE) as pilot:
        screen = await both_trees_open(pilot, app, old_root, new_root)
        tree = screen.plan_tree
        moved = next(plan_id for plan_id in children_shown(screen, old_root)
                     if child_count(screen, plan_id) > 0)
        await expand(pilot, app, screen, moved)
        grandchildren = children_shown(screen, moved)

        move_plan(writer, moved, new_root)
        await until(pilot, lambda: moved in children_shown(screen, new_root)
                    and moved not in children_shown(screen, old_root) and quiet(app, tree),
                    "the plan under its new parent")
        node = tree.nodes_by_plan[moved]
        assert not node.is_expanded and children_shown(screen, moved) == []
        await expand(pilot, app, screen, moved)
        assert children_shown(screen, moved) == grandchildren
        assert all(tree.nodes_by_plan[c].parent is node for c in grandchildren)
        assert tree.cursor_plan_id == old_root and in_step(screen)
