"""Revision 0005 on populated databases, SQLite and PostgreSQL: the seed columns and indexes,
their backfill, a downgrade that stashes what it drops, and children pages read off an index."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel

import store.models  # noqa: F401  (registers every table on the metadata)
from store import migrations, plans
from store.db import create_db_engine
from store.models import PlanPhase, ProcessingState
from store.phase_timestamps import phase_timestamps
from store.plans.search import is_search_index
from store.seed import seed_database

REPO_ROOT = Path(__file__).resolve().parents[1]

NOW = "2026-01-01T00:00:00.000000+00:00"
LATER = "2026-02-01T00:00:00.000000+00:00"
STASH = "plandesk_stash_0005"
PLAN_COLUMNS = {
    "strategized_at",
    "executed_at",
    "applied_at",
    "completed_at",
    "changeset_id",
    "sandbox_refs_json",
    "validation_summary_json",
    "decision_root_id",
}
PROJECT_COLUMNS = {"alias", "read_only", "created_at"}
INDEXES = {
    "plans": ("ix_plans_parent_plan_id_plan_id", ["parent_plan_id", "plan_id"]),
    "plan_invariants": ("ix_plan_invariants_plan_id_position", ["plan_id", "position"]),
}


def fetch(url: str, sql: str, **params: object) -> list[sa.Row]:
    engine = create_db_engine(url)
    with engine.connect() as connection:
        rows = list(connection.execute(sa.text(sql), params))
    engine.dispose()
    return rows


def execute(url: str, sql: str, rows: list[dict[str, object]] | dict[str, object]) -> None:
    engine = create_db_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(sql), rows)
    engine.dispose()


def assert_seed_shape(url: str) -> None:
    engine = create_db_engine(url)
    inspector = sa.inspect(engine)
    plan_columns = {c["name"]: c for c in inspector.get_columns("plans")}
    assert set(plan_columns) >= PLAN_COLUMNS
    assert all(plan_columns[name]["nullable"] for name in PLAN_COLUMNS)
    project_columns = {c["name"]: c for c in inspector.get_columns("plan_projects")}
    assert project_columns["alias"]["nullable"]
    assert not project_columns["read_only"]["nullable"]
    assert not project_columns["created_at"]["nullable"]
    fks = {fk["name"]: fk for fk in inspector.get_foreign_keys("plans")}
    root_fk = fks["fk_plans_decision_root_id_decisions"]
    assert (root_fk["constrained_columns"], root_fk["referred_table"]) == (
        ["decision_root_id"],
        "decisions",
    )
    for table, (name, columns) in INDEXES.items():
        indexes = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes(table)}
        assert indexes[name] == columns
    # the composite index serves every query the single-column one did
    assert "ix_plans_parent_plan_id" not in {ix["name"] for ix in inspector.get_indexes("plans")}
    engine.dispose()


def full_shape(url: str) -> dict[str, object]:
    """Everything the inspector sees of our tables: columns, defaults, keys, indexes, checks."""
    engine = create_db_engine(url)
    inspector = sa.inspect(engine)
    shape: dict[str, object] = {}
    for table in sorted(SQLModel.metadata.tables):
        shape[table] = (
            sorted(
                (c["name"], str(c["type"]), c["nullable"], c.get("default"))
                for c in inspector.get_columns(table)
            ),
            sorted(
                (fk["name"], tuple(fk["constrained_columns"]), fk["referred_table"],
                 (fk.get("options") or {}).get("ondelete"))
                for fk in inspector.get_foreign_keys(table)
            ),
            sorted(
                (ix["name"], tuple(ix["column_names"]), bool(ix["unique"]))
                for ix in inspector.get_indexes(table)
                if not is_search_index(ix["name"] or "")  # 0006's, not the models'
            ),
            sorted(
                (u["name"], tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(table)
            ),
            sorted(c["name"] for c in inspector.get_check_constraints(table)),
        )
    engine.dispose()
    return shape


def test_fresh_database_has_every_seed_column_and_index(db_url, second_db_url):
    migrations.upgrade(db_url)
    assert_seed_shape(db_url)
    create_all_in_a_fresh_process(second_db_url)
    assert full_shape(db_url) == full_shape(second_db_url)


def create_all_in_a_fresh_process(url: str) -> None:
    """The models' own schema. In a new interpreter: after some other tests in the same
    process, create_all on SQLite was seen leaving out the use_alter key plans -> decisions."""
    script = ("import sys; from sqlmodel import SQLModel; import store.models; "
              "from store.db import create_db_engine; "
              "e = create_db_engine(sys.argv[1]); SQLModel.metadata.create_all(e); e.dispose()")
    subprocess.run([sys.executable, "-c", script, url], check=True, cwd=REPO_ROOT)


def test_migrated_legacy_database_has_every_seed_column_and_index(db_url, second_db_url):
    seed_database(db_url, 300, 6, revision="0002")
    migrations.upgrade(db_url)
    assert_seed_shape(db_url)
    migrations.upgrade(second_db_url)
    assert full_shape(db_url) == full_shape(second_db_url)


@pytest.fixture
def populated_0004(db_url) -> str:
    """A 0004 database with plans, projects, invariants, decisions, repairs and '' profiles."""
    seed_database(db_url, 120, 4, revision="0004")
    ids = [row.plan_id for row in fetch(db_url, "SELECT plan_id FROM plans ORDER BY plan_id")]
    execute(
        db_url,
        "INSERT INTO plan_projects (plan_id, project_name) VALUES (:p, :name)",
        [{"p": plan_id, "name": f"proj-{n % 3}"} for n, plan_id in enumerate(ids[:40])],
    )
    execute(
        db_url,
        "INSERT INTO plan_invariants (plan_id, invariant_text, position, created_at)"
        " VALUES (:p, :text, :pos, :now)",
        [{"p": ids[n // 2], "text": f"inv {n}", "pos": n % 2, "now": NOW} for n in range(20)],
    )
    execute(
        db_url,
        "INSERT INTO decisions (decision_id, plan_id, sequence, phase, title, created_at)"
        " VALUES (:d, :p, 1, 'execute', 'first', :now)",
        [{"d": f"01DEC{n:021d}", "p": ids[n], "now": NOW} for n in range(10)],
    )
    execute(
        db_url,
        "INSERT INTO plan_repairs (plan_id, column_name, old_value, reason, repaired_at)"
        " VALUES (:p, 'parent_plan_id', 'ghost', 'orphan: parent missing', :now)",
        {"p": ids[5], "now": NOW},
    )
    execute(
        db_url,
        "UPDATE plans SET automation_profile = :profile, updated_at = :now WHERE plan_id = :p",
        [
            {"p": ids[1], "profile": "", "now": NOW},
            {"p": ids[2], "profile": "", "now": NOW},
            {"p": ids[3], "profile": "turbo-mode", "now": NOW},
            {"p": ids[4], "profile": " ", "now": NOW},
        ],
    )
    return db_url


def test_upgrade_backfills_projects_and_repairs_empty_profiles(populated_0004):
    url = populated_0004
    ids = [row.plan_id for row in fetch(url, "SELECT plan_id FROM plans ORDER BY plan_id")]
    migrations.upgrade(url)
    projects = fetch(
        url,
        "SELECT pp.alias, pp.read_only, pp.created_at, p.created_at AS plan_created"
        " FROM plan_projects pp JOIN plans p ON p.plan_id = pp.plan_id",
    )
    assert len(projects) == 40
    assert all(row.created_at == row.plan_created for row in projects)
    assert {(row.alias, bool(row.read_only)) for row in projects} == {(None, False)}
    profiles = dict(fetch(url, "SELECT plan_id, automation_profile FROM plans"))
    assert profiles[ids[1]] == profiles[ids[2]] == "balanced"
    assert profiles[ids[3]] == "turbo-mode"  # unknown names stay as they are
    assert profiles[ids[4]] == " "
    repairs = fetch(
        url,
        "SELECT plan_id, column_name, old_value, reason FROM plan_repairs"
        " WHERE column_name = 'automation_profile' ORDER BY plan_id",
    )
    assert [(r.plan_id, r.old_value) for r in repairs] == [(ids[1], ""), (ids[2], "")]
    assert all("empty" in r.reason for r in repairs)
    # the new columns start empty on existing plans: nothing is invented for the past
    stamps = fetch(url, "SELECT " + ", ".join(sorted(PLAN_COLUMNS)) + " FROM plans")
    assert {tuple(row) for row in stamps} == {(None,) * len(PLAN_COLUMNS)}


def dump(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, sorted, with the column names: byte for byte comparable."""
    engine = create_db_engine(url)
    result: dict[str, list[tuple[object, ...]]] = {}
    with engine.connect() as connection:
        for table in sorted(sa.inspect(connection).get_table_names()):
            rows = connection.execute(sa.text(f'SELECT * FROM "{table}"'))
            result[table] = [tuple(rows.keys()), *sorted(map(tuple, rows), key=repr)]
    engine.dispose()
    return result


