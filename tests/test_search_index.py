"""The search index of revision 0006 on a populated database, on SQLite and PostgreSQL: it is
built from the rows already there, kept in step by triggers, matched literally, and dropped
by a downgrade that loses nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from store import migrations, plans
from store.db import StoreError, create_db_engine, session_scope
from store.plans import PlanFilter
from store.plans import search as search_module
from store.plans.search import COUNT_CAP, SHORT_TEXT_WINDOW, fts_phrase
from store.seed import seed_database
from tests.test_round_trip import dump, execute
from tui.cli import main

NOW = "2026-02-03T04:05:06+00:00"
SEARCH_REVISION = "0006"
NAMED = {
    # plan_id: (namespaced_name, namespace, description, parent)
    "01KSEARCH0000000000000000R1": ("BILLING/Write", "BILLING", "Writes the invoices", None),
    "01KSEARCH0000000000000000C1": ("billing/reconcile", "billing", "nightly run",
                                    "01KSEARCH0000000000000000R1"),
    "01KSEARCH0000000000000000G1": ('ops/"a OR b* NEAR(x', "ops", "Café déjà vu",
                                    "01KSEARCH0000000000000000C1"),
    "01KSEARCH0000000000000000R2": ("deploy/prod_%", "deploy", "Pushes 50% of traffic", None),
}


def names(result: plans.SearchResult) -> list[str]:
    return sorted(plan.namespaced_name for plan in result.matches)


def search(url: str, query: str, limit: int = 200) -> plans.SearchResult:
    engine = create_db_engine(url)
    try:
        with session_scope(engine) as session:
            return plans.search_matches(session, PlanFilter.parse(query), limit=limit)
    finally:
        engine.dispose()


@pytest.fixture
def before_search_url(db_url: str) -> str:
    """A populated database one revision before the search index, with named plans."""
    target = migrations.history()[
        [r.revision for r in migrations.history()].index(SEARCH_REVISION) - 1
    ].revision
    seed_database(db_url, 300, 5, revision=target, random_seed=3)
    for plan_id, (name, namespace, description, parent) in NAMED.items():
        execute(
            db_url,
            "INSERT INTO plans (plan_id, parent_plan_id, root_plan_id, namespaced_name,"
            " namespace, description, effective_profile_snapshot, created_at, updated_at)"
            " VALUES (:plan_id, :parent, :root, :name, :namespace, :description, '{}',"
            " :now, :now)",
            plan_id=plan_id, parent=parent, root=(parent and "01KSEARCH0000000000000000R1")
            or plan_id, name=name, namespace=namespace, description=description, now=NOW,
        )
    return db_url


@pytest.fixture
def indexed_url(before_search_url: str) -> str:
    migrations.upgrade(before_search_url)
    return before_search_url


def index_objects(url: str) -> set[str]:
    if url.startswith("sqlite"):
        rows = execute(url, "SELECT name FROM sqlite_master WHERE name LIKE 'plan_search%'")
    else:
        rows = execute(url, "SELECT indexname FROM pg_indexes WHERE indexname LIKE '%_trgm'")
    return {str(row[0]) for row in rows}


def test_upgrade_builds_the_index_from_existing_rows(before_search_url):
    assert index_objects(before_search_url) == set()
    migrations.upgrade(before_search_url)
    if before_search_url.startswith("sqlite"):
        assert {"plan_search", "plan_search_rows", "plan_search_after_insert",
                "plan_search_after_update", "plan_search_after_delete"} <= index_objects(
            before_search_url)
        indexed = execute(before_search_url, "SELECT count(*) FROM plan_search_rows")[0][0]
        assert indexed == execute(before_search_url, "SELECT count(*) FROM plans")[0][0]
    else:
        assert index_objects(before_search_url) == {
            "ix_plans_namespaced_name_trgm", "ix_plans_namespace_trgm",
            "ix_plans_description_trgm"}
    # substring, any case, over name, namespace and description
    assert names(search(before_search_url, "illing/w")) == ["BILLING/Write"]
    assert names(search(before_search_url, "BiLLinG")) == ["BILLING/Write", "billing/reconcile"]
    assert names(search(before_search_url, "invoices")) == ["BILLING/Write"]
    assert names(search(before_search_url, "task-12")) == sorted(
        f"ns{i % 37:02d}/task-{i}" for i in (12, *range(120, 130)))


def test_the_index_serves_the_query(indexed_url):
    if indexed_url.startswith("sqlite"):
        plan = execute(indexed_url, "EXPLAIN QUERY PLAN SELECT rowid FROM plan_search"
                                    " WHERE plan_search MATCH '\"billing\"'")
        assert any("VIRTUAL TABLE INDEX" in str(row[-1]) for row in plan)
    else:
        engine = create_db_engine(indexed_url)
        with engine.connect() as connection:
            connection.execute(sa.text("SET enable_seqscan = off"))
            plan = connection.execute(sa.text(
                "EXPLAIN SELECT plan_id FROM plans WHERE namespaced_name ILIKE '%illing%'"
            )).all()
        engine.dispose()
        assert "ix_plans_namespaced_name_trgm" in " ".join(str(row[0]) for row in plan)


@pytest.mark.parametrize("query", ['"a OR b*', "NEAR(", 'b* NEAR(x', "a OR b", "*", '"'])
def test_query_syntax_is_matched_as_literal_text(indexed_url, query):
    expected = ['ops/"a OR b* NEAR(x'] if query in 'ops/"a OR b* NEAR(x' else []
    assert names(search(indexed_url, query)) == expected


def test_fts_phrase_quotes_quotes():
    assert fts_phrase('say "hi" OR') == '"say ""hi"" OR"'


def test_like_wildcards_are_literal(indexed_url):
    assert names(search(indexed_url, "50%")) == ["deploy/prod_%"]
    assert names(search(indexed_url, "d_%")) == ["deploy/prod_%"]
    assert names(search(indexed_url, "%")) == ["deploy/prod_%"]


def test_short_text_is_a_bounded_scan_and_ids_match_by_prefix(indexed_url):
    short = search(indexed_url, "é")  # in the newest plans: ours have the largest ids
    assert names(short) == ['ops/"a OR b* NEAR(x']
    assert short.window == SHORT_TEXT_WINDOW
    assert short.count_label == f"1 match in the newest {SHORT_TEXT_WINDOW:,} plans"
    # any case, wildcards literal, as the index's matching
    assert names(search(indexed_url, "wR")) == ["BILLING/Write"]
    assert names(search(indexed_url, "_%")) == ["deploy/prod_%"]
    by_id = search(indexed_url, "01ksearch0000000000000000r")
    assert names(by_id) == ["BILLING/Write", "deploy/prod_%"]
    assert by_id.window is None


def test_short_text_looks_in_exactly_the_newest_window(indexed_url, monkeypatch):
    """The window's bound is the WINDOW-th newest id: ours are the newest, G1 third."""
    monkeypatch.setattr(search_module, "SHORT_TEXT_WINDOW", 3)
    assert names(search(indexed_url, "é")) == ['ops/"a OR b* NEAR(x']
    monkeypatch.setattr(search_module, "SHORT_TEXT_WINDOW", 2)
    assert names(search(indexed_url, "é")) == []


