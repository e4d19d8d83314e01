"""A page of children is an index range: SQLite's EXPLAIN QUERY PLAN for the statements that
`children_page`, `last_page` and `roots_page` send searches the (parent_plan_id, plan_id)
index for the page and for the child counts (read in the same statement), and never sorts."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event

from store import migrations, plans
from store.db import create_db_engine, session_scope
from tests.test_store_plans import make_forest

PAGING_INDEX = "ix_plans_parent_plan_id_plan_id"


def query_plans(engine: sa.Engine, read) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """The query plan of each statement `read(session)` sends, one detail line per step."""
    statements: list[tuple[str, object]] = []

    def remember(_conn, _cursor, statement, parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", remember)
    with session_scope(engine) as session:
        read(session)
    event.remove(engine, "before_cursor_execute", remember)
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        return [[row[3] for row in raw.execute("EXPLAIN QUERY PLAN " + sql, params)]
                for sql, params in statements]


def test_children_pages_and_their_counts_are_index_ranges(sqlite_url):
    migrations.upgrade(sqlite_url)
    engine = create_db_engine(sqlite_url)
    try:
        roots = make_forest(engine, roots=3, children=6)
        for read in (
            lambda session: plans.children_page(session, roots[0], limit=2),
            lambda session: plans.children_page(session, roots[0], after=roots[0], limit=2),
            lambda session: plans.last_page(session, roots[0], limit=2),
        ):
            [steps] = query_plans(engine, read)
            assert steps[0].startswith("SEARCH plans USING INDEX " + PAGING_INDEX), steps
            # the child counts: a correlated count over the same index, covering (no rows read)
            assert any(step.startswith("SEARCH child USING COVERING INDEX " + PAGING_INDEX)
                       for step in steps), steps
            assert not any("TEMP B-TREE" in step for step in steps), steps
        [roots_steps] = query_plans(engine, lambda session: plans.roots_page(session, limit=2))
        assert any(step.startswith("SEARCH child USING COVERING INDEX " + PAGING_INDEX)
                   for step in roots_steps), roots_steps
        assert not any("TEMP B-TREE" in step for step in roots_steps), roots_steps
    finally:
        engine.dispose()
