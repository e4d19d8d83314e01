"""Where a database stands in the revision chain, read without writing: its current revision,
the revisions the code knows, and what an upgrade would apply."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa

from store import stash
from store.db import check_room_to_open, check_sqlite_file, create_db_engine
from store.errors import (
    DatabaseAheadError,
    StoreError,
    UnversionedDatabaseError,
    translated_errors,
)
from store.locations import display_name, sqlite_path
from store.revisions import head_revision, revision_ids, script_location

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


@dataclass(frozen=True)
class Revision:
    revision: str
    description: str


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


def steps_between(current: str | None, target: str) -> tuple[Revision, ...]:
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
                url, None, head_revision(), steps_between(None, head_revision())
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
    return MigrationStatus(url, current, head, steps_between(current, head), stashed)


def known_revisions() -> list[str]:
    return list(revision_ids())
