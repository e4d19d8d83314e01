"""The search of `/` as it was before its queries were cut down (store/plans/search.py at
5853261): the reference the store's search must agree with, result for result."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from store.models import Plan
from store.plans.filters import PlanFilter
from store.plans.rows import PlanSummary, child_counts, summary_row, summary_select, table_of
from store.plans.search import (  # what the cut left as it was
    MatchChunk,
    SearchResult,
    _id_prefix_bounds,
    _plan_search,
    _plan_search_rows,
    fts_phrase,
    like_pattern,
)

# trigram tokens are three characters: shorter text cannot use the index
MIN_INDEXED_TEXT = 3
SHORT_TEXT_WINDOW = 20_000
MATCH_LIMIT = 200
COUNT_CAP = 1_000
ANCESTOR_LIMIT = 10_000


def _plans() -> sa.Table:
    return table_of(Plan)


def _with_filters(query: Any, plan_filter: PlanFilter) -> Any:
    plans = _plans()
    if plan_filter.phase is not None:
        query = query.where(plans.c.phase == plan_filter.phase.value)
    if plan_filter.state is not None:
        query = query.where(plans.c.processing_state == plan_filter.state.value)
    return query


def _id_matches(plan_filter: PlanFilter) -> Any | None:
    bounds = _id_prefix_bounds(plan_filter.text.strip())
    if bounds is None:
        return None
    plans = _plans()
    return _with_filters(
        summary_select().where(plans.c.plan_id >= bounds[0], plans.c.plan_id < bounds[1]),
        plan_filter,
    )


def _short_window() -> Any:
    """The smallest id of the newest SHORT_TEXT_WINDOW plans ('' if there are fewer).

    An OFFSET on the primary key's index: SQLite steps over the entries without reading
    them (0.3 ms on 1M plans), where min() over a LIMIT subquery read all 20,000 (8 ms)."""
    plans = _plans()
    newest = (sa.select(plans.c.plan_id).order_by(plans.c.plan_id.desc())
              .limit(1).offset(SHORT_TEXT_WINDOW - 1).scalar_subquery())
    return sa.func.coalesce(newest, "")


def _text_matches(session: Session, plan_filter: PlanFilter) -> tuple[Any, int | None]:
    """The plans whose name, namespace or description contains the filter's text (no order:
    the index's own order, so that a LIMIT stops early), and the scan window if bounded."""
    text = plan_filter.text.strip()
    plans = _plans()
    columns = (plans.c.namespaced_name, plans.c.namespace, plans.c.description)
    sqlite = session.get_bind().dialect.name == "sqlite"
    if len(text) < MIN_INDEXED_TEXT:
        pattern = like_pattern(text.lower())
        # SQLite's LIKE ignores ASCII case by itself, and its lower() folds ASCII only: the
        # same matches without lower() on each column of each row (~40% of the scan)
        contains = [column.like(pattern, escape="\\") if sqlite
                    else sa.func.lower(column).like(pattern, escape="\\") for column in columns]
        query = summary_select().where(plans.c.plan_id >= _short_window(), sa.or_(*contains))
        return _with_filters(query, plan_filter), SHORT_TEXT_WINDOW
    if sqlite:
        query = summary_select().select_from(
            _plan_search.join(_plan_search_rows,
                              _plan_search_rows.c.search_rowid == _plan_search.c.rowid)
            .join(plans, plans.c.plan_id == _plan_search_rows.c.plan_id)
        ).where(sa.literal_column("plan_search").op("MATCH")(fts_phrase(text)))
    else:
        pattern = like_pattern(text)
        query = summary_select().where(
            sa.or_(*(column.ilike(pattern, escape="\\") for column in columns))
        )
    return _with_filters(query, plan_filter), None


def _plan_only(plan_filter: PlanFilter) -> Any:
    return _with_filters(summary_select(), plan_filter)


def _summaries(session: Session, query: Any) -> list[PlanSummary]:
    result = session.execute(query)
    keys = list(result.keys())
    return [summary_row(dict(zip(keys, row, strict=True))) for row in result.all()]