def test_phase_and_state_combine_with_text(indexed_url):
    execute(indexed_url, "UPDATE plans SET phase = 'execute', processing_state = 'errored'"
                         " WHERE plan_id = '01KSEARCH0000000000000000C1'")
    assert names(search(indexed_url, "billing phase:execute")) == ["billing/reconcile"]
    assert names(search(indexed_url, "billing state:errored")) == ["billing/reconcile"]
    assert names(search(indexed_url, "billing state:queued")) == ["BILLING/Write"]
    only_state = search(indexed_url, "state:errored")
    assert "billing/reconcile" in names(only_state)
    assert all(p.processing_state == "errored" for p in only_state.matches)


def test_matches_come_with_their_ancestors(indexed_url):
    result = search(indexed_url, "déjà")
    assert names(result) == ['ops/"a OR b* NEAR(x']
    assert [p.plan_id for p in result.ancestors] == [
        "01KSEARCH0000000000000000C1", "01KSEARCH0000000000000000R1"]
    assert result.child_counts["01KSEARCH0000000000000000R1"] == 1
    assert result.count_label == "1 match"


def test_count_is_capped_honestly(indexed_url):
    result = search(indexed_url, "synthetic plan", limit=10)
    assert len(result.matches) == 10
    assert (result.total, result.capped) == (300, False)
    assert result.count_label == "300 matches"
    if indexed_url.startswith("sqlite"):
        execute(indexed_url, "INSERT INTO plans (plan_id, root_plan_id, namespaced_name,"
                " namespace, description, effective_profile_snapshot, created_at, updated_at)"
                " WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 800)"
                " SELECT printf('01ZZ%022d', i), printf('01ZZ%022d', i), 'bulk/x', 'bulk',"
                " 'Synthetic plan bulk', '{}', :now, :now FROM n", now=NOW)
    else:
        execute(indexed_url, "INSERT INTO plans (plan_id, root_plan_id, namespaced_name,"
                " namespace, description, effective_profile_snapshot, created_at, updated_at)"
                " SELECT '01ZZ' || lpad(i::text, 22, '0'), '01ZZ' || lpad(i::text, 22, '0'),"
                " 'bulk/x', 'bulk', 'Synthetic plan bulk', '{}', :now, :now"
                " FROM generate_series(1, 800) AS i", now=NOW)
    capped = search(indexed_url, "synthetic plan", limit=10)
    assert (capped.total, capped.capped) == (COUNT_CAP, True)
    assert capped.count_label == "1,000+ matches"


