"""Plan creation, validation and the keyset-paginated queries the app uses, on both backends."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy import event
from sqlmodel import Session, func, select

from store import decisions, plans, profiles
from store.db import create_db_engine, database_url, session_scope
from store.models import Plan, PlanPhase, ProcessingState


def make_forest(engine: sa.Engine, roots: int = 5, children: int = 7) -> list[str]:
    ids: list[str] = []
    with session_scope(engine) as session:
        for r in range(roots):
            root = plans.create_plan(
                session, namespaced_name=f"team{r}/root", description=f"root {r}"
            )
            ids.append(root.plan_id)
            for c in range(children):
                child = plans.create_plan(
                    session,
                    namespaced_name=f"team{r}/child-{c}",
                    description="child",
                    parent_plan_id=root.plan_id,
                    phase=PlanPhase.EXECUTE if c % 2 else PlanPhase.STRATEGIZE,
                )
                if c == 0:
                    plans.create_plan(
                        session,
                        namespaced_name=f"team{r}/grandchild",
                        description="gc",
                        parent_plan_id=child.plan_id,
                        processing_state=ProcessingState.ERRORED,
                    )
    return ids


def test_new_plans_get_a_creation_snapshot_and_their_true_root(engine):
    with session_scope(engine) as session:
        root = plans.create_plan(
            session, namespaced_name="ops/root", description="r", automation_profile="manual"
        )
        child = plans.create_plan(
            session, namespaced_name="ops/child", description="c", parent_plan_id=root.plan_id
        )
        grandchild = plans.create_plan(
            session, namespaced_name="ops/gc", description="g", parent_plan_id=child.plan_id
        )
    assert root.root_plan_id == root.plan_id
    assert grandchild.root_plan_id == root.plan_id
    snapshot = json.loads(root.effective_profile_snapshot)
    assert snapshot["source"] == "creation"
    assert snapshot["profile_name"] == "manual"
    assert snapshot["settings"]["require_review"] is True
    assert json.loads(child.effective_profile_snapshot)["profile_name"] == "balanced"
    assert root.effective_profile_snapshot != "{}"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"namespaced_name": "", "description": "x"}, "namespace/name"),
        ({"namespaced_name": "ops/x", "description": "   "}, "description"),
        ({"namespaced_name": "ops/x", "description": "x", "tags_json": "{bad"}, "not valid JSON"),
    ],
)
def test_create_plan_validates_input(engine, kwargs, message):
    with pytest.raises(ValueError, match=message), session_scope(engine) as session:
        plans.create_plan(session, **kwargs)


def test_create_plan_with_unknown_parent_is_refused(engine):
    with pytest.raises(plans.PlanNotFoundError), session_scope(engine) as session:
        plans.create_plan(session, namespaced_name="a/b", description="x", parent_plan_id="01NOPE")


def test_table_models_are_validated_explicitly():
    with pytest.raises(ValidationError):
        Plan.model_validate({"plan_id": "x", "phase": "nonsense", "namespaced_name": "a/b"})


def test_create_plan_rejects_an_unknown_phase_before_anything_is_flushed(engine):
    written: list[str] = []

    def record_writes(_conn, _cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith(("SELECT", "PRAGMA")):
            written.append(statement)

    event.listen(engine, "before_cursor_execute", record_writes)
    try:
        with Session(engine) as session:
            with pytest.raises(ValidationError, match="phase"):
                plans.create_plan(session, namespaced_name="ops/x", description="x",
                                  phase="nonsense")  # type: ignore[arg-type]
            assert not session.new
            session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", record_writes)
    assert written == []
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Plan)).one() == 0


def test_roots_are_paged_by_keyset_without_offset(engine):
    expected = sorted(make_forest(engine, roots=11, children=1))
    statements: list[tuple[str, object]] = []
    event.listen(
        engine, "before_cursor_execute", lambda *args: statements.append((args[2], args[3]))
    )
    seen: list[str] = []
    after = None
    with session_scope(engine) as session:
        while True:
            page = plans.roots_page(session, after=after, limit=4)
            seen.extend(node.plan.plan_id for node in page.nodes)
            if not page.has_more:
                break
            after = page.next_after
    assert seen == expected
    # SQLite's compiler always writes "LIMIT ? OFFSET ?"; the offset must stay 0.
    for sql, params in statements:
        if "OFFSET" in sql.upper():
            assert sql.rstrip().upper().endswith("OFFSET ?") and params[-1] == 0


def test_children_page_and_counts(engine):
    roots = make_forest(engine, roots=2, children=5)
    with session_scope(engine) as session:
        first = plans.roots_page(session).nodes[0]
        assert first.child_count == 5
        page = plans.children_page(session, roots[0], limit=3)
        assert len(page.nodes) == 3 and page.has_more
        rest = plans.children_page(session, roots[0], after=page.next_after, limit=3)
        assert len(rest.nodes) == 2 and not rest.has_more
        counts = sorted(node.child_count for node in (*page.nodes, *rest.nodes))
        assert counts == [0, 0, 0, 0, 1]
        assert plans.descendant_count(session, roots[0]) == 6


def test_search_filters_and_ancestors(engine):
    roots = make_forest(engine, roots=3, children=4)
    with session_scope(engine) as session:
        errored = plans.search_page(session, plans.PlanFilter.parse("state:errored"))
        assert len(errored.nodes) == 3
        grandchild = errored.nodes[0].plan
        ancestors = plans.ancestor_ids(session, grandchild.plan_id)
        assert ancestors[0] == grandchild.root_plan_id and len(ancestors) == 2
        by_name = plans.search_page(session, plans.PlanFilter.parse("team1 phase:execute"))
        assert {n.plan.namespaced_name for n in by_name.nodes} == {"team1/child-1", "team1/child-3"}
        by_prefix = plans.find_plans(session, roots[2].lower())
        assert [p.plan_id for p in by_prefix] == [roots[2]]
        literal = plans.search_page(session, plans.PlanFilter.parse("%"))
        assert literal.nodes == ()
    with pytest.raises(ValueError, match="Unknown phase"):
        plans.PlanFilter.parse("phase:lunch")


def test_plan_detail_shows_drift_after_profile_changes(engine):
    with session_scope(engine) as session:
        plan = plans.create_plan(session, namespaced_name="ops/x", description="x")
        decisions.record_decision(
            session, plan_id=plan.plan_id, title="first", phase=PlanPhase.EXECUTE
        )
    with session_scope(engine) as session:
        detail = plans.plan_detail(session, plan.plan_id)
        assert detail.snapshot.source == "creation" and not detail.drift.drifted
        profiles.set_profile(session, "balanced", {"auto_apply": True})
    with session_scope(engine) as session:
        detail = plans.plan_detail(session, plan.plan_id)
        assert detail.drift.drifted
        assert any(line.startswith('+  "auto_apply": true') for line in detail.drift.diff_lines)
        assert [d.title for d in detail.decisions] == ["first"]
    with pytest.raises(plans.PlanNotFoundError), session_scope(engine) as session:
        plans.plan_detail(session, "01UNKNOWN")


def test_corrupt_snapshot_is_reported_not_raised():
    parsed = profiles.parse_snapshot('{"profile_name": ')
    assert parsed.data is None and "not valid JSON" in (parsed.error or "")
    assert profiles.parse_snapshot("{}").error is not None
    assert profiles.parse_snapshot("[" * 100_000 + "]" * 100_000).error is not None


@pytest.mark.parametrize("bad", ["/etc/passwd", "../outside", "a/../../b", "", "a\\b"])
def test_artifact_paths_stay_inside_the_root(bad):
    with pytest.raises(decisions.ArtifactPathError):
        decisions.checked_artifacts_path(bad)


def test_sqlite_connections_get_pragmas(sqlite_url):
    engine = create_db_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    engine.dispose()


def test_database_location_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("PLANDESK_DB", raising=False)
    assert database_url(None).endswith("plandesk/plandesk.db")
    monkeypatch.setenv("PLANDESK_DB", str(tmp_path / "env.db"))
    assert database_url(None) == f"sqlite:///{tmp_path / 'env.db'}"
    assert database_url(str(tmp_path / "flag.db")).endswith("flag.db")
    assert database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
