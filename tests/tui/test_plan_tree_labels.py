"""The plan tree measures each plan's label once (Textual's Tree measures every line again on
each rebuild), and measures it again when what the row shows changes."""

from __future__ import annotations

from rich.style import Style
from tui_states import demo_database, run_async, settle

from store.db import create_db_engine, database_url, session_scope
from store.models import Plan
from tui.app import PlandeskApp
from tui.widgets.plan_rows import PlanRow
from tui.widgets.plan_tree import PlanTree


def measured(tree: PlanTree, node) -> int:  # type: ignore[no-untyped-def]
    return tree.render_label(node, Style(), Style()).cell_len


@run_async
async def test_label_widths_are_cached_and_follow_a_renamed_plan(workdir) -> None:
    path = demo_database(workdir)
    app = PlandeskApp(database_url(path))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        tree = app.screen.query_one(PlanTree)
        nodes = [n for n in tree.root.children if isinstance(n.data, PlanRow)]
        assert nodes
        for node in nodes:
            assert tree.get_label_width(node) == measured(tree, node)
        first = nodes[0]
        assert isinstance(first.data, PlanRow)
        engine = create_db_engine(database_url(path))
        try:
            with session_scope(engine) as session:
                plan = session.get(Plan, first.data.plan_id)
                assert plan is not None
        finally:
            engine.dispose()
        plan.namespaced_name = "team/" + "a-much-longer-name-" * 8
        tree.update_plan(plan)
        await settle(pilot)
        assert tree.get_label_width(first) == measured(tree, first)
        guide = tree.virtual_size.width - max(tree.get_label_width(n) for n in nodes)
        assert tree.virtual_size.width == measured(tree, first) + guide
