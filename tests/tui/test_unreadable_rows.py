"""The app on a database damaged behind its back after migration: a plan row with an unknown
phase, a decision with an unknown state, a parent cycle. It opens, flags the bad rows, says
what is wrong with them, and everything else keeps working."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from rich.style import Style
from tui_states import demo_database, press, run_async, settle

from store import plans
from store.db import database_url
from store.plans import pages as plan_pages
from tui.app import PlandeskApp
from tui.screens.correction import CorrectionModal
from tui.screens.plans import PlansScreen
from tui.widgets.plan_detail import PlanDetailPane
from tui.widgets.plan_tree import PlanRow, PlanTree

SIZE = (120, 36)


def damage(folder: Path, name: str, sql: str, *params: str) -> None:
    """Write `sql` as a careless writer would, past the schema's CHECK constraints."""
    connection = sqlite3.connect(folder / name)
    try:
        connection.execute("PRAGMA ignore_check_constraints = ON")
        with connection:
            connection.execute(sql, params)
    finally:
        connection.close()


def plan_id_of(folder: Path, name: str, plan_name: str) -> str:
    connection = sqlite3.connect(folder / name)
    try:
        (plan_id,) = connection.execute(
            "SELECT plan_id FROM plans WHERE namespaced_name = ?", (plan_name,)).fetchone()
    finally:
        connection.close()
    return str(plan_id)


def app_on(name: str) -> PlandeskApp:
    app = PlandeskApp(database_url(name))
    # Toasts are asserted on; on a loaded machine the default 5 s could expire first.
    app.NOTIFICATION_TIMEOUT = 3600
    return app


def tree_of(app: PlandeskApp) -> PlanTree:
    return app.screen.query_one(PlanTree)


def label_of(tree: PlanTree, plan_id: str) -> str:
    return tree.render_label(tree.nodes_by_plan[plan_id], Style(), Style()).plain


def overview_of(app: PlandeskApp) -> str:
    return str(app.screen.query_one("#overview-text").render())


def notifications(app: PlandeskApp) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


@run_async
async def test_an_unreadable_plan_row_is_flagged_and_the_rest_works(workdir) -> None:
    name = demo_database(workdir)
    bad = plan_id_of(workdir, name, "search/reindex-catalog")
    damage(workdir, name, "UPDATE plans SET phase = 'bogus' WHERE plan_id = ?", bad)
    app = app_on(name)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, PlansScreen)
        tree = tree_of(app)
        roots = sqlite3.connect(workdir / name).execute(
            "SELECT count(*) FROM plans WHERE parent_plan_id IS NULL").fetchone()[0]
        assert len(tree.root.children) == roots
        assert "unreadable: phase 'bogus'" in label_of(tree, bad)
        assert "unreadable" not in label_of(tree, plan_id_of(workdir, name,
                                                            "billing/migrate-invoices"))
        # the bad plan's detail says what is wrong; its children still load
        await press(pilot, "down")
        pane = app.screen.query_one(PlanDetailPane)
        assert pane.detail is not None and pane.detail.plan.plan_id == bad
        assert "phase 'bogus' is not one of strategize, execute, apply, applied" in (
            overview_of(app))
        await press(pilot, "right")
        assert [c.data.name for c in tree.nodes_by_plan[bad].children
                if isinstance(c.data, PlanRow)] == [
            "search/evaluate-tokenizer", "search/shadow-traffic"]
        # a sound plan's detail has no warning
        await press(pilot, "up")
        assert pane.detail is not None and pane.detail.plan.namespaced_name == (
            "billing/migrate-invoices")
        assert "unreadable" not in overview_of(app)
        # the filter finds the bad plan among the others
        await press(pilot, "slash", *"search", "enter")
        assert len([n for n in tree.nodes_by_plan.values()
                    if isinstance(n.data, PlanRow) and not n.data.context]) == 6
        assert "unreadable: phase 'bogus'" in label_of(tree, bad)
        await press(pilot, "escape")
        # a jump to a plan below it, as the palette does
        target = plan_id_of(workdir, name, "search/golden-queries-ja")
        app.screen.jump_to(target)
        await settle(pilot)
        assert tree.cursor_node is not None and isinstance(tree.cursor_node.data, PlanRow)
        assert tree.cursor_node.data.plan_id == target
        assert not [n for n in notifications(app) if "Could not" in n]