def test_upgrade_downgrade_upgrade_keeps_every_value(populated_0004):
    url = populated_0004
    migrations.upgrade(url)
    ids = [row.plan_id for row in fetch(url, "SELECT plan_id FROM plans ORDER BY plan_id")]
    execute(
        url,
        "UPDATE plans SET strategized_at = :t, executed_at = :t, applied_at = :t,"
        " completed_at = :later, changeset_id = 'cs-1', sandbox_refs_json = '[\"sb-1\"]',"
        " validation_summary_json = '{\"ok\": true}', decision_root_id = :d WHERE plan_id = :p",
        [{"t": NOW, "later": LATER, "d": f"01DEC{n:021d}", "p": ids[n]} for n in range(6)],
    )
    execute(url, "UPDATE plans SET executed_at = :t WHERE plan_id = :p", {"t": NOW, "p": ids[7]})
    execute(
        url,
        "UPDATE plan_projects SET alias = 'short', read_only = :yes, created_at = :later"
        " WHERE plan_id IN (:a, :b)",
        {"yes": True, "later": LATER, "a": ids[0], "b": ids[8]},
    )
    # a plan whose profile changed after the repair: its repair is history, not undone
    execute(url, "UPDATE plans SET automation_profile = 'manual' WHERE plan_id = :p", {"p": ids[2]})
    before = dump(url)

    migrations.downgrade(url, "0004")
    engine = create_db_engine(url)
    inspector = sa.inspect(engine)
    assert not PLAN_COLUMNS & {c["name"] for c in inspector.get_columns("plans")}
    assert not PROJECT_COLUMNS & {c["name"] for c in inspector.get_columns("plan_projects")}
    assert STASH in inspector.get_table_names()
    engine.dispose()
    profiles = dict(fetch(url, "SELECT plan_id, automation_profile FROM plans"))
    assert profiles[ids[1]] == ""  # the repair undone, as 0004 had it
    assert profiles[ids[2]] == "manual"
    assert len(fetch(url, "SELECT * FROM plans")) == 120
    assert len(fetch(url, "SELECT * FROM plan_projects")) == 40

    migrations.upgrade(url)
    after = dump(url)
    assert STASH not in after
    assert after == before


