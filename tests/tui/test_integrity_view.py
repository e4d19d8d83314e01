"""The integrity view on a fixed damaged database: `i` and the palette open it, it loads in a
worker, shows counts per kind, `enter` reveals the plan in the tree (cursor = detail = that
plan), and escape goes back with the user's place kept."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from textual.widgets import OptionList, Static
from tui_states import press, run_async, settle, until

import tui.screens.integrity as integrity_screen
from store import decisions, migrations, plans
from store.db import create_db_engine, database_url, session_scope
from store.models import PlanPhase
from tui.app import PlandeskApp
from tui.screens.help import HelpScreen
from tui.screens.integrity import IntegrityScreen
from tui.screens.plans import PlansScreen

SIZE = (110, 30)
T = "2025-06-01T09:00:00.000000+00:00"


def pid(name: str) -> str:
    return ("01JX" + name.upper().replace("-", "")).ljust(26, "0")[:26]


def damaged_database(folder: Path) -> str:
    """Two small trees, then rows damaged behind plandesk's back: a child whose root_plan_id is
    the other tree's, a deleted parent, a parent cycle, a decision gap, and one repair."""
    path = folder / "damaged.db"
    url = database_url(path)
    migrations.upgrade(url)
    engine = create_db_engine(url)
    try:
        with session_scope(engine) as session:
            def plan(name: str, parent: str | None = None) -> str:
                return plans.create_plan(session, namespaced_name=f"ops/{name}",
                                         description=name, parent_plan_id=parent,
                                         plan_id=pid(name), now=T).plan_id

            alpha, beta = plan("alpha"), plan("beta")
            stray = plan("stray", plan("alpha-child", alpha))
            plan("alpha-other", alpha)
            gone = plan("gone", beta)
            plan("orphan", gone)
            loop_a = plan("loop-a", beta)
            loop_b = plan("loop-b", loop_a)
            plan("under-loop", loop_b)
            for title in ("first", "second", "third"):
                decisions.record_decision(session, plan_id=stray, title=title,
                                          phase=PlanPhase.EXECUTE, now=T)
    finally:
        engine.dispose()
    connection = sqlite3.connect(path)  # foreign keys off, as a careless writer's are
    try:
        with connection:
            connection.execute("UPDATE plans SET root_plan_id = ? WHERE plan_id = ?",
                               (beta, stray))
            connection.execute("DELETE FROM plans WHERE plan_id = ?", (gone,))
            connection.execute("UPDATE plans SET parent_plan_id = ? WHERE plan_id = ?",
                               (loop_b, loop_a))
            connection.execute("DELETE FROM decisions WHERE plan_id = ? AND sequence = 2",
                               (stray,))
            connection.execute(
                "INSERT INTO plan_repairs (plan_id, column_name, old_value, reason, repaired_at)"
                " VALUES (?, 'automation_profile', '', 'empty profile name set to balanced', ?)",
                (alpha, T))
    finally:
        connection.close()
    return "damaged.db"


def plans_screen(app: PlandeskApp) -> PlansScreen:
    return next(s for s in app.screen_stack if isinstance(s, PlansScreen))


def check_place(app: PlandeskApp) -> str | None:
    """Cursor plan = detail plan (what an action would touch); returns that plan."""
    screen = plans_screen(app)
    cursor = screen.plan_tree.cursor_plan_id
    detail = screen.detail_pane.detail
    assert detail is not None and detail.plan.plan_id == cursor, (
        f"detail {detail.plan.plan_id if detail else None} != cursor {cursor}")
    assert screen.detail_pane.plan_id == cursor
    assert screen.filter_box.value == ""
    return cursor


def option_texts(screen: IntegrityScreen) -> list[str]:
    findings = screen.query_one(OptionList)
    return [str(findings.get_option_at_index(i).prompt) for i in range(findings.option_count)]


