"""Walking a plan's parent links: its ancestors, its descendants, its parent and root, all
safe against cycles, missing parents and depth."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from store.models import Plan

# How far up an ancestor walk goes before it gives up: far deeper than any real plan tree.
MAX_ANCESTOR_DEPTH = 10_000


class PlanNotFoundError(LookupError):
    def __init__(self, plan_id: str) -> None:
        super().__init__(f"No plan with id {plan_id!r}.")
        self.plan_id = plan_id


class PlanPathError(LookupError):
    """A plan has no path to a root: its ancestors form a cycle, run too deep, or are missing."""


@dataclass(frozen=True)
class AncestorPath:
    """A plan's ancestors from the top down, and why the walk stopped short of a root, if it
    did: "cycle", "deeper than N levels" or "parent … is missing"."""

    ids: tuple[str, ...]
    stopped: str | None = None


def ancestor_path(session: Session, plan_id: str) -> AncestorPath:
    """`plan_id`'s ancestors, top down, in one recursive query that ends at a cycle.

    UNION (not UNION ALL) drops a row already found, so the recursion stops where the parent
    links loop; the LIMIT bounds a chain that is merely very deep. The order is rebuilt here by
    following the parent links, which is also where a cycle or a missing parent shows.
    """
    up = (
        select(Plan.plan_id, Plan.parent_plan_id)
        .where(Plan.plan_id == plan_id)
        .cte("up", recursive=True)
    )
    parent = sa.orm.aliased(Plan)
    up = up.union(
        select(parent.plan_id, parent.parent_plan_id)
        .where(parent.plan_id == up.c.parent_plan_id)
    )
    rows = session.execute(
        sa.select(up.c.plan_id, up.c.parent_plan_id).limit(MAX_ANCESTOR_DEPTH + 2)
    ).all()
    parent_of = {str(row[0]): row[1] for row in rows}
    if plan_id not in parent_of:
        raise PlanNotFoundError(plan_id)
    ids: list[str] = []
    seen = {plan_id}
    stopped: str | None = None
    current = parent_of[plan_id]
    while current is not None:
        if current in seen:
            stopped = "cycle"
            break
        if len(ids) == MAX_ANCESTOR_DEPTH:
            stopped = f"deeper than {MAX_ANCESTOR_DEPTH:,} levels"
            break
        if current not in parent_of:
            stopped = f"parent {current} is missing"
            break
        ids.append(current)
        seen.add(current)
        current = parent_of[current]
    return AncestorPath(tuple(reversed(ids)), stopped)


def ancestor_ids(session: Session, plan_id: str) -> tuple[str, ...]:
    """Ids from the root down to (and excluding) `plan_id`; PlanPathError if there is no root
    to reach."""
    path = ancestor_path(session, plan_id)
    if path.stopped is not None:
        how = "ends in a cycle" if path.stopped == "cycle" else f"stops: {path.stopped}"
        raise PlanPathError(f"Plan {plan_id} is under no root: walking up its parents {how}. "
                            "Filter by its id (/) to see it.")
    return path.ids


def parent_and_root(session: Session, plan_id: str) -> tuple[str | None, str]:
    """A plan's parent and root ids, read without the rest of a row that may be unreadable."""
    row = session.execute(
        sa.select(col(Plan.parent_plan_id), col(Plan.root_plan_id))
        .where(col(Plan.plan_id) == plan_id)
    ).first()
    if row is None:
        raise PlanNotFoundError(plan_id)
    return row[0], row[1]


def tree_size(session: Session, root_plan_id: str) -> int:
    """How many plans the tree of `root_plan_id` holds, its root included (an index range on
    plans.root_plan_id, never a walk)."""
    total = session.exec(
        select(func.count()).select_from(Plan).where(Plan.root_plan_id == root_plan_id)
    ).one()
    return int(total)


def descendant_count(session: Session, plan_id: str) -> int:
    """How many plans sit below `plan_id` at any depth (each once, even in a parent cycle)."""
    parent_plan_id, _ = parent_and_root(session, plan_id)
    if parent_plan_id is None:
        total = session.exec(
            select(func.count()).select_from(Plan).where(Plan.root_plan_id == plan_id)
        ).one()
        return int(total) - 1
    down = select(Plan.plan_id).where(Plan.parent_plan_id == plan_id).cte("down", recursive=True)
    child = sa.orm.aliased(Plan)
    # UNION, not UNION ALL: a plan found again (a parent cycle) ends the recursion.
    down = down.union(select(child.plan_id).where(child.parent_plan_id == down.c.plan_id))
    below = sa.select(func.count()).select_from(down).where(down.c.plan_id != plan_id)
    return int(session.execute(below).scalar_one())
