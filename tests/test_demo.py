"""The demo workspace: deterministic to the byte, and as rich as the issue asks."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from store.demo import create_demo
from store.models import PlanPhase, ProcessingState
from store.phase_timestamps import TIMESTAMP_COLUMNS, phase_timestamps
from store.plans import PAGE_SIZE


def table_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    connection = sqlite3.connect(path)
    try:
        tables = [name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {table: sorted(connection.execute(f'SELECT * FROM "{table}"'), key=repr)
                for table in tables}
    finally:
        connection.close()


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> sqlite3.Connection:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    create_demo(path)
    connection = sqlite3.connect(path)
    connection.row_factory = sqlite3.Row
    yield connection
    connection.close()


def test_demo_is_the_same_to_the_byte_every_time(tmp_path):
    first, second = tmp_path / "a" / "demo.db", tmp_path / "b" / "demo.db"
    create_demo(first)
    create_demo(second)
    assert table_rows(first) == table_rows(second)
    assert files_under(tmp_path / "a" / "demo-artifacts") == \
        files_under(tmp_path / "b" / "demo-artifacts")


def test_trees_are_big_deep_and_one_node_pages(demo):
    depth, total = demo.execute(
        "WITH RECURSIVE d(id, n) AS (SELECT plan_id, 1 FROM plans WHERE parent_plan_id IS NULL"
        " UNION ALL SELECT p.plan_id, d.n + 1 FROM plans p JOIN d ON p.parent_plan_id = d.id)"
        " SELECT max(n), count(*) FROM d").fetchone()
    assert total >= 200 and depth == 6
    assert demo.execute("SELECT count(*) FROM plans").fetchone()[0] == total  # all reachable
    roots = demo.execute("SELECT count(*) FROM plans WHERE parent_plan_id IS NULL").fetchone()[0]
    assert roots >= 5
    widest = demo.execute("SELECT max(n) FROM (SELECT count(*) n FROM plans"
                          " GROUP BY parent_plan_id)").fetchone()[0]
    assert widest > PAGE_SIZE  # its "… more" row shows
    for name in ("infra/upgrade-replicas", "billing/migrate-invoices", "docs/examples-python"):
        assert demo.execute("SELECT 1 FROM plans WHERE namespaced_name = ?", (name,)).fetchone()


def test_every_phase_and_state(demo):
    pairs = set(demo.execute("SELECT DISTINCT phase, processing_state FROM plans").fetchall())
    assert {phase for phase, _ in pairs} == {p.value for p in PlanPhase}
    assert {state for _, state in pairs} == {s.value for s in ProcessingState}


def test_three_to_eight_decisions_each_with_its_artifact_folder(demo, tmp_path_factory):
    counts = [n for (n,) in demo.execute(
        "SELECT count(d.decision_id) FROM plans p LEFT JOIN decisions d ON d.plan_id = p.plan_id"
        " AND d.sequence <= 8 GROUP BY p.plan_id")]
    assert min(counts) >= 3 and max(counts) <= 8
    (path,) = [Path(row[2]) for row in demo.execute("PRAGMA database_list") if row[1] == "main"]
    artifacts = path.parent / "demo-artifacts"
    for folder, state, attempt in demo.execute(
            "SELECT d.artifacts_path, d.state, c.archived_artifacts_path FROM decisions d"
            " LEFT JOIN correction_attempts c ON c.plan_id = d.plan_id AND c.state = 'complete'"
            " AND c.archived_artifacts_path IS NOT NULL WHERE d.artifacts_path IS NOT NULL"):
        where = artifacts / attempt / folder if state == "reverted" else artifacts / folder
        assert (where / "decision.md").is_file(), where


def test_correction_history(demo):
    attempts = demo.execute(
        "SELECT mode, state, failure_reason, new_decision_id FROM correction_attempts").fetchall()
    kinds = {(a["mode"], a["state"]) for a in attempts}
    assert {("revert", "complete"), ("append", "complete")} <= kinds
    failed = [a for a in attempts if a["state"] == "failed"]
    assert len(failed) == 1 and failed[0]["failure_reason"]
    assert all(a["new_decision_id"] for a in attempts if a["state"] == "complete")
    reverted = demo.execute("SELECT count(*) FROM decisions WHERE state = 'reverted'").fetchone()
    assert reverted[0] >= 2


def test_legacy_repairs_and_drifted_profiles(demo):
    reasons = {r for (r,) in demo.execute("SELECT reason FROM plan_repairs")}
    assert {"orphan: parent plan does not exist", "cycle: parent links loop back to this plan",
            "legacy JSON profile reference replaced by its name",
            "empty automation_profile replaced by the default profile"} <= reasons
    backfilled = demo.execute("SELECT count(*) FROM plans WHERE json_extract("
                              "effective_profile_snapshot, '$.source') = 'backfill'").fetchone()
    assert backfilled[0] >= 1
    drifted = 0
    for name, settings in demo.execute("SELECT name, settings_json FROM automation_profiles"):
        frozen = demo.execute(
            "SELECT json_extract(effective_profile_snapshot, '$.settings') FROM plans"
            " WHERE automation_profile = ? LIMIT 1", (name,)).fetchone()
        if frozen and frozen[0] and json.loads(frozen[0]) != json.loads(settings):
            drifted += 1
    assert drifted >= 2


def test_0005_fields_are_filled_consistently(demo):
    plans = demo.execute("SELECT * FROM plans").fetchall()
    for plan in plans:
        implied = phase_timestamps(plan["phase"], plan["processing_state"], "x")
        for column in TIMESTAMP_COLUMNS:
            assert (plan[column] is not None) == (implied[column] is not None), \
                (plan["namespaced_name"], column)
        stamps = [plan["created_at"], plan["strategized_at"], plan["executed_at"],
                  plan["applied_at"]]
        reached = [s for s in stamps if s is not None]
        assert reached == sorted(reached)
    executed = [p for p in plans if p["phase"] in ("apply", "applied")]
    assert executed and all(p["changeset_id"] and p["decision_root_id"] for p in executed)
    for plan in executed:
        json.loads(plan["sandbox_refs_json"])
        json.loads(plan["validation_summary_json"])
    assert all(p["changeset_id"] is None for p in plans if p["phase"] == "strategize")
    projects = demo.execute("SELECT alias, read_only FROM plan_projects").fetchall()
    assert any(alias for alias, _ in projects) and any(ro for _, ro in projects)