@run_async
async def test_a_decision_with_a_bad_state_is_flagged_and_cannot_be_corrected(workdir) -> None:
    name = demo_database(workdir)
    plan_id = plan_id_of(workdir, name, "billing/migrate-invoices")
    damage(workdir, name,
           "UPDATE decisions SET state = 'bogus' WHERE plan_id = ? AND sequence = 2", plan_id)
    app = app_on(name)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "4")
        pane = app.screen.query_one(PlanDetailPane)
        assert pane.detail is not None and pane.detail.plan.plan_id == plan_id
        assert [str(d.state) for d in pane.detail.decisions] == ["active", "bogus", "active"]
        assert "decision #2: state 'bogus' is not one of active, reverted" in overview_of(app)
        assert [pane.decision_table.get_row_at(row)[1].plain for row in (0, 1)] == [
            "active", "bogus unreadable"]
        for key in ("r", "a"):
            await press(pilot, key)
            assert not isinstance(app.screen, CorrectionModal)
            assert any("cannot be corrected" in n and "state 'bogus'" in n
                       for n in notifications(app))
            app.clear_notifications()


@run_async
async def test_an_unreadable_value_is_shown_literally(workdir) -> None:
    name = demo_database(workdir)
    plan_id = plan_id_of(workdir, name, "search/reindex-catalog")  # not highlighted at first
    hostile = "[b]x[/b]\x1b[2J"
    damage(workdir, name, "UPDATE plans SET processing_state = ? WHERE plan_id = ?",
           hostile, plan_id)
    app = app_on(name)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        label = label_of(tree_of(app), plan_id)
        assert "\x1b" not in label
        assert "[b]x[/b]\\x1b[2J" in label
        assert "unreadable: processing_state '[b]x[/b]\\x1b[2J'" in label
        await press(pilot, "down")
        overview = overview_of(app)
        assert "\x1b" not in overview and "[b]x[/b]\\x1b[2J" in overview
        assert app.is_running


@run_async
async def test_a_parent_cycle_ends_the_walk_and_the_jump_promptly(
    workdir, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = demo_database(workdir)
    upper = plan_id_of(workdir, name, "infra/upgrade-replicas")
    lower = plan_id_of(workdir, name, "infra/replica-eu")
    below = plan_id_of(workdir, name, "infra/replica-eu-checksums")
    damage(workdir, name, "UPDATE plans SET parent_plan_id = ? WHERE plan_id = ?", lower, upper)
    pages: list[object] = []
    for query in ("roots_page", "children_page", "siblings_from"):
        original = getattr(plans, query)

        def counted(*args: object, _original=original, **kwargs: object) -> object:
            pages.append(args[1:])
            return _original(*args, **kwargs)

        monkeypatch.setattr(plans, query, counted)
        monkeypatch.setattr(plan_pages, query, counted)  # reveal_path calls it there
    app = app_on(name)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PlansScreen)
        before = len(pages)
        screen.jump_to(below)
        await settle(pilot)
        assert len(pages) == before  # the walk ended at the cycle before loading any page
        assert any("cycle" in n for n in notifications(app))
        # the filter still shows it, and its detail shows the path up to where it loops
        await press(pilot, "slash", *"replica-eu", "enter", "down")
        pane = screen.query_one(PlanDetailPane)
        assert pane.detail is not None and pane.detail.plan.plan_id == below
        assert pane.detail.ancestors == (upper, lower) and pane.detail.path_stopped == "cycle"
        path_line = next(line for line in overview_of(app).splitlines()
                         if line.startswith("path"))
        assert path_line.split() == ["path", "cycle", ">", "infra/upgrade-replicas", ">",
                                     "infra/replica-eu"]
