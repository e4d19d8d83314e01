"""The integrity check on damaged rows written behind plandesk's back, on SQLite and PostgreSQL:
each kind counted and listed, bounded listings, nothing written."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from store import decisions, plans
from store.db import session_scope, sqlite_path
from store.integrity import IntegrityKind, integrity_report, parent_cycles
from store.models import PlanPhase

T = "2025-01-01T00:00:00+00:00"


def write_behind_our_back(url: str, statements: list[tuple[str, dict[str, Any]]]) -> None:
    """Run raw SQL with foreign keys unchecked, as a careless writer would."""
    path = sqlite_path(url)
    if path is not None:
        connection = sqlite3.connect(path)  # foreign keys are off unless a connection asks
        try:
            with connection:
                for sql, params in statements:
                    connection.execute(sql, params)
        finally:
            connection.close()
        return
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            # Foreign keys are triggers on PostgreSQL; a replica session does not fire them.
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            for sql, params in statements:
                connection.execute(sa.text(sql), params)
    finally:
        engine.dispose()


def pid(name: str) -> str:
    """A fixed, sortable 26-character plan id for `name`."""
    return ("01J" + name.upper()).ljust(26, "0")[:26]


@dataclass(frozen=True)
class Damage:
    mismatched: str  # root_plan_id another tree's root
    bad_root: str  # a root whose root_plan_id is another plan
    orphan: str  # parent deleted
    cycle: tuple[str, str]  # x -> y -> x
    below_cycle: str  # child of y
    gapped: str  # decisions 1 and 3
    repaired: str  # a plan_repairs row


@pytest.fixture
def damage(head_url: str, engine: sa.Engine) -> Damage:
    with session_scope(engine) as session:
        def plan(name: str, parent: str | None = None) -> str:
            return plans.create_plan(session, namespaced_name=f"int/{name}", description=name,
                                     parent_plan_id=parent, plan_id=pid(name), now=T).plan_id

        root_a, root_b = plan("roota"), plan("rootb")
        mismatched = plan("mismatch", root_a)
        plan("fine", root_a)
        bad_root = plan("badroot")
        gone = plan("gone", root_b)
        orphan = plan("orphan", gone)
        x = plan("cyclex", root_b)
        y = plan("cycley", x)
        below = plan("below", y)
        gapped = plan("gapped", root_a)
        for title in ("one", "two", "three"):
            decisions.record_decision(session, plan_id=gapped, title=title,
                                      phase=PlanPhase.EXECUTE, now=T)
    write_behind_our_back(head_url, [
        ("UPDATE plans SET root_plan_id = :b WHERE plan_id = :p", {"b": root_b, "p": mismatched}),
        ("UPDATE plans SET root_plan_id = :a WHERE plan_id = :p", {"a": root_a, "p": bad_root}),
        ("DELETE FROM plans WHERE plan_id = :p", {"p": gone}),
        ("UPDATE plans SET parent_plan_id = :y WHERE plan_id = :x", {"x": x, "y": y}),
        ("DELETE FROM decisions WHERE plan_id = :p AND sequence = 2", {"p": gapped}),
        ("INSERT INTO plan_repairs (plan_id, column_name, old_value, reason, repaired_at)"
         " VALUES (:p, 'parent_plan_id', '01MISSING', 'dangling parent', :t)",
         {"p": root_a, "t": T}),
    ])
    return Damage(mismatched, bad_root, orphan, (x, y), below, gapped, root_a)


def listed(report, kind: IntegrityKind) -> dict[str, str]:
    return {f.plan_id: f.what for f in report.group(kind).findings}


def test_every_kind_is_counted_and_listed(engine, damage: Damage):
    with session_scope(engine) as session:
        report = integrity_report(session)
        # the walk that finds the orphans itself (a listing too long to start from) agrees
        assert parent_cycles(session, 100) == report.group(IntegrityKind.PARENT_CYCLE)
    counts = {group.kind: group.count for group in report.groups}
    assert counts == {
        IntegrityKind.REPAIRED: 1,
        IntegrityKind.ROOT_MISMATCH: 2,
        IntegrityKind.DANGLING_PARENT: 1,
        IntegrityKind.PARENT_CYCLE: 3,
        IntegrityKind.DECISION_GAP: 1,
    }
    assert [g.kind for g in report.groups] == list(IntegrityKind)
    assert report.total == 8
    assert listed(report, IntegrityKind.REPAIRED) == {
        damage.repaired: "parent_plan_id was '01MISSING': dangling parent"}
    mismatches = listed(report, IntegrityKind.ROOT_MISMATCH)
    assert set(mismatches) == {damage.mismatched, damage.bad_root}
    assert mismatches[damage.bad_root] == f"a root whose root_plan_id is {pid('roota')}"
    assert pid("rootb") in mismatches[damage.mismatched]
    assert listed(report, IntegrityKind.DANGLING_PARENT) == {
        damage.orphan: f"parent {pid('gone')} does not exist"}
    x, y = damage.cycle
    assert listed(report, IntegrityKind.PARENT_CYCLE) == {
        x: "in a parent cycle", y: "in a parent cycle", damage.below_cycle: "below a parent cycle"}
    assert listed(report, IntegrityKind.DECISION_GAP) == {
        damage.gapped: "2 decisions numbered 1 to 3 (1 missing)"}
    names = {f.plan_id: f.namespaced_name for g in report.groups for f in g.findings}
    assert names[damage.orphan] == "int/orphan"


def test_listings_are_bounded_and_ordered_by_plan_id(engine, damage: Damage):
    with session_scope(engine) as session:
        report = integrity_report(session, limit=1)
    cycle = report.group(IntegrityKind.PARENT_CYCLE)
    assert cycle.count == 3 and [f.plan_id for f in cycle.findings] == [damage.below_cycle]
    assert all(len(g.findings) <= 1 for g in report.groups)


def test_a_sound_database_has_no_findings(engine):
    with session_scope(engine) as session:
        root = plans.create_plan(session, namespaced_name="ok/root", description="r")
        child = plans.create_plan(session, namespaced_name="ok/child", description="c",
                                  parent_plan_id=root.plan_id)
        decisions.record_decision(session, plan_id=child.plan_id, title="t",
                                  phase=PlanPhase.EXECUTE)
        assert integrity_report(session).total == 0


def test_a_self_loop_is_a_cycle(head_url, engine):
    with session_scope(engine) as session:
        loop = plans.create_plan(session, namespaced_name="ok/loop", description="l",
                                 plan_id=pid("loop"), now=T).plan_id
    write_behind_our_back(head_url, [
        ("UPDATE plans SET parent_plan_id = :p WHERE plan_id = :p", {"p": loop})])
    with session_scope(engine) as session:
        report = integrity_report(session)
    assert listed(report, IntegrityKind.PARENT_CYCLE) == {loop: "in a parent cycle"}
    assert report.group(IntegrityKind.ROOT_MISMATCH).count == 0
