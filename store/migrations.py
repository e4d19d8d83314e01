"""Programmatic Alembic: moving a database up or down, one revision per transaction.

Every revision runs in its own transaction (on SQLite through the transactional-DDL recipe in
store.db), with foreign keys off on SQLite so that batch table copies cannot cascade deletes,
and `PRAGMA foreign_key_check` before the commit. A failure leaves the database at the
revision it had before that step. Downgrades stash what they drop and upgrades put it back
(store.stash), inside the same per-revision transaction; a downgrade that would still lose
data is refused unless forced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from store import stash

# re-exported: callers name backups and the status of a database from store.migrations
from store.backup import backup_sqlite as backup_sqlite
from store.db import check_writable, create_db_engine
from store.errors import StoreError, translated_errors
from store.locations import sqlite_path
from store.migration_lock import migration_lock
from store.migration_status import OUR_TABLES as OUR_TABLES
from store.migration_status import MigrationStatus as MigrationStatus
from store.migration_status import Revision as Revision
from store.migration_status import alembic_config as alembic_config
from store.migration_status import history as history
from store.migration_status import inspect_database as inspect_database
from store.migration_status import known_revisions as known_revisions
from store.migration_status import steps_between
from store.revisions import head_revision as head_revision
from store.revisions import script_location as script_location

if TYPE_CHECKING:
    from alembic.config import Config

ProgressStep = Literal["start", "rows", "end"]


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
    steps = steps_between(status.current, target_id)
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


def _alembic_upgrade(config: Config, revision: str) -> None:
    from alembic import command

    command.upgrade(config, revision)


def _alembic_downgrade(config: Config, revision: str) -> None:
    from alembic import command

    command.downgrade(config, revision)
