"""The size of the tree a plan belongs to, as the detail pane shows it, on both backends."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from store import plans
from store.db import session_scope


def test_tree_size_counts_every_plan_under_the_root_at_any_depth(engine):
    with session_scope(engine) as session:
        root = plans.create_plan(session, namespaced_name="t/root", description="root")
        parent = root.plan_id
        for depth in range(5):  # a chain, each with a sibling
            child = plans.create_plan(session, namespaced_name=f"t/c{depth}", description="c",
                                      parent_plan_id=parent)
            plans.create_plan(session, namespaced_name=f"t/s{depth}", description="s",
                              parent_plan_id=parent)
            parent = child.plan_id
        other = plans.create_plan(session, namespaced_name="u/root", description="other")
        leaf = parent
    with Session(engine) as session:
        assert plans.tree_size(session, root.plan_id) == 11
        assert plans.tree_size(session, other.plan_id) == 1
        detail = plans.plan_detail(session, leaf)
        assert detail.tree_size == 11 and detail.plan.root_plan_id == root.plan_id


def test_tree_size_is_an_index_range_on_sqlite(sqlite_url):
    from store.db import create_db_engine
    from store.migrations import upgrade

    upgrade(sqlite_url)
    engine = create_db_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            plan = connection.execute(sa.text(
                "EXPLAIN QUERY PLAN SELECT count(*) FROM plans WHERE root_plan_id = 'x'"
            )).all()
    finally:
        engine.dispose()
    detail = " ".join(str(row[-1]) for row in plan)
    assert "INDEX" in detail and "root_plan_id" in detail, detail
