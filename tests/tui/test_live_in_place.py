"""A live refresh touches only what changed (Pilot, a real SQLite file and the real
PostgreSQL): rows another connection updated, inserted or deleted change in place while every
other row keeps its very TreeNode, the cursor, the detail and what `r`/`a` act on stay on the
same plan; on PostgreSQL only the plans a notification names are read again."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from test_live import PLAN, in_step, live_app, opened, plan_id_of, quiet, writer
from textual.widgets.tree import TreeNode
from tui_states import run_async, until

from store.db import session_scope
from store.plans import create_plan
from tui.screens.plans import PlansScreen
from tui.widgets.plan_on_screen import shown_detail
from tui.widgets.plan_rows import PlanRow, TreeRow
from tui.widgets.plan_tree import PlanTree

__all__ = ["writer"]  # a fixture, shared with test_live

SIZE = (120, 36)


def acted_on(screen: PlansScreen) -> str | None:
    """The plan a key of the plans screen would act on (None: none)."""
    detail = shown_detail(screen.plan_tree, screen.detail_pane)
    return None if isinstance(detail, str) else detail.plan.plan_id


def same_nodes(tree: PlanTree, before: dict[str, TreeNode[TreeRow]],
               but: set[str]) -> list[str]:
    """The plans of `before` (other than `but`) whose rows are no longer the same nodes."""
    return [plan_id for plan_id, node in before.items()
            if plan_id not in but and tree.nodes_by_plan.get(plan_id) is not node]


def child_ids(node: TreeNode[TreeRow]) -> list[str]:
    return [c.data.plan_id for c in node.children if isinstance(c.data, PlanRow)]


@run_async
async def test_external_changes_touch_only_their_rows(demo_url: str, writer: sa.Engine) -> None:
    app = live_app(demo_url)
    root_id = plan_id_of(writer, PLAN)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, app)
        tree = screen.plan_tree
        await pilot.press("right", "down")  # expand the first root; its first child
        await until(pilot, lambda: in_step(screen) and tree.cursor_plan_id != root_id
                    and quiet(app, tree), "the child's detail")
        cursor = tree.cursor_plan_id
        assert cursor is not None
        root = tree.nodes_by_plan[root_id]
        sibling = next(p for p in child_ids(root) if p != cursor)
        before = dict(tree.nodes_by_plan)
        line = tree.cursor_line

        def in_place() -> None:
            assert tree.cursor_plan_id == cursor and acted_on(screen) == cursor
            assert in_step(screen) and root.is_expanded
            assert tree.nodes_by_plan[root_id] is root

        # an update: only the renamed row's label changes, on the same node
        with writer.begin() as connection:
            connection.execute(sa.text("UPDATE plans SET namespaced_name = :n WHERE plan_id = :p"),
                               {"n": "billing/renamed-elsewhere", "p": sibling})
        renamed = before[sibling]
        await until(pilot, lambda: isinstance(renamed.data, PlanRow)
                    and renamed.data.name == "billing/renamed-elsewhere", "the new name")
        assert "billing/renamed-elsewhere" in str(renamed.label)
        assert same_nodes(tree, before, set()) == []
        assert tree.changed_plan_ids == {sibling}
        in_place()
        await until(pilot, lambda: quiet(app, tree), "the refresh settled")

        # an insert: a new node in id order among its siblings; all others stay
        with session_scope(writer) as session:
            new_id = create_plan(session, namespaced_name="billing/zz-in-place",
                                 description="added elsewhere", parent_plan_id=root_id).plan_id
        await until(pilot, lambda: new_id in tree.nodes_by_plan, "the new child")
        assert tree.nodes_by_plan[new_id].parent is root
        assert child_ids(root) == sorted(child_ids(root))
        assert same_nodes(tree, before, {root_id}) == []
        in_place()
        await until(pilot, lambda: quiet(app, tree), "the insert settled")

        # a delete: that row goes, nothing else is rebuilt and the cursor does not move
        with writer.begin() as connection:
            connection.execute(sa.text("DELETE FROM plans WHERE plan_id = :p"), {"p": new_id})
        await until(pilot, lambda: new_id not in tree.nodes_by_plan, "the deleted row gone")
        assert same_nodes(tree, before, {root_id}) == []
        assert tree.cursor_line == line
        in_place()
        assert not [n for n in app._notifications if n.title == "Plan deleted"]


@run_async
async def test_postgresql_reads_only_the_plans_a_notification_names(
        pg_demo_url: str, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tui.widgets.plan_tree_live import LiveRead

    pg_url = pg_demo_url
    reads: list[LiveRead] = []
    on_live_read = PlanTree.on_live_read

    def recording(self: PlanTree, message: LiveRead) -> None:
        reads.append(message)
        on_live_read(self, message)

    monkeypatch.setattr(PlanTree, "on_live_read", recording)
    app = live_app(pg_url)
    engine = sa.create_engine(pg_url)
    try:
        root_id = plan_id_of(engine, PLAN)
        async with app.run_test(size=SIZE) as pilot:
            screen = await opened(pilot, app)
            tree = screen.plan_tree
            await pilot.press("right")
            await until(pilot, lambda: in_step(screen) and quiet(app, tree)
                        and app.live is not None and app.live.watcher is not None,
                        "the root expanded, the listener open")
            child = child_ids(tree.nodes_by_plan[root_id])[0]
            reads.clear()
            with engine.begin() as connection:
                connection.execute(sa.text("UPDATE plans SET processing_state = 'errored' "
                                           "WHERE plan_id = :p"), {"p": child})
            node = tree.nodes_by_plan[child]
            await until(pilot, lambda: isinstance(node.data, PlanRow)
                        and node.data.state == "errored", "the new state")
            assert reads and not reads[-1].rows  # no level read again
            assert set(reads[-1].plans) == {child, root_id}  # the plan and its parent
            await until(pilot, lambda: quiet(app, tree), "the refresh settled")

            # a decision written elsewhere shows in the detail, and the tree reads nothing
            refreshes = tree.live_refreshes
            decisions = len(screen.detail_pane.detail.decisions)  # type: ignore[union-attr]
            with engine.begin() as connection:
                connection.execute(sa.text(
                    "INSERT INTO decisions (decision_id, plan_id, sequence, phase, title, "
                    "state, created_at) VALUES ('01KLIVEDECIS10N00000000000', :p, 999, "
                    "'execute', 'written elsewhere', 'active', '2026-01-01T00:00:00+00:00')"),
                    {"p": root_id})
            pane = screen.detail_pane
            await until(pilot, lambda: pane.detail is not None
                        and len(pane.detail.decisions) == decisions + 1, "the new decision")
            assert tree.live_refreshes == refreshes
            assert tree.cursor_plan_id == root_id and in_step(screen)
    finally:
        engine.dispose()
