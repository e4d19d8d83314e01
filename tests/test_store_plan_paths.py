"""The store queries behind the tree's jumps, reloads and End key, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from store import plans
from store.db import session_scope


def wide_level(engine, children: int = 23) -> tuple[str, list[str]]:
    """One root with `children` children; the third child has two children of its own."""
    with session_scope(engine) as session:
        root = plans.create_plan(session, namespaced_name="wide/root", description="r")
        kids = [
            plans.create_plan(session, namespaced_name=f"wide/child-{i:02}", description="c",
                              parent_plan_id=root.plan_id).plan_id
            for i in range(children)
        ]
        for i in range(2):
            plans.create_plan(session, namespaced_name=f"wide/grandchild-{i}", description="g",
                              parent_plan_id=kids[2])
        return root.plan_id, sorted(kids)


def test_last_page_reads_a_level_backwards_from_its_end(engine):
    root_id, kids = wide_level(engine)
    with session_scope(engine) as session:
        tail = plans.last_page(session, root_id, limit=5)
        assert [n.plan.plan_id for n in tail.nodes] == kids[-5:]
        assert tail.more_before
        # bounded by what is already loaded: only what lies after `after`
        tail = plans.last_page(session, root_id, after=kids[-4], limit=5)
        assert [n.plan.plan_id for n in tail.nodes] == kids[-3:]
        assert not tail.more_before
        roots = plans.last_page(session, None, limit=5)
        assert [n.plan.plan_id for n in roots.nodes] == [root_id] and not roots.more_before
        counts = {n.plan.plan_id: n.child_count
                  for n in plans.last_page(session, root_id, limit=50).nodes}
    assert counts[kids[2]] == 2 and sum(counts.values()) == 2


def test_reveal_path_fetches_only_what_the_tree_lacks(engine):
    root_id, kids = wide_level(engine)
    with session_scope(engine) as session:
        grandchild = plans.children_page(session, kids[2]).nodes[1].plan.plan_id
        target = kids[-2]  # beyond a first page of 5 children
        steps = plans.reveal_path(session, target)
        assert [(s.parent_plan_id, s.plan_id) for s in steps] == [(None, root_id),
                                                                   (root_id, target)]
        assert steps[0].first_page is not None and steps[0].segment is None  # root on page 1
        assert steps[1].first_page is not None and steps[1].segment is None  # 23 < PAGE_SIZE
        # a tree that already has the roots and the root's children loaded needs nothing
        steps = plans.reveal_path(session, grandchild, known={root_id, *kids},
                                  loaded_parents={None, root_id})
        assert [(s.first_page, s.segment) for s in steps[:2]] == [(None, None), (None, None)]
        assert steps[2].parent_plan_id == kids[2]
        assert steps[2].first_page is not None
        assert [n.plan.plan_id for n in steps[2].first_page.nodes][1] == grandchild
        with pytest.raises(plans.PlanNotFoundError):
            plans.reveal_path(session, "0" * 26)


def test_reveal_path_takes_a_segment_deep_inside_a_long_level(engine):
    root_id, kids = wide_level(engine)
    with session_scope(engine) as session:
        steps = plans.reveal_path(session, kids[15], known={root_id}, loaded_parents={None},
                                  limit=5)
    assert steps[0].first_page is None and steps[0].segment is None
    assert steps[1].first_page is not None
    assert [n.plan.plan_id for n in steps[1].first_page.nodes] == kids[:5]
    assert steps[1].segment is not None
    assert [n.plan.plan_id for n in steps[1].segment.nodes] == kids[15:20]
    assert steps[1].segment.has_more


def test_level_pages_rereads_each_loaded_level(engine):
    root_id, kids = wide_level(engine, children=230)
    with session_scope(engine) as session:
        pages = plans.level_pages(session, [(None, 1), (root_id, 220), (kids[2], 0)])
        matches = plans.level_pages(session, [(None, 3)], plans.PlanFilter("grandchild"))
    assert [n.plan.plan_id for n in pages[None].nodes] == [root_id]
    assert [n.plan.plan_id for n in pages[root_id].nodes] == kids[:220]
    assert pages[root_id].has_more
    assert len(pages[kids[2]].nodes) == 2
    assert sorted(n.plan.namespaced_name for n in matches[None].nodes) == [
        "wide/grandchild-0", "wide/grandchild-1"]
