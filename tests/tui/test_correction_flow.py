"""Pilot tests of the correction flow: keys to modal to worker to database, live states, refusals,
and the recovery of an interrupted correction at start-up."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from textual.widgets import Button, DataTable, Static, TextArea
from tui_states import demo_database, demo_decisions, press, run_async, settle, typed, until

import store.corrections
from store.corrections import run_correction
from store.db import archive_root, artifacts_root, database_url
from tui.app import PlandeskApp
from tui.screens.correction import CorrectionModal
from tui.screens.plans import PlansScreen
from tui.widgets.plan_detail import PlanDetailPane
from tui.widgets.plan_rows import PlanRow
from tui.widgets.plan_tree import PlanTree

SIZE = (120, 36)
PLAN = "billing/migrate-invoices"
# The tree's first root is PLAN; tab reaches its Decisions table; down highlights #2.
TO_SECOND_DECISION = ("right", "4", "tab", "down")
# The demo has correction attempts of other plans; these tests look at PLAN's.
OF_PLAN = ("FROM correction_attempts WHERE plan_id = "
           f"(SELECT plan_id FROM plans WHERE namespaced_name = '{PLAN}')")


def rows(path: Path, query: str, *args: object) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(path)
    try:
        return list(connection.execute(query, args))
    finally:
        connection.close()


def cells(table: DataTable) -> list[list[str]]:  # type: ignore[type-arg]
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def notifications(app: PlandeskApp) -> list[str]:
    return [f"{n.title}: {n.message}" for n in app._notifications]


@run_async
async def test_revert_from_the_keyboard(workdir: Path) -> None:
    name = demo_database(workdir)
    plan_id, (first, second, *_) = demo_decisions(workdir, name, PLAN)
    archive = archive_root(database_url(workdir / name))
    app = PlandeskApp(database_url(name))
    app.NOTIFICATION_TIMEOUT = 3600  # toasts are checked; a loaded machine must not expire them
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, *TO_SECOND_DECISION)
        screen = app.screen
        assert isinstance(screen, PlansScreen)
        assert screen.detail_pane.selected_decision is not None
        assert screen.detail_pane.selected_decision.decision_id == second
        await press(pilot, "r")
        modal = app.screen
        assert isinstance(modal, CorrectionModal)
        preview = str(modal.query_one("#correction-preview", Static).render())
        assert "Reverts 2 decisions" in preview and "billing/02" in preview
        assert "billing/03" in preview
        assert "billing/01" not in preview
        await press(pilot, *typed("Keep it writable for a week"), "ctrl+s")
        await settle(pilot)
        assert app.screen is screen

        # the database: #2 and #3 reverted, a new #4 with the guidance, the plan queued, files
        # archived
        decisions = rows(workdir / name, "SELECT sequence, state, rationale, parent_decision_id "
                         "FROM decisions WHERE plan_id = ? ORDER BY sequence", plan_id)
        assert [(d[0], d[1]) for d in decisions] == [
            (1, "active"), (2, "reverted"), (3, "reverted"), (4, "active")]
        assert decisions[3][2] == "Keep it writable for a week"
        assert decisions[3][3] == first  # the reverted decision's parent
        [(state, mode, new_id, archived)] = rows(
            workdir / name, "SELECT state, mode, new_decision_id, archived_artifacts_path "
            "FROM correction_attempts WHERE plan_id = ?", plan_id)
        assert (state, mode) == ("complete", "revert") and new_id is not None
        assert rows(workdir / name, "SELECT processing_state FROM plans WHERE plan_id = ?",
                    plan_id) == [("queued",)]
        assert not (workdir / "demo-artifacts" / "billing" / "02").exists()
        assert (archive.parent / str(archived) / "billing" / "02" / "decision.md").exists()

        # the screen: toast, tree row, Decisions and Corrections tabs
        assert "Correction complete: Revert complete: new decision #4." in notifications(app)
        tree = screen.query_one(PlanTree)
        row = tree.nodes_by_plan[plan_id].data
        assert isinstance(row, PlanRow) and row.state == "queued"
        decision_rows = cells(screen.query_one("#decision-table", DataTable))
        assert [r[:2] for r in decision_rows] == [["1", "active"], ["2", "reverted"],
                                                  ["3", "reverted"], ["4", "active"]]
        # the cursor stays on the decision reverted to, the plan's detail on the tree's cursor
        pane = screen.detail_pane
        assert pane.selected_decision is not None and pane.selected_decision.decision_id == second
        assert pane.plan_id == tree.cursor_plan_id == plan_id
        await press(pilot, "5")
        [attempt_row] = cells(screen.query_one("#correction-table", DataTable))
        assert attempt_row[:5] == ["complete", "revert", "#2", "#4",
                                   "Keep it writable for a week"]


@run_async
async def test_append_then_cancel_writes_nothing_more(workdir: Path) -> None:
    name = demo_database(workdir)
    plan_id, (first, *_) = demo_decisions(workdir, name, PLAN)
    app = PlandeskApp(database_url(name))
    app.NOTIFICATION_TIMEOUT = 3600  # toasts are checked; a loaded machine must not expire them
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "right", "4", "a")
        modal = app.screen
        assert isinstance(modal, CorrectionModal)
        assert "Appends after decision #1" in str(modal.query_one("#correction-preview").render())
        await press(pilot, *typed("Announce it"), "escape")
        assert isinstance(app.screen, PlansScreen)
        assert rows(workdir / name, "SELECT count(*) " + OF_PLAN) == [(0,)]
        await press(pilot, "a", *typed("  Announce the freeze first  "), "ctrl+s")
        await settle(pilot)
        decisions = rows(workdir / name, "SELECT sequence, state, rationale, parent_decision_id "
                         "FROM decisions WHERE plan_id = ? ORDER BY sequence", plan_id)
        assert decisions[:3] == [(1, "active", decisions[0][2], None),
                                 (2, "active", decisions[1][2], first),
                                 (3, "active", decisions[2][2], decisions[2][3])]
        assert decisions[3][1:] == ("active", "Announce the freeze first", first)
        assert "Correction complete: Append complete: new decision #4." in notifications(app)
        # the cursor lands on the new decision
        pane = app.screen.query_one(PlanDetailPane)
        assert pane.selected_decision is not None and pane.selected_decision.sequence == 4
        assert pane.plan_id == app.screen.query_one(PlanTree).cursor_plan_id == plan_id


@run_async
async def test_validation_errors_stay_in_the_modal(workdir: Path) -> None:
    name = demo_database(workdir)
    app = PlandeskApp(database_url(name))
    app.NOTIFICATION_TIMEOUT = 3600  # toasts are checked; a loaded machine must not expire them
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "right", "4", "r", "space", "ctrl+s")
        modal = app.screen
        assert isinstance(modal, CorrectionModal)
        error = modal.query_one("#correction-error", Static)
        assert error.display and "cannot be empty" in str(error.render())
        modal.query_one("#guidance", TextArea).text = "x" * 10_001
        await press(pilot, "ctrl+s")
        assert isinstance(app.screen, CorrectionModal)
        assert "at most 10,000" in str(error.render())
        await press(pilot, "escape")
    assert rows(workdir / name, "SELECT count(*) " + OF_PLAN) == [(0,)]


@run_async
async def test_refused_corrections_are_explained_in_the_modal(workdir: Path) -> None:
    name = demo_database(workdir)
    plan_id, (_, second, *_) = demo_decisions(workdir, name, PLAN)
    url = database_url(workdir / name)
    run_correction(url, plan_id, second, "revert", "Not this one.",
                   artifacts_root=artifacts_root(url), archive_root=archive_root(url))
    shutil.rmtree(workdir / "demo-artifacts" / "billing" / "01")
    app = PlandeskApp(database_url(name))
    app.NOTIFICATION_TIMEOUT = 3600  # toasts are checked; a loaded machine must not expire them
    async with app.run_test(size=SIZE) as pilot:
        # #2 is reverted now
        await press(pilot, *TO_SECOND_DECISION, "a")
        modal = app.screen
        assert isinstance(modal, CorrectionModal)
        assert "already reverted" in str(modal.query_one("#correction-error").render())
        assert modal.query_one("#confirm", Button).disabled
        await press(pilot, *typed("still"), "ctrl+s")
        assert app.screen is modal
        await press(pilot, "escape", "up", "r")
        modal = app.screen
        assert isinstance(modal, CorrectionModal)
        text = str(modal.query_one("#correction-error").render())
        assert "artifact folder 'billing/01' does not exist" in text
        await press(pilot, "escape")
    assert rows(workdir / name, "SELECT count(*) " + OF_PLAN) == [(1,)]


@run_async
async def test_ui_stays_live_while_a_correction_runs(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker is held inside the artifact move: keys still work, the Corrections tab shows
    `executing`, and a second correction of the same decision is turned away."""
    name = demo_database(workdir)
    moving, release = threading.Event(), threading.Event()

    def slow_move(source: Path, destination: Path) -> None:
        moving.set()
        assert release.wait(20)
        source.rename(destination)

    def correction_with_slow_move(*args: object, **kwargs: object) -> object:
        return run_correction(*args, move=slow_move, **kwargs)  # type: ignore[arg-type]

    # the App imports it where it runs a correction, in its worker
    monkeypatch.setattr(store.corrections, "run_correction", correction_with_slow_move)
    seen: list[str] = []
    original = PlanDetailPane.show_attempt

    def recording(self: PlanDetailPane, attempt) -> None:  # type: ignore[no-untyped-def]
        seen.append(str(attempt.state))
        original(self, attempt)

    monkeypatch.setattr(PlanDetailPane, "show_attempt", recording)
    app = PlandeskApp(database_url(name))
    app.NOTIFICATION_TIMEOUT = 3600  # toasts are checked; a loaded machine must not expire them
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, *TO_SECOND_DECISION, "r", *typed("Slowly"))
        await pilot.press("ctrl+s")
        await until(pilot, moving.is_set, "the worker is inside the artifact move")
        screen = app.screen
        assert isinstance(screen, PlansScreen)
        table = screen.query_one("#correction-table", DataTable)
        await pilot.press("5")  # the UI answers while the worker is held
        await until(pilot, lambda: screen.detail_pane.active_tab == "corrections"
                    and cells(table)[0][0] == "executing", "the tab shows `executing`")
        await pilot.press("4", "r")
        await until(pilot, lambda: any("still running" in n for n in notifications(app)),
                    "a second correction is turned away")
        assert app.screen is screen  # no second modal on a running decision
        release.set()
        await settle(pilot)
        assert cells(table)[0][0] == "complete"
    assert seen[:3] == ["pending", "executing", "complete"]
    assert rows(workdir / name, "SELECT state " + OF_PLAN) == [("complete",)]