def test_the_next_matches_are_read_by_their_ids_with_the_ancestors_not_shown(indexed_url):
    first = search(indexed_url, "synthetic plan", limit=10)
    assert len(first.matches) == 10 and len(first.more_ids) == 290
    shown = {p.plan_id for p in (*first.matches, *first.ancestors)}
    assert not shown & set(first.more_ids)
    engine = create_db_engine(indexed_url)
    try:
        with session_scope(engine) as session:
            chunk = plans.matches_of(session, first.more_ids[:40], shown)
    finally:
        engine.dispose()
    assert [p.plan_id for p in chunk.matches] == list(first.more_ids[:40])
    ancestors = {p.plan_id: p for p in chunk.ancestors}
    assert not shown & set(ancestors)
    placed = shown | set(ancestors) | {p.plan_id for p in chunk.matches}
    for plan in (*chunk.matches, *chunk.ancestors):  # each one's parent is placed
        assert plan.parent_plan_id is None or plan.parent_plan_id in placed
    assert set(chunk.child_counts) == placed - shown


def test_triggers_keep_the_index_in_step(indexed_url):
    engine = create_db_engine(indexed_url)
    try:
        with session_scope(engine) as session:
            created = plans.create_plan(session, namespaced_name="quartz/new",
                                        description="fresh plan")
        assert names(search(indexed_url, "quartz")) == ["quartz/new"]
        execute(indexed_url, "UPDATE plans SET namespaced_name = 'onyx/renamed'"
                             " WHERE plan_id = :p", p=created.plan_id)
        assert names(search(indexed_url, "quartz/new")) == []  # its namespace is still quartz
        assert names(search(indexed_url, "onyx/ren")) == ["onyx/renamed"]
        # a change to other columns leaves the index alone, and it stays right
        execute(indexed_url, "UPDATE plans SET processing_state = 'complete'"
                             " WHERE plan_id = :p", p=created.plan_id)
        assert names(search(indexed_url, "onyx")) == ["onyx/renamed"]
        execute(indexed_url, "UPDATE plans SET description = 'zircon inside'"
                             " WHERE plan_id = :p", p=created.plan_id)
        assert names(search(indexed_url, "fresh plan")) == []
        assert names(search(indexed_url, "ZIRCON")) == ["onyx/renamed"]
        execute(indexed_url, "DELETE FROM plans WHERE plan_id = :p", p=created.plan_id)
        assert names(search(indexed_url, "onyx")) == []
        assert names(search(indexed_url, "zircon")) == []
        assert names(search(indexed_url, "quartz")) == []
        if indexed_url.startswith("sqlite"):
            assert execute(indexed_url, "SELECT count(*) FROM plan_search_rows")[0][0] == \
                execute(indexed_url, "SELECT count(*) FROM plans")[0][0]
            execute(indexed_url, "INSERT INTO plan_search(plan_search) VALUES ('integrity-check')")
    finally:
        engine.dispose()


def test_search_page_and_the_palette_use_the_same_matching(indexed_url):
    engine = create_db_engine(indexed_url)
    try:
        with session_scope(engine) as session:
            page = plans.search_page(session, PlanFilter.parse("billing"), limit=1)
            assert [n.plan.namespaced_name for n in page.nodes] == ["billing/reconcile"]
            rest = plans.search_page(session, PlanFilter.parse("billing"), after=page.next_after)
            assert [n.plan.namespaced_name for n in rest.nodes] == ["BILLING/Write"]
            assert [p.namespaced_name for p in plans.find_plans(session, "RECONC")] == [
                "billing/reconcile"]
    finally:
        engine.dispose()


def data_tables(url: str) -> dict[str, list[str]]:
    return {table: rows for table, rows in dump(url).items()
            if not table.startswith("plan_search")}


def test_downgrade_drops_the_index_loses_nothing_and_round_trips(indexed_url):
    before = data_tables(indexed_url)
    assert migrations.downgrade_losses(indexed_url, "0005") == ()
    migrations.downgrade(indexed_url, "0005")
    assert index_objects(indexed_url) == set()
    migrations.upgrade(indexed_url)
    assert data_tables(indexed_url) == before
    assert names(search(indexed_url, "illing/w")) == ["BILLING/Write"]


def test_upgrade_refuses_an_sqlite_without_trigram(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    seed_database(url, 10, 2, revision="0005")

    def old_sqlite(dbapi_connection, _record):
        # an application function overrides the built-in: this connection says 3.31
        if hasattr(dbapi_connection, "create_function"):
            dbapi_connection.create_function("sqlite_version", 0, lambda: "3.31.1")

    sa.event.listen(sa.Engine, "connect", old_sqlite)
    try:
        with pytest.raises(StoreError, match=r"SQLite 3\.34 or newer.*SQLite 3\.31\.1"):
            migrations.upgrade(url)
        result = CliRunner().invoke(main, ["db", "upgrade", "--db", url])
        assert result.exit_code == 1
        assert "needs SQLite 3.34 or newer" in result.stderr
        assert "revision 0006 was rolled back; the database is at 0005" in result.stderr
    finally:
        sa.event.remove(sa.Engine, "connect", old_sqlite)
    assert migrations.inspect_database(url).current == "0005"
    assert index_objects(url) == set()

