"""Programmatic Alembic: where a database stands, and moving it, one revision per transaction.

Every revision runs in its own transaction (on SQLite through the transactional-DDL recipe in
store.db), with foreign keys off on SQLite so that batch table copies cannot cascade deletes,
and `PRAGMA foreign_key_check` before the commit. A failure leaves the database at the
revision it had before that step. Downgrades stash what they drop and upgrades put it back
(store.stash), inside the same per-revision transaction; a downgrade that would still lose
data is refused unless forced.
"""

from __future__ import annotations

import functools
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from store import db, stash
from store.db import (
    DatabaseAheadError,
    DiskFullError,
    StoreError,
    UnversionedDatabaseError,
    check_room_to_open,
    check_sqlite_file,
    check_writable,
    create_db_engine,
    display_name,
    remove_sqlite_files,
    sqlite_path,
    translated_errors,
)
from store.migration_lock import migration_lock
from store.revisions import head_revision as head_revision
from store.revisions import revision_ids
from store.revisions import script_location as script_location

if TYPE_CHECKING:
    # Alembic is imported where a migration or the history needs it: opening a database that
    # is already at head never loads it.
    from alembic.config import Config
    from alembic.script import ScriptDirectory

OUR_TABLES = frozenset(
    {
        "actions",
        "action_arguments",
        "action_invariants",
        "plans",
        "plan_projects",
        "plan_arguments",
        "plan_invariants",
        "decisions",
        "automation_profiles",
        "plan_repairs",
        "correction_attempts",
    }
)

ProgressStep = Literal["start", "rows", "end"]


@dataclass(frozen=True)
class Revision:
    revision: str
    description: str


@dataclass(frozen=True)
class MigrationProgress:
    """One report from a running migration: a revision starting, moving rows, or ending."""

    step: ProgressStep
    revision: Revision
    index: int
    total: int
    message: str = ""
    done: int = 0
    count: int = 0


ProgressCallback = Callable[[MigrationProgress], None]
StepHook = Callable[[sa.Connection, Revision, Callable[[str], None]], None]


class DataLossError(StoreError):
    """A downgrade would destroy data that no later upgrade can bring back."""

    title = "Downgrade would lose data"

    def __init__(self, where: str, target: str, losses: tuple[stash.Loss, ...]) -> None:
        self.losses = losses
        listed = "\n".join(f"  {loss}" for loss in losses)
        super().__init__(
            f"Downgrading {where} to {target} would lose data that no upgrade can restore:\n"
            f"{listed}\nNothing was changed."
        )


@dataclass(frozen=True)
class MigrationStatus:
    url: str
    current: str | None
    head: str
    pending: tuple[Revision, ...] = field(default=())
    stashed: tuple[tuple[str, int], ...] = field(default=())
    """Stash tables in the database and their rows: what a downgrade kept for the next
    upgrade, or rows an upgrade could not put back."""

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    @property
    def where(self) -> str:
        return display_name(self.url)


