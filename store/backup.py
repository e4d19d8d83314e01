"""A consistent copy of a SQLite database before a migration changes it (SQLite's online backup
API, under the database's write lock)."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from store import db
from store.errors import DiskFullError, StoreError, translated_errors
from store.locations import sqlite_path


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
        db.remove_sqlite_files(destination)
        raise
