"""The store's search, cut down to fewer and narrower queries, finds exactly what the search
before it found (tests/search_reference.py), on SQLite and PostgreSQL, with ids by prefix,
phase:/state: with text, markup and escapes, capped counts, cycles and short texts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import astuple

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from store import plans
from store.db import create_db_engine, database_url, session_scope
from store.plans import PlanFilter
from store.plans import search as search_module
from store.seed import seed_database
from tests import search_reference as reference
from tests.test_round_trip import execute

NOW = "2026-02-03T04:05:06+00:00"
EDGE = {
    # plan_id: (namespaced_name, namespace, description, parent, phase, state)
    "01KSAME000000000000000000A1": ("BILLING/Write", "BILLING", "Writes the invoices", None,
                                    "execute", "errored"),
    "01KSAME000000000000000000A2": ("billing/[bold red]x[/]", "billing", "\x1b[31mred\x1b[0m",
                                    "01KSAME000000000000000000A1", "apply", "complete"),
    "01KSAME000000000000000000A3": ('ops/"a OR b* NEAR(x', "ops", "Café déjà vu [link]",
                                    "01KSAME000000000000000000A2", "execute", "queued"),
    "01KSAME000000000000000000B1": ("deploy/prod_%", "deploy", "Pushes 50% of traffic", None,
                                    "strategize", "errored"),
    # a parent cycle: C1 and C2 are each other's parent; C3 hangs below it
    "01KSAME000000000000000000C1": ("cycle/one", "cycle", "round and round", None,
                                    "execute", "processing"),
    "01KSAME000000000000000000C2": ("cycle/two", "cycle", "round again",
                                    "01KSAME000000000000000000C1", "execute", "processing"),
    "01KSAME000000000000000000C3": ("cycle/leaf task-7", "cycle", "below the cycle",
                                    "01KSAME000000000000000000C2", "apply", "errored"),
}
CYCLE_FIRST = "01KSAME000000000000000000C1"
CYCLE_LAST = "01KSAME000000000000000000C2"
BULK = 1_100  # more than COUNT_CAP plans match "bulk"

QUERIES = (
    # one or two characters: the newest-window scan (and ids by prefix for letters)
    "t", "k", "9", "q", "é", "wR", "_%", "%", "[", "\x1b",
    # the index
    "sk-", "task-12", "task-7", "synthetic plan", "plan 1", "bulk", "zzzzzz", "50%", "d_%",
    "invoices", "déjà", "[bold red]", "\x1b[31m", '"a OR b*', "NEAR(", "cycle", "round",
    # ids by prefix
    "0", "01", "01ksame", "01KSAME000000000000000000A", "01KSAME000000000000000000C3",
    # phase:/state: alone and with text
    "phase:execute", "state:errored", "phase:apply state:errored", "billing state:errored",
    "task phase:execute", "cycle state:processing", "phase:applied zzzzzz", "b phase:execute",
    "01ksame phase:apply",
)

WIDE = ("t", "synthetic plan", "01", "phase:execute")  # also asked for 200 matches at once


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def edge_url(request, tmp_path_factory) -> Iterator[str]:
    """A seeded database at head with the edge cases above and more matches than COUNT_CAP,
    on each backend: built once, every test here only reads it."""
    if request.param == "sqlite":
        url = database_url(tmp_path_factory.mktemp("search_same") / "plans.db")
        build_edge_database(url)
        yield url
        return
    with request.getfixturevalue("new_pg_database")() as url:
        build_edge_database(url)
        yield url


def build_edge_database(db_url: str) -> None:
    seed_database(db_url, 300, 5, random_seed=11)
    for plan_id, (name, namespace, description, parent, phase, state) in EDGE.items():
        execute(db_url,
                "INSERT INTO plans (plan_id, parent_plan_id, root_plan_id, namespaced_name,"
                " namespace, description, phase, processing_state, effective_profile_snapshot,"
                " created_at, updated_at) VALUES (:plan_id, :parent, :plan_id, :name,"
                " :namespace, :description, :phase, :state, '{}', :now, :now)",
                plan_id=plan_id, parent=parent, name=name, namespace=namespace,
                description=description, phase=phase, state=state, now=NOW)
    execute(db_url, "UPDATE plans SET parent_plan_id = :last WHERE plan_id = :first",
            last=CYCLE_LAST, first=CYCLE_FIRST)
    numbered = ("printf('01ZZ%022d', i)" if db_url.startswith("sqlite")
                else "'01ZZ' || lpad(i::text, 22, '0')")
    rows = ("(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :bulk)"
            " SELECT i FROM n)" if db_url.startswith("sqlite")
            else "(SELECT generate_series(1, :bulk) AS i)")
    execute(db_url, "INSERT INTO plans (plan_id, root_plan_id, namespaced_name, namespace,"
            " description, effective_profile_snapshot, created_at, updated_at)"
            f" SELECT {numbered}, {numbered}, 'bulk/x', 'bulk', 'Synthetic plan bulk', '{{}}',"
            f" :now, :now FROM {rows} AS n", now=NOW, bulk=BULK)


@pytest.fixture
def edge_session(edge_url: str) -> Iterator[Session]:
    engine = create_db_engine(edge_url)
    try:
        with session_scope(engine) as session:
            if not edge_url.startswith("sqlite"):
                # Without ORDER BY, PostgreSQL returns rows in the order of the plan it picks
                # (and autovacuum's ANALYZE may change the pick between two queries): a
                # sequential scan for both searches gives both the table's order.
                for scan in ("indexscan", "indexonlyscan", "bitmapscan"):
                    session.execute(sa.text(f"SET enable_{scan} = off"))
            yield session
    finally:
        engine.dispose()


def both(session: Session, query: str, limit: int) -> tuple[tuple, tuple]:
    plan_filter = PlanFilter.parse(query)
    return (astuple(plans.search_matches(session, plan_filter, limit=limit)),
            astuple(reference.search_matches(session, plan_filter, limit=limit)))


def test_every_query_finds_what_the_search_before_found(edge_session):
    found_something = 0
    for query in QUERIES:
        for limit in (10, 200) if query in WIDE else (10,):
            now, before = both(edge_session, query, limit)
            assert now == before, (query, limit)
        found_something += bool(now[0])
    assert found_something >= len(QUERIES) - 6  # the no-hits are few: the queries mean something


def test_short_texts_look_in_the_same_window(edge_session, monkeypatch):
    for window in (5, 1_150):
        monkeypatch.setattr(search_module, "SHORT_TEXT_WINDOW", window)
        monkeypatch.setattr(reference, "SHORT_TEXT_WINDOW", window)
        for query in ("t", "é", "b", "c state:errored", "x phase:strategize"):
            now, before = both(edge_session, query, 10)
            assert now == before, (window, query)


def test_the_next_matches_and_their_ancestors_are_the_same(edge_session):
    for query in ("task", "cycle", "synthetic plan", "phase:execute"):
        first = plans.search_matches(edge_session, PlanFilter.parse(query), limit=10)
        shown = {p.plan_id for p in (*first.matches, *first.ancestors)}
        for start in range(0, len(first.more_ids), 300):
            chunk = first.more_ids[start:start + 300]
            assert (astuple(plans.matches_of(edge_session, chunk, shown))
                    == astuple(reference.matches_of(edge_session, chunk, shown))), query
    cycle = plans.matches_of(edge_session, ["01KSAME000000000000000000C3"])
    assert {p.plan_id for p in cycle.ancestors} == {CYCLE_FIRST, CYCLE_LAST}


def test_a_search_is_three_round_trips(edge_url):
    """The ids (matches and count), the matches' rows, their ancestors' rows: each with what
    it needs (child counts included), not one query per kind of thing."""
    engine = create_db_engine(edge_url)
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda _c, _cur, statement, *_: statements.append(statement))
    try:
        with session_scope(engine) as session:
            result = plans.search_matches(session, PlanFilter.parse("leaf task-7"), limit=10)
            assert [p.plan_id for p in result.matches] == ["01KSAME000000000000000000C3"]
            assert {p.plan_id for p in result.ancestors} == {CYCLE_FIRST, CYCLE_LAST}
            assert len(statements) <= 3, statements
    finally:
        engine.dispose()
