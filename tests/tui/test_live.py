"""Live refresh with Pilot on a real SQLite file and the real PostgreSQL: commits by another
connection appear by themselves, in place; a deleted cursor plan gives way to its parent; an
open correction modal notices its preview went stale; a burst of commits stays responsive."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from demo_copy import copy_demo
from textual.pilot import Pilot
from textual.widgets import Static
from tui_states import run_async, typed, until

from store.changes import SqliteChangeWatcher
from store.corrections import run_correction
from store.db import archive_root, artifacts_root, create_db_engine, database_url, session_scope
from store.demo import create_demo
from store.plans import create_plan
from tui.app import PlandeskApp
from tui.config import app_config
from tui.screens.correction import CorrectionModal
from tui.screens.plans import PlansScreen
from tui.widgets.plan_rows import PlanRow
from tui.widgets.plan_tree import PlanTree

SIZE = (120, 36)
PLAN = "billing/migrate-invoices"
FROZEN = datetime(2026, 1, 1, 12, 3, 4)
# what the issue allows ("coalesce refreshes: at most ~4 per second")
MOST_REFRESHES_PER_SECOND = 4


@pytest.fixture
def writer(demo_url: str) -> Iterator[sa.Engine]:
    """Another connection (its own engine) that writes behind the app's back."""
    engine = create_db_engine(demo_url)
    yield engine
    engine.dispose()


def live_app(url: str) -> PlandeskApp:
    app = PlandeskApp(url)
    app.LIVE_UPDATES = True  # the suite turns live refresh off; these are about it
    app.live_clock = lambda: FROZEN  # type: ignore[method-assign]
    app.NOTIFICATION_TIMEOUT = 3600
    return app


async def opened(pilot: Pilot[None], app: PlandeskApp) -> PlansScreen:
    """The plans screen once it shows its first plan's detail."""
    def ready() -> bool:
        screen = app.plans_screen
        return screen is not None and bool(screen.query(PlanTree)) and in_step(screen)

    await until(pilot, ready, "the plans screen with its first plan's detail")
    screen = app.plans_screen
    assert screen is not None
    return screen


def plan_id_of(engine: sa.Engine, name: str) -> str:
    with engine.connect() as connection:
        return str(connection.execute(
            sa.text("SELECT plan_id FROM plans WHERE namespaced_name = :n"), {"n": name}
        ).scalar_one())


def decision_ids(engine: sa.Engine, plan_id: str) -> list[str]:
    with engine.connect() as connection:
        return [str(row[0]) for row in connection.execute(sa.text(
            "SELECT decision_id FROM decisions WHERE plan_id = :p ORDER BY sequence"),
            {"p": plan_id})]


def in_step(screen: PlansScreen) -> bool:
    """The trust invariant: the cursor plan is the detail's plan (and it has loaded)."""
    pane = screen.detail_pane
    cursor = screen.plan_tree.cursor_plan_id
    return cursor is not None and pane.plan_id == cursor and pane.detail is not None \
        and pane.detail.plan.plan_id == cursor and not pane.loading


def quiet(app: PlandeskApp, tree: PlanTree) -> bool:
    """No live refresh of the tree in flight, queued or marking rows, and no detail loading."""
    return not (tree.live_fetching or tree.live_again or tree._live_retry is not None
                or tree.changed_plan_ids or any(
                    w.group in ("detail", "live-refresh") and not w.is_finished
                    for w in app.workers))


def header_says(app: PlandeskApp, text: str) -> bool:
    return text in app.sub_title


def external_correction(url: str, plan_id: str, decision_id: str, guidance: str) -> None:
    attempt = run_correction(url, plan_id, decision_id, "append", guidance,
                             artifacts_root=artifacts_root(url), archive_root=archive_root(url))
    assert attempt.state == "complete"


