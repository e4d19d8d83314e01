"""The first page of roots read with stdlib sqlite3 (before SQLAlchemy loads) is the page the
store's `roots_page` reads, row for row, unreadable rows included; anything it cannot vouch
for (behind or ahead of head, not a database, read-only, locked, missing) it leaves to the
full way (None), and it never writes."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from store import plans
from store.db import create_db_engine, session_scope
from store.locations import database_url
from store.models import Plan
from store.plans.first_roots import read_first_roots
from store.plans.rows import _column_checks, table_of
from store.plans.summaries import PLAN_CHECKS
from store.seed import seed_database


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database at head with 40 roots, two of them written badly behind the app's back."""
    path = tmp_path_factory.mktemp("first-roots") / "plans.db"
    seed_database(database_url(path), 60, 3)  # one tree; 39 more roots copied from its root
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA ignore_check_constraints = ON")
        columns = [name for _, name, *_ in connection.execute("PRAGMA table_info(plans)")]
        (root,) = connection.execute("SELECT plan_id FROM plans WHERE parent_plan_id IS NULL")
        copied = ", ".join("? AS plan_id" if c == "plan_id" else "? AS root_plan_id"
                           if c == "root_plan_id" else c for c in columns)
        with connection:
            for n in range(39):
                new_id = f"{root[0][:-4]}{n:04d}"
                connection.execute(f"INSERT INTO plans SELECT {copied} FROM plans"
                                   " WHERE plan_id = ?", (new_id, new_id, root[0]))
        roots = [r for (r,) in connection.execute(
            "SELECT plan_id FROM plans WHERE parent_plan_id IS NULL ORDER BY plan_id")]
        with connection:
            connection.execute("UPDATE plans SET phase = 'bogus' WHERE plan_id = ?", (roots[0],))
            connection.execute("UPDATE plans SET tags_json = '{oops', processing_state = 'stuck'"
                               " WHERE plan_id = ?", (roots[2],))
    finally:
        connection.close()
    return path


def full_roots_page(path: Path, limit: int) -> plans.PlanPage:
    engine = create_db_engine(database_url(path), read_only=True)
    try:
        with session_scope(engine) as session:
            return plans.roots_page(session, limit=limit)
    finally:
        engine.dispose()


def files_of(path: Path) -> tuple[bytes, bytes]:
    """The database file and its write-ahead log (an empty log counts as none: a WAL reader may
    leave one, as the README says); not -shm, where every WAL reader marks what it reads."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes(), wal.read_bytes() if wal.exists() else b""


@pytest.mark.parametrize("limit", [1, 3, 200])
def test_the_light_page_is_the_store_page(seeded: Path, limit: int):
    light = read_first_roots(seeded, limit, needs_write=True)
    full = full_roots_page(seeded, limit)
    assert light == full
    assert light is not None and light.nodes  # not equal by both being empty
    labels = [plans.unreadable_label(node.plan.problems) for node in light.nodes]
    if limit >= 3:
        assert labels[0] == "unreadable: phase 'bogus'"
        assert labels[2] == "unreadable: processing_state 'stuck', tags_json (not valid JSON)"
    assert (light.next_after is not None) == (limit < 40)


def test_the_light_checks_are_the_plans_table_checks():
    table_checks = tuple(
        (check.name, check.choices if check.enum_class is not None else None)
        for check in _column_checks(table_of(Plan))
    )
    assert table_checks == PLAN_CHECKS


def test_it_never_writes(seeded: Path):
    before = files_of(seeded)
    assert read_first_roots(seeded, 5, needs_write=True) is not None
    assert files_of(seeded) == before


def test_a_database_behind_head_is_left_to_the_full_way(tmp_path: Path):
    legacy = tmp_path / "legacy.db"
    seed_database(database_url(legacy), 10, 2, revision="0002")
    assert read_first_roots(legacy, 5, needs_write=True) is None


def test_a_newer_database_is_left_to_the_full_way(seeded: Path, tmp_path: Path):
    newer = tmp_path / "newer.db"
    source, target = sqlite3.connect(seeded), sqlite3.connect(newer)
    source.backup(target)
    source.close()
    with target:
        target.execute("UPDATE alembic_version SET version_num = '9999'")
    target.close()
    assert read_first_roots(newer, 5, needs_write=False) is None


def test_not_a_database_missing_or_empty_is_left_to_the_full_way(tmp_path: Path):
    text = tmp_path / "notes.db"
    text.write_text("these are not the plans you are looking for\n" * 100)
    empty = tmp_path / "empty.db"
    empty.touch()
    assert read_first_roots(text, 5, needs_write=False) is None
    assert read_first_roots(empty, 5, needs_write=False) is None
    assert read_first_roots(tmp_path / "missing.db", 5, needs_write=False) is None
    assert not (tmp_path / "missing.db").exists()
    assert text.read_text().startswith("these are not")


def test_a_read_only_file_is_read_only_when_nothing_will_be_written(seeded: Path,
                                                                    tmp_path: Path):
    copy = tmp_path / "copy.db"
    copy.write_bytes(seeded.read_bytes())
    os.chmod(copy, stat.S_IRUSR | stat.S_IRGRP)
    try:
        assert read_first_roots(copy, 5, needs_write=True) is None  # its own error screen
        assert read_first_roots(copy, 5, needs_write=False) == full_roots_page(seeded, 5)
    finally:
        os.chmod(copy, stat.S_IRUSR | stat.S_IWUSR)


def test_a_locked_database_is_left_to_the_full_way(seeded: Path, tmp_path: Path):
    copy = tmp_path / "locked.db"
    copy.write_bytes(seeded.read_bytes())
    holder = sqlite3.connect(copy, isolation_level=None)
    try:
        holder.execute("PRAGMA journal_mode = DELETE")
        holder.execute("BEGIN EXCLUSIVE")
        assert read_first_roots(copy, 5, needs_write=True) is None
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert read_first_roots(copy, 5, needs_write=True) is not None