def alembic_config(
    connection: sa.Connection | None = None,
    report_rows: Callable[[str, int, int], None] | None = None,
) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location()))
    config.attributes["configure_logging"] = False
    if connection is not None:
        config.attributes["connection"] = connection
    if report_rows is not None:
        config.attributes["report_rows"] = report_rows
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    """The revision scripts, read once: they are part of the installed code."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def _describe(script_doc: str | None) -> str:
    return (script_doc or "").strip().splitlines()[0].rstrip(".") if script_doc else ""


@functools.cache
def history() -> tuple[Revision, ...]:
    """Every revision the code knows, oldest first."""
    scripts = _scripts()
    return tuple(
        Revision(s.revision, _describe(s.doc)) for s in reversed(list(scripts.walk_revisions()))
    )


def _steps_between(current: str | None, target: str) -> tuple[Revision, ...]:
    if current == target:
        return ()  # nothing to describe: no need to read the scripts with Alembic
    revisions = history()
    ids = known_revisions()
    start = 0 if current is None else ids.index(current) + 1
    end = ids.index(target) + 1
    return tuple(revisions[start:end])


def _read_current(connection: sa.Connection, url: str) -> str | None:
    tables = set(sa.inspect(connection).get_table_names())
    if "alembic_version" not in tables:
        ours = sorted(tables & OUR_TABLES)
        if ours:
            raise UnversionedDatabaseError(
                f"{display_name(url)} has plandesk tables ({', '.join(ours)}) but no "
                "alembic_version row, so its schema revision is unknown. plandesk will not "
                "guess; stamp it with `alembic stamp` once you know its revision."
            )
        if tables:
            raise UnversionedDatabaseError(
                f"{display_name(url)} is a database of some other program "
                f"(tables: {', '.join(sorted(tables)[:5])})."
            )
        return None
    # what Alembic's MigrationContext.get_current_revision reads, without importing Alembic
    versions = [row[0] for row in connection.execute(
        sa.text("SELECT version_num FROM alembic_version"))]
    if len(versions) > 1:
        raise StoreError(f"{display_name(url)} records several revisions "
                         f"({', '.join(sorted(versions))}); plandesk ships a single line.")
    current = versions[0] if versions else None
    known = set(known_revisions())
    if current is not None and current not in known:
        raise DatabaseAheadError(
            f"{display_name(url)} is at revision {current}, which this plandesk does not know "
            f"(its newest is {head_revision()}). It was written by a newer plandesk; "
            "upgrade plandesk instead. Nothing was changed."
        )
    return current


def inspect_database(url: str, *, must_exist: bool = True) -> MigrationStatus:
    """Where the database stands, read without writing a single byte."""
    path = sqlite_path(url)
    if path is not None:
        if not path.exists() and not must_exist:
            return MigrationStatus(
                url, None, head_revision(), _steps_between(None, head_revision())
            )
        check_sqlite_file(path)
        check_room_to_open(path)
    engine = create_db_engine(url, read_only=True)
    try:
        with translated_errors(url), engine.connect() as connection:
            current = _read_current(connection, url)
            stashed = stash.stashed_rows(connection)
    finally:
        engine.dispose()
    head = head_revision()
    return MigrationStatus(url, current, head, _steps_between(current, head), stashed)


def backup_sqlite(url: str, destination: Path | None = None) -> Path:
    """A consistent copy of a SQLite database made with SQLite's online backup API.

    The copy is taken under the database's write lock, so a database another program is
    writing to is refused before anything is copied; a failed copy is removed entirely.
    """
    path = sqlite_path(url)
    if path is None:
        raise StoreError("Backups are made for SQLite databases only.")
    if destination is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        destination = path.with_name(f"{path.stem}.backup-{stamp}{path.suffix or '.db'}")
    if destination.exists():
        raise StoreError(f"{destination} already exists; plandesk will not overwrite it.")
    with translated_errors(url):
        needed = sum(
            p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists()
        )
        free = shutil.disk_usage(destination.parent).free
        if free < needed + db.MIN_FREE_BYTES_TO_OPEN:
            raise DiskFullError(
                f"Not enough free space for a backup of {path}: it needs about "
                f"{needed / 2**20:.1f} MiB and {free / 2**20:.1f} MiB are free. Free some "
                "space, or go on without a backup."
            )
        writer = sqlite3.connect(
            f"file:{quote(str(path))}?mode=rw", uri=True, isolation_level=None,
            timeout=db.BUSY_TIMEOUT_MS / 1000,
        )
        try:
            # The write lock first: no full copy of a database we would then refuse to
            # migrate, and no one can change it while it is copied. SQLite will not back up
            # through the connection holding the lock, so the pages are read by another one.
            writer.execute("BEGIN IMMEDIATE")
            try:
                _copy_database(path, destination)
            finally:
                writer.execute("ROLLBACK")
        finally:
            writer.close()
    return destination


def _copy_database(path: Path, destination: Path) -> None:
    """SQLite's online backup of `path` into a new file; a failed copy is removed entirely."""
    try:
        source = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
        try:
            target = sqlite3.connect(destination)
            try:
                source.backup(target)
            finally:
                target.close()
        finally:
            source.close()
    except BaseException:
        remove_sqlite_files(destination)
        raise


def _check_foreign_keys(connection: sa.Connection) -> None:
    if connection.dialect.name != "sqlite":
        return
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        sample = ", ".join(f"{row[0]} row {row[1]} -> {row[2]}" for row in problems[:5])
        raise StoreError(
            f"Migration would leave {len(problems)} broken foreign key(s) ({sample}); rolled back."
        )


def _migration_engine(url: str) -> Engine:
    return create_db_engine(url, foreign_keys=False, transactional_ddl=True)


def _run_steps(
    url: str,
    steps: tuple[Revision, ...],
    move: Callable[[Config, str], None],
    target_of: Callable[[int], str],
    progress: ProgressCallback | None,
    before: StepHook,
    after: StepHook,
) -> None:
    engine = _migration_engine(url)
    total = len(steps)
    try:
        for index, step in enumerate(steps):

            def report_rows(
                message: str, done: int, count: int, *, _i: int = index, _s: Revision = step
            ) -> None:
                if progress is not None:
                    progress(MigrationProgress("rows", _s, _i, total, message, done, count))

            if progress is not None:
                progress(MigrationProgress("start", step, index, total, step.description))
            def note(message: str, *, _report: Callable[..., None] = report_rows) -> None:
                _report(message, 0, 0)

            with (
                translated_errors(url),
                engine.connect() as connection,
                connection.begin(),
            ):
                before(connection, step, note)
                move(alembic_config(connection, report_rows), target_of(index))
                after(connection, step, note)
                # both can take seconds on a big table: say so rather than look stuck
                report_rows("Checking foreign keys", 0, 0)
                _check_foreign_keys(connection)
                report_rows("Committing", 0, 0)
            if progress is not None:
                progress(MigrationProgress("end", step, index, total, step.description))
    finally:
        engine.dispose()


def _prepare_write(url: str, *, must_exist: bool) -> MigrationStatus:
    status = inspect_database(url, must_exist=must_exist)
    path = sqlite_path(url)
    if path is not None:
        if path.exists():
            check_writable(path)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
    return status


