"""What a live refresh reads again (store.plans.refresh), on SQLite and PostgreSQL: loaded
levels outside their gaps, with new plans; the named plans that still exist."""

from __future__ import annotations

import sqlalchemy as sa
from test_store_plans import make_forest

from store import plans
from store.db import session_scope
from store.plans import LoadedLevel


def test_loaded_levels_skip_what_gaps_skip(engine: sa.Engine) -> None:
    root_id = make_forest(engine, roots=1, children=9)[0]
    with session_scope(engine) as session:
        children = [n.plan.plan_id for n in plans.children_page(session, root_id).nodes]
        # shown: the first three, a gap, the seventh on (a jump's segment), a trailing gap
        level = LoadedLevel(root_id, 5, gaps=((children[2], children[6]),
                                               (children[7], None)))
        read = plans.loaded_levels(session, [level, LoadedLevel(None, 1)])
    rows = read[root_id]
    assert [n.plan.plan_id for n in rows.nodes] == children[:3] + children[6:8]
    assert rows.read_through is None
    assert [n.plan.namespaced_name for n in read[None].nodes] == ["team0/root"]
    assert read[None].nodes[0].child_count == 9


def test_loaded_levels_stop_a_page_after_what_was_loaded(engine: sa.Engine) -> None:
    root_id = make_forest(engine, roots=1, children=3)[0]
    with session_scope(engine) as session:
        for n in range(plans.PAGE_SIZE + 5):
            plans.create_plan(session, namespaced_name=f"team0/new-{n:03d}",
                              description="new", parent_plan_id=root_id)
    with session_scope(engine) as session:
        rows = plans.loaded_levels(session, [LoadedLevel(root_id, 3)])[root_id]
    assert len(rows.nodes) == 3 + plans.PAGE_SIZE
    assert rows.read_through == rows.nodes[-1].plan.plan_id


def test_plan_nodes_are_the_named_plans_that_still_exist(engine: sa.Engine) -> None:
    root_id = make_forest(engine, roots=1, children=2)[0]
    with session_scope(engine) as session:
        found = plans.plan_nodes(session, {root_id, "01NOSUCHPLAN0000000000000A"})
    assert set(found) == {root_id}
    assert found[root_id].child_count == 2 and found[root_id].plan.parent_plan_id is None


def test_gap_sizes_count_what_each_gap_hides_now(engine: sa.Engine) -> None:
    root_id = make_forest(engine, roots=2, children=9)[0]
    with session_scope(engine) as session:
        children = [n.plan.plan_id for n in plans.children_page(session, root_id).nodes]
        roots = [n.plan.plan_id for n in plans.roots_page(session).nodes]
        # a middle gap (4 hidden) and a trailing one (1 hidden), both shown with a count;
        # the roots' gap after the first root shows none
        level = LoadedLevel(root_id, 4, gaps=((children[1], children[6]), (children[7], None)),
                            counted=(True, True))
        assert plans.gap_sizes(session, level) == (4, 1)
        assert plans.gap_sizes(session, LoadedLevel(None, 1, gaps=((roots[0], None),))) == (None,)
        plans.create_plan(session, namespaced_name="team0/zz-late", description="in the gap",
                          parent_plan_id=root_id)
    with session_scope(engine) as session:
        assert plans.gap_sizes(session, level) == (4, 2)
        session.execute(sa.text("DELETE FROM plans WHERE root_plan_id = :p"), {"p": roots[1]})
    with session_scope(engine) as session:
        # emptied: 0 whether it was counted or not, so that its row can go
        assert plans.gap_sizes(session, LoadedLevel(None, 1, gaps=((roots[0], None),))) == (0,)


def test_touch_tree_says_whether_named_plans_are_or_were_in_a_tree(engine: sa.Engine) -> None:
    first, second = make_forest(engine, roots=2, children=1)
    with session_scope(engine) as session:
        child = plans.children_page(session, first).nodes[0].plan.plan_id
        assert plans.touch_tree(session, {child}, first)
        assert not plans.touch_tree(session, {child}, second)
        assert not plans.touch_tree(session, set(), first)
        # gone: which tree it was in is not known, so it may have been this one
        assert plans.touch_tree(session, {child, "01NOSUCHPLAN0000000000000A"}, second)
    # the first root moved into the second tree: named as the old root, it still touches the
    # tree it was the root of (a plan of that tree may still name it as its root)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE plans SET parent_plan_id = :s, root_plan_id = :s"
                                   " WHERE plan_id = :f"), {"s": second, "f": first})
    with session_scope(engine) as session:
        assert plans.touch_tree(session, {first}, first)
        assert plans.touch_tree(session, {first}, second)
