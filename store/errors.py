"""What went wrong with a database, said for the person at the keyboard: the error classes and
the translation of driver errors (SQLite, psycopg, the disk) into them."""

from __future__ import annotations

import errno
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from store.locations import display_name, sqlite_path

# Opening a WAL database creates its 32 KiB shared-memory file even to read; below this much
# free space that fails half-way and leaves a stub behind, so we refuse before trying.
MIN_FREE_BYTES_TO_OPEN = 64 * 1024


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


class UnsupportedDatabaseError(StoreError):
    title = "Unsupported database URL"


class DiskFullError(StoreError):
    title = "Disk full"


class DatabaseReplacedError(StoreError):
    title = "Database file replaced or deleted"


class ReadOnlyModeError(StoreError):
    """Something that would write was asked for while plandesk runs with --read-only."""

    title = "Read-only mode"


def disk_full_message(where: str) -> str:
    return f"The disk holding {where} is full. Free some space there and try again."


def _disk_is_full(url: str) -> bool:
    path = sqlite_path(url)
    try:
        return path is not None and shutil.disk_usage(path.parent).free < MIN_FREE_BYTES_TO_OPEN
    except OSError:
        return False


def translate_error(exc: BaseException, url: str) -> StoreError | None:
    """A clear StoreError for a low-level driver error we recognise, else None."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).lower()
    where = display_name(url)
    if isinstance(original, OSError) and original.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(disk_full_message(where))
    if (
        "database or disk is full" in text
        or "no space left on device" in text
        or "could not extend file" in text
        or getattr(original, "sqlite_errorname", "") == "SQLITE_FULL"
    ):
        return DiskFullError(disk_full_message(where))
    if "disk i/o error" in text:
        # SQLite reports a full disk while growing its shared-memory file as an I/O error
        if _disk_is_full(url):
            return DiskFullError(disk_full_message(where))
        return StoreError(f"The disk reported an I/O error on {where}; check the disk and "
                          "its free space, then try again.")
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
    if any(sign in text for sign in ("connection refused", "could not connect",
                                     "connection failed", "failed to resolve host")):
        # the driver's own first line (host, port, the server's reason); never the URL
        reason = str(original).strip().splitlines()[0] if str(original).strip() else ""
        return StoreError(f"Cannot connect to {where}: {reason}")
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
    except (sa.exc.DBAPIError, sqlite3.Error, OSError) as exc:
        clear = translate_error(exc, url)
        if clear is None:
            raise
        raise clear from exc
