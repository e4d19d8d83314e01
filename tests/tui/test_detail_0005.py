"""The 0005 fields in the detail pane: phase timeline, execution, projects, tree size, and
`R`, which moves the tree cursor to the root of the plan on screen."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from test_trust import (
    check,
    cursor_name,
    cursor_plan,
    cursor_row,
    notifications,
    plans_screen,
    step,
)
from textual.widgets import Static
from tui_states import demo_database, run_async, settle

from store.db import database_url
from tui.app import PlandeskApp

SIZE = (160, 60)


def overview(app: PlandeskApp) -> str:
    return str(plans_screen(app).query_one("#overview-text", Static).visual)


def plan_row(folder: Path, name: str) -> sqlite3.Row:
    connection = sqlite3.connect(folder / "demo.db")
    connection.row_factory = sqlite3.Row
    try:
        return connection.execute("SELECT * FROM plans WHERE namespaced_name = ?",
                                  (name,)).fetchone()
    finally:
        connection.close()


async def open_plan(pilot, folder: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    """Move the tree to `name` as the palette's jump does."""
    app = pilot.app
    plans_screen(app).jump_to(plan_row(folder, name)["plan_id"])
    await settle(pilot)
    check(app)
    assert cursor_name(app) == name


@run_async
async def test_an_applied_plan_shows_its_timeline_and_execution(workdir: Path) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_plan(pilot, workdir, "platform/remove-flag-003")  # apply, queued: executed
        text = overview(app)
        row = plan_row(workdir, "platform/remove-flag-003")
        assert "▶ apply" in text and "current, queued" in text
        assert "● strategize" in text and "● execute" in text
        assert "○ applied    not reached" in text and "not completed" in text
        assert row["executed_at"][:10] in text  # the time it reached apply, as 2026-03-…
        assert f"changeset     {row['changeset_id']}" in text
        assert "refs/heads/plan/platform.flags.remove.003" in text  # the sandbox refs JSON
        assert '"checks":' in text and '"passed":' in text  # the validation summary JSON
        assert "decision root #1 " in text and row["decision_root_id"] in text
        assert "platform as plat" in text
        assert "plans under this root (R jumps to it)" in text
        assert "215 plans under this root" in text


@run_async
async def test_a_plan_not_yet_executed_shows_phases_not_reached(workdir: Path) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_plan(pilot, workdir, "billing/verify-constraints")  # strategize, queued
        text = overview(app)
        assert "▶ strategize" in text and "current, queued" in text
        for phase in ("execute", "apply", "applied"):
            assert f"○ {phase:<11}not reached" in text
        assert "not completed" in text
        assert "Nothing recorded yet: the plan has not been executed." in text


@run_async
async def test_broken_execution_json_is_shown_as_stored_and_flagged(workdir: Path) -> None:
    name = demo_database(workdir)
    connection = sqlite3.connect(workdir / name)
    with connection:
        connection.execute(
            "UPDATE plans SET validation_summary_json = '{\"checks\": [bold]3' "
            "WHERE namespaced_name = 'platform/remove-flag-001'")
    connection.close()
    app = PlandeskApp(database_url(name))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_plan(pilot, workdir, "platform/remove-flag-001")
        text = overview(app)
        assert "validation_summary_json is not valid JSON" in text
        assert "unreadable: not valid JSON, shown as stored" in text
        assert '{"checks": [bold]3' in text  # literally, never as markup
        row = cursor_row(app)
        assert row is not None and "validation_summary_json (not valid JSON)" in row.unreadable


@run_async
async def test_R_moves_the_cursor_and_the_detail_to_the_root(workdir: Path) -> None:
    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await open_plan(pilot, workdir, "mobile/verify-push-delivery")  # six levels down
        root = plan_row(workdir, "mobile/release-4-2")["plan_id"]
        await step(pilot, "R")
        assert cursor_plan(app) == root and cursor_name(app) == "mobile/release-4-2"
        pane = plans_screen(app).detail_pane
        assert pane.detail is not None and pane.detail.plan.plan_id == root
        assert plans_screen(app).plan_tree.has_focus
        await step(pilot, "R")  # already there: it says so and stays
        assert cursor_plan(app) == root
        assert any("is the root of its tree" in n for n in notifications(app))


@run_async
async def test_help_lists_R(workdir: Path) -> None:
    from tui.screens.help import HelpScreen

    app = PlandeskApp(database_url(demo_database(workdir)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await step(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(str(w.render()) for w in app.screen.query(Static))
        assert "root of the highlighted plan's tree" in text
