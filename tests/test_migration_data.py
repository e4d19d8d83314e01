"""The 0003 backfill on a populated legacy (0002) database, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

import store.models  # noqa: F401
from store import migrations
from store.db import StoreError, create_db_engine

NOW = "2026-01-01T00:00:00.000000+00:00"


def pid(label: str) -> str:
    """A 26-character id that sorts by label."""
    return ("01" + label.upper().replace("-", "0")).ljust(26, "0")[:26]


def build_legacy_forest() -> tuple[list[dict[str, object]], dict[str, str]]:
    """Legacy rows (stored children first) and the true root each plan must end up with."""
    rows: list[dict[str, object]] = []
    truth: dict[str, str] = {}

    def add(
        plan_id: str,
        parent: str | None,
        root: str,
        profile: str | None = None,
        stored_root: str | None = None,
    ) -> None:
        rows.append(
            {
                "plan_id": plan_id,
                "parent_plan_id": parent,
                "root_plan_id": stored_root,
                "namespaced_name": f"legacy/{plan_id[-6:]}",
                "namespace": "legacy",
                "description": f"plan {plan_id}",
                "automation_profile": profile,
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
        truth[plan_id] = root

    # A chain 60 deep, every node with a stale or missing root_plan_id.
    chain = [pid(f"CHAIN{n:03d}") for n in range(60)]
    for depth, plan_id in enumerate(chain):
        parent = chain[depth - 1] if depth else None
        stale = chain[depth - 1] if depth % 7 == 3 else None  # the old one-level mistake
        add(plan_id, parent, chain[0], stored_root=stale)
    # Orphans: parents that do not exist; the orphan's child must follow it.
    add(pid("ORPHANA"), pid("GHOST1"), pid("ORPHANA"))
    add(pid("ORPHANB"), pid("ORPHANA"), pid("ORPHANA"))
    # A 3-cycle (broken at its smallest id) with a plan hanging below it, and a self-loop.
    cyc = [pid("CYCLEA"), pid("CYCLEB"), pid("CYCLEC")]
    add(cyc[0], cyc[2], cyc[0])
    add(cyc[1], cyc[0], cyc[0])
    add(cyc[2], cyc[1], cyc[0])
    add(pid("CYCLEHANG"), cyc[1], cyc[0])
    add(pid("SELFLOOP"), pid("SELFLOOP"), pid("SELFLOOP"))
    # Every kind of stored profile value.
    profiles = {
        "PNULL": None,
        "PJSON": '{"profile_name": "supervised", "provenance": "global"}',
        "PBARE": "manual",
        "PUNKNOWN": "turbo-mode",
        "PCORRUPT": '{"profile_name": "supervis',
        "PNONAME": '{"provenance": "global"}',
    }
    for label, value in profiles.items():
        add(pid(label), None, pid(label), profile=value)
    # Children first: reverse storage order.
    rows.reverse()
    return rows, truth


@pytest.fixture
def legacy_url(db_url) -> str:
    migrations.upgrade(db_url, "0002")
    rows, _ = build_legacy_forest()
    engine = create_db_engine(db_url, foreign_keys=False)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET session_replication_role = replica")
        plans = sa.table("plans", *(sa.column(c) for c in rows[0]))
        connection.execute(plans.insert(), rows)
        for number, plan_id in enumerate([pid("CHAIN059"), pid("ORPHANB"), pid("CYCLEB")]):
            connection.execute(
                sa.text(
                    "INSERT INTO decisions"
                    " (decision_id, plan_id, sequence, phase, title, created_at)"
                    " VALUES (:d, :p, 1, 'execute', 'kept', :now)"
                ),
                {"d": pid(f"DEC{number}"), "p": plan_id, "now": NOW},
            )
            connection.execute(
                sa.text(
                    "INSERT INTO plan_arguments (plan_id, name, value_json) VALUES (:p, 'a', '1')"
                ),
                {"p": plan_id},
            )
    engine.dispose()
    return db_url


def fetch(url: str, sql: str) -> list[sa.Row]:
    engine = create_db_engine(url)
    with engine.connect() as connection:
        rows = list(connection.execute(sa.text(sql)))
    engine.dispose()
    return rows


def test_backfill_finds_true_roots_and_records_repairs(legacy_url):
    migrations.upgrade(legacy_url)
    _, truth = build_legacy_forest()
    roots = dict(fetch(legacy_url, "SELECT plan_id, root_plan_id FROM plans"))
    assert roots == truth
    repairs = {
        (r.plan_id, r.column_name): (r.old_value, r.reason)
        for r in fetch(legacy_url, "SELECT * FROM plan_repairs")
    }
    assert repairs[(pid("ORPHANA"), "parent_plan_id")][0] == pid("GHOST1")
    assert repairs[(pid("CYCLEA"), "parent_plan_id")][0] == pid("CYCLEC")
    assert repairs[(pid("CYCLEA"), "parent_plan_id")][1].startswith("cycle")
    assert repairs[(pid("SELFLOOP"), "parent_plan_id")][0] == pid("SELFLOOP")
    assert (pid("CYCLEB"), "parent_plan_id") not in repairs  # broken once, at the smallest id
    assert repairs[(pid("CHAIN003"), "root_plan_id")][0] == pid("CHAIN002")
    parents = dict(fetch(legacy_url, "SELECT plan_id, parent_plan_id FROM plans"))
    assert parents[pid("ORPHANA")] is None
    assert parents[pid("ORPHANB")] == pid("ORPHANA")
    assert parents[pid("CYCLEB")] == pid("CYCLEA")


def test_backfill_profiles_and_snapshots(legacy_url):
    migrations.upgrade(legacy_url)
    stored = {
        row.plan_id: (row.automation_profile, json.loads(row.effective_profile_snapshot))
        for row in fetch(legacy_url, "SELECT * FROM plans")
    }
    assert stored[pid("PNULL")][0] == "balanced"
    assert stored[pid("PJSON")][0] == "supervised"
    assert stored[pid("PBARE")][0] == "manual"
    assert stored[pid("PUNKNOWN")][0] == "turbo-mode"
    assert stored[pid("PCORRUPT")][0] == '{"profile_name": "supervis'
    assert stored[pid("PNONAME")][0] == '{"provenance": "global"}'
    for _name, snapshot in stored.values():
        assert snapshot["source"] == "backfill"
        assert snapshot["profile_name"]
    assert stored[pid("PJSON")][1]["resolved"] is True
    assert stored[pid("PJSON")][1]["settings"]["require_review"] is True
    assert stored[pid("PUNKNOWN")][1]["resolved"] is False
    assert stored[pid("PCORRUPT")][1]["resolved"] is False
    json_repair = fetch(
        legacy_url,
        "SELECT old_value FROM plan_repairs WHERE column_name = 'automation_profile'",
    )
    assert [r.old_value for r in json_repair] == [
        '{"profile_name": "supervised", "provenance": "global"}'
    ]


def test_no_child_rows_lost_and_constraints_match_create_all(legacy_url, second_db_url):
    before = fetch(legacy_url, "SELECT count(*) FROM decisions")[0][0]
    migrations.upgrade(legacy_url)
    assert fetch(legacy_url, "SELECT count(*) FROM decisions")[0][0] == before == 3
    assert fetch(legacy_url, "SELECT count(*) FROM plan_arguments")[0][0] == 3

    fresh = create_db_engine(second_db_url)
    SQLModel.metadata.create_all(fresh)
    migrated = create_db_engine(legacy_url)

    def shape(engine: sa.Engine) -> dict[str, object]:
        inspector = sa.inspect(engine)
        result: dict[str, object] = {}
        for table in SQLModel.metadata.tables:
            fks = sorted(
                (
                    fk["name"],
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    (fk.get("options") or {}).get("ondelete"),
                )
                for fk in inspector.get_foreign_keys(table)
            )
            checks = sorted(c["name"] for c in inspector.get_check_constraints(table))
            nullable = sorted((c["name"], c["nullable"]) for c in inspector.get_columns(table))
            result[table] = (fks, checks, nullable)
        return result

    assert shape(migrated) == shape(fresh)
    ondeletes = [entry[3] for table in shape(migrated).values() for entry in table[0]]
    assert "SET NULL" not in ondeletes
    fresh.dispose()
    migrated.dispose()


def test_upgrade_downgrade_upgrade_keeps_every_row(legacy_url):
    migrations.upgrade(legacy_url)
    first = sorted(
        map(
            tuple,
            fetch(
                legacy_url,
                "SELECT plan_id, parent_plan_id, root_plan_id, automation_profile FROM plans",
            ),
        )
    )
    decisions = fetch(legacy_url, "SELECT count(*) FROM decisions")[0][0]
    migrations.downgrade(legacy_url, "0002")
    legacy = dict(fetch(legacy_url, "SELECT plan_id, automation_profile FROM plans"))
    assert legacy[pid("PJSON")] == '{"profile_name": "supervised", "provenance": "global"}'
    assert len(legacy) == len(first)
    migrations.upgrade(legacy_url)
    second = sorted(
        map(
            tuple,
            fetch(
                legacy_url,
                "SELECT plan_id, parent_plan_id, root_plan_id, automation_profile FROM plans",
            ),
        )
    )
    assert second == first
    assert fetch(legacy_url, "SELECT count(*) FROM decisions")[0][0] == decisions


def test_failed_revision_leaves_database_at_previous_revision(legacy_url):
    before = sorted(map(tuple, fetch(legacy_url, "SELECT * FROM plans")))

    def explode(event: migrations.MigrationProgress) -> None:
        # after the first chunk of backfilled rows is written (copied, on SQLite)
        if event.step == "rows" and event.done > 0:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        migrations.upgrade(legacy_url, progress=explode)
    status = migrations.inspect_database(legacy_url)
    assert status.current == "0002"
    engine = create_db_engine(legacy_url)
    inspector = sa.inspect(engine)
    assert "automation_profiles" not in inspector.get_table_names()
    assert "plan_repairs" not in inspector.get_table_names()
    assert "effective_profile_snapshot" not in {c["name"] for c in inspector.get_columns("plans")}
    engine.dispose()
    assert sorted(map(tuple, fetch(legacy_url, "SELECT * FROM plans"))) == before
    migrations.upgrade(legacy_url)  # and it still migrates cleanly afterwards
    assert migrations.inspect_database(legacy_url).current == migrations.head_revision()


def test_progress_reports_each_revision_and_backfill_rows(legacy_url):
    events: list[migrations.MigrationProgress] = []
    migrations.upgrade(legacy_url, progress=events.append)
    starts = [e.revision.revision for e in events if e.step == "start"]
    ends = [e.revision.revision for e in events if e.step == "end"]
    assert starts == ends == [r.revision for r in migrations.history()][2:]
    rows = [e for e in events if e.step == "rows" and e.count]
    assert rows[-1].done == rows[-1].count == len(build_legacy_forest()[0])


def test_upgrade_to_unknown_revision_is_refused(legacy_url):
    with pytest.raises(StoreError, match="Unknown revision"):
        migrations.upgrade(legacy_url, "0042")
    assert migrations.inspect_database(legacy_url).current == "0002"
