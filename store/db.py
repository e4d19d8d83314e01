"""Where the database is and how to connect to it (the errors it raises live in store.errors)."""

from __future__ import annotations

import shutil
import sqlite3
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine import Engine as Engine  # re-exported: tui names the type from store
from sqlmodel import Session as Session  # re-exported: tui names the type from store

# re-exported: callers name the errors and their translation from store.db, as before
from store.errors import MIN_FREE_BYTES_TO_OPEN as MIN_FREE_BYTES_TO_OPEN
from store.errors import DatabaseAheadError as DatabaseAheadError
from store.errors import DatabaseLockedError as DatabaseLockedError
from store.errors import DatabaseMissingError as DatabaseMissingError
from store.errors import DatabaseReplacedError as DatabaseReplacedError
from store.errors import DiskFullError as DiskFullError
from store.errors import NotADatabaseError as NotADatabaseError
from store.errors import ReadOnlyDatabaseError as ReadOnlyDatabaseError
from store.errors import ReadOnlyModeError as ReadOnlyModeError
from store.errors import StoreError as StoreError
from store.errors import UnsupportedDatabaseError as UnsupportedDatabaseError
from store.errors import UnversionedDatabaseError as UnversionedDatabaseError
from store.errors import disk_full_message as disk_full_message
from store.errors import to_store_error as to_store_error
from store.errors import translate_error as translate_error
from store.errors import translated_errors as translated_errors

# re-exported: where a database is, readable before SQLAlchemy is loaded
from store.locations import archive_root as archive_root
from store.locations import artifacts_root as artifacts_root
from store.locations import database_url as database_url
from store.locations import default_database_path as default_database_path
from store.locations import display_name as display_name
from store.locations import is_writable
from store.locations import sqlite_path as sqlite_path

BUSY_TIMEOUT_MS = 5000
MIGRATION_CACHE_KIB = 512 * 1024
SQLITE_MAGIC = b"SQLite format 3\x00"
# SQLAlchemy 2.1 connects plain postgresql:// URLs through psycopg 3 too
SUPPORTED_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql", "postgresql+psycopg")
SUPPORTED_URLS = (
    "a file path, sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DATABASE"
)

SessionFactory = Callable[[], AbstractContextManager[Session]]
"""Opens a session that commits on success (``session_scope`` bound to an engine)."""


def parsed_url(url: str) -> URL | None:
    """SQLAlchemy's reading of `url`, or None when it is not a URL."""
    try:
        return make_url(url)
    except sa.exc.ArgumentError:
        return None


def check_supported_url(url: str) -> None:
    """Refuse, before any driver is loaded, a URL whose backend plandesk does not ship."""
    parsed = parsed_url(url)
    if parsed is None:
        raise UnsupportedDatabaseError(
            f"{display_name(url)} is not a database URL plandesk understands; use {SUPPORTED_URLS}."
        )
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise UnsupportedDatabaseError(
            f"{parsed.drivername}:// databases are not supported; plandesk supports SQLite and "
            f"PostgreSQL (through psycopg 3): use {SUPPORTED_URLS}."
        )


@dataclass(frozen=True)
class FileIdentity:
    """Which file a path named at one moment: a rename or delete-and-recreate changes it."""

    device: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> FileIdentity | None:
        try:
            status = path.stat()
        except FileNotFoundError:
            return None
        return cls(status.st_dev, status.st_ino)


class DatabaseIdentity:
    """The SQLite file an engine opened, so that a write never lands in a replaced one.

    SQLite keeps writing to the file it opened (and finds its -wal by name), so if the path
    now names another file, or none, every write is refused instead.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.opened = FileIdentity.of(path)

    def capture_if_new(self) -> None:
        """A database this engine created: remember it once SQLite has made the file."""
        if self.opened is None:
            self.opened = FileIdentity.of(self.path)

    def check(self) -> None:
        if self.opened is None:
            return
        now = FileIdentity.of(self.path)
        if now is None:
            raise DatabaseReplacedError(
                f"{self.path} was deleted or moved away while plandesk had it open. plandesk "
                "stopped writing to it so that nothing is lost in a file no one can see."
            )
        if now != self.opened:
            raise DatabaseReplacedError(
                f"{self.path} was replaced by another file while plandesk had it open. "
                "plandesk stopped writing so that the new file is not damaged."
            )


_identities: weakref.WeakKeyDictionary[Engine, DatabaseIdentity] = weakref.WeakKeyDictionary()


def check_database_file(engine: Engine) -> None:
    """Raise DatabaseReplacedError if the engine's SQLite file is no longer at its path."""
    identity = _identities.get(engine)
    if identity is not None:
        identity.check()


