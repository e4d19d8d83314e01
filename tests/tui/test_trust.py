"""What you act on is what you see: Pilot sequences that check, after every step, that the
tree's cursor plan, the detail pane's plan and the plan a correction would act on are one plan,
that no key reaches a hidden widget, and that reloads and filters keep the user's place."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from textual.widget import Widget
from textual.widgets import Input, Static
from tui_states import (
    demo_database,
    demo_decisions,
    notifications,
    press,
    run_async,
    settle,
    typed,
    until,
)

from store import plans
from store.db import create_db_engine, database_url, session_scope
from store.seed import seed_database
from tui.app import PlandeskApp
from tui.screens.correction import CorrectionModal
from tui.screens.help import HelpScreen
from tui.screens.plans import PlansScreen
from tui.widgets.plan_rows import MoreRow, PlanRow
from tui.widgets.plan_tree import PlanTree

SIZE = (120, 36)
FOOTER_KEYS = {"slash", "ctrl+r", "1", "r", "a", "q", "question_mark"}


def plans_screen(app: PlandeskApp) -> PlansScreen:
    return next(s for s in app.screen_stack if isinstance(s, PlansScreen))


def cursor_row(app: PlandeskApp) -> PlanRow | None:
    """The plan on the row the tree draws its cursor on (what the user sees highlighted)."""
    tree = plans_screen(app).plan_tree
    node = tree.get_node_at_line(tree.cursor_line) if tree.cursor_line >= 0 else None
    return node.data if node is not None and isinstance(node.data, PlanRow) else None


def cursor_plan(app: PlandeskApp) -> str | None:
    row = cursor_row(app)
    return row.plan_id if row is not None else None


def cursor_name(app: PlandeskApp) -> str | None:
    row = cursor_row(app)
    return row.name if row is not None else None


def visible(widget: Widget) -> bool:
    return not widget.disabled and all(
        node.display for node in widget.ancestors_with_self if isinstance(node, Widget))


def expanded(tree: PlanTree) -> set[str]:
    return {plan_id for plan_id, node in tree.nodes_by_plan.items() if node.is_expanded}


def check(app: PlandeskApp, filter_text: str = "", *, detail_failed: bool = False) -> None:
    """The invariants that must hold whenever the app is idle."""
    screen = plans_screen(app)
    tree, pane = screen.plan_tree, screen.detail_pane
    cursor = cursor_plan(app)
    if detail_failed:
        assert pane.detail is None
    else:
        shown = pane.detail.plan.plan_id if pane.detail is not None else None
        assert shown == cursor, f"detail shows {shown}, tree cursor is on {cursor}"
    if app.screen is screen:
        focused = app.focused
        assert focused is None or visible(focused), f"focus on hidden {focused!r}"
        footer = {key.key for key in screen.query("FooterKey")}
        # while the filter box has focus, printable keys type into it and the footer says so
        wanted = {"ctrl+r"} if isinstance(focused, Input) else FOOTER_KEYS
        assert wanted <= footer, f"footer lacks {wanted - footer}"
    assert screen.query_one("#filter", Input).value == filter_text
    if tree.cursor_line >= 0:  # the cursor row is on screen
        top = tree.scroll_offset.y
        assert top <= tree.cursor_line < top + tree.scrollable_content_region.height


async def step(pilot, *keys: str, filter_text: str = "", failed: bool = False) -> None:  # type: ignore[no-untyped-def]
    for key in keys:
        await press(pilot, key)
        check(pilot.app, filter_text, detail_failed=failed)


@run_async
async def test_reload_keeps_expanded_nodes_cursor_and_detail(workdir: Path) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # billing/migrate-invoices > billing/design-schema > billing/write-ddl
        await step(pilot, "right", "down", "right", "down", "down", "right", "down")
        tree = plans_screen(app).plan_tree
        before = (cursor_plan(app), expanded(tree), cursor_name(app))
        assert before[2] == "billing/ddl-postgres" and len(before[1]) == 3
        await step(pilot, "ctrl+r")
        assert (cursor_plan(app), expanded(tree), cursor_name(app)) == before
        await step(pilot, "down", "ctrl+r", "up")
        assert cursor_name(app) == "billing/ddl-postgres"


@run_async
async def test_reload_after_the_cursor_plan_went_moves_to_a_neighbour_and_says_so(
    workdir: Path,
) -> None:
    name = demo_database(workdir)
    app = PlandeskApp(database_url(name))
    app.NOTIFICATION_TIMEOUT = 3600  # a slow machine must not let the toast expire unseen
    async with app.run_test(size=SIZE) as pilot:
        await step(pilot, "right", "down", "right", "down")  # billing/review-schema
        gone = cursor_plan(app)
        assert cursor_name(app) == "billing/review-schema"
        connection = sqlite3.connect(workdir / name)
        with connection:
            connection.execute("DELETE FROM decisions WHERE plan_id = ?", (gone,))
            connection.execute("DELETE FROM plans WHERE plan_id = ?", (gone,))
        connection.close()
        await step(pilot, "ctrl+r")
        assert cursor_name(app) == "billing/write-ddl"  # its sibling, in its place
        assert "billing/design-schema" in [
            r.name for r in (n.data for n in plans_screen(app).plan_tree.nodes_by_plan.values())
            if isinstance(r, PlanRow)]
        assert any("is gone" in n and gone in n for n in notifications(app))


@run_async
async def test_filter_apply_and_clear_keep_place_and_detail(workdir: Path) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await step(pilot, "right", "down", "right")
        tree = plans_screen(app).plan_tree
        opened = expanded(tree)
        where = cursor_name(app)
        await step(pilot, "slash")
        text = ""
        for char in typed("golden"):
            text += " " if char == "space" else char
            await step(pilot, char, filter_text=text)
        await step(pilot, "enter", filter_text="golden")
        assert cursor_name(app) == "search/golden-queries"  # the first match
        await step(pilot, "down", filter_text="golden")
        assert cursor_name(app) == "search/golden-queries-de"
        await step(pilot, "escape")
        # the forest again, as it was before the filter
        assert cursor_name(app) == where
        assert opened == expanded(tree)
        await step(pilot, "slash")
        for length in range(1, len("billing") + 1):
            await step(pilot, "billing"[length - 1], filter_text="billing"[:length])
        await step(pilot, "enter", filter_text="billing")
        await step(pilot, "escape")
        assert cursor_name(app) == where


@run_async
async def test_detail_follows_the_cursor_when_a_page_loads_under_it(workdir: Path) -> None:
    seed_database(database_url(workdir / "wide.db"), 520, 2, wide=450)
    app = PlandeskApp(database_url("wide.db"))
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(pilot)
        tree = plans_screen(app).plan_tree
        wide = next(n for n in tree.root.children
                    if isinstance(n.data, PlanRow) and n.data.child_count == 450)
        tree.move_cursor(wide)
        await step(pilot, "right")
        tree.move_cursor(wide.children[plans.PAGE_SIZE - 3])
        await settle(pilot)
        # down onto the "… more" row (which loads the page under the cursor) and past it
        await step(pilot, "down", "down", "down", "down", "down")
        assert cursor_plan(app) == wide.children[plans.PAGE_SIZE + 2].data.plan_id  # type: ignore[union-attr]


@pytest.mark.parametrize("keys", [
    ("right", "down", "end", ("pageup", "pageup", "home")),
    ("l", "j", "G", ("g",)),  # the same in vim keys
], ids=["arrows", "vim"])
@run_async
async def test_end_and_home_reach_the_real_last_and_first_child(
    workdir: Path, keys: tuple[str, str, str, tuple[str, ...]]
) -> None:
    expand, down, last, to_first = keys
    url = database_url(workdir / "wide.db")
    seed_database(url, 520, 2, wide=450)
    engine = create_db_engine(url)
    with session_scope(engine) as session:
        parent = next(n for n in plans.roots_page(session).nodes if n.child_count == 450)
        children = plans.children_page(session, parent.plan.plan_id, limit=450).nodes
    engine.dispose()
    app = PlandeskApp(database_url("wide.db"))
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(pilot)
        tree = plans_screen(app).plan_tree
        tree.move_cursor(tree.nodes_by_plan[parent.plan.plan_id])
        await step(pilot, expand, down)
        await step(pilot, last)
        assert cursor_plan(app) == children[-1].plan.plan_id
        level = tree.nodes_by_plan[parent.plan.plan_id].children
        assert sum(isinstance(n.data, PlanRow) for n in level) == 2 * plans.PAGE_SIZE
        assert isinstance(level[plans.PAGE_SIZE].data, MoreRow)  # the middle is not read
        await step(pilot, *to_first)
        assert cursor_plan(app) == children[0].plan.plan_id
        await step(pilot, "pagedown", "pagedown", "pagedown")
        await step(pilot, "end", "end")
        assert cursor_plan(app) == children[-1].plan.plan_id


@run_async
async def test_keys_never_reach_the_hidden_filter_box(workdir: Path) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        check(app)
        await step(pilot, "right", "4", "tab")
        assert app.focused is not None and app.focused.id == "decision-table"
        await step(pilot, "5", "4", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await step(pilot, "escape", "j", "2", "down", "slash")
        box = plans_screen(app).query_one("#filter", Input)
        assert app.focused is box and box.value == ""
        await step(pilot, "escape", "1", "3", "tab", "5", "escape", "down")
        assert plans_screen(app).detail_pane in app.focused.ancestors  # type: ignore[union-attr]
        assert cursor_name(app) == "billing/migrate-invoices"
        await step(pilot, "shift+tab", "down")
        assert cursor_name(app) == "billing/design-schema"
        await step(pilot, "q")
    assert app.return_code == 0


@run_async
async def test_tab_cycles_between_the_tree_and_the_active_tab_content(workdir: Path) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await step(pilot, "4", "tab")
        assert app.focused is not None and app.focused.id == "decision-table"
        await step(pilot, "tab")
        assert isinstance(app.focused, PlanTree)
        await step(pilot, "shift+tab")
        assert app.focused is not None and app.focused.id == "decision-table"
        await step(pilot, "1")  # the focused table's tab went: focus follows into Overview
        assert app.focused is not None and app.focused.id != "decision-table"
        assert plans_screen(app).detail_pane in app.focused.ancestors
        await step(pilot, "shift+tab")
        assert isinstance(app.focused, PlanTree)


@run_async
async def test_correction_keys_need_the_shown_plans_detail(workdir: Path, monkeypatch) -> None:
    name = demo_database(workdir)
    gate = threading.Event()
    slow_plan, _ = demo_decisions(workdir, name, "search/reindex-catalog")
    original = plans.plan_detail

    def held(session, plan_id):  # type: ignore[no-untyped-def]
        if plan_id == slow_plan:
            gate.wait(10)
        return original(session, plan_id)

    monkeypatch.setattr(plans, "plan_detail", held)
    app = PlandeskApp(database_url(name))
    app.NOTIFICATION_TIMEOUT = 3600
    async with app.run_test(size=SIZE) as pilot:
        await step(pilot, "4", "tab")
        await pilot.press("shift+tab", "down")  # onto search/reindex-catalog, still loading
        await pilot.pause()
        assert cursor_name(app) == "search/reindex-catalog"
        await pilot.press("r")
        await pilot.pause()
        assert not isinstance(app.screen, CorrectionModal)
        assert any("still loading" in n for n in notifications(app))
        gate.set()
        await settle(pilot)
        check(app)
        await step(pilot, "tab", "a")
        assert isinstance(app.screen, CorrectionModal)
        assert app.screen.plan_id == slow_plan


@run_async
async def test_a_plan_whose_detail_fails_is_never_corrected_by_proxy(workdir: Path) -> None:
    name = demo_database(workdir)
    bad_plan, _ = demo_decisions(workdir, name, "search/reindex-catalog")
    connection = sqlite3.connect(workdir / name)
    connection.execute("PRAGMA ignore_check_constraints = ON")  # a row another tool wrote
    with connection:
        connection.execute("UPDATE decisions SET state = 'bogus' WHERE plan_id = ?", (bad_plan,))
    connection.close()
    app = PlandeskApp(database_url(name))
    app.NOTIFICATION_TIMEOUT = 3600
    async with app.run_test(size=SIZE) as pilot:
        await step(pilot, "4", "tab", "shift+tab")
        await press(pilot, "down")
        assert cursor_plan(app) == bad_plan
        failed = plans_screen(app).detail_pane.failure is not None
        check(app, detail_failed=failed)
        for key in ("a", "r", "tab", "a"):
            await press(pilot, key)
            if isinstance(app.screen, CorrectionModal):  # only once the bad row can be read
                assert not failed and app.screen.plan_id == bad_plan
                await press(pilot, "escape")
            else:
                check(app, detail_failed=failed)
        if failed:
            assert any("could not be loaded" in n for n in notifications(app))


@run_async
async def test_the_correction_modal_names_the_plan_and_the_decision(workdir: Path) -> None:
    name = demo_database(workdir)
    plan_id, (first, *_) = demo_decisions(workdir, name, "billing/migrate-invoices")
    app = PlandeskApp(database_url(name))
    async with app.run_test(size=SIZE) as pilot:
        await step(pilot, "4", "tab", "r")
        modal = app.screen
        assert isinstance(modal, CorrectionModal)
        title = str(modal.query_one("#correction-title", Static).render())
        assert "Revert decision #1 and the 2 after it" in title
        assert "billing/migrate-invoices" in title and plan_id in title
        assert modal.decision.decision_id == first and modal.decision.title in title
        await press(pilot, "escape")
        await step(pilot, "down", "a")
        title = str(app.screen.query_one("#correction-title", Static).render())
        assert "Append after decision #2" in title and plan_id in title


@run_async
async def test_keys_before_the_engine_is_built_never_act_on_another_plan(
        workdir: Path, monkeypatch) -> None:
    """A SQLite file at head shows its first roots before the engine exists (read with sqlite3):
    keys move the cursor, the detail says it is loading for the cursor's plan, `r` refuses, an
    expanded node waits; once the engine is there everything lands on the cursor's plan."""
    from store import db
    from tui.context import PendingEngine

    name = demo_database(workdir)
    engine_gate = threading.Event()
    build_engine = db.create_db_engine

    def held(*args, **kwargs):  # type: ignore[no-untyped-def]
        engine_gate.wait(30)
        return build_engine(*args, **kwargs)

    monkeypatch.setattr(db, "create_db_engine", held)
    app = PlandeskApp(database_url(name))
    app.NOTIFICATION_TIMEOUT = 3600
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, PlansScreen)
                    and plans_screen(app).plan_tree.cursor_plan_id is not None,
                    "the first roots are on screen")
        screen = plans_screen(app)
        tree, pane = screen.plan_tree, screen.detail_pane
        assert app.engine is None and isinstance(app.pending_engine, PendingEngine)
        assert app.pending_engine.pending
        first = tree.cursor_plan_id
        await pilot.press("down")
        await until(pilot, lambda: cursor_plan(app) != first, "the cursor moved")
        second = cursor_plan(app)
        await until(pilot, lambda: pane.plan_id == second, "the detail follows the cursor")
        assert pane.loading and pane.detail is None
        await pilot.press("4", "r")
        await until(pilot, lambda: any("still loading" in n for n in notifications(app)),
                    "r says the detail is still loading")
        assert not isinstance(app.screen, CorrectionModal)
        await pilot.press("enter")  # expand: its children wait for the engine
        await pilot.pause()
        assert pane.plan_id == cursor_plan(app) == second
        engine_gate.set()
        await settle(pilot)
        assert app.engine is not None and not app.pending_engine.pending
        check(app)
        assert pane.detail is not None and pane.detail.plan.plan_id == second
        node = tree.nodes_by_plan[second]
        assert node.is_expanded and any(isinstance(c.data, PlanRow) for c in node.children)
        await step(pilot, "4", "tab", "a")
        assert isinstance(app.screen, CorrectionModal)
        assert app.screen.plan_id == second
