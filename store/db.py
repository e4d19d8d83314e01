"""Where the database is, how to connect to it, and what went wrong when we could not."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import platformdirs
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine as Engine  # re-exported: tui names the type from store
from sqlalchemy.engine import make_url
from sqlmodel import Session

BUSY_TIMEOUT_MS = 5000
MIGRATION_CACHE_KIB = 512 * 1024
SQLITE_MAGIC = b"SQLite format 3\x00"

SessionFactory = Callable[[], AbstractContextManager[Session]]
"""Opens a session that commits on success (``session_scope`` bound to an engine)."""


class StoreError(Exception):
    """An error whose message is meant for the person at the keyboard."""

    title = "Database error"


class DatabaseMissingError(StoreError):
    title = "No such database"


class NotADatabaseError(StoreError):
    title = "Not a database"


class ReadOnlyDatabaseError(StoreError):
    title = "Read-only database"


class DatabaseLockedError(StoreError):
    title = "Database locked"


class DatabaseAheadError(StoreError):
    title = "Database is newer than plandesk"


class UnversionedDatabaseError(StoreError):
    title = "Unknown database"


def default_database_path() -> Path:
    return Path(platformdirs.user_data_dir("plandesk", appauthor=False)) / "plandesk.db"


def database_url(target: str | os.PathLike[str] | None = None) -> str:
    """A SQLAlchemy URL from a path or URL; None means $PLANDESK_DB, then the user data dir."""
    if target is None:
        target = os.environ.get("PLANDESK_DB") or default_database_path()
    text = os.fspath(target)
    if "://" in text:
        return text
    return "sqlite:///" + str(Path(text).expanduser().resolve())


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other backends and in-memory databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def display_name(url: str) -> str:
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_connect_listener(*, foreign_keys: bool, read_only: bool, manual_begin: bool) -> Any:
    def on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        if manual_begin:
            dbapi_connection.isolation_level = None
            # Migrations walk and copy whole tables: give them memory instead of disk seeks.
            cursor.execute(f"PRAGMA cache_size = -{MIGRATION_CACHE_KIB}")
            cursor.execute("PRAGMA temp_store = MEMORY")
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")
        if not read_only:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    return on_connect


def create_db_engine(
    url: str,
    *,
    read_only: bool = False,
    foreign_keys: bool = True,
    transactional_ddl: bool = False,
) -> Engine:
    """An engine for `url`. SQLite gets foreign keys, WAL and a busy timeout on every connection.

    `read_only` opens SQLite with mode=ro so that inspecting a file can never change it.
    `transactional_ddl` applies SQLAlchemy's pysqlite recipe (we emit BEGIN ourselves) so that
    DDL takes part in the transaction and a failed migration leaves nothing behind.
    """
    path = sqlite_path(url)
    if path is None:
        if make_url(url).get_backend_name() == "sqlite":
            return sa.create_engine(url)
        return sa.create_engine(url, pool_pre_ping=True)
    if read_only:
        engine = sa.create_engine(
            "sqlite:///file:" + str(path) + "?mode=ro&uri=true",
            poolclass=sa.pool.NullPool,
        )
    else:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool if transactional_ddl else None)
    event.listen(
        engine,
        "connect",
        _sqlite_connect_listener(
            foreign_keys=foreign_keys, read_only=read_only, manual_begin=transactional_ddl
        ),
    )
    if transactional_ddl:

        @event.listens_for(engine, "begin")
        def _begin(connection: sa.Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def check_sqlite_file(path: Path) -> None:
    """Refuse, without writing, a file that does not exist or is not a SQLite database."""
    if not path.exists():
        raise DatabaseMissingError(f"{path} does not exist.")
    if path.is_dir():
        raise NotADatabaseError(f"{path} is a directory, not a database file.")
    if path.stat().st_size == 0:
        return
    with path.open("rb") as handle:
        header = handle.read(len(SQLITE_MAGIC))
    if header != SQLITE_MAGIC:
        raise NotADatabaseError(f"{path} is not a SQLite database (unrecognised file header).")


def remove_sqlite_files(path: Path) -> None:
    """Delete a SQLite database we just created, with its WAL and shared-memory files."""
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)


def check_writable(path: Path) -> None:
    """Refuse a file marked read-only, even for root (who could write it anyway)."""
    no_write_bits = not path.stat().st_mode & 0o222
    if no_write_bits or not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
        raise ReadOnlyDatabaseError(
            f"{path} is read-only (or its folder is); plandesk needs to write to it."
        )


def translate_error(exc: BaseException, url: str) -> StoreError | None:
    """A clear StoreError for a low-level driver error we recognise, else None."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    where = display_name(url)
    if "database is locked" in text or "database table is locked" in text:
        return DatabaseLockedError(
            f"{where} is locked by another program; close it or try again in a moment."
        )
    if "file is not a database" in text or "file is encrypted" in text:
        return NotADatabaseError(f"{where} is not a SQLite database.")
    if "readonly" in text or "read-only" in text:
        return ReadOnlyDatabaseError(f"{where} is read-only; plandesk needs to write to it.")
    if "unable to open database" in text:
        return DatabaseMissingError(f"{where} cannot be opened.")
    if "connection refused" in text or "could not connect" in text or "connection failed" in text:
        return StoreError(f"Cannot connect to {where}: {exc}")
    return None


def to_store_error(exc: BaseException, url: str) -> StoreError:
    """A StoreError to show the person at the keyboard, whatever a database call raised."""
    if isinstance(exc, StoreError):
        return exc
    clear = None
    if isinstance(exc, sa.exc.DBAPIError | sqlite3.Error | OSError):
        clear = translate_error(exc, url)
    return clear or StoreError(f"{display_name(url)} could not be opened: {exc}")


@contextmanager
def translated_errors(url: str) -> Iterator[None]:
    try:
        yield
    except StoreError:
        raise
    except (sa.exc.DBAPIError, sqlite3.Error) as exc:
        clear = translate_error(exc, url)
        if clear is None:
            raise
        raise clear from exc


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def engine_scope(url_or_engine: str | Engine) -> Iterator[Engine]:
    """The given engine, or one made for a URL and disposed of afterwards."""
    if isinstance(url_or_engine, Engine):
        yield url_or_engine
        return
    engine = create_db_engine(url_or_engine)
    try:
        yield engine
    finally:
        engine.dispose()


def artifacts_root(url: str) -> Path:
    """Where decision artifact folders live: $PLANDESK_ARTIFACTS, else beside a SQLite file,
    else in the user data dir."""
    configured = os.environ.get("PLANDESK_ARTIFACTS")
    if configured:
        return Path(configured).expanduser().resolve()
    path = sqlite_path(url)
    if path is not None:
        return path.with_name(path.stem + "-artifacts")
    return Path(platformdirs.user_data_dir("plandesk", appauthor=False)) / "artifacts"


def archive_root(url: str) -> Path:
    """Where a revert moves artifact folders: one sub-folder per correction attempt."""
    return artifacts_root(url) / "_archive"
