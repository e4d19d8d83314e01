"""What a live refresh reads again: the plans a tree has loaded (each level outside its gaps),
or just the plans a change notification named, and how many plans each gap hides now."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from store.models import Plan
from store.plans.pages import _nodes, _with_child_count
from store.plans.rows import summary_select
from store.plans.summaries import PAGE_SIZE, LevelRows, LoadedLevel, PlanNode


def _level_query(query: Any, parent_id: str | None) -> Any:
    return query.where(col(Plan.parent_plan_id).is_(None) if parent_id is None
                       else Plan.parent_plan_id == parent_id)


def _inside(after: str | None, until: str | None) -> list[Any]:
    """The open id interval (after, until) of a gap, None unbounded."""
    inside = [col(Plan.plan_id) > after] if after is not None else []
    if until is not None:
        inside.append(col(Plan.plan_id) < until)
    return inside


def gap_sizes(session: Session, level: LoadedLevel) -> tuple[int | None, ...]:
    """How many plans each of the level's gaps hides now, one query per gap: counted where its
    row shows a count, else only 0 (empty: the row can go) or None (some). A count of the
    roots a gap skips could cost a scan of most of the table, and nothing would show it."""
    sizes: list[int | None] = []
    for index, (after, until) in enumerate(level.gaps):
        where = _level_query(sa.select(col(Plan.plan_id)), level.parent_id).where(
            *_inside(after, until))
        if index < len(level.counted) and level.counted[index]:
            count = session.execute(sa.select(sa.func.count()).select_from(where.subquery()))
            sizes.append(int(count.scalar_one()))
        else:
            some = session.execute(where.limit(1)).first() is not None
            sizes.append(None if some else 0)
    return tuple(sizes)


def loaded_levels(session: Session, levels: Sequence[LoadedLevel]) -> dict[str | None, LevelRows]:
    """Each level's plans again, outside its gaps: as many as it had loaded and a page more
    (new plans), one query per level, so that a refresh never reads what a gap skips."""
    read: dict[str | None, LevelRows] = {}
    for level in levels:
        query = _level_query(summary_select(), level.parent_id)
        for after, until in level.gaps:
            query = query.where(sa.not_(sa.and_(sa.true(), *_inside(after, until))))
        limit = level.loaded + PAGE_SIZE
        result = session.execute(
            _with_child_count(query).order_by(col(Plan.plan_id)).limit(limit + 1))
        nodes, more = _nodes(result, limit)
        read[level.parent_id] = LevelRows(
            tuple(nodes), nodes[-1].plan.plan_id if more and nodes else None)
    return read


def plan_nodes(session: Session, plan_ids: Collection[str]) -> dict[str, PlanNode]:
    """The named plans that still exist, as tree rows (with their child counts)."""
    if not plan_ids:
        return {}
    query = summary_select().where(col(Plan.plan_id).in_(sorted(plan_ids)))
    result = session.execute(_with_child_count(query))
    nodes, _ = _nodes(result, len(plan_ids))
    return {node.plan.plan_id: node for node in nodes}


def touch_tree(session: Session, plan_ids: Collection[str], root_plan_id: str) -> bool:
    """Whether a change to the named plans may show in the detail of a plan of the tree
    `root_plan_id`: one of them is that tree's root (a plan that moved out of the tree names
    its old root) or is in that tree now (a child, an ancestor, its size), or is gone (which
    tree it was in is not known any more)."""
    if not plan_ids:
        return False
    if root_plan_id in plan_ids:
        return True
    roots = session.execute(sa.select(col(Plan.root_plan_id)).where(
        col(Plan.plan_id).in_(sorted(plan_ids)))).scalars().all()
    return len(roots) < len(set(plan_ids)) or root_plan_id in roots