@run_async
async def test_commits_elsewhere_appear_in_place(demo_url: str, writer: sa.Engine) -> None:
    app = live_app(demo_url)
    root_id = plan_id_of(writer, PLAN)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, app)
        assert header_says(app, "live")
        tree = screen.plan_tree
        await pilot.press("right", "down")  # expand the first root; its first child
        await until(pilot, lambda: in_step(screen) and tree.cursor_plan_id != root_id,
                    "the child's detail")
        cursor = tree.cursor_plan_id
        before = tree.place()

        # a new child under the expanded root, written by another connection
        with session_scope(writer) as session:
            new_id = create_plan(session, namespaced_name="billing/zz-live-child",
                                 description="added elsewhere", parent_plan_id=root_id).plan_id
        await until(pilot, lambda: new_id in tree.nodes_by_plan, "the new child appearing")
        node = tree.nodes_by_plan[new_id]
        assert node.parent is tree.nodes_by_plan[root_id]
        assert new_id in tree.changed_plan_ids  # marked for a moment
        assert tree.cursor_plan_id == cursor and tree.place().expanded == before.expanded
        assert header_says(app, "updated 12:03:04")
        await until(pilot, lambda: not tree.changed_plan_ids, "the mark fading")
        assert in_step(screen)

        # a decision appended elsewhere to the plan on screen shows without a key press,
        # and the highlighted decision stays highlighted
        await pilot.press("up", "4", "tab", "down")
        await until(pilot, lambda: in_step(screen) and tree.cursor_plan_id == root_id
                    and screen.detail_pane.selected_decision is not None
                    and screen.detail_pane.selected_decision.sequence == 2,
                    "decision #2 of the root highlighted")
        known = decision_ids(writer, root_id)
        second, count = known[1], len(known)
        external_correction(demo_url, root_id, second, "Appended from elsewhere")
        pane = screen.detail_pane
        await until(pilot, lambda: pane.detail is not None
                    and len(pane.detail.decisions) == count + 1
                    and pane.decision_table.row_count == count + 1, "a new decision appearing")
        selected = pane.selected_decision
        assert selected is not None and selected.decision_id == second
        assert tree.cursor_plan_id == root_id and in_step(screen)
        # and again, once everything has settled: the highlighted decision still stays
        await until(pilot, lambda: quiet(app, tree), "the first refresh settled")
        refreshes = tree.live_refreshes
        external_correction(demo_url, root_id, second, "Appended from elsewhere again")
        await until(pilot, lambda: pane.detail is not None
                    and len(pane.detail.decisions) == count + 2
                    and pane.decision_table.row_count == count + 2, "another new decision")
        await until(pilot, lambda: tree.live_refreshes > refreshes and quiet(app, tree),
                    "the tree's refresh after it settled too")
        selected = pane.selected_decision
        assert selected is not None and selected.decision_id == second, selected
        assert pane.decision_table.has_focus


@run_async
async def test_deleted_cursor_plan_gives_way_to_its_parent(demo_url: str,
                                                             writer: sa.Engine) -> None:
    app = live_app(demo_url)
    root_id = plan_id_of(writer, PLAN)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, app)
        tree = screen.plan_tree
        with session_scope(writer) as session:
            leaf_id = create_plan(session, namespaced_name="billing/aa-doomed",
                                  description="deleted soon", parent_plan_id=root_id).plan_id
        await pilot.press("right", "down", "end")  # the newest child is the last one
        await until(pilot, lambda: tree.cursor_plan_id == leaf_id and in_step(screen),
                    "the doomed leaf highlighted")
        with writer.begin() as connection:
            connection.execute(sa.text("DELETE FROM plans WHERE plan_id = :p"), {"p": leaf_id})
        await until(pilot, lambda: tree.cursor_plan_id == root_id and in_step(screen),
                    "the cursor on the parent")
        assert leaf_id not in tree.nodes_by_plan
        assert any(n.title == "Plan deleted" and leaf_id in n.message
                   for n in app._notifications)
        assert tree.nodes_by_plan[root_id].is_expanded


async def append_modal(pilot: Pilot[None], app: PlandeskApp,
                       second: str) -> CorrectionModal:
    """The append modal for decision #2 (`second`) of the first root, "Mine" typed."""
    screen = await opened(pilot, app)
    await pilot.press("right", "4", "tab", "down")
    await until(pilot, lambda: screen.detail_pane.selected_decision is not None
                and screen.detail_pane.selected_decision.decision_id == second,
                "decision #2 highlighted")
    await pilot.press("a", *typed("Mine"))
    modal = app.screen
    assert isinstance(modal, CorrectionModal)
    return modal


