"""Upgrade → downgrade → upgrade keeps every value; what cannot be kept is listed and refused.

A populated database (legacy repairs, creation snapshots, a custom and an edited built-in
profile, correction attempts) is compared by a sorted dump of every table, on SQLite and on
the real PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from store import decisions, migrations, plans, profiles
from store.corrections import run_correction
from store.db import create_db_engine, session_scope
from store.models import PlanPhase
from store.plans.search import is_search_index
from store.seed import seed_database
from tui.cli import main

NOW = "2026-02-03T04:05:06.000007+00:00"
STASH_PREFIX = "plandesk_stash_"


def table_names(url: str) -> list[str]:
    engine = create_db_engine(url)
    try:
        return sorted(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def dump(url: str) -> dict[str, list[str]]:
    """Every table's rows, sorted, as text: equal dumps mean equal data, value for value."""
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            result = {}
            for table in sorted(sa.inspect(connection).get_table_names()):
                if is_search_index(table):
                    continue  # derived from plans: rebuilt, not restored, by an upgrade
                rows = connection.execute(sa.text(f'SELECT * FROM "{table}"'))
                result[table] = sorted(repr(tuple(row)) for row in rows)
            return result
    finally:
        engine.dispose()


def execute(url: str, sql: str, **params: object) -> list[sa.Row]:
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            result = connection.execute(sa.text(sql), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def plans_by_id(url: str) -> dict[str, str]:
    return {row.plan_id: repr(tuple(row)) for row in execute(url, "SELECT * FROM plans")}


@pytest.fixture
def populated_url(db_url: str, tmp_path: Path) -> str:
    """A legacy database taken to head, then used: everything a downgrade could lose."""
    seed_database(db_url, 150, 6, revision="0002", random_seed=11)
    migrations.upgrade(db_url)
    engine = create_db_engine(db_url)
    artifacts = tmp_path / "artifacts"
    (artifacts / "work" / "01").mkdir(parents=True)
    try:
        with session_scope(engine) as session:
            profiles.set_profile(
                session, "night-shift", {"auto_apply": False, "max_parallel_children": 1},
                "Runs while nobody watches.", now=NOW,
            )
            profiles.set_profile(
                session, "balanced", {"auto_apply": True, "max_parallel_children": 16}, now=NOW
            )
            root = plans.create_plan(
                session, namespaced_name="stash/root", description="made at head",
                automation_profile="night-shift", now=NOW,
            )
            child = plans.create_plan(
                session, namespaced_name="stash/child", description="made at head too",
                parent_plan_id=root.plan_id, automation_profile="balanced", now=NOW,
            )
            first = decisions.record_decision(
                session, plan_id=child.plan_id, title="first", phase=PlanPhase.EXECUTE,
                artifacts_path="work/01", now=NOW,
            )
            second = decisions.record_decision(
                session, plan_id=child.plan_id, title="second", phase=PlanPhase.EXECUTE,
                parent_decision_id=first.decision_id, now=NOW,
            )
            ids = (root.plan_id, child.plan_id, first.decision_id, second.decision_id)
    finally:
        engine.dispose()
    root_id, child_id, first_id, second_id = ids
    appended = run_correction(
        db_url, child_id, second_id, "append", "do it again, slower",
        artifacts_root=artifacts, archive_root=artifacts / "_archive",
    )
    assert appended.state.value == "complete"
    reverted = run_correction(
        db_url, child_id, first_id, "revert", "undo all of it",
        artifacts_root=artifacts, archive_root=artifacts / "_archive",
    )
    assert reverted.state.value == "complete"
    # A value stored at head that the 0003 backfill would rewrite if it ever saw it again.
    execute(
        db_url,
        "UPDATE plans SET automation_profile = :raw WHERE plan_id = :p",
        raw='{"profile_name": "manual", "provenance": "typed at head"}',
        p=root_id,
    )
    return db_url


def test_populated_database_has_what_a_downgrade_could_lose(populated_url):
    tables = dump(populated_url)
    assert len(tables["correction_attempts"]) == 2
    assert any("'parent_plan_id'" in row for row in tables["plan_repairs"])
    assert any("'automation_profile'" in row for row in tables["plan_repairs"])
    assert any("night-shift" in row for row in tables["automation_profiles"])
    sources = {
        json.loads(row.effective_profile_snapshot)["source"]
        for row in execute(populated_url, "SELECT effective_profile_snapshot FROM plans")
    }
    assert sources == {"backfill", "creation"}


@pytest.mark.parametrize("target", ["0003", "0002", "0001"])
def test_round_trip_keeps_every_table_identical(populated_url, target):
    before = dump(populated_url)
    migrations.downgrade(populated_url, target)
    assert migrations.inspect_database(populated_url).current == target
    migrations.upgrade(populated_url)
    assert dump(populated_url) == before
    assert not [t for t in table_names(populated_url) if t.startswith(STASH_PREFIX)]


def test_round_trip_step_by_step(populated_url):
    before = dump(populated_url)
    revisions = migrations.known_revisions()
    for target in reversed(revisions[:-1]):
        migrations.downgrade(populated_url, target)
    for target in revisions[1:]:
        migrations.upgrade(populated_url, target)
    assert dump(populated_url) == before


def test_repair_ids_continue_after_a_round_trip(populated_url):
    migrations.downgrade(populated_url, "0002")
    migrations.upgrade(populated_url)
    top = execute(populated_url, "SELECT max(id) FROM plan_repairs")[0][0]
    plan_id = execute(populated_url, "SELECT min(plan_id) FROM plans")[0][0]
    engine = create_db_engine(populated_url)
    try:
        with engine.begin() as connection:
            new_id = connection.execute(
                sa.text(
                    "INSERT INTO plan_repairs (plan_id, column_name, old_value, reason,"
                    " repaired_at) VALUES (:p, 'x', NULL, 'test', :now) RETURNING id"
                ),
                {"p": plan_id, "now": NOW},
            ).scalar_one()
    finally:
        engine.dispose()
    assert new_id > top


def test_changes_made_while_downgraded_are_kept(populated_url):
    """Rows added or edited at the old revision keep what the upgrade derives for them."""
    before = dump(populated_url)
    plans_before = plans_by_id(populated_url)
    edited, deleted = (
        row.plan_id
        for row in execute(
            populated_url,
            "SELECT plan_id FROM plans p WHERE parent_plan_id IS NULL AND NOT EXISTS"
            " (SELECT 1 FROM plans c WHERE c.parent_plan_id = p.plan_id) AND NOT EXISTS"
            " (SELECT 1 FROM decisions d WHERE d.plan_id = p.plan_id) ORDER BY plan_id LIMIT 2",
        )
    )
    (edited_snapshot,) = execute(
        populated_url, "SELECT effective_profile_snapshot FROM plans WHERE plan_id = :p", p=edited
    )
    migrations.downgrade(populated_url, "0002")
    execute(
        populated_url,
        "UPDATE plans SET automation_profile = 'autonomous' WHERE plan_id = :p",
        p=edited,
    )
    execute(populated_url, "DELETE FROM plans WHERE plan_id = :p", p=deleted)
    execute(
        populated_url,
        "INSERT INTO plans (plan_id, namespaced_name, namespace, description, created_at,"
        " updated_at) VALUES ('01NEWPLANWHILEDOWNGRADED00', 'old/new', 'old', 'added at 0002',"
        " :now, :now)",
        now=NOW,
    )
    migrations.upgrade(populated_url)
    after = {
        row.plan_id: row
        for row in execute(
            populated_url,
            "SELECT plan_id, automation_profile, root_plan_id, effective_profile_snapshot"
            " FROM plans",
        )
    }
    new = after["01NEWPLANWHILEDOWNGRADED00"]
    assert (new.automation_profile, new.root_plan_id) == ("balanced", new.plan_id)
    assert json.loads(new.effective_profile_snapshot)["source"] == "backfill"
    assert after[edited].automation_profile == "autonomous"
    assert after[edited].effective_profile_snapshot == edited_snapshot[0]  # frozen, not re-derived
    assert deleted not in after
    # every other plan is exactly as it was
    untouched = {k: v for k, v in plans_before.items() if k not in (edited, deleted)}
    now_stored = plans_by_id(populated_url)
    assert {k: now_stored[k] for k in untouched} == untouched
    assert dump(populated_url)["plan_repairs"] == [
        row for row in before["plan_repairs"] if repr(deleted) not in row
    ]
    assert dump(populated_url)["automation_profiles"] == before["automation_profiles"]
    assert dump(populated_url)["correction_attempts"] == before["correction_attempts"]
    assert not [t for t in table_names(populated_url) if t.startswith(STASH_PREFIX)]


def test_attempts_whose_decisions_were_deleted_are_kept_in_the_stash_and_reported(
    populated_url,
):
    attempts = execute(populated_url, "SELECT correction_attempt_id FROM correction_attempts")
    (appended,) = execute(
        populated_url, "SELECT new_decision_id FROM correction_attempts WHERE mode = 'append'"
    )
    migrations.downgrade(populated_url, "0002")
    execute(populated_url, "DELETE FROM decisions WHERE decision_id = :d", d=appended[0])
    events: list[migrations.MigrationProgress] = []
    migrations.upgrade(populated_url, progress=events.append)
    notes = [e.message for e in events if e.step == "rows" and "not restored" in e.message]
    assert notes == [
        "1 correction_attempts row not restored (its plan or decision was deleted);"
        " kept in plandesk_stash_0004_correction_attempts"
    ]
    kept = execute(
        populated_url, "SELECT correction_attempt_id FROM plandesk_stash_0004_correction_attempts"
    )
    restored = execute(populated_url, "SELECT correction_attempt_id FROM correction_attempts")
    assert sorted(map(tuple, kept + restored)) == sorted(map(tuple, attempts))
    # A later downgrade through 0004 would replace that stash: it is listed and refused.
    with pytest.raises(migrations.DataLossError) as refused:
        migrations.downgrade(populated_url, "0003")
    assert [(loss.table, loss.rows) for loss in refused.value.losses] == [
        ("plandesk_stash_0004_correction_attempts", 1)
    ]
    assert migrations.inspect_database(populated_url).current == migrations.head_revision()


def test_downgrade_to_base_lists_losses_and_refuses_without_force(populated_url):
    before = dump(populated_url)
    with pytest.raises(migrations.DataLossError) as refused:
        migrations.downgrade(populated_url, "base")
    losses = {loss.table: loss.rows for loss in refused.value.losses}
    assert losses["plans"] == len(before["plans"])
    assert losses["correction_attempts"] == 2
    assert losses["decisions"] == len(before["decisions"])
    assert "plan_repairs" in losses and "alembic_version" not in losses
    assert "plans: " in str(refused.value)
    assert dump(populated_url) == before
    migrations.downgrade(populated_url, "base", force=True)
    assert migrations.inspect_database(populated_url).current is None
    assert table_names(populated_url) in ([], ["alembic_version"])


def test_stash_left_by_a_hand_run_alembic_upgrade_is_listed(populated_url):
    migrations.downgrade(populated_url, "0003")
    engine = create_db_engine(populated_url, foreign_keys=False, transactional_ddl=True)
    try:
        with engine.connect() as connection, connection.begin():
            from alembic import command

            command.upgrade(migrations.alembic_config(connection), "head")
    finally:
        engine.dispose()
    assert dump(populated_url)["correction_attempts"] == []
    with pytest.raises(migrations.DataLossError, match="plandesk_stash_0004_correction_attempts"):
        migrations.downgrade(populated_url, "0003")
    migrations.downgrade(populated_url, "0003", force=True)
    migrations.upgrade(populated_url)
    assert dump(populated_url)["correction_attempts"] == []


def test_a_failing_downgrade_step_leaves_no_stash_behind(populated_url):
    """0003's downgrade fails at its very end, after the stash and the plans copy are done."""
    before = dump(populated_url)
    execute(populated_url, "DROP INDEX ix_plan_repairs_plan_id")
    with pytest.raises(sa.exc.DatabaseError, match="ix_plan_repairs_plan_id"):
        migrations.downgrade(populated_url, "0002")
    # 0005 and 0004 were undone and committed, their stashes with them; 0003 rolled back whole.
    assert migrations.inspect_database(populated_url).current == "0003"
    assert [t for t in table_names(populated_url) if t.startswith(STASH_PREFIX)] == [
        "plandesk_stash_0004_correction_attempts", "plandesk_stash_0005"
    ]
    assert len(dump(populated_url)["plans"]) == len(before["plans"])
    execute(populated_url, "CREATE INDEX ix_plan_repairs_plan_id ON plan_repairs (plan_id)")
    migrations.downgrade(populated_url, "0002")
    migrations.upgrade(populated_url)
    assert dump(populated_url) == before


def test_a_failing_restore_leaves_the_stash_for_the_next_upgrade(populated_url):
    before = dump(populated_url)
    migrations.downgrade(populated_url, "0002")

    def explode(event: migrations.MigrationProgress) -> None:
        if event.step == "rows" and event.message.startswith("Restoring"):
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        migrations.upgrade(populated_url, progress=explode)
    assert migrations.inspect_database(populated_url).current == "0002"
    migrations.upgrade(populated_url)
    assert dump(populated_url) == before


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_cli_downgrade_refuses_then_forces_with_backup(tmp_path):
    path = tmp_path / "cli.db"
    seed_database(f"sqlite:///{path}", 30, 3, random_seed=5)
    refused = run("db", "downgrade", "base", "--db", str(path))
    assert refused.exit_code == 1
    assert "would lose" in refused.stderr and "plans: 30 rows" in refused.stderr
    assert "--force" in refused.stderr
    assert migrations.inspect_database(f"sqlite:///{path}").current == migrations.head_revision()
    lossless = run("db", "downgrade", "0002", "--db", str(path), "--backup")
    assert lossless.exit_code == 0, lossless.output
    assert "is at 0002" in lossless.output
    current = run("db", "current", "--db", str(path)).output
    assert "stashed:  plandesk_stash_0003_plans  30 rows" in current
    backups = list(tmp_path.glob("cli.backup-*.db"))
    assert len(backups) == 1
    forced = run("db", "downgrade", "base", "--db", str(path), "--force")
    assert forced.exit_code == 0, forced.output
    assert "is at base" in forced.output
    upgraded = run("db", "upgrade", "--db", str(path))
    assert upgraded.exit_code == 0
    assert execute(f"sqlite:///{path}", "SELECT count(*) FROM plans")[0][0] == 0
