"""The detail pane follows other writers' changes to what it shows of other plans (Pilot, a real
SQLite file and the real PostgreSQL, whose notifications name only the changed plan): a child
added or deleted changes its children and tree size, an ancestor renamed changes its path; a
change in another tree reads nothing again."""

from __future__ import annotations

import sqlalchemy as sa
from test_live import PLAN, in_step, live_app, opened, plan_id_of, quiet, writer
from test_live_gaps import add_child, delete_plans
from tui_states import run_async, until

from tui.widgets.plan_detail import PlanDetailPane

__all__ = ["writer"]  # a fixture, shared with test_live

SIZE = (120, 36)
OTHER_TREE = "search/reindex-catalog"


def shown(pane: PlanDetailPane) -> tuple[int, int, tuple[str, ...]]:
    detail = pane.detail
    assert detail is not None
    return detail.child_count, detail.tree_size, detail.ancestor_names


@run_async
async def test_the_detail_follows_changes_to_its_children_and_ancestors(
        demo_url: str, writer: sa.Engine) -> None:
    app = live_app(demo_url)
    root_id = plan_id_of(writer, PLAN)
    other_root = plan_id_of(writer, OTHER_TREE)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, app)
        tree, pane = screen.plan_tree, screen.detail_pane
        assert tree.cursor_plan_id == root_id  # the first root, not expanded
        await until(pilot, lambda: quiet(app, tree), "the first refresh settled")
        children, size, path = shown(pane)

        child = add_child(writer, root_id, "billing/zz-new-child")
        await until(pilot, lambda: shown(pane)[:2] == (children + 1, size + 1),
                    "one child and one plan more in the detail")
        assert tree.cursor_plan_id == root_id and in_step(screen)
        await until(pilot, lambda: quiet(app, tree), "the refresh settled")

        delete_plans(writer, [child])
        await until(pilot, lambda: shown(pane)[:2] == (children, size),
                    "the detail without it")
        assert tree.cursor_plan_id == root_id and in_step(screen)

        # a change in another tree leaves the detail as it is, unread
        await until(pilot, lambda: quiet(app, tree), "the refresh settled")
        detail, live = pane.detail, app.live
        assert live is not None
        seen = live.changes_seen
        add_child(writer, other_root, "search/zz-elsewhere")
        await until(pilot, lambda: live.changes_seen > seen and quiet(app, tree),
                    "the change heard and refreshed")
        assert pane.detail is detail

        # the cursor on a child: its parent renamed elsewhere shows in its path
        await pilot.press("right", "down")
        await until(pilot, lambda: tree.cursor_plan_id not in (None, root_id)
                    and in_step(screen) and quiet(app, tree), "a child's detail")
        cursor = tree.cursor_plan_id
        with writer.begin() as connection:
            connection.execute(sa.text("UPDATE plans SET namespaced_name = :n WHERE plan_id = :p"),
                               {"n": "billing/renamed-parent", "p": root_id})
        await until(pilot, lambda: "billing/renamed-parent" in shown(pane)[2],
                    "the new name in the child's path")
        assert tree.cursor_plan_id == cursor and in_step(screen)
        assert path == ()  # (the root had no ancestors to name)
