"""Databases plandesk must refuse: each gives a clear error and leaves the file byte-identical."""

from __future__ import annotations

import hashlib
import sqlite3
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from store import db as store_db
from store import migrations
from store.db import (
    DatabaseAheadError,
    DatabaseLockedError,
    DatabaseMissingError,
    NotADatabaseError,
    ReadOnlyDatabaseError,
    UnversionedDatabaseError,
    database_url,
)
from tui.cli import main


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file in the folder with a hash of its bytes."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


@pytest.fixture
def legacy_file(tmp_path) -> Path:
    """A real database at 0002 in rollback-journal mode, as an old plandesk left it."""
    path = tmp_path / "old.db"
    migrations.upgrade(database_url(path), "0002")
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode = DELETE")
    connection.execute(
        "INSERT INTO plans (plan_id, namespaced_name, namespace, description, created_at,"
        " updated_at) VALUES ('01J0000000000000000000000A', 'a/b', 'a', 'kept', 'x', 'x')"
    )
    connection.commit()
    connection.close()
    return path


def refuse_everywhere(path: Path, error: type[Exception], *, readable: bool = False) -> None:
    url = database_url(path)
    before = fingerprint(path.parent)
    if readable:
        assert migrations.inspect_database(url).current == "0002"
    else:
        with pytest.raises(error):
            migrations.inspect_database(url)
    with pytest.raises(error):
        migrations.upgrade(url, backup=True)
    result = CliRunner().invoke(main, ["db", "upgrade", "--db", str(path)])
    assert result.exit_code != 0
    assert result.output.startswith("plandesk: ") or "plandesk: " in result.stderr
    assert fingerprint(path.parent) == before


def test_not_a_database(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 50)
    refuse_everywhere(path, NotADatabaseError)


def test_not_a_database_message_is_clear(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("hello")
    with pytest.raises(NotADatabaseError, match="not a SQLite database"):
        migrations.inspect_database(database_url(path))


def test_missing_database_is_not_created_by_current(tmp_path):
    path = tmp_path / "absent.db"
    result = CliRunner().invoke(main, ["db", "current", "--db", str(path)])
    assert result.exit_code == 1
    assert "does not exist" in result.stderr
    assert not path.exists()
    with pytest.raises(DatabaseMissingError):
        migrations.downgrade(database_url(path), "base")
    assert not path.exists()


def test_read_only_file(legacy_file):
    legacy_file.chmod(stat.S_IRUSR | stat.S_IRGRP)
    try:
        refuse_everywhere(legacy_file, ReadOnlyDatabaseError, readable=True)
    finally:
        legacy_file.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_locked_by_another_connection(legacy_file, monkeypatch):
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 100)
    holder = sqlite3.connect(legacy_file, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        before = fingerprint(legacy_file.parent)
        with pytest.raises(DatabaseLockedError, match="locked by another program"):
            migrations.upgrade(database_url(legacy_file))
        with pytest.raises(DatabaseLockedError):
            migrations.inspect_database(database_url(legacy_file))
        assert fingerprint(legacy_file.parent) == before
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert migrations.inspect_database(database_url(legacy_file)).current == "0002"


def test_revision_from_a_newer_plandesk(legacy_file):
    connection = sqlite3.connect(legacy_file)
    connection.execute("UPDATE alembic_version SET version_num = '0099'")
    connection.commit()
    connection.close()
    refuse_everywhere(legacy_file, DatabaseAheadError)
    with pytest.raises(DatabaseAheadError, match="newer plandesk"):
        migrations.inspect_database(database_url(legacy_file))


def test_our_tables_without_a_revision_are_not_guessed_at(legacy_file):
    connection = sqlite3.connect(legacy_file)
    connection.execute("DROP TABLE alembic_version")
    connection.commit()
    connection.close()
    refuse_everywhere(legacy_file, UnversionedDatabaseError)


def test_someone_elses_database(tmp_path):
    path = tmp_path / "other.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE recipes (name TEXT)")
    connection.commit()
    connection.close()
    refuse_everywhere(path, UnversionedDatabaseError)


def test_backup_is_taken_before_upgrading(legacy_file):
    url = database_url(legacy_file)
    backup = legacy_file.with_name("before.db")
    migrations.upgrade(url, backup=backup)
    copy = sqlite3.connect(backup)
    assert copy.execute("SELECT version_num FROM alembic_version").fetchone() == ("0002",)
    assert copy.execute("SELECT description FROM plans").fetchone() == ("kept",)
    copy.close()
    assert migrations.inspect_database(url).current == migrations.head_revision()


@pytest.fixture
def wal_legacy_file(tmp_path) -> Path:
    """A database at 0002 in WAL mode: readers pass a writer's lock, so only a write sees it."""
    path = tmp_path / "old.db"
    migrations.upgrade(database_url(path), "0002")
    return path


def test_backup_checks_the_lock_before_copying(wal_legacy_file, monkeypatch):
    monkeypatch.setattr(store_db, "BUSY_TIMEOUT_MS", 100)
    holder = sqlite3.connect(wal_legacy_file, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO actions (namespaced_name, namespace, name, description, "
                   "created_at, updated_at) VALUES ('a/b', 'a', 'b', 'd', 'x', 'x')")
    try:
        before = {p.name for p in wal_legacy_file.parent.iterdir()}
        result = CliRunner().invoke(main, ["db", "upgrade", "--backup", "--db",
                                           str(wal_legacy_file)])
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, SystemExit)
        assert result.stderr.strip().splitlines() == [
            f"plandesk: {wal_legacy_file} is locked by another program; close it or try again "
            "in a moment."
        ]
        with pytest.raises(DatabaseLockedError):
            migrations.backup_sqlite(database_url(wal_legacy_file))
        assert {p.name for p in wal_legacy_file.parent.iterdir()} == before  # no backup
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert migrations.inspect_database(database_url(wal_legacy_file)).current == "0002"
