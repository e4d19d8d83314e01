"""Fixed app states shared by the snapshot tests and `python tests/tui/tui_states.py`
(which writes screenshots/*.svg): the same databases, the same keys, the same sizes.

Databases are built in a given folder and opened by a path relative to it (the tests chdir
there), so nothing on screen depends on where the temporary folder was.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

from textual.pilot import Pilot
from textual.widgets import Input, TextArea
from textual.worker import WorkerCancelled
from ulid import ULID

import store.corrections.recovery
import store.corrections.run
import store.decisions
from store import migrations
from store.corrections import run_correction
from store.db import archive_root, artifacts_root, database_url
from tui.app import PlandeskApp
from tui.live import ending_workers

SIZES = ((80, 24), (160, 48))
FIXED_TIME = "2025-11-03T08:00:00.000000+00:00"


def demo_database(folder: Path) -> str:
    from demo_copy import copy_demo  # tests/ is on the path under pytest and in main()

    copy_demo(folder / "demo.db")
    return "demo.db"


def legacy_database(folder: Path) -> str:
    """A database at revision 0002 with a small legacy forest (no snapshots, NULL roots)."""
    path = folder / "legacy.db"
    migrations.upgrade(database_url(path), "0002")
    rows = [
        # plan_id, parent, root, name, phase, state, automation_profile
        ("01J0A00000LEGACYR00T000001", None, None, "ops/rotate-keys", "execute", "processing",
         "balanced"),
        ("01J0B00000LEGACYCH1LD00002", "01J0A00000LEGACYR00T000001", None, "ops/rotate-db-keys",
         "execute", "errored", '{"profile_name": "supervised", "provenance": "legacy"}'),
        ("01J0C00000LEGACYGRANDCH003", "01J0B00000LEGACYCH1LD00002", None, "ops/verify-rotation",
         "strategize", "queued", "balanced"),
        ("01J0D00000LEGACYR00T000004", None, None, "ops/retire-v1-api", "applied", "complete",
         "yolo-mode"),
    ]
    connection = sqlite3.connect(path)
    try:
        with connection:
            for plan_id, parent, root, name, phase, state, profile in rows:
                connection.execute(
                    "INSERT INTO plans (plan_id, parent_plan_id, root_plan_id, namespaced_name,"
                    " namespace, description, phase, processing_state, automation_profile,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, 'ops', ?, ?, ?, ?, ?, ?)",
                    (plan_id, parent, root, name, f"Legacy plan {name}.", phase, state, profile,
                     FIXED_TIME, FIXED_TIME),
                )
            connection.execute(
                "INSERT INTO decisions (decision_id, plan_id, sequence, phase, title, created_at)"
                " VALUES ('01J0000000LEGACYDEC1S10N01', '01J0A00000LEGACYR00T000001', 1,"
                " 'execute', 'Rotate one region at a time', ?)",
                (FIXED_TIME,),
            )
    finally:
        connection.close()
    return "legacy.db"


@contextmanager
def fixed_correction_clock() -> Iterator[None]:
    """Correction attempt ids, decision ids and timestamps from a fixed clock, one minute per
    call, so that corrections made for a snapshot draw the same on every run."""
    start = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    ticks = itertools.count()

    def now() -> str:
        return (start + timedelta(minutes=next(ticks))).isoformat(timespec="microseconds")

    def ulid() -> ULID:
        moment = start + timedelta(minutes=next(ticks))
        return ULID.from_bytes(int(moment.timestamp() * 1000).to_bytes(6, "big") + bytes(10))

    with mock.patch.object(store.corrections.run, "utc_now", now), \
            mock.patch.object(store.corrections.recovery, "utc_now", now), \
            mock.patch.object(store.corrections.run, "ULID", ulid), \
            mock.patch.object(store.decisions, "ULID", ulid):
        yield


def demo_decisions(folder: Path, name: str, plan_name: str) -> tuple[str, list[str]]:
    """The plan id of `plan_name` in the demo database and its decision ids by sequence."""
    connection = sqlite3.connect(folder / name)
    try:
        (plan_id,) = connection.execute(
            "SELECT plan_id FROM plans WHERE namespaced_name = ?", (plan_name,)).fetchone()
        decision_ids = [row[0] for row in connection.execute(
            "SELECT decision_id FROM decisions WHERE plan_id = ? ORDER BY sequence", (plan_id,))]
    finally:
        connection.close()
    return plan_id, decision_ids


def disk_full(source: Path, destination: Path) -> None:
    raise OSError("No space left on device")


def corrected_database(folder: Path) -> str:
    """The demo with two corrections of billing/migrate-invoices: a revert of #1 that failed
    (the first artifact move raised) and a revert of #2 that completed (new decision #4)."""
    name = demo_database(folder)
    url = database_url(folder / name)
    plan_id, (first, second, *_) = demo_decisions(folder, name, "billing/migrate-invoices")
    roots = {"artifacts_root": artifacts_root(url), "archive_root": archive_root(url)}
    with fixed_correction_clock():
        failed = run_correction(url, plan_id, first, "revert", "Stage the cut-over by region.",
                                move=disk_full, **roots)
        complete = run_correction(url, plan_id, second, "revert",
                                  "Make the monolith read-only a day before the cut-over.",
                                  **roots)
    assert (failed.state, complete.state) == ("failed", "complete")
    return name