def matching_ids(session: Session, plan_filter: PlanFilter) -> Any:
    """A subquery of the ids of every plan the filter matches (for keyset pages of matches)."""
    parts = [q for q in (_id_matches(plan_filter),) if q is not None]
    if plan_filter.text.strip():
        parts.append(_text_matches(session, plan_filter)[0])
    else:
        parts.append(_plan_only(plan_filter))
    ids = [sa.select(part.subquery().c.plan_id) for part in parts]
    return ids[0] if len(ids) == 1 else sa.union(*ids)


def _matched_ids(session: Session, parts: list[Any]) -> list[str]:
    """The ids the parts match, in their order (ids by prefix first), up to COUNT_CAP + 1:
    one pass of each part serves both the first matches and the count."""
    ids: dict[str, None] = {}
    for part in parts:
        query = sa.select(part.subquery().c.plan_id).limit(COUNT_CAP + 1)
        for (plan_id,) in session.execute(query):
            ids.setdefault(str(plan_id))
        if len(ids) > COUNT_CAP:
            break
    return list(ids)[:COUNT_CAP + 1]


def _ancestors(session: Session, found: list[PlanSummary],
               known: Collection[str] = ()) -> list[PlanSummary]:
    """The ancestors of `found` that are neither in it nor `known`: one recursive query, safe
    on cycles (UNION drops a row seen before) and bounded by ANCESTOR_LIMIT."""
    have = {plan.plan_id for plan in found} | set(known)
    parents = {p.parent_plan_id for p in found if p.parent_plan_id is not None} - have
    if not parents:
        return []
    plans = _plans()
    up = sa.select(plans.c.plan_id, plans.c.parent_plan_id).where(
        plans.c.plan_id.in_(sorted(parents))
    ).cte("up", recursive=True)
    parent = plans.alias("parent")
    up = up.union(
        sa.select(parent.c.plan_id, parent.c.parent_plan_id)
        .where(parent.c.plan_id == up.c.parent_plan_id)
    )
    ids = [str(row[0]) for row in session.execute(sa.select(up.c.plan_id).limit(ANCESTOR_LIMIT))]
    wanted = sorted(set(ids) - have)
    found_ancestors: list[PlanSummary] = []
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        found_ancestors += _summaries(session, summary_select().where(plans.c.plan_id.in_(chunk)))
    return sorted(found_ancestors, key=lambda plan: plan.plan_id)


def matches_of(session: Session, plan_ids: Sequence[str],
               known: Collection[str] = ()) -> MatchChunk:
    """The plans `plan_ids` (in that order, those that still exist), their ancestors that
    are not in `known`, and the child counts of both: a few batched queries."""
    plans = _plans()
    by_id: dict[str, PlanSummary] = {}
    for start in range(0, len(plan_ids), 500):
        chunk = list(plan_ids[start:start + 500])
        by_id.update((p.plan_id, p) for p in _summaries(
            session, summary_select().where(plans.c.plan_id.in_(chunk))))
    found = [by_id[plan_id] for plan_id in plan_ids if plan_id in by_id]
    ancestors = _ancestors(session, found, known)
    counts = child_counts(session, [p.plan_id for p in (*found, *ancestors)])
    return MatchChunk(tuple(found), tuple(ancestors), counts)


def search_matches(
    session: Session, plan_filter: PlanFilter, limit: int = MATCH_LIMIT
) -> SearchResult:
    """The first `limit` plans the filter matches (ids by prefix first, then text matches in
    index order), their ancestors, the number of matches up to COUNT_CAP, and the ids of the
    next matches up to COUNT_CAP (for `matches_of`, a screenful at a time)."""
    parts: list[Any] = []
    window: int | None = None
    id_part = _id_matches(plan_filter)
    if id_part is not None:
        parts.append(id_part)
    if plan_filter.text.strip():
        text_part, window = _text_matches(session, plan_filter)
        parts.append(text_part)
    else:
        parts.append(_plan_only(plan_filter))
    ids = _matched_ids(session, parts)
    chunk = matches_of(session, ids[:limit])
    return SearchResult(chunk.matches, chunk.ancestors, chunk.child_counts,
                        min(len(ids), COUNT_CAP), len(ids) > COUNT_CAP, window,
                        more_ids=tuple(ids[limit:COUNT_CAP]))