def test_reupgrade_after_changes_at_0004_keeps_what_still_applies(populated_0004):
    url = populated_0004
    migrations.upgrade(url)
    ids = [row.plan_id for row in fetch(url, "SELECT plan_id FROM plans ORDER BY plan_id")]
    execute(url, "UPDATE plans SET changeset_id = 'cs-9' WHERE plan_id = :p", {"p": ids[0]})
    execute(url, "UPDATE plan_projects SET alias = 'gone' WHERE plan_id = :p", {"p": ids[3]})
    migrations.downgrade(url, "0004")
    # at 0004: a link is replaced by another row, a repaired plan is given a real profile
    execute(url, "DELETE FROM plan_projects WHERE plan_id = :p", {"p": ids[3]})
    execute(
        url,
        "INSERT INTO plan_projects (plan_id, project_name) VALUES (:p, 'other')",
        {"p": ids[3]},
    )
    execute(url, "UPDATE plans SET automation_profile = 'manual' WHERE plan_id = :p", {"p": ids[1]})
    migrations.upgrade(url)
    assert fetch(url, "SELECT changeset_id FROM plans WHERE plan_id = :p", p=ids[0])[0][0] == "cs-9"
    link = fetch(url, "SELECT project_name, alias FROM plan_projects WHERE plan_id = :p", p=ids[3])
    assert [tuple(row) for row in link] == [("other", None)]  # not the stashed alias
    profile_repairs = fetch(
        url, "SELECT plan_id FROM plan_repairs WHERE column_name = 'automation_profile'"
    )
    assert [row.plan_id for row in profile_repairs] == [ids[2]]


def children_page_sql(engine: sa.Engine, parent_id: str, after: str | None) -> tuple[str, object]:
    """The statement children_page runs for its rows, as the driver received it."""
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        if "ORDER BY plans.plan_id" in statement:
            seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        with Session(engine) as session:
            page = plans.children_page(session, parent_id, after=after, limit=50)
            assert len(page.nodes) == 50
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    return seen[0]


@pytest.fixture
def wide_url(db_url) -> str:
    seed_database(db_url, 20_000, 3, wide=500)
    return db_url