async def open_view(pilot, key: str = "i") -> IntegrityScreen:
    await press(pilot, key)
    screen = pilot.app.screen
    assert isinstance(screen, IntegrityScreen)
    await until(pilot, lambda: screen.report is not None, "the check has finished")
    await settle(pilot)
    return screen


@run_async
async def test_counts_per_kind_and_enter_reveals_the_plan(workdir: Path) -> None:
    app = PlandeskApp(database_url(damaged_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        check_place(app)
        screen = await open_view(pilot)
        texts = option_texts(screen)
        assert texts[0] == "Repaired by migrations (1)"
        for header in ("root_plan_id disagrees with the parent's (1)", "Parent missing (1)",
                       "In or under a parent cycle (3)", "Gaps in decision sequence (1)"):
            assert header in texts, texts
        assert "7 findings" in str(screen.query_one("#integrity-summary", Static).render())
        assert screen.report is not None and screen.report.total == 7
        stray_row = next(i for i, t in enumerate(texts)
                         if "ops/stray" in t and "root_plan_id" in t)
        findings = screen.query_one(OptionList)
        assert app.focused is findings
        findings.highlighted = stray_row
        await press(pilot, "enter")
        assert isinstance(app.screen, PlansScreen)
        await until(pilot, lambda: plans_screen(app).plan_tree.cursor_plan_id == pid("stray"),
                    "the cursor is on the chosen plan")
        await settle(pilot)
        assert check_place(app) == pid("stray")
        assert app.focused is plans_screen(app).plan_tree


@run_async
async def test_escape_returns_with_the_place_kept(workdir: Path) -> None:
    app = PlandeskApp(database_url(damaged_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "right", "down", "down")
        before = check_place(app)
        tree = plans_screen(app).plan_tree
        place, scroll = tree.place(), tree.scroll_y
        screen = await open_view(pilot)
        await press(pilot, "down", "down")  # moving in the view touches nothing behind it
        assert app.screen is screen
        await press(pilot, "escape")
        assert isinstance(app.screen, PlansScreen)
        assert check_place(app) == before
        assert tree.place() == place and tree.scroll_y == scroll


@run_async
async def test_palette_command_and_help_list_it(workdir: Path) -> None:
    app = PlandeskApp(database_url(damaged_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        help_text = " ".join(str(s.render()) for s in app.screen.query(Static))
        assert "Integrity check" in help_text
        await press(pilot, "escape")
        await press(pilot, "ctrl+p", *"integrity")
        await until(pilot, lambda: "Integrity check" in " ".join(
            str(o.prompt) for o in app.screen.query_one(OptionList)._options),
            "the palette offers the command")
        await press(pilot, "enter")
        screen = app.screen
        assert isinstance(screen, IntegrityScreen)
        await until(pilot, lambda: screen.report is not None, "the check has finished")
        assert screen.report is not None and screen.report.total == 7


@run_async
async def test_the_check_runs_in_a_worker_behind_a_loading_indicator(workdir: Path,
                                                                   monkeypatch) -> None:
    release = threading.Event()
    real = integrity_screen.integrity_report

    def held(session):  # the real check, once the test has seen the loading state
        release.wait(timeout=60)
        return real(session)

    monkeypatch.setattr(integrity_screen, "integrity_report", held)
    app = PlandeskApp(database_url(damaged_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, IntegrityScreen), "the view opened")
        screen = app.screen
        assert isinstance(screen, IntegrityScreen)
        findings = screen.query_one(OptionList)
        await until(pilot, lambda: findings.loading, "the list shows it is loading")
        assert "Checking" in str(screen.query_one("#integrity-summary", Static).render())
        assert findings.option_count == 0
        release.set()
        await until(pilot, lambda: not findings.loading and findings.option_count > 0,
                    "the findings are shown")


def test_snapshot(snap_compare, workdir: Path) -> None:
    app = PlandeskApp(database_url(damaged_database(workdir)))

    async def run_before(pilot) -> None:
        await open_view(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