@run_async
async def test_open_modal_notices_a_stale_preview(demo_url: str, writer: sa.Engine) -> None:
    app = live_app(demo_url)
    root_id = plan_id_of(writer, PLAN)
    known = decision_ids(writer, root_id)
    second, count = known[1], len(known)
    async with app.run_test(size=SIZE) as pilot:
        modal = await append_modal(pilot, app, second)
        await until(pilot, lambda: modal.preview is not None, "the preview")
        assert modal.preview is not None and modal.preview.new_sequence == count + 1

        external_correction(demo_url, root_id, second, "From elsewhere")
        error = modal.query_one("#correction-error", Static)
        await until(pilot, lambda: modal.changed_since is not None and error.display,
                    "the modal saying the plan changed")
        assert "The plan changed since the preview" in str(error.render())
        await until(pilot, lambda: modal.preview is not None
                    and modal.preview.new_sequence == count + 2, "the new preview")

        await pilot.press("ctrl+s")  # confirming what was typed for the old preview: refused
        assert app.screen is modal and "Not run" in str(error.render())
        assert len(decision_ids(writer, root_id)) == count + 1
        await pilot.press("ctrl+s")  # on the new preview, seen: runs
        await until(pilot, lambda: len(decision_ids(writer, root_id)) == count + 2,
                    "the confirmed correction")
        # the app has taken in the end of it (leaving earlier tore the screen down under it)
        await until(pilot, lambda: any(n.title == "Correction complete"
                                       for n in app._notifications), "the toast")


# A writer in its own process (so it does not share the app's interpreter lock), committing
# one small UPDATE at a time until its stop file appears; it prints how many it made.
BURST_WRITER = """
import sys, pathlib
import sqlalchemy as sa
from store.db import create_db_engine
url, plan_id, stop = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
engine = create_db_engine(url)
commits = 0
with engine.connect() as connection:
    if engine.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA synchronous = NORMAL")  # no fsync per commit
        connection.commit()
    while not stop.exists():
        connection.execute(sa.text("UPDATE plans SET description = :d WHERE plan_id = :p"),
                           {"d": f"burst {commits}", "p": plan_id})
        connection.commit()
        commits += 1
        if commits == 100:
            print("started", flush=True)
print(commits, flush=True)
"""


@run_async
async def test_a_burst_of_commits_keeps_the_ui_responsive(demo_url: str, writer: sa.Engine,
                                                          workdir: Path) -> None:
    """Another process commits as fast as it can while keys are pressed: every key is
    answered in step, and refreshes stay bounded by the polls, far below the commits."""
    app = live_app(demo_url)
    root_id = plan_id_of(writer, PLAN)
    stop = workdir / "stop-burst"
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, app)
        tree = screen.plan_tree
        await pilot.press("right")
        started = datetime.now()
        process = subprocess.Popen([sys.executable, "-c", BURST_WRITER, demo_url, root_id,
                                    str(stop)], stdout=subprocess.PIPE, text=True)
        try:
            assert process.stdout is not None and process.stdout.readline() == "started\n"
            for key in ("down", "down", "down", "up", "down", "up", "up", "up"):
                await pilot.press(key)
                await until(pilot, lambda: in_step(screen), f"the detail after {key}")
                row = tree.cursor_node.data if tree.cursor_node is not None else None
                assert isinstance(row, PlanRow) and row.plan_id == tree.cursor_plan_id
            await until(pilot, lambda: tree.live_refreshes >= 3, "refreshes during the burst")
        finally:
            stop.touch()
            out, _ = process.communicate()
        commits = int(out.split()[-1])
        elapsed = (datetime.now() - started).total_seconds()
        live = app.live
        assert live is not None
        assert tree.live_refreshes <= live.changes_seen  # one refresh at most per poll
        assert tree.live_refreshes <= elapsed * MOST_REFRESHES_PER_SECOND + 2
        assert tree.live_refreshes * 10 < commits, (tree.live_refreshes, commits)
        assert tree.cursor_plan_id == root_id and in_step(screen)
        assert tree.nodes_by_plan[root_id].is_expanded