def typed(text: str) -> tuple[str, ...]:
    """Keys that type `text`."""
    return tuple("space" if char == " " else char for char in text)


def ahead_database(folder: Path) -> str:
    path = folder / "ahead.db"
    migrations.upgrade(database_url(path))
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")
    connection.close()
    return "ahead.db"


def not_a_database(folder: Path) -> str:
    (folder / "notes.db").write_text("These are my meeting notes, not a database.\n")
    return "notes.db"


def read_only_database(folder: Path) -> str:
    name = demo_database(folder)
    (folder / name).chmod(0o444)
    return name


def missing_database(folder: Path) -> str:
    return "nowhere.db"


def locked_database(folder: Path) -> tuple[str, sqlite3.Connection]:
    """A database another connection holds an exclusive lock on (rollback journal mode)."""
    path = folder / "locked.db"
    migrations.upgrade(database_url(path))
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=DELETE")
    connection.execute("BEGIN EXCLUSIVE")
    return "locked.db", connection


def notifications(app: PlandeskApp) -> list[str]:
    """The toasts on screen now, as "title: message"."""
    return [f"{n.title}: {n.message}" for n in app._notifications]


def app_as_configured(
    config_file: Path | None, *, database_flag: str, read_only_flag: bool | None
) -> PlandeskApp:
    """The app as `plandesk [--config FILE] [--read-only] --db …` builds it."""
    from tui.config import app_config

    config, problem = app_config(str(config_file) if config_file else None,
                                 database_flag=database_flag, read_only_flag=read_only_flag)
    app = PlandeskApp(database_url(config.settings.database), config=config,
                      config_problem=problem)
    app.NOTIFICATION_TIMEOUT = 3600  # toasts are checked; a loaded machine must not expire them
    return app


async def settle(pilot: Pilot[None]) -> None:
    """Wait until no worker runs and every message they posted has been handled.

    A worker's message can start another worker (highlight -> detail), so only three quiet
    rounds in a row count as settled. Live refresh's watching worker runs as long as the app
    and is left out (what it starts is not).
    """
    app = pilot.app
    quiet = 0
    for _ in range(60):
        awaited = ending_workers(app)
        try:
            if awaited:  # Textual waits for every worker, the watcher too, given an empty list
                await app.workers.wait_for_complete(awaited)
        except WorkerCancelled:
            # a newer search cancelled an older one (as typing does): that one is done
            quiet = 0
            await pilot.pause()
            continue
        await pilot.pause()
        if any(w.is_running for w in ending_workers(app)):
            quiet = 0
            continue
        quiet += 1
        if quiet == 3:
            break
        await pilot.pause(0.01)
    # on every screen of the stack: app.query does not reach a modal's widgets
    for screen in app.screen_stack:
        for box in screen.query(Input):
            box.cursor_blink = False
        for area in screen.query(TextArea):
            area.cursor_blink = False


async def steady_screen(pilot: Pilot[None]) -> None:
    """Wait until the screen draws the same three times in a row, 20 ms apart: whatever a
    finished worker left to do after a refresh (a focus move, a scroll into view, the footer's
    keys) is drawn before a snapshot is taken, however slow the machine."""
    app = pilot.app
    last, same = "", 0
    for _ in range(200):
        await pilot.pause(0.02)
        drawn = app.export_screenshot()
        same = same + 1 if drawn == last else 0
        if same == 2:
            return
        last = drawn
    raise AssertionError("the screen kept changing for 4 s")


async def until(pilot: Pilot[None], condition: Callable[[], object], what: str) -> None:
    """Wait until `condition()` holds on screen (for states a running worker leaves open,
    where `settle` would wait for the worker itself). A widget the condition asks for that is
    not mounted yet (a screen shown before it composed its children) is "not yet"."""
    from textual.css.query import NoMatches

    for _ in range(1000):
        try:
            if condition():
                return
        except NoMatches:
            pass
        await pilot.pause(0.01)
    raise AssertionError(f"timed out waiting until {what}")


