"""Keyset pages of plans for the tree (on plan_id, never OFFSET): roots, children, filter
matches, the last page of a level, and what a jump or a reload needs."""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from store.models import Plan
from store.plans.filters import PlanFilter
from store.plans.paths import ancestor_ids, parent_and_root
from store.plans.rows import PlanSummary, summary_row, summary_select, table_of
from store.plans.search import matching_ids
from store.plans.summaries import PAGE_SIZE, PlanNode, PlanPage

_CHILD_COUNT = "child_count"


@functools.cache
def _child_count_column() -> Any:
    # built once: an immutable expression, and building it costs more than the query runs
    plans_table = table_of(Plan)
    child = plans_table.alias("child")
    return (sa.select(sa.func.count()).select_from(child)
            .where(child.c.parent_plan_id == plans_table.c.plan_id)
            .scalar_subquery().label(_CHILD_COUNT))


def _with_child_count(query: Any) -> Any:
    """`query` with each plan's number of children, counted in the same statement: one round
    trip, one index range of (parent_plan_id, plan_id) per row, no IN list to expand."""
    return query.add_columns(_child_count_column())


def _nodes(result: Any, limit: int) -> tuple[list[PlanNode], bool]:
    keys = list(result.keys())
    rows = result.all()
    nodes = []
    for row in rows[:limit]:
        values = dict(zip(keys, row, strict=True))
        nodes.append(PlanNode(summary_row(values), int(values[_CHILD_COUNT])))
    return nodes, len(rows) > limit


def _rows(session: Session, query: Any) -> Any:
    # through the session's connection (Core): a Session's execute runs the ORM's statement
    # and row processing even for a select of plain columns, more than the query costs
    return session.connection().execute(query)


def _page(session: Session, query: Any, limit: int) -> PlanPage:
    result = _rows(session, _with_child_count(query).order_by(col(Plan.plan_id)).limit(limit + 1))
    nodes, more = _nodes(result, limit)
    return PlanPage(tuple(nodes), nodes[-1].plan.plan_id if more and nodes else None)


def roots_page(session: Session, after: str | None = None, limit: int = PAGE_SIZE) -> PlanPage:
    """Root plans (no parent), ordered by id, starting after the `after` cursor."""
    query = summary_select().where(col(Plan.parent_plan_id).is_(None))
    if after is not None:
        query = query.where(col(Plan.plan_id) > after)
    return _page(session, query, limit)


def children_page(
    session: Session, parent_id: str, after: str | None = None, limit: int = PAGE_SIZE
) -> PlanPage:
    """Direct children of `parent_id`, ordered by id, starting after the `after` cursor."""
    query = summary_select().where(Plan.parent_plan_id == parent_id)
    if after is not None:
        query = query.where(col(Plan.plan_id) > after)
    return _page(session, query, limit)


def search_page(
    session: Session, plan_filter: PlanFilter, after: str | None = None, limit: int = PAGE_SIZE
) -> PlanPage:
    """Plans matching the filter (found through the search index), flat, ordered by id."""
    query = summary_select().where(col(Plan.plan_id).in_(matching_ids(session, plan_filter)))
    if after is not None:
        query = query.where(col(Plan.plan_id) > after)
    return _page(session, query, limit)


def find_plans(session: Session, text: str, limit: int = 20) -> list[PlanSummary]:
    """Plans whose id starts with `text` or whose name contains it (for the palette)."""
    if not text.strip():
        return [node.plan for node in roots_page(session, limit=limit).nodes]
    return [node.plan for node in search_page(session, PlanFilter(text), limit=limit).nodes]


def siblings_from(session: Session, plan_id: str, limit: int = PAGE_SIZE) -> PlanPage:
    """A page of `plan_id`'s siblings (other roots, for a root) starting at `plan_id` itself.

    Lets a jump show a plan deep inside a long level without reading the pages before it.
    """
    parent_plan_id, _ = parent_and_root(session, plan_id)
    query = summary_select().where(col(Plan.plan_id) >= plan_id)
    if parent_plan_id is None:
        query = query.where(col(Plan.parent_plan_id).is_(None))
    else:
        query = query.where(Plan.parent_plan_id == parent_plan_id)
    return _page(session, query, limit)


@dataclass(frozen=True)
class TailPage:
    """The last page of one level (ascending), read backwards from its end."""

    nodes: tuple[PlanNode, ...]
    more_before: bool  # plans of this level lie between `after` and the first node


def last_page(
    session: Session, parent_id: str | None, after: str | None = None, limit: int = PAGE_SIZE
) -> TailPage:
    """The last `limit` plans of a level (roots when `parent_id` is None), newer than `after`.

    A reverse keyset: End in a 10,000-child node reads one page from the end, not 50 pages.
    """
    query = summary_select()
    if parent_id is None:
        query = query.where(col(Plan.parent_plan_id).is_(None))
    else:
        query = query.where(Plan.parent_plan_id == parent_id)
    if after is not None:
        query = query.where(col(Plan.plan_id) > after)
    result = _rows(
        session, _with_child_count(query).order_by(col(Plan.plan_id).desc()).limit(limit + 1))
    nodes, more_before = _nodes(result, limit)
    return TailPage(tuple(reversed(nodes)), more_before)


@dataclass(frozen=True)
class RevealStep:
    """One level on the way down to a plan: its parent's first page and/or its own segment."""

    parent_plan_id: str | None
    plan_id: str
    first_page: PlanPage | None
    segment: PlanPage | None


def reveal_path(
    session: Session,
    plan_id: str,
    known: Collection[str] = (),
    loaded_parents: Collection[str | None] = (),
    limit: int = PAGE_SIZE,
) -> tuple[RevealStep, ...]:
    """What a tree is missing to show `plan_id`: per level from the roots down, the parent's
    first page (unless `loaded_parents` has it) and the page of siblings starting at the step's
    plan (unless it is `known` or in that first page). Raises PlanNotFoundError."""
    parent_and_root(session, plan_id)  # PlanNotFoundError; reads no column that may be bad
    steps: list[RevealStep] = []
    parent: str | None = None
    for step_id in (*ancestor_ids(session, plan_id), plan_id):
        first: PlanPage | None = None
        if parent not in loaded_parents:
            first = (roots_page(session, limit=limit) if parent is None
                     else children_page(session, parent, limit=limit))
        in_first = first is not None and any(n.plan.plan_id == step_id for n in first.nodes)
        segment = None
        if step_id not in known and not in_first:
            segment = siblings_from(session, step_id, limit=limit)
        steps.append(RevealStep(parent, step_id, first, segment))
        parent = step_id
    return tuple(steps)


def level_pages(
    session: Session,
    levels: Sequence[tuple[str | None, int]],
    plan_filter: PlanFilter | None = None,
) -> dict[str | None, PlanPage]:
    """Each level's first `count` plans again (at least a page): what a reload re-reads so
    that expanded nodes stay expanded. Level None is the roots, or the filter's matches."""
    pages: dict[str | None, PlanPage] = {}
    for parent_id, count in levels:
        limit = max(count, PAGE_SIZE)
        if parent_id is not None:
            pages[parent_id] = children_page(session, parent_id, limit=limit)
        elif plan_filter is not None and not plan_filter.empty:
            pages[None] = search_page(session, plan_filter, limit=limit)
        else:
            pages[None] = roots_page(session, limit=limit)
    return pages