@run_async
async def test_start_up_recovers_an_interrupted_correction(workdir: Path) -> None:
    name = demo_database(workdir)
    plan_id, (first, *_) = demo_decisions(workdir, name, PLAN)
    connection = sqlite3.connect(workdir / name)
    with connection:
        connection.execute(
            "INSERT INTO correction_attempts (correction_attempt_id, plan_id, "
            "original_decision_id, mode, guidance, state, created_at) VALUES "
            "('01KJSESXM0000000000000DEAD', ?, ?, 'revert', 'left behind', 'executing', "
            "'2026-03-03T09:00:00.000000+00:00')", (plan_id, first))
    connection.close()
    app = PlandeskApp(database_url(name))
    app.NOTIFICATION_TIMEOUT = 3600  # toasts are checked; a loaded machine must not expire them
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert any("1 interrupted correction was rolled back" in n for n in notifications(app))
    assert rows(workdir / name, "SELECT state, failure_reason " + OF_PLAN) == [
        ("failed", "interrupted")
    ]


@run_async
async def test_a_modal_whose_plan_changed_since_its_preview_is_refused(workdir: Path) -> None:
    name = demo_database(workdir)
    plan_id, (_, second, *_) = demo_decisions(workdir, name, PLAN)
    url = database_url(workdir / name)
    app = PlandeskApp(database_url(name))
    app.NOTIFICATION_TIMEOUT = 3600
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, *TO_SECOND_DECISION, "a")
        modal = app.screen
        assert isinstance(modal, CorrectionModal) and modal.preview is not None
        # Another process appends to the same decision while this modal is open.
        other = run_correction(url, plan_id, second, "append", "From elsewhere",
                               artifacts_root=artifacts_root(url), archive_root=archive_root(url))
        assert other.state == "complete"
        await press(pilot, *typed("Mine too"), "ctrl+s")
        await settle(pilot)
        assert any(n.startswith("Plan changed: The plan changed since the preview: it had 3 "
                                "decisions (last #3), now 4 (last #4)") for n in notifications(app)
                   ), notifications(app)
        assert rows(workdir / name, "SELECT rationale FROM decisions WHERE plan_id = ? AND "
                    "sequence > 3", plan_id) == [("From elsewhere",)]
        assert rows(workdir / name, "SELECT state " + OF_PLAN) == [("complete",)]