async def press(pilot: Pilot[None], *keys: str) -> None:
    """Press keys one at a time, letting the workers each key starts finish."""
    await settle(pilot)
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


@dataclass(frozen=True)
class State:
    name: str
    database: Callable[[Path], str]
    keys: tuple[str, ...] = ()
    screenshot: bool = False
    demo: bool = field(default=False)

    def app(self, folder: Path) -> PlandeskApp:
        app = PlandeskApp(database_url(self.database(folder)))
        # Toasts are part of what a state shows; on a loaded machine the default 5 s could
        # expire before the screenshot is taken and make the snapshot flaky.
        app.NOTIFICATION_TIMEOUT = 3600
        app.LIVE_UPDATES = False  # nothing else writes; the header stays as it is
        return app

    def run_before(self) -> Callable[[Pilot[None]], Awaitable[None]]:
        async def run(pilot: Pilot[None]) -> None:
            await press(pilot, *self.keys)
            await steady_screen(pilot)

        return run


@dataclass(frozen=True)
class FirstRunState(State):
    """The first start: no database at the default path (here `nowhere.db`) yet."""

    def app(self, folder: Path) -> PlandeskApp:
        app = PlandeskApp(database_url(self.database(folder)),
                          first_run_demo_url=database_url("demo.db"))
        app.NOTIFICATION_TIMEOUT = 3600
        return app


THREE_LEVELS = ("right", "down", "right", "down", "down", "right", "down")

STATES = (
    State("migration_pending", legacy_database, screenshot=True),
    State("migration_done", legacy_database, ("b", "enter", "right")),
    State("plans", demo_database, THREE_LEVELS, screenshot=True),
    State("filter", demo_database, ("slash", *"phase:applied", "enter")),
    State("snapshot_drift", demo_database, ("right", "down", "2"), screenshot=True),
    State("decisions", demo_database, ("right", "4")),
    State("markup_safety", demo_database, ("down", "down", "down")),
    State("help", demo_database, ("question_mark",), screenshot=True),
    # the Decisions tab of billing/migrate-invoices, its table focused, decision #2 highlighted
    State("correction_revert", demo_database,
          ("right", "4", "tab", "down", "r", *typed("Keep it writable for a week")),
          screenshot=True),
    State("correction_append", demo_database,
          ("right", "4", "tab", "down", "a", *typed("Announce the freeze first"))),
    State("correction_empty_guidance", demo_database,
          ("right", "4", "r", "space", "space", "ctrl+s")),
    State("corrections_history", corrected_database, ("right", "5")),
    State("error_ahead", ahead_database),
    State("error_not_a_database", not_a_database),
    State("error_read_only", read_only_database),
    State("error_missing", missing_database),
    # issue 13: layout, copy and the first start
    State("layout_wider_tree", demo_database, (*THREE_LEVELS, "greater_than_sign",
                                                "greater_than_sign")),
    State("layout_tree_hidden", demo_database, ("right", "4", "ctrl+b")),
    State("layout_detail_maximized", demo_database, ("right", "down", "f")),
    FirstRunState("first_run", missing_database),
)


async def _screenshot(state: State, folder: Path, size: tuple[int, int], out: Path) -> None:
    app = state.app(folder)
    async with app.run_test(size=size) as pilot:
        await state.run_before()(pilot)
        app.save_screenshot(str(out))


def main() -> None:
    """Write screenshots/<state>.svg for the README from the states above (at 160x48)."""
    import tempfile

    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root / "tests"))  # for demo_copy, as under pytest
    out_dir = root / "screenshots"
    out_dir.mkdir(exist_ok=True)
    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
    for state in STATES:
        if not state.screenshot:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            cwd = Path.cwd()
            os.chdir(tmp)
            try:
                asyncio.run(_screenshot(state, Path(tmp), (160, 48), out_dir / f"{state.name}.svg"))
            finally:
                os.chdir(cwd)
        print(f"wrote screenshots/{state.name}.svg", file=sys.stderr)


if __name__ == "__main__":
    main()


def run_async(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test body with asyncio (no async pytest plugin is installed)."""
    import functools

    @functools.wraps(test)
    def wrapper(*args: object, **kwargs: object) -> None:
        asyncio.run(test(*args, **kwargs))  # type: ignore[arg-type]

    return wrapper