def _watch_identity(engine: Engine, path: Path) -> None:
    identity = DatabaseIdentity(path)
    _identities[engine] = identity

    @event.listens_for(engine, "do_connect")
    def _open_only_that_file(
        _dialect: object, _record: object, cargs: list[Any], cparams: dict[str, Any]
    ) -> None:
        identity.check()
        if identity.opened is not None:
            # mode=rw: SQLite must never create an empty database where the file was deleted
            cargs[0] = f"file:{quote(str(path))}?mode=rw"
            cparams["uri"] = True

    @event.listens_for(engine, "connect")
    def _remember_created(_dbapi_connection: object, _record: object) -> None:
        identity.capture_if_new()

    @event.listens_for(engine, "begin")
    def _check_before_begin(_connection: sa.Connection) -> None:
        identity.check()

    @event.listens_for(engine, "commit")
    def _check_before_commit(_connection: sa.Connection) -> None:
        identity.check()

    @event.listens_for(engine, "checkout")
    def _count_changes(dbapi_connection: Any, record: Any, _proxy: object) -> None:
        record.info["changes_at_checkout"] = dbapi_connection.total_changes

    @event.listens_for(engine, "checkin")
    def _empty_wal_after_writes(dbapi_connection: Any, record: Any) -> None:
        # SQLite finds the -wal by name: frames left in it would be applied to whatever file
        # is put at this path next. Emptying it after each write leaves nothing to adopt.
        if dbapi_connection is None:
            return
        if dbapi_connection.total_changes == record.info.get("changes_at_checkout"):
            return
        try:
            identity.check()
            dbapi_connection.execute("PRAGMA busy_timeout = 0")  # best effort, never a stall
            try:
                dbapi_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            finally:
                dbapi_connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except (StoreError, sqlite3.Error):
            pass  # readers in the way or the file is gone: the identity checks still hold


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
        if read_only:
            # mode=ro already refuses writes to the file; query_only refuses them in SQL too
            cursor.execute("PRAGMA query_only = ON")
        else:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    return on_connect


def _postgres_options(url: str, read_only: bool) -> str:
    """The server settings of plandesk's PostgreSQL sessions, after those the URL's own
    `options` sets:

    - synchronize_seqscans off: a broad search ("tas") reads the plans with a sequential scan
      and stops at the first 1,001 matches; a synchronized scan starts where another scan of
      the table is, so the same text listed other first matches each time another session
      had scanned the table (and a live refresh reshuffled them). Off, a scan starts at the
      table's first block.
    - with `read_only`, default_transaction_read_only on: the server refuses every write,
      whatever a bug in plandesk might try.
    """
    given = make_url(url).query.get("options")
    options = [given] if isinstance(given, str) else list(given or ())
    options.append("-c synchronize_seqscans=off")
    if read_only:
        options.append("-c default_transaction_read_only=on")
    return " ".join(options)


def create_db_engine(
    url: str,
    *,
    read_only: bool = False,
    foreign_keys: bool = True,
    transactional_ddl: bool = False,
) -> Engine:
    """An engine for `url`. SQLite gets foreign keys, WAL and a busy timeout on every connection.

    `read_only` opens SQLite with mode=ro and query_only, so that inspecting a file can never
    change it, and makes every PostgreSQL transaction read-only (default_transaction_read_only).
    `transactional_ddl` applies SQLAlchemy's pysqlite recipe (we emit BEGIN ourselves) so that
    DDL takes part in the transaction and a failed migration leaves nothing behind.
    """
    check_supported_url(url)
    path = sqlite_path(url)
    if path is None:
        if make_url(url).get_backend_name() == "sqlite":
            return sa.create_engine(url)
        return sa.create_engine(url, pool_pre_ping=True,
                                connect_args={"options": _postgres_options(url, read_only)})
    if read_only:
        engine = sa.create_engine(
            "sqlite:///file:" + str(path) + "?mode=ro&uri=true",
            poolclass=sa.pool.NullPool,
        )
    else:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool if transactional_ddl else None)
        # registered first, so that it runs before the BEGIN IMMEDIATE listener below
        _watch_identity(engine, path)
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
    for suffix in ("", "-wal", "-shm", "-journal"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def check_room_to_open(path: Path) -> None:
    """Refuse to open a WAL database on a full disk before SQLite leaves a stub -shm file."""
    if path.with_name(path.name + "-shm").exists():
        return
    if shutil.disk_usage(path.parent).free < MIN_FREE_BYTES_TO_OPEN:
        raise DiskFullError(disk_full_message(str(path)) + " Nothing was read or written.")


def check_writable(path: Path) -> None:
    """Refuse a file marked read-only, even for root (who could write it anyway)."""
    if not is_writable(path):
        raise ReadOnlyDatabaseError(
            f"{path} is read-only (or its folder is); plandesk needs to write to it."
        )


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