def test_children_page_is_an_index_range(wide_url):
    engine = create_db_engine(wide_url)
    with engine.connect() as connection:
        parent = connection.execute(
            sa.text("SELECT parent_plan_id FROM plans WHERE parent_plan_id IS NOT NULL"
                    " GROUP BY parent_plan_id ORDER BY count(*) DESC LIMIT 1")
        ).scalar_one()
        after = connection.execute(
            sa.text("SELECT plan_id FROM plans WHERE parent_plan_id = :p ORDER BY plan_id"
                    " LIMIT 1 OFFSET 300"),
            {"p": parent},
        ).scalar_one()
    for cursor in (None, after):
        statement, parameters = children_page_sql(engine, parent, cursor)
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                plan = connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + statement, parameters
                ).fetchall()
                text = " | ".join(str(row[-1]) for row in plan)
                assert "ix_plans_parent_plan_id_plan_id" in text, text
                assert "TEMP B-TREE" not in text, text
            else:
                connection.exec_driver_sql("ANALYZE plans")
                plan = connection.exec_driver_sql("EXPLAIN " + statement, parameters).fetchall()
                text = " | ".join(str(row[0]) for row in plan)
                assert "ix_plans_parent_plan_id_plan_id" in text, text
                assert "Sort" not in text, text
    engine.dispose()


def test_new_plans_get_the_timestamps_of_their_phase(engine):
    with Session(engine) as session:
        fresh = plans.create_plan(session, namespaced_name="ops/a", description="a", now=NOW)
        done = plans.create_plan(
            session,
            namespaced_name="ops/b",
            description="b",
            phase=PlanPhase.APPLIED,
            processing_state=ProcessingState.COMPLETE,
            now=NOW,
        )
        halfway = plans.create_plan(
            session,
            namespaced_name="ops/c",
            description="c",
            phase=PlanPhase.EXECUTE,
            processing_state=ProcessingState.ERRORED,
            now=NOW,
        )
        session.commit()
        stamps = {
            plan.namespaced_name: (
                plan.strategized_at, plan.executed_at, plan.applied_at, plan.completed_at
            )
            for plan in (fresh, done, halfway)
        }
    assert stamps == {
        "ops/a": (None, None, None, None),
        "ops/b": (NOW, NOW, NOW, NOW),
        "ops/c": (NOW, None, None, None),
    }


def test_phase_timestamps_keep_what_was_reached_and_clear_what_is_not():
    previous = {"strategized_at": NOW, "executed_at": NOW, "applied_at": None, "completed_at": NOW}
    forward = phase_timestamps(PlanPhase.APPLIED, ProcessingState.PROCESSING, LATER, previous)
    assert forward == {
        "strategized_at": NOW,
        "executed_at": NOW,
        "applied_at": LATER,
        "completed_at": None,
    }
    back = phase_timestamps(PlanPhase.EXECUTE, ProcessingState.QUEUED, LATER, previous)
    assert back == {
        "strategized_at": NOW,
        "executed_at": None,
        "applied_at": None,
        "completed_at": None,
    }


def test_corrections_move_the_timestamps_with_the_phase(head_url, engine, tmp_path):
    from store.corrections import run_correction
    from store.decisions import record_decision

    with Session(engine) as session:
        reverted = plans.create_plan(
            session, namespaced_name="ops/revert", description="r", phase=PlanPhase.APPLIED,
            processing_state=ProcessingState.COMPLETE, now=NOW,
        )
        appended = plans.create_plan(
            session, namespaced_name="ops/append", description="a", phase=PlanPhase.APPLY,
            processing_state=ProcessingState.COMPLETE, now=NOW,
        )
        targets = {}
        for plan in (reverted, appended):
            for number, phase in enumerate((PlanPhase.STRATEGIZE, PlanPhase.EXECUTE), start=1):
                decision = record_decision(
                    session, plan_id=plan.plan_id, title=f"d{number}", phase=phase, now=NOW
                )
            targets[plan.namespaced_name] = (plan.plan_id, decision.decision_id)
        session.commit()
    for name, mode in (("ops/revert", "revert"), ("ops/append", "append")):
        plan_id, decision_id = targets[name]
        run_correction(
            head_url, plan_id, decision_id, mode, "again",
            artifacts_root=tmp_path / "artifacts", archive_root=tmp_path / "archive",
        )
    stamps = {
        row.namespaced_name: (row.phase, row.strategized_at, row.executed_at, row.applied_at,
                              row.completed_at)
        for row in fetch(head_url, "SELECT * FROM plans")
    }
    # back in execute: strategize stays done, apply and applied are no longer reached
    assert stamps["ops/revert"] == ("execute", NOW, None, None, None)
    # still in apply, queued again: only completion is undone
    assert stamps["ops/append"] == ("apply", NOW, NOW, None, None)