def upgrade(
    url: str,
    target: str = "head",
    *,
    progress: ProgressCallback | None = None,
    backup: bool | Path = False,
    on_wait: Callable[[str], None] | None = None,
) -> MigrationStatus:
    """Apply pending revisions up to `target`, each in its own transaction.

    `backup` (SQLite only) copies the database first: True for a file next to it, or a path.
    On PostgreSQL it first waits for any other migration of the database (`on_wait` hears
    that it waits), then reads where the database stands, so a second run finds it done.
    """
    with migration_lock(url, on_wait):
        return _upgrade_locked(url, target, progress, backup)


def _upgrade_locked(
    url: str, target: str, progress: ProgressCallback | None, backup: bool | Path
) -> MigrationStatus:
    status = _prepare_write(url, must_exist=False)
    target_id = status.head if target == "head" else target
    if target_id not in known_revisions():
        raise StoreError(f"Unknown revision {target!r}; known: {', '.join(known_revisions())}.")
    ids = known_revisions()
    if status.current is not None and ids.index(target_id) < ids.index(status.current):
        raise StoreError(
            f"{status.where} is already past {target_id} (at {status.current}); "
            "use downgrade to go back."
        )
    steps = _steps_between(status.current, target_id)
    path = sqlite_path(url)
    if backup and steps and path is not None and status.current is not None:
        backup_sqlite(url, backup if isinstance(backup, Path) else None)
    _run_steps(
        url,
        steps,
        _alembic_upgrade,
        lambda index: steps[index].revision,
        progress,
        before=lambda connection, step, _note: stash.before_upgrade(connection, step.revision),
        after=lambda connection, step, note: stash.after_upgrade(connection, step.revision, note),
    )
    return inspect_database(url)


def _downgrade_steps(status: MigrationStatus, target: str) -> tuple[Revision, ...]:
    """The revisions a downgrade to `target` undoes, newest first."""
    ids = known_revisions()
    if target != "base" and target not in ids:
        raise StoreError(f"Unknown revision {target!r}; known: base, {', '.join(ids)}.")
    if status.current is None:
        raise StoreError(f"{status.where} has no schema to downgrade.")
    stop = 0 if target == "base" else ids.index(target) + 1
    upto = ids.index(status.current) + 1
    if stop > upto - 1 and target != status.current:
        raise StoreError(f"{status.where} is at {status.current}, below {target}.")
    return tuple(reversed(history()[stop:upto]))


def downgrade_losses(url: str, target: str) -> tuple[stash.Loss, ...]:
    """What downgrading to `target` would lose for good (empty: nothing), read-only."""
    status = inspect_database(url)
    undo = _downgrade_steps(status, target)
    engine = create_db_engine(url, read_only=True)
    try:
        with translated_errors(url), engine.connect() as connection:
            return tuple(
                stash.losses(
                    connection,
                    [step.revision for step in undo],
                    to_base=target == "base",
                    data_tables=OUR_TABLES,
                )
            )
    finally:
        engine.dispose()


def downgrade(
    url: str,
    target: str,
    *,
    progress: ProgressCallback | None = None,
    force: bool = False,
    backup: bool | Path = False,
    on_wait: Callable[[str], None] | None = None,
) -> MigrationStatus:
    """Undo revisions down to `target` ("base" removes every table), one transaction each.

    What a downgrade drops is stashed and restored by the next upgrade. Data that cannot be
    kept raises DataLossError listing it, before anything is written, unless `force`.
    `backup` (SQLite only) copies the database first, as on upgrade. On PostgreSQL it waits
    for any other migration of the database first, as upgrade does.
    """
    with migration_lock(url, on_wait):
        return _downgrade_locked(url, target, progress, force, backup)


def _downgrade_locked(
    url: str,
    target: str,
    progress: ProgressCallback | None,
    force: bool,
    backup: bool | Path,
) -> MigrationStatus:
    status = _prepare_write(url, must_exist=True)
    undo = _downgrade_steps(status, target)
    if not undo:
        return status
    lost = downgrade_losses(url, target)
    if lost and not force:
        raise DataLossError(status.where, target, lost)
    ids = known_revisions()
    if backup and sqlite_path(url) is not None:
        backup_sqlite(url, backup if isinstance(backup, Path) else None)

    def target_of(index: int) -> str:
        position = ids.index(undo[index].revision)
        return ids[position - 1] if position > 0 else "base"

    def after(connection: sa.Connection, step: Revision, _note: Callable[[str], None]) -> None:
        to_base = ids.index(step.revision) == 0
        stash.after_downgrade(connection, step.revision, to_base=to_base)

    _run_steps(
        url,
        undo,
        _alembic_downgrade,
        target_of,
        progress,
        before=lambda connection, step, note: stash.before_downgrade(
            connection, step.revision, note
        ),
        after=after,
    )
    return inspect_database(url)


def known_revisions() -> list[str]:
    return list(revision_ids())


def _alembic_upgrade(config: Config, revision: str) -> None:
    from alembic import command

    command.upgrade(config, revision)


def _alembic_downgrade(config: Config, revision: str) -> None:
    from alembic import command

    command.downgrade(config, revision)
