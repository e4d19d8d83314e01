"""--read-only on SQLite and PostgreSQL: the badge, refused corrections and migrations, and
proof that nothing reaches the database."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from textual.widgets import Header
from tui_states import (
    app_as_configured,
    demo_database,
    legacy_database,
    notifications,
    press,
    run_async,
    settle,
)

from store.db import database_url
from store.revisions import head_revision
from tui.app import PlandeskApp
from tui.screens.correction import CorrectionModal
from tui.screens.error import ErrorScreen
from tui.screens.plans import PlansScreen

SIZE = (120, 36)
# The tree's first root has decisions; 4 shows them, tab reaches the table, down picks #2.
TO_SECOND_DECISION = ("right", "4", "tab", "down")
TABLES = ("plans", "decisions", "correction_attempts", "plan_arguments", "automation_profiles")


def read_only_app(url: str, *, flag: bool = True, config_file: Path | None = None) -> PlandeskApp:
    """The app as `plandesk --read-only --db URL` (or a config's read_only = true) builds it."""
    return app_as_configured(config_file, database_flag=url,
                             read_only_flag=True if flag else None)


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def wal_bytes(folder: Path) -> int:
    return sum(wal.stat().st_size for wal in folder.glob("*.db-wal"))


async def assert_corrections_refused(app: PlandeskApp, pilot) -> None:  # type: ignore[no-untyped-def]
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, PlansScreen)
    assert "read-only" in str(app.query_one(Header).screen_title)
    await press(pilot, *TO_SECOND_DECISION)
    assert screen.detail_pane.selected_decision is not None  # a decision one could correct
    for key in ("r", "a"):
        app.clear_notifications()
        await press(pilot, key)
        assert not isinstance(app.screen, CorrectionModal)
        [toast] = notifications(app)
        assert toast.startswith("Correction: read-only: ")
        assert "corrections are disabled" in toast


@run_async
async def test_sqlite_read_only_refuses_corrections_and_writes_nothing(workdir: Path) -> None:
    path = workdir / demo_database(workdir)
    before, listing = fingerprint(path), {p.name for p in workdir.iterdir()}
    app = read_only_app(database_url(path))
    async with app.run_test(size=SIZE) as pilot:
        await assert_corrections_refused(app, pilot)
        assert app.database is not None and app.database.read_only
        # even a write plandesk did not mean to make is refused by SQLite itself
        assert app.engine is not None
        with pytest.raises(sa.exc.OperationalError, match=r"readonly|read-only"), \
                app.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE plans SET namespaced_name = 'x'")
        await press(pilot, "q")
    assert fingerprint(path) == before
    assert {p.name for p in workdir.iterdir()} - {"demo.db-wal", "demo.db-shm"} == listing
    assert wal_bytes(workdir) == 0


@run_async
async def test_read_only_from_the_config_file(workdir: Path) -> None:
    path = workdir / demo_database(workdir)
    config = workdir / "config.toml"
    config.write_text("read_only = true\n")
    before = fingerprint(path)
    app = read_only_app(database_url(path), flag=False, config_file=config)
    async with app.run_test(size=SIZE) as pilot:
        await assert_corrections_refused(app, pilot)
    assert fingerprint(path) == before


@run_async
async def test_a_read_only_file_opens_in_read_only_mode(workdir: Path) -> None:
    path = workdir / demo_database(workdir)
    path.chmod(0o444)
    before = fingerprint(path)
    app = read_only_app(database_url(path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, PlansScreen)
        assert app.screen.plan_tree.cursor_plan_id is not None
    assert fingerprint(path) == before


@run_async
async def test_a_database_another_program_is_writing_opens_in_read_only_mode(
    workdir: Path,
) -> None:
    path = workdir / demo_database(workdir)
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # holds the write lock for the whole test
        writer.execute("UPDATE plans SET namespaced_name = namespaced_name || '!'")
        app = read_only_app(database_url(path))
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, PlansScreen)
            assert app.screen.plan_tree.cursor_plan_id is not None
            assert notifications(app) == []
    finally:
        writer.execute("ROLLBACK")
        writer.close()


@run_async
async def test_an_old_database_in_read_only_mode_needs_a_migration_and_is_not_migrated(
    workdir: Path,
) -> None:
    path = workdir / legacy_database(workdir)
    before = fingerprint(path)
    app = read_only_app(database_url(path))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ErrorScreen)
        assert str(screen.error).startswith("read-only: ")
        needs = f"is at revision 0002 and needs a migration to {head_revision()}"
        assert needs in str(screen.error)
        await press(pilot, "enter")  # the migration screen's key does nothing here
        assert app.screen is screen
        await press(pilot, "q")
    assert app.return_code == 1
    assert fingerprint(path) == before


def row_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return {table: connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
                    for table in TABLES}
    finally:
        engine.dispose()


def test_postgresql_read_only_refuses_corrections_and_writes_nothing(
    pg_demo_url: str, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pg_url = pg_demo_url
    before = row_counts(pg_url)

    @run_async
    async def scenario() -> None:
        app = read_only_app(pg_url)
        async with app.run_test(size=SIZE) as pilot:
            await assert_corrections_refused(app, pilot)
            assert app.engine is not None
            with pytest.raises(sa.exc.InternalError, match="read-only transaction"), \
                    app.engine.begin() as connection:
                connection.exec_driver_sql("UPDATE plans SET namespaced_name = 'x'")

    scenario()
    assert row_counts(pg_url) == before
    assert os.listdir(workdir / "artifacts")  # the demo's folders, untouched by the app


def test_postgresql_old_database_in_read_only_mode_is_not_migrated(
    pg_url: str, workdir: Path
) -> None:
    from store import migrations

    migrations.upgrade(pg_url, "0003")

    @run_async
    async def scenario() -> None:
        app = read_only_app(pg_url)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert isinstance(app.screen, ErrorScreen)
            assert f"needs a migration to {head_revision()}" in str(app.screen.error)
            await press(pilot, "q")
        assert app.return_code == 1

    scenario()
    assert migrations.inspect_database(pg_url).current == "0003"
