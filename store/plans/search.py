"""What `/` finds: plans by id prefix or by a substring of name, namespace or description,
through the search index of revision 0006 (SQLite FTS5 trigram, PostgreSQL pg_trgm).

Trigrams cannot index a text shorter than three characters, so a one- or two-character text
is looked for in the newest SHORT_TEXT_WINDOW plans only (a bounded scan); ids by prefix are
always searched in full. Text is matched literally, never as FTS5 query syntax or LIKE
wildcards.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import operators
from sqlalchemy.sql.expression import UnaryExpression
from sqlmodel import Session

from store.models import Plan
from store.plans.filters import PlanFilter
from store.plans.rows import PlanSummary, summary_row, summary_select, table_of

# trigram tokens are three characters: shorter text cannot use the index
MIN_INDEXED_TEXT = 3
SHORT_TEXT_WINDOW = 20_000
MATCH_LIMIT = 200
COUNT_CAP = 1_000
ANCESTOR_LIMIT = 10_000
_ID_PREFIX = re.compile(r"[0-9A-Z]+")


def is_search_index(name: str) -> bool:
    """Whether a table or index belongs to the search index of revision 0006 (`plan_search`
    and its FTS5 shadow tables, `ix_plans_*_trgm`): derived from `plans` and outside the
    models, so schema comparisons and data dumps leave it out."""
    return name.startswith("plan_search") or name.endswith("_trgm")

_plan_search = sa.table("plan_search", sa.column("rowid", sa.Integer))
_plan_search_rows = sa.table(
    "plan_search_rows", sa.column("search_rowid", sa.Integer), sa.column("plan_id", sa.String)
)
# plans as the links between a plan and its parent: aliases of it are cheap to build and
# compile (an alias of the full table copies its 36 columns)
_plan_links = sa.table(
    "plans", sa.column("plan_id", sa.String), sa.column("parent_plan_id", sa.String)
)


@dataclass(frozen=True)
class SearchResult:
    """The first matches of a filter, the ancestors that place them in their trees, and how
    many plans match in all (counted up to COUNT_CAP)."""

    matches: tuple[PlanSummary, ...]
    ancestors: tuple[PlanSummary, ...]  # ancestors of matches that are not matches themselves
    child_counts: dict[str, int]
    total: int
    capped: bool  # more than `total` plans match
    window: int | None = None  # a short text was looked for in the newest `window` plans only
    more_ids: tuple[str, ...] = ()  # the matches after `matches`, up to COUNT_CAP in all

    @property
    def count_label(self) -> str:
        """ "312 matches", "1,000+ matches", "1 match in the newest 20,000 plans"."""
        noun = "match" if self.total == 1 and not self.capped else "matches"
        label = f"{self.total:,}{'+' if self.capped else ''} {noun}"
        if self.window is not None:
            label += f" in the newest {self.window:,} plans"
        return label


def fts_phrase(text: str) -> str:
    """`text` as one FTS5 string: a literal substring, whatever quotes or operators it holds."""
    return '"' + text.replace('"', '""') + '"'


def like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _id_prefix_bounds(text: str) -> tuple[str, str] | None:
    """ids starting with `text` are the range [low, high): an index range on the primary key."""
    prefix = text.upper()
    if not _ID_PREFIX.fullmatch(prefix):
        return None
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _plans() -> sa.Table:
    return table_of(Plan)


def _not_indexed(column: Any) -> Any:
    """`+column`: SQLite's documented way to keep its planner from driving a query by the
    column's index (https://sqlite.org/optoverview.html, "Disqualifying WHERE clause terms
    using unary-+"); the value compared is the same."""
    return UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)


