"""Plan queries and plan creation: keyset pages of roots and children, detail, search.

Pages are keyset-paginated on plan_id (never OFFSET) and never load a whole tree.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, func, select
from ulid import ULID

from store import profiles
from store.models import (
    DEFAULT_PROFILE,
    AutomationProfile,
    CorrectionAttempt,
    Decision,
    Plan,
    PlanArgument,
    PlanInvariant,
    PlanPhase,
    PlanProject,
    PlanRepair,
    ProcessingState,
    utc_now,
)

PAGE_SIZE = 200


class PlanNotFoundError(LookupError):
    def __init__(self, plan_id: str) -> None:
        super().__init__(f"No plan with id {plan_id!r}.")
        self.plan_id = plan_id


@dataclass(frozen=True)
class PlanNode:
    """A plan as a tree row: the plan and how many children it has."""

    plan: Plan
    child_count: int


@dataclass(frozen=True)
class PlanPage:
    nodes: tuple[PlanNode, ...]
    next_after: str | None  # keyset cursor for the following page; None when this is the last

    @property
    def has_more(self) -> bool:
        return self.next_after is not None


_E = TypeVar("_E", bound=enum.StrEnum)


def _member(enum_cls: type[_E], what: str, value: str) -> _E:
    try:
        return enum_cls(value.lower())
    except ValueError:
        choices = ", ".join(member.value for member in enum_cls)
        raise ValueError(f"Unknown {what} {value!r}; use one of {choices}") from None


@dataclass(frozen=True)
class PlanFilter:
    """What `/` filters on: free text over id prefix, name and namespace; phase; state."""

    text: str = ""
    phase: PlanPhase | None = None
    state: ProcessingState | None = None

    @property
    def empty(self) -> bool:
        return not self.text.strip() and self.phase is None and self.state is None

    @classmethod
    def parse(cls, query: str) -> PlanFilter:
        """`phase:execute state:errored deploy` -> phase, state and free text."""
        words: list[str] = []
        phase: PlanPhase | None = None
        state: ProcessingState | None = None
        for word in query.split():
            key, _, value = word.partition(":")
            if key == "phase" and value:
                phase = _member(PlanPhase, "phase", value)
            elif key == "state" and value:
                state = _member(ProcessingState, "state", value)
            else:
                words.append(word)
        return cls(" ".join(words), phase, state)


@dataclass(frozen=True)
class PlanDetail:
    plan: Plan
    child_count: int
    arguments: tuple[PlanArgument, ...]
    invariants: tuple[PlanInvariant, ...]
    projects: tuple[PlanProject, ...]
    decisions: tuple[Decision, ...]
    corrections: tuple[CorrectionAttempt, ...]
    repairs: tuple[PlanRepair, ...]
    snapshot: profiles.ParsedSnapshot
    drift: profiles.Drift
    ancestors: tuple[str, ...] = field(default=())


def child_counts(session: Session, plan_ids: Sequence[str]) -> dict[str, int]:
    if not plan_ids:
        return {}
    rows = session.exec(
        select(Plan.parent_plan_id, func.count())
        .where(col(Plan.parent_plan_id).in_(plan_ids))
        .group_by(col(Plan.parent_plan_id))
    ).all()
    counts = {plan_id: 0 for plan_id in plan_ids}
    counts.update({str(parent): int(count) for parent, count in rows})
    return counts


def _page(session: Session, query: Any, limit: int) -> PlanPage:
    plans = list(session.exec(query.order_by(col(Plan.plan_id)).limit(limit + 1)).all())
    more = len(plans) > limit
    plans = plans[:limit]
    counts = child_counts(session, [p.plan_id for p in plans])
    nodes = tuple(PlanNode(p, counts[p.plan_id]) for p in plans)
    return PlanPage(nodes, plans[-1].plan_id if more and plans else None)


def roots_page(session: Session, after: str | None = None, limit: int = PAGE_SIZE) -> PlanPage:
    """Root plans (no parent), ordered by id, starting after the `after` cursor."""
    query = select(Plan).where(col(Plan.parent_plan_id).is_(None))
    if after is not None:
        query = query.where(col(Plan.plan_id) > after)
    return _page(session, query, limit)


def children_page(
    session: Session, parent_id: str, after: str | None = None, limit: int = PAGE_SIZE
) -> PlanPage:
    """Direct children of `parent_id`, ordered by id, starting after the `after` cursor."""
    query = select(Plan).where(Plan.parent_plan_id == parent_id)
    if after is not None:
        query = query.where(col(Plan.plan_id) > after)
    return _page(session, query, limit)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_page(
    session: Session, plan_filter: PlanFilter, after: str | None = None, limit: int = PAGE_SIZE
) -> PlanPage:
    """Plans matching the filter, flat, ordered by id."""
    query = select(Plan)
    text = plan_filter.text.strip()
    if text:
        pattern = f"%{_like_escape(text.lower())}%"
        query = query.where(
            sa.or_(
                col(Plan.plan_id).startswith(text.upper(), autoescape=True),
                func.lower(col(Plan.namespaced_name)).like(pattern, escape="\\"),
                func.lower(col(Plan.namespace)).like(pattern, escape="\\"),
            )
        )
    if plan_filter.phase is not None:
        query = query.where(Plan.phase == plan_filter.phase)
    if plan_filter.state is not None:
        query = query.where(Plan.processing_state == plan_filter.state)
    if after is not None:
        query = query.where(col(Plan.plan_id) > after)
    return _page(session, query, limit)


def find_plans(session: Session, text: str, limit: int = 20) -> list[Plan]:
    """Plans whose id starts with `text` or whose name contains it (for the palette)."""
    if not text.strip():
        return list(session.exec(
            select(Plan).where(col(Plan.parent_plan_id).is_(None))
            .order_by(col(Plan.plan_id)).limit(limit)
        ).all())
    return [node.plan for node in search_page(session, PlanFilter(text), limit=limit).nodes]


def ancestor_ids(session: Session, plan_id: str) -> tuple[str, ...]:
    """Ids from the root down to (and excluding) `plan_id`, via one recursive query."""
    up = (
        select(Plan.plan_id, Plan.parent_plan_id, sa.literal(0).label("depth"))
        .where(Plan.plan_id == plan_id)
        .cte("up", recursive=True)
    )
    parent = sa.orm.aliased(Plan)
    up = up.union(
        select(parent.plan_id, parent.parent_plan_id, (up.c.depth + 1).label("depth"))
        .where(parent.plan_id == up.c.parent_plan_id)
        .where(up.c.depth < 10_000)
    )
    rows = session.execute(sa.select(up.c.plan_id).order_by(up.c.depth.desc())).all()
    return tuple(str(row[0]) for row in rows[:-1])


def get_plan(session: Session, plan_id: str) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise PlanNotFoundError(plan_id)
    return plan


def plan_detail(session: Session, plan_id: str) -> PlanDetail:
    """Everything the detail pane shows for one plan, in a handful of indexed queries."""
    plan = get_plan(session, plan_id)

    def rows(model: Any, order: Any) -> tuple[Any, ...]:
        return tuple(session.exec(
            select(model).where(model.plan_id == plan_id).order_by(order)
        ).all())

    snapshot = profiles.parse_snapshot(plan.effective_profile_snapshot)
    current = session.get(AutomationProfile, plan.automation_profile)
    return PlanDetail(
        plan=plan,
        child_count=child_counts(session, [plan_id])[plan_id],
        arguments=rows(PlanArgument, col(PlanArgument.position)),
        invariants=rows(PlanInvariant, col(PlanInvariant.position)),
        projects=rows(PlanProject, col(PlanProject.project_name)),
        decisions=rows(Decision, col(Decision.sequence)),
        corrections=rows(CorrectionAttempt, col(CorrectionAttempt.created_at)),
        repairs=rows(PlanRepair, col(PlanRepair.id)),
        snapshot=snapshot,
        drift=profiles.drift(snapshot, plan.automation_profile, current),
        ancestors=ancestor_ids(session, plan_id),
    )


def descendant_count(session: Session, plan_id: str) -> int:
    """How many plans sit below `plan_id` at any depth."""
    plan = get_plan(session, plan_id)
    if plan.parent_plan_id is None:
        total = session.exec(
            select(func.count()).select_from(Plan).where(Plan.root_plan_id == plan_id)
        ).one()
        return int(total) - 1
    down = select(Plan.plan_id).where(Plan.parent_plan_id == plan_id).cte("down", recursive=True)
    child = sa.orm.aliased(Plan)
    down = down.union_all(select(child.plan_id).where(child.parent_plan_id == down.c.plan_id))
    return int(session.execute(sa.select(func.count()).select_from(down)).scalar_one())


def new_plan_id() -> str:
    return str(ULID())


def _json_text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError as exc:
            raise ValueError(f"{what} is not valid JSON: {exc}") from None
        return value
    return json.dumps(value, sort_keys=True)


def create_plan(
    session: Session,
    *,
    namespaced_name: str,
    description: str,
    parent_plan_id: str | None = None,
    plan_id: str | None = None,
    automation_profile: str | None = None,
    phase: PlanPhase = PlanPhase.STRATEGIZE,
    processing_state: ProcessingState = ProcessingState.QUEUED,
    now: str | None = None,
    **extra: Any,
) -> Plan:
    """Create a plan with its true root and a profile snapshot taken now ("source": "creation").

    SQLModel table classes skip validation, so the row is validated explicitly here.
    """
    now = now or utc_now()
    namespaced_name = namespaced_name.strip()
    if not namespaced_name or "/" not in namespaced_name:
        raise ValueError("A plan name must look like 'namespace/name'.")
    if not description.strip():
        raise ValueError("A plan needs a non-empty description.")
    plan_id = plan_id or new_plan_id()
    root_plan_id = plan_id
    if parent_plan_id is not None:
        root_plan_id = get_plan(session, parent_plan_id).root_plan_id
    profile_name = (automation_profile or "").strip() or None
    for key in ("inputs_schema_json", "tags_json", "error_details_json"):
        if key in extra:
            extra[key] = _json_text(extra[key], key)
    plan = Plan.model_validate(
        {
            "plan_id": plan_id,
            "parent_plan_id": parent_plan_id,
            "root_plan_id": root_plan_id,
            "namespaced_name": namespaced_name,
            "namespace": namespaced_name.split("/", 1)[0],
            "description": description,
            "automation_profile": profile_name or DEFAULT_PROFILE,
            "effective_profile_snapshot": profiles.creation_snapshot(
                session, profile_name, now=now
            ),
            "phase": phase,
            "processing_state": processing_state,
            "created_at": now,
            "updated_at": now,
            **extra,
        }
    )
    session.add(plan)
    session.flush()
    return plan


def siblings_from(session: Session, plan_id: str, limit: int = PAGE_SIZE) -> PlanPage:
    """A page of `plan_id`'s siblings (other roots, for a root) starting at `plan_id` itself.

    Lets a jump show a plan deep inside a long level without reading the pages before it.
    """
    plan = get_plan(session, plan_id)
    query = select(Plan).where(col(Plan.plan_id) >= plan_id)
    if plan.parent_plan_id is None:
        query = query.where(col(Plan.parent_plan_id).is_(None))
    else:
        query = query.where(Plan.parent_plan_id == plan.parent_plan_id)
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
    query = select(Plan)
    if parent_id is None:
        query = query.where(col(Plan.parent_plan_id).is_(None))
    else:
        query = query.where(Plan.parent_plan_id == parent_id)
    if after is not None:
        query = query.where(col(Plan.plan_id) > after)
    found = list(session.exec(query.order_by(col(Plan.plan_id).desc()).limit(limit + 1)).all())
    more_before = len(found) > limit
    found = list(reversed(found[:limit]))
    counts = child_counts(session, [p.plan_id for p in found])
    return TailPage(tuple(PlanNode(p, counts[p.plan_id]) for p in found), more_before)


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
    get_plan(session, plan_id)
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
