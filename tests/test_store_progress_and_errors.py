"""store pieces the app relies on: progress reports that name every slow phase of a migration,
and `to_store_error`, which turns whatever a database call raised into a message for people."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from store import migrations
from store.db import (
    DatabaseLockedError,
    NotADatabaseError,
    StoreError,
    database_url,
    to_store_error,
)
from store.seed import seed_database


def test_every_phase_after_the_row_copy_is_reported(tmp_path: Path) -> None:
    url = database_url(tmp_path / "legacy.db")
    seed_database(url, 500, 4, revision="0002")
    events: list[migrations.MigrationProgress] = []
    migrations.upgrade(url, progress=events.append)
    for revision in ("0003", "0004"):
        steps = [e.message for e in events
                 if e.revision.revision == revision and e.step == "rows"]
        # nothing slow runs between the last of these and the revision's end
        assert steps[-2:] == ["Checking foreign keys", "Committing"], steps
    steps_0003 = [e.message for e in events if e.revision.revision == "0003" and e.step == "rows"]
    copied = max(i for i, m in enumerate(steps_0003) if m.startswith("Copying plans"))
    assert steps_0003[copied + 1] == "Dropping the legacy table and indexing plans"


def test_to_store_error_keeps_store_errors_and_translates_driver_errors(tmp_path: Path) -> None:
    url = database_url(tmp_path / "x.db")
    mine = NotADatabaseError("no")
    assert to_store_error(mine, url) is mine
    locked = to_store_error(sqlite3.OperationalError("database is locked"), url)
    assert isinstance(locked, DatabaseLockedError) and str(tmp_path / "x.db") in str(locked)
    other = to_store_error(ValueError("boom"), url)
    assert type(other) is StoreError
    assert str(other) == f"{tmp_path / 'x.db'} could not be opened: boom"
