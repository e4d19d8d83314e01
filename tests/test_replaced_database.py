"""A SQLite file replaced or deleted under an open engine: every write is refused, the file now
at the path is never touched, and closing the engine creates nothing there."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from demo_copy import copy_demo

from store import migrations
from store.corrections import run_correction
from store.db import (
    DatabaseReplacedError,
    archive_root,
    artifacts_root,
    check_database_file,
    create_db_engine,
    database_url,
    session_scope,
)
from store.models import Decision


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def first_active_decision(path: Path) -> tuple[str, str]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(
            "SELECT plan_id, decision_id FROM decisions WHERE state = 'active' "
            "ORDER BY sequence, decision_id LIMIT 1"
        ).fetchone()
    finally:
        connection.close()


def table_dump(path: Path) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return connection.execute(
            "SELECT decision_id, plan_id, sequence, title, state FROM decisions ORDER BY 1"
        ).fetchall()
    finally:
        connection.close()


@pytest.fixture
def demo(tmp_path) -> Path:
    """The demo database, and a copy of it beside it (`other.db`): the same pages in a
    different file, so that a stray write-ahead log frame would show in the copy."""
    path = tmp_path / "demo.db"
    copy_demo(path)
    shutil.copyfile(path, tmp_path / "other.db")
    return path


def correct(url: str, plan_and_decision: tuple[str, str], engine: sa.Engine) -> None:
    plan_id, decision_id = plan_and_decision
    run_correction(engine, plan_id, decision_id, "append", "Use the replica.",
                   artifacts_root=artifacts_root(url), archive_root=archive_root(url))


def test_intact_file_passes_the_check(demo):
    engine = create_db_engine(database_url(demo))
    try:
        with session_scope(engine) as session:
            assert session.get(Decision, "nonexistent") is None
        check_database_file(engine)
    finally:
        engine.dispose()


def test_replaced_file_refuses_writes_and_is_never_touched(demo, tmp_path):
    url = database_url(demo)
    plan_id, decision_id = first_active_decision(demo)
    engine = create_db_engine(url)
    try:
        # a write through the engine before the replacement: legitimate, and must stay in
        # the old file instead of being applied to the new one by its next reader
        with session_scope(engine) as session:
            target = session.get(Decision, decision_id)
            assert target is not None
            target.title = "edited before the replacement"
        replacement = tmp_path / "other.db"
        before_dump = table_dump(replacement)
        before_hash = sha256(replacement)
        os.replace(replacement, demo)

        with pytest.raises(DatabaseReplacedError, match="replaced by another file"):
            check_database_file(engine)
        with pytest.raises(DatabaseReplacedError, match="replaced by another file"):
            correct(url, (plan_id, decision_id), engine)
        with pytest.raises(DatabaseReplacedError), engine.begin() as connection:
            connection.execute(sa.text("UPDATE decisions SET title = 'sneaked in'"))
    finally:
        engine.dispose()
    assert sha256(demo) == before_hash
    assert table_dump(demo) == before_dump  # the next reader sees the new file as it was
    assert sqlite3.connect(demo).execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_deleted_file_refuses_writes_and_nothing_appears_at_the_path(demo):
    url = database_url(demo)
    plan_and_decision = first_active_decision(demo)
    engine = create_db_engine(url)
    try:
        with session_scope(engine) as session:
            assert session.get(Decision, "nonexistent") is None
        demo.unlink()
        with pytest.raises(DatabaseReplacedError, match="deleted or moved away"):
            check_database_file(engine)
        with pytest.raises(DatabaseReplacedError, match="deleted or moved away"):
            correct(url, plan_and_decision, engine)
        # a new connection must not create an empty database where the file was
        with pytest.raises(DatabaseReplacedError):
            engine.dispose()
            with engine.connect():
                pass
    finally:
        engine.dispose()
    assert not demo.exists()


def test_migration_refuses_the_next_revision_on_a_replaced_file(tmp_path):
    path = tmp_path / "old.db"
    url = database_url(path)
    migrations.upgrade(url, "0002")
    replacement = tmp_path / "replacement.db"
    migrations.upgrade(database_url(replacement), "0002")
    before = sha256(replacement)

    def replace_after_first_revision(event: migrations.MigrationProgress) -> None:
        if event.step == "end" and event.revision.revision == "0003":
            os.replace(replacement, path)

    with pytest.raises(DatabaseReplacedError):
        migrations.upgrade(url, progress=replace_after_first_revision)
    assert sha256(path) == before
    assert migrations.inspect_database(url).current == "0002"


def test_file_replaced_inside_a_transaction_is_refused_at_commit(demo, tmp_path):
    engine = create_db_engine(database_url(demo))
    replacement = tmp_path / "other.db"
    before_dump = table_dump(replacement)
    try:
        with pytest.raises(DatabaseReplacedError), engine.begin() as connection:
            connection.execute(sa.text("UPDATE decisions SET title = 'half way'"))
            os.replace(replacement, demo)
    finally:
        engine.dispose()
    assert table_dump(demo) == before_dump
