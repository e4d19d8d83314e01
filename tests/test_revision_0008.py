"""Revision 0008 on a populated database: on PostgreSQL a moved or deleted plan's notification
names its old parent and old root, within NOTIFY's payload limit, and the downgrade puts 0007's
function back exactly; on SQLite it changes nothing. Upgrade and downgrade keep every row."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from store import migrations
from store.db import create_db_engine
from store.seed import seed_database
from tests.test_round_trip import dump, execute

REVISION, BEFORE = "0008", "0007"
NOW = "2026-02-03T04:05:06+00:00"
# two trees: R1 > C1 > G1, and R2
R1, C1, G1, R2 = (f"01KMOVED000000000000000{name}" for name in ("0R1", "0C1", "0G1", "0R2"))
# too long for a NOTIFY payload to name four times (and short enough for the primary key's index)
LONG = "01KLONG" + "x" * 2500


def add_plan(url: str, plan_id: str, parent: str | None, root: str) -> None:
    execute(url, "INSERT INTO plans (plan_id, parent_plan_id, root_plan_id, namespaced_name,"
            " namespace, description, effective_profile_snapshot, created_at, updated_at)"
            " VALUES (:plan_id, :parent, :root, :name, 'moved', 'revision 0008', '{}', :now,"
            " :now)", plan_id=plan_id, parent=parent, root=root, name=f"moved/{plan_id[-3:]}",
            now=NOW)


@pytest.fixture
def url_0007(db_url: str) -> str:
    """A populated database at 0007, with two small trees of known ids."""
    seed_database(db_url, 200, 4, revision=BEFORE, random_seed=5)
    add_plan(db_url, R1, None, R1)
    add_plan(db_url, C1, R1, R1)
    add_plan(db_url, G1, C1, R1)
    add_plan(db_url, R2, None, R2)
    return db_url


def data(url: str) -> dict[str, list[str]]:
    """Every row of every table but the revision's own."""
    return {table: rows for table, rows in dump(url).items() if table != "alembic_version"}


def function_source(url: str) -> str:
    (row,) = execute(url, "SELECT prosrc FROM pg_proc WHERE proname = 'plandesk_notify_change'")
    return str(row[0])


@pytest.fixture
def listening(url_0007: str) -> Iterator[Any]:
    """A psycopg connection LISTENing on the app's channel (PostgreSQL only)."""
    if not url_0007.startswith("postgresql"):
        pytest.skip("NOTIFY is PostgreSQL's")
    engine = create_db_engine(url_0007)
    raw = engine.raw_connection()
    connection = raw.driver_connection
    assert connection is not None
    connection.rollback()
    connection.autocommit = True
    connection.execute("LISTEN plandesk_changes")
    yield connection
    raw.close()
    engine.dispose()


def heard(connection: Any, count: int) -> list[dict[str, Any]]:
    """The next `count` payloads (a notification is delivered once its writer committed)."""
    notes = list(connection.notifies(timeout=30, stop_after=count))
    assert len(notes) == count
    return [json.loads(note.payload) for note in notes]


def test_a_move_and_a_delete_name_the_old_place(url_0007: str, listening: Any) -> None:
    released = function_source(url_0007)
    rows = data(url_0007)
    migrations.upgrade(url_0007)
    assert migrations.inspect_database(url_0007).current == REVISION
    assert data(url_0007) == rows

    # C1 (with G1 under it) moves from R1's tree under R2, in one transaction
    execute(url_0007, "UPDATE plans SET parent_plan_id = :r2, root_plan_id = :r2"
            " WHERE plan_id = :c1", r2=R2, c1=C1)
    execute(url_0007, "UPDATE plans SET root_plan_id = :r2 WHERE plan_id = :g1", r2=R2, g1=G1)
    assert heard(listening, 2) == [
        {"table": "plans", "key": C1, "plan_id": C1, "op": "UPDATE",
         "old_parent_id": R1, "old_root_id": R1},
        {"table": "plans", "key": G1, "plan_id": G1, "op": "UPDATE",
         "old_parent_id": C1, "old_root_id": R1},
    ]
    # an update that moves nothing names no old place; an insert has none
    execute(url_0007, "UPDATE plans SET namespaced_name = 'moved/renamed' WHERE plan_id = :g1",
            g1=G1)
    add_plan(url_0007, "01KMOVED00000000000000NEW", R2, R2)
    assert heard(listening, 2) == [
        {"table": "plans", "key": G1, "plan_id": G1, "op": "UPDATE"},
        {"table": "plans", "key": "01KMOVED00000000000000NEW",
         "plan_id": "01KMOVED00000000000000NEW", "op": "INSERT"},
    ]
    execute(url_0007, "DELETE FROM plans WHERE plan_id = :g1", g1=G1)
    assert heard(listening, 1) == [{"table": "plans", "key": G1, "plan_id": G1, "op": "DELETE",
                                    "old_parent_id": C1, "old_root_id": R2}]

    # ids too long for the payload: the write goes through, the notification names nothing
    add_plan(url_0007, LONG, None, LONG)
    add_plan(url_0007, LONG + "c", LONG, LONG)
    execute(url_0007, "UPDATE plans SET parent_plan_id = :r2, root_plan_id = :r2"
            " WHERE plan_id = :long", r2=R2, long=LONG + "c")
    assert heard(listening, 3)[1:] == [
        {"table": "plans", "key": LONG + "c", "plan_id": LONG + "c", "op": "INSERT"},
        {"table": "plans", "op": "UPDATE", "unnamed": True},
    ]

    migrations.downgrade(url_0007, BEFORE)
    assert function_source(url_0007) == released
    execute(url_0007, "UPDATE plans SET parent_plan_id = :r2, root_plan_id = :r2"
            " WHERE plan_id = :c1", r2=R2, c1=C1)
    assert heard(listening, 1) == [{"table": "plans", "key": C1, "plan_id": C1, "op": "UPDATE"}]
    migrations.upgrade(url_0007)
    assert function_source(url_0007) != released


def test_round_trip_keeps_every_row_on_each_backend(url_0007: str) -> None:
    rows = data(url_0007)
    migrations.upgrade(url_0007)
    assert migrations.inspect_database(url_0007).current == REVISION
    assert migrations.downgrade_losses(url_0007, BEFORE) == ()
    migrations.downgrade(url_0007, BEFORE)
    assert migrations.inspect_database(url_0007).current == BEFORE
    assert data(url_0007) == rows
    migrations.upgrade(url_0007)
    assert data(url_0007) == rows
    if url_0007.startswith("sqlite"):
        engine = create_db_engine(url_0007)
        with engine.connect() as connection:  # nothing of 0007 or 0008 on SQLite
            assert not [row for row in connection.execute(sa.text(
                "SELECT name FROM sqlite_master WHERE name LIKE '%notify%'"))]
        engine.dispose()
