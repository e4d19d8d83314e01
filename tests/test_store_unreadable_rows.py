"""Rows the models cannot read (unknown enum values, broken JSON) and parent cycles written
behind the app's back, after migration, with raw SQL: reads flag them and go on, on both
backends, and reading never rewrites them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from store import decisions, plans
from store.db import session_scope, sqlite_path
from store.models import PlanPhase
from store.plans import paths as plan_paths


def write_unchecked(url: str, table: str, sql: str, params: dict[str, Any]) -> None:
    """Run `sql` as a careless writer would: past the CHECK constraints the schema has."""
    path = sqlite_path(url)
    if path is not None:
        connection = sqlite3.connect(path)
        try:
            connection.execute("PRAGMA ignore_check_constraints = ON")
            with connection:
                connection.execute(sql, params)
        finally:
            connection.close()
        return
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            checks = connection.execute(sa.text(
                "SELECT conname FROM pg_constraint"
                " WHERE conrelid = CAST(:table AS regclass) AND contype = 'c'"
            ), {"table": table}).scalars().all()
            for name in checks:
                connection.exec_driver_sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            connection.execute(sa.text(sql), params)
    finally:
        engine.dispose()


def stored(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.exec_driver_sql(sql)]
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Damaged:
    """A forest with one bad row of each kind, and the ids of the rows that matter."""

    bad_root: str  # phase 'bogus'
    good_root: str
    bad_state_child: str  # processing_state 'stuck'
    broken_json_child: str  # tags_json and effective_profile_snapshot are not JSON
    good_child: str
    bad_decision: str  # state 'bogus', on good_child
    good_decision: str  # on good_child, sequence 1


@pytest.fixture
def damaged(head_url: str, engine: sa.Engine) -> Iterator[Damaged]:
    with session_scope(engine) as session:
        bad_root = plans.create_plan(session, namespaced_name="ops/bad-root", description="b")
        good_root = plans.create_plan(session, namespaced_name="ops/good-root", description="g")
        children = [
            plans.create_plan(session, namespaced_name=f"ops/child-{n}", description="c",
                              parent_plan_id=good_root.plan_id)
            for n in range(3)
        ]
        good_decision = decisions.record_decision(
            session, plan_id=children[2].plan_id, title="keep", phase=PlanPhase.EXECUTE)
        bad_decision = decisions.record_decision(
            session, plan_id=children[2].plan_id, title="later", phase=PlanPhase.EXECUTE)
    write_unchecked(head_url, "plans", "UPDATE plans SET phase = 'bogus' WHERE plan_id = :id",
                    {"id": bad_root.plan_id})
    write_unchecked(head_url, "plans",
                    "UPDATE plans SET processing_state = 'stuck' WHERE plan_id = :id",
                    {"id": children[0].plan_id})
    write_unchecked(head_url, "plans",
                    "UPDATE plans SET tags_json = '{oops', effective_profile_snapshot = 'nope'"
                    " WHERE plan_id = :id", {"id": children[1].plan_id})
    write_unchecked(head_url, "decisions",
                    "UPDATE decisions SET state = 'bogus' WHERE decision_id = :id",
                    {"id": bad_decision.decision_id})
    yield Damaged(bad_root.plan_id, good_root.plan_id, children[0].plan_id,
                  children[1].plan_id, children[2].plan_id, bad_decision.decision_id,
                  good_decision.decision_id)


def labels(page: plans.PlanPage) -> dict[str, str]:
    return {node.plan.plan_id: plans.unreadable_label(node.plan.problems) for node in page.nodes}


def test_pages_flag_unreadable_rows_and_show_the_rest(engine, damaged):
    with session_scope(engine) as session:
        roots = plans.roots_page(session)
        assert labels(roots) == {damaged.bad_root: "unreadable: phase 'bogus'",
                                 damaged.good_root: ""}
        bad = next(n.plan for n in roots.nodes if n.plan.plan_id == damaged.bad_root)
        assert bad.phase == "bogus" and bad.processing_state == "queued"
        children = plans.children_page(session, damaged.good_root)
        assert labels(children) == {
            damaged.bad_state_child: "unreadable: processing_state 'stuck'",
            damaged.broken_json_child:
                "unreadable: effective_profile_snapshot (not valid JSON), tags_json "
                "(not valid JSON)",
            damaged.good_child: "",
        }
        found = plans.search_page(session, plans.PlanFilter.parse("ops"))
        assert len(found.nodes) == 5
        assert plans.search_page(session, plans.PlanFilter.parse("phase:strategize")).nodes
        assert [p.plan_id for p in plans.find_plans(session, damaged.bad_root)] == [
            damaged.bad_root]
        assert [p.plan_id for p in plans.find_plans(session, "")] == sorted(
            [damaged.bad_root, damaged.good_root])
        segment = plans.siblings_from(session, damaged.bad_state_child)
        assert segment.nodes[0].plan.plan_id == damaged.bad_state_child
        assert plans.siblings_from(session, damaged.bad_root).nodes
        assert plans.descendant_count(session, damaged.good_root) == 3


def test_detail_of_an_unreadable_plan_says_what_is_wrong(engine, damaged):
    with session_scope(engine) as session:
        detail = plans.plan_detail(session, damaged.bad_root)
        assert detail.plan.phase == "bogus"  # the stored text, shown as it is
        assert [p.explanation for p in detail.plan_problems] == [
            "phase 'bogus' is not one of strategize, execute, apply, applied"]
        assert "unreadable" in (detail.correction_refusal("any") or "")
        broken = plans.plan_detail(session, damaged.broken_json_child)
        assert [p.column for p in broken.plan_problems] == [
            "effective_profile_snapshot", "tags_json"]
        assert broken.snapshot.error is not None
        assert plans.plan_detail(session, damaged.good_root).problems == ()


def test_decisions_with_bad_values_are_flagged_and_refuse_corrections(engine, damaged):
    with session_scope(engine) as session:
        detail = plans.plan_detail(session, damaged.good_child)
    assert [d.state for d in detail.decisions] == ["active", "bogus"]
    assert detail.plan_problems == ()
    (problem,) = detail.problems_of("decisions", damaged.bad_decision)
    assert problem.label == "state 'bogus'"
    refusal = detail.correction_refusal(damaged.bad_decision)
    assert refusal is not None and "#2" in refusal and "state 'bogus'" in refusal
    # A correction reads every decision of the plan, so the readable one is refused too.
    other = detail.correction_refusal(damaged.good_decision)
    assert other is not None and "#2" in other


def test_reading_rewrites_nothing(head_url, engine, damaged):
    query = ("SELECT plan_id, phase, processing_state, tags_json, effective_profile_snapshot,"
             " updated_at FROM plans ORDER BY plan_id")
    before = stored(head_url, query), stored(head_url, "SELECT * FROM decisions ORDER BY 1")
    with session_scope(engine) as session:
        for plan_id in (damaged.bad_root, damaged.bad_state_child, damaged.broken_json_child,
                        damaged.good_child):
            plans.plan_detail(session, plan_id)
        plans.roots_page(session)
        plans.children_page(session, damaged.good_root)
    after = stored(head_url, query), stored(head_url, "SELECT * FROM decisions ORDER BY 1")
    assert after == before


@pytest.fixture
def cycle(head_url: str, engine: sa.Engine) -> tuple[str, str, str]:
    """Plans a -> b -> a (parent cycle written after migration) and c, a child of b."""
    with session_scope(engine) as session:
        root = plans.create_plan(session, namespaced_name="loop/root", description="r")
        a = plans.create_plan(session, namespaced_name="loop/a", description="a",
                              parent_plan_id=root.plan_id)
        b = plans.create_plan(session, namespaced_name="loop/b", description="b",
                              parent_plan_id=a.plan_id)
        c = plans.create_plan(session, namespaced_name="loop/c", description="c",
                              parent_plan_id=b.plan_id)
    write_unchecked(head_url, "plans", "UPDATE plans SET parent_plan_id = :b WHERE plan_id = :a",
                    {"a": a.plan_id, "b": b.plan_id})
    return a.plan_id, b.plan_id, c.plan_id


def test_ancestor_walks_stop_at_a_cycle(engine, cycle):
    a, b, c = cycle
    with session_scope(engine) as session:
        path = plans.ancestor_path(session, a)
        assert path.ids == (b,) and path.stopped == "cycle"
        below = plans.ancestor_path(session, c)
        assert below.ids == (a, b) and below.stopped == "cycle"
        detail = plans.plan_detail(session, c)
        assert detail.ancestors == (a, b) and detail.path_stopped == "cycle"
        with pytest.raises(plans.PlanPathError, match="cycle"):
            plans.ancestor_ids(session, a)
        assert plans.descendant_count(session, a) == 2  # b and c, each once


def test_ancestor_walks_stop_at_the_depth_bound(engine, monkeypatch):
    with session_scope(engine) as session:
        parent = plans.create_plan(session, namespaced_name="deep/0", description="d")
        chain = [parent.plan_id]
        for level in range(1, 8):
            parent = plans.create_plan(session, namespaced_name=f"deep/{level}",
                                       description="d", parent_plan_id=parent.plan_id)
            chain.append(parent.plan_id)
    with session_scope(engine) as session:
        assert plans.ancestor_path(session, chain[-1]).ids == tuple(chain[:-1])
        assert plans.ancestor_path(session, chain[-1]).stopped is None
        monkeypatch.setattr(plan_paths, "MAX_ANCESTOR_DEPTH", 3)
        path = plans.ancestor_path(session, chain[-1])
        assert path.ids == tuple(chain[-4:-1]) and path.stopped == "deeper than 3 levels"
        with pytest.raises(plans.PlanPathError, match="deeper than 3 levels"):
            plans.ancestor_ids(session, chain[-1])