def _with_filters(query: Any, plan_filter: PlanFilter, sqlite_bounded: bool = False) -> Any:
    """`query` narrowed to the filter's phase and state. `sqlite_bounded`: the query has its
    own bounded driver (an id range, the newest window, the index's matches) that SQLite must
    keep: given the phase or state index it read every plan in that phase or state instead
    (two minutes for "task-123 phase:execute" on 1M plans, 0.3 s for an id prefix)."""
    plans = _plans()
    phase, state = plans.c.phase, plans.c.processing_state
    if sqlite_bounded:
        phase, state = _not_indexed(phase), _not_indexed(state)
    if plan_filter.phase is not None:
        query = query.where(phase == plan_filter.phase.value)
    if plan_filter.state is not None:
        query = query.where(state == plan_filter.state.value)
    return query


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _id_matches(session: Session, plan_filter: PlanFilter) -> Any | None:
    bounds = _id_prefix_bounds(plan_filter.text.strip())
    if bounds is None:
        return None
    plans = _plans()
    return _with_filters(
        sa.select(plans.c.plan_id).where(plans.c.plan_id >= bounds[0],
                                         plans.c.plan_id < bounds[1]),
        plan_filter, _is_sqlite(session),
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
    """The ids of the plans whose name, namespace or description contains the filter's text
    (no order: the index's own order, so that a LIMIT stops early), and the scan window if
    bounded."""
    text = plan_filter.text.strip()
    plans = _plans()
    columns = (plans.c.namespaced_name, plans.c.namespace, plans.c.description)
    sqlite = _is_sqlite(session)
    if len(text) < MIN_INDEXED_TEXT:
        pattern = like_pattern(text.lower())
        # SQLite's LIKE ignores ASCII case by itself, and its lower() folds ASCII only: the
        # same matches without lower() on each column of each row (~40% of the scan)
        contains = [column.like(pattern, escape="\\") if sqlite
                    else sa.func.lower(column).like(pattern, escape="\\") for column in columns]
        query = sa.select(plans.c.plan_id).where(plans.c.plan_id >= _short_window(),
                                                  sa.or_(*contains))
        return _with_filters(query, plan_filter, sqlite), SHORT_TEXT_WINDOW
    if sqlite:
        found = _plan_search.join(_plan_search_rows,
                                  _plan_search_rows.c.search_rowid == _plan_search.c.rowid)
        matched = sa.literal_column("plan_search").op("MATCH")(fts_phrase(text))
        if plan_filter.phase is None and plan_filter.state is None:
            # the triggers of 0006 keep one plan_search_rows row per plan: the ids are there,
            # without a lookup in plans for each match (a third of the query's time)
            return sa.select(_plan_search_rows.c.plan_id).select_from(found).where(matched), None
        query = sa.select(plans.c.plan_id).select_from(
            found.join(plans, plans.c.plan_id == _plan_search_rows.c.plan_id)).where(matched)
    else:
        pattern = like_pattern(text)
        query = sa.select(plans.c.plan_id).where(
            sa.or_(*(column.ilike(pattern, escape="\\") for column in columns))
        )
    return _with_filters(query, plan_filter, sqlite), None


def _plan_only(plan_filter: PlanFilter) -> Any:
    return _with_filters(sa.select(_plans().c.plan_id), plan_filter)


def matching_ids(session: Session, plan_filter: PlanFilter) -> Any:
    """A subquery of the ids of every plan the filter matches (for keyset pages of matches)."""
    parts = [q for q in (_id_matches(session, plan_filter),) if q is not None]
    if plan_filter.text.strip():
        parts.append(_text_matches(session, plan_filter)[0])
    else:
        parts.append(_plan_only(plan_filter))
    return parts[0] if len(parts) == 1 else sa.union(*parts)


def _matched_ids(session: Session, parts: list[Any]) -> list[str]:
    """The ids the parts match, in their order (ids by prefix first), up to COUNT_CAP + 1:
    one pass of each part serves both the first matches and the count.

    Each part's ids come as one JSON array in one row. The driver lets go of the GIL for
    each row it steps to and must take it back after; while the UI thread was busy (drawing
    the previous matches), each take waited up to the interpreter's switch interval (5 ms):
    1,001 ids took 4.7 s instead of 4 ms with another thread busy, and 18 ms as one row."""
    aggregate = sa.func.json_group_array if _is_sqlite(session) else sa.func.json_agg
    ids: dict[str, None] = {}
    for part in parts:
        found = part.limit(COUNT_CAP + 1).subquery()
        value = session.execute(sa.select(aggregate(next(iter(found.c))))).scalar_one()
        if isinstance(value, str):  # SQLite's JSON is text; psycopg reads json into lists
            value = json.loads(value)
        ids.update(dict.fromkeys(map(str, value or ())))
        if len(ids) > COUNT_CAP:
            break
    return list(ids)[:COUNT_CAP + 1]


def _rows_with_child_counts() -> Any:
    """Summary columns and the number of children (the (parent_plan_id, plan_id) index)."""
    plans = _plans()
    child = _plan_links.alias("child")
    children = (sa.select(sa.func.count()).select_from(child)
                .where(child.c.parent_plan_id == plans.c.plan_id).scalar_subquery())
    return summary_select().add_columns(children.label("child_count"))


# Built once: a search runs them on each keystroke, and building them took longer than
# SQLite took to run them (SQLAlchemy still caches their compiled form).
@functools.cache
def _rows_of_ids() -> Any:
    """The plans whose ids are bound to `ids`, with their child counts."""
    return _rows_with_child_counts().where(
        _plans().c.plan_id.in_(sa.bindparam("ids", expanding=True)))


@functools.cache
def _rows_of_ancestors() -> Any:
    """The plans climbed to from the ids bound to `parents`, parent by parent, with their
    child counts: safe on cycles (UNION drops a row seen before), at most ANCESTOR_LIMIT."""
    plans = _plans()
    up = sa.select(_plan_links.c.plan_id, _plan_links.c.parent_plan_id).where(
        _plan_links.c.plan_id.in_(sa.bindparam("parents", expanding=True))
    ).cte("up", recursive=True)
    parent = _plan_links.alias("parent")
    up = up.union(
        sa.select(parent.c.plan_id, parent.c.parent_plan_id)
        .where(parent.c.plan_id == up.c.parent_plan_id)
    )
    return _rows_with_child_counts().where(
        plans.c.plan_id.in_(sa.select(up.c.plan_id).limit(ANCESTOR_LIMIT)))


def _summaries(session: Session, query: Any, params: dict[str, Any],
               counts: dict[str, int]) -> list[PlanSummary]:
    """The plans `query` reads (one of the two above), their child counts into `counts`."""
    result = session.execute(query, params)
    keys = list(result.keys())
    found: list[PlanSummary] = []
    for row in result.all():
        values = dict(zip(keys, row, strict=True))
        plan = summary_row(values)
        counts[plan.plan_id] = int(values["child_count"])
        found.append(plan)
    return found


def _ancestors(session: Session, found: list[PlanSummary], known: Collection[str],
               counts: dict[str, int]) -> list[PlanSummary]:
    """The ancestors of `found` that are neither in it nor `known`, with their child counts:
    one recursive query."""
    have = {plan.plan_id for plan in found} | set(known)
    parents = {p.parent_plan_id for p in found if p.parent_plan_id is not None} - have
    if not parents:
        return []
    climbed: dict[str, int] = {}
    ancestors = [plan for plan in _summaries(session, _rows_of_ancestors(),
                                             {"parents": sorted(parents)}, climbed)
                 if plan.plan_id not in have]
    counts.update((plan.plan_id, climbed[plan.plan_id]) for plan in ancestors)
    return sorted(ancestors, key=lambda plan: plan.plan_id)


@dataclass(frozen=True)
class MatchChunk:
    """Some matches, the ancestors that place them in their trees (those not already shown),
    and the child counts of both."""

    matches: tuple[PlanSummary, ...]
    ancestors: tuple[PlanSummary, ...]
    child_counts: dict[str, int]


def matches_of(session: Session, plan_ids: Sequence[str],
               known: Collection[str] = ()) -> MatchChunk:
    """The plans `plan_ids` (in that order, those that still exist), their ancestors that
    are not in `known`, and the child counts of both: a few batched queries."""
    by_id: dict[str, PlanSummary] = {}
    counts: dict[str, int] = {}
    for start in range(0, len(plan_ids), 500):
        chunk = list(plan_ids[start:start + 500])
        by_id.update((p.plan_id, p) for p in _summaries(
            session, _rows_of_ids(), {"ids": chunk}, counts))
    found = [by_id[plan_id] for plan_id in plan_ids if plan_id in by_id]
    ancestors = _ancestors(session, found, known, counts)
    return MatchChunk(tuple(found), tuple(ancestors), counts)


def search_matches(
    session: Session, plan_filter: PlanFilter, limit: int = MATCH_LIMIT
) -> SearchResult:
    """The first `limit` plans the filter matches (ids by prefix first, then text matches in
    index order), their ancestors, the number of matches up to COUNT_CAP, and the ids of the
    next matches up to COUNT_CAP (for `matches_of`, a screenful at a time)."""
    parts: list[Any] = []
    window: int | None = None
    id_part = _id_matches(session, plan_filter)
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
