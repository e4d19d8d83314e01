"""A full disk (a real 20 MB tmpfs): every command says so in a line or two, exits non-zero and
leaves no partial file; the database keeps its revision and its rows.

Mounting a tmpfs needs root; elsewhere these tests are skipped with the reason.
"""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from click.testing import CliRunner, Result
from disk_space import files_in, fill, legacy_seed, make_room, revision_of, small_disk

from store import db as store_db
from store import migrations
from store.db import DiskFullError, database_url
from store.demo import create_demo
from tui.cli import main

__all__ = ["legacy_seed", "small_disk"]  # fixtures, used by name


def assert_explained(result: Result, *words: str) -> None:
    """Exit 1, no traceback, one or two lines on stderr that say what happened."""
    assert result.exit_code == 1, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2, result.stderr
    assert all(line.startswith("plandesk: ") for line in lines), result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def test_upgrade_on_a_full_disk_is_rolled_back_and_explained(small_disk, legacy_seed):
    path = small_disk / "legacy.db"
    shutil.copyfile(legacy_seed, path)
    fill(small_disk, leave=1024 * 1024)
    result = run("db", "upgrade", "--db", str(path))
    assert_explained(result, "is full", "Free some space", "rolled back", "at 0002")
    make_room(small_disk)
    assert files_in(small_disk) == {"legacy.db"}
    assert revision_of(path) == "0002"


def test_upgrade_with_backup_on_a_full_disk_leaves_no_partial_backup(small_disk, legacy_seed):
    path = small_disk / "legacy.db"
    shutil.copyfile(legacy_seed, path)
    fill(small_disk, leave=1024 * 1024)
    result = run("db", "upgrade", "--backup", "--db", str(path))
    assert_explained(result, "Not enough free space for a backup")
    make_room(small_disk)
    assert files_in(small_disk) == {"legacy.db"}
    assert revision_of(path) == "0002"


def test_backup_that_runs_out_of_space_midway_is_removed(small_disk, legacy_seed, monkeypatch):
    path = small_disk / "legacy.db"
    shutil.copyfile(legacy_seed, path)
    fill(small_disk, leave=1024 * 1024)
    # let the copy start as if the space check had been fooled (another program filling the
    # disk meanwhile): the half-written backup and its journal must go
    monkeypatch.setattr(store_db, "MIN_FREE_BYTES_TO_OPEN", -(10**9))
    with pytest.raises(DiskFullError, match="is full"):
        migrations.backup_sqlite(database_url(path))
    make_room(small_disk)
    assert files_in(small_disk) == {"legacy.db"}


def test_seed_on_a_full_disk_leaves_nothing(small_disk):
    fill(small_disk, leave=1024 * 1024)
    result = run("seed", str(small_disk / "new.db"), "--plans", "20000", "--max-depth", "5")
    assert_explained(result, "is full", "Free some space")
    make_room(small_disk)
    assert files_in(small_disk) == set()


def test_current_on_a_full_disk_creates_no_stub_files(small_disk, legacy_seed):
    path = small_disk / "legacy.db"
    shutil.copyfile(legacy_seed, path)
    fill(small_disk)
    result = run("db", "current", "--db", str(path))
    assert_explained(result, "is full", "Free some space")
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "filler-tail", "legacy.db"]


def test_correct_on_a_full_disk_changes_nothing(small_disk):
    path = small_disk / "demo.db"
    create_demo(path)
    connection = sqlite3.connect(path)
    plan_id, decision_id = connection.execute(
        "SELECT plan_id, decision_id FROM decisions WHERE state = 'active' "
        "ORDER BY sequence, decision_id LIMIT 1"
    ).fetchone()
    connection.close()
    before = path.read_bytes()
    fill(small_disk)
    result = run("correct", plan_id, decision_id, "--mode", "append", "--guidance", "Retry.",
                 "--db", str(path))
    assert_explained(result, "is full", "Free some space")
    make_room(small_disk)
    assert path.read_bytes() == before
    assert files_in(small_disk) == {"demo.db", "demo-artifacts"}
