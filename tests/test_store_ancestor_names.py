"""The detail's breadcrumb names: the plan's ancestors by name, root first, on both backends."""

from __future__ import annotations

from store import plans
from store.db import session_scope


def test_plan_detail_names_the_ancestors_root_first(engine) -> None:
    with session_scope(engine) as session:
        root = plans.create_plan(session, namespaced_name="ops/root", description="r")
        child = plans.create_plan(session, namespaced_name="ops/child", description="c",
                                  parent_plan_id=root.plan_id)
        leaf = plans.create_plan(session, namespaced_name="ops/leaf", description="l",
                                 parent_plan_id=child.plan_id)
    with session_scope(engine) as session:
        detail = plans.plan_detail(session, leaf.plan_id)
        assert detail.ancestors == (root.plan_id, child.plan_id)
        assert detail.ancestor_names == ("ops/root", "ops/child")
        assert plans.plan_detail(session, root.plan_id).ancestor_names == ()


def test_names_of_keeps_the_order_across_chunks(engine, monkeypatch) -> None:
    from store.plans import detail as detail_module

    monkeypatch.setattr(detail_module, "NAMES_CHUNK", 2)
    with session_scope(engine) as session:
        made = [plans.create_plan(session, namespaced_name=f"ops/p{i}", description="p")
                for i in range(5)]
    ids = (*reversed([p.plan_id for p in made]), "01MISSING")
    with session_scope(engine) as session:
        assert detail_module.names_of(session, ids) == (
            "ops/p4", "ops/p3", "ops/p2", "ops/p1", "ops/p0", "01MISSING")