@run_async
async def test_postgresql_listener_drop_shows_reconnecting(pg_demo_url: str, workdir: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             ) -> None:
    pg_url = pg_demo_url
    app = live_app(pg_url)
    shown: list[str] = []  # every header the indicator set (a loaded machine may skip frames)
    show = app._show_live_state

    def recording() -> None:
        show()
        shown.append(app.sub_title)

    app._show_live_state = recording  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.live is not None and app.live.watcher is not None,
                    "the listener open")
        live = app.live
        assert live is not None
        pid = getattr(live.watcher, "listener_pid", None)
        admin = sa.create_engine(pg_url)
        try:
            with admin.begin() as connection:
                connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        finally:
            admin.dispose()
        await until(pilot, lambda: any("reconnecting…" in h for h in shown),
                    "reconnecting shown")
        await until(pilot, lambda: header_says(app, "updated 12:03:04"), "live again")
        assert "reconnecting…" not in app.sub_title
        assert getattr(live.watcher, "listener_pid", None) not in (None, pid)


@run_async
async def test_nothing_hidden_keeps_repainting(workdir: Path) -> None:
    """An idle live app must cost next to nothing: no widget of a screen under the plans
    screen (the loading screen's spinner) keeps a repaint timer running."""
    copy_demo(workdir / "demo.db")
    app = live_app(database_url("demo.db"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, app)
        hidden = [s for s in app.screen_stack if s is not screen]
        assert hidden  # the loading screen stays below

        def ticking() -> list[object]:
            return [node for s in hidden for node in s.walk_children(with_self=True)
                    if getattr(node, "auto_refresh", None)]

        # The loading screen hears it was suspended through its message queue, which can
        # lag the plans screen's first detail on a loaded machine.
        await until(pilot, lambda: ticking() == [], "no hidden widget keeps a repaint timer")


def configured_app(workdir: Path, config_text: str) -> PlandeskApp:
    """The app as `plandesk --config config.toml --db demo.db` builds it, live on."""
    (workdir / "config.toml").write_text(config_text)
    config, problem = app_config(str(workdir / "config.toml"),
                                 database_flag=str(workdir / "demo.db"), read_only_flag=None)
    assert problem is None
    app = PlandeskApp(database_url(config.settings.database), config=config)
    app.LIVE_UPDATES = True
    app.live_clock = lambda: FROZEN  # type: ignore[method-assign]
    return app


@run_async
async def test_the_configured_refresh_interval_is_what_live_uses(
        workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    create_demo(workdir / "demo.db")
    waits: list[float] = []  # every interval the watching worker waited for a change
    wait = SqliteChangeWatcher.wait

    def recording(self: SqliteChangeWatcher, timeout: float) -> bool:
        waits.append(timeout)
        return wait(self, timeout)

    monkeypatch.setattr(SqliteChangeWatcher, "wait", recording)
    app = configured_app(workdir, "refresh_seconds = 0.3\n")
    writer = create_db_engine(database_url(workdir / "demo.db"))
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await opened(pilot, app)
            await until(pilot, lambda: len(waits) >= 2, "the watcher waited twice")
            assert app.live is not None and app.live.poll_seconds == 0.3
            assert set(waits) == {0.3}
            with session_scope(writer) as session:
                new_id = create_plan(session, namespaced_name="ops/zz-configured",
                                     description="added elsewhere").plan_id
            tree = screen.plan_tree
            await until(pilot, lambda: new_id in tree.nodes_by_plan, "the new root appearing")
            assert header_says(app, "updated 12:03:04")
            assert set(waits) == {0.3}
    finally:
        writer.dispose()


@run_async
async def test_refresh_seconds_zero_turns_live_updates_off(workdir: Path) -> None:
    create_demo(workdir / "demo.db")
    app = configured_app(workdir, "refresh_seconds = 0\n")
    writer = create_db_engine(database_url(workdir / "demo.db"))
    try:
        async with app.run_test(size=SIZE) as pilot:
            screen = await opened(pilot, app)
            assert header_says(app, "live off")
            assert app.live is None
            assert not [w for w in app.workers if w.group.startswith("live")]
            # ctrl+r still reads what others committed
            with session_scope(writer) as session:
                root = create_plan(session, namespaced_name="aaa/manual-refresh",
                                   description="added elsewhere").plan_id
            tree = screen.plan_tree
            assert root not in tree.nodes_by_plan
            await pilot.press("ctrl+r")
            await until(pilot, lambda: root in tree.nodes_by_plan, "the reload")
            assert header_says(app, "live off") and app.live is None
    finally:
        writer.dispose()
