"""Plan queries and plan creation: keyset pages of roots and children, detail, search.

Pages are keyset-paginated on plan_id (never OFFSET) and never load a whole tree. Reads never
trust a stored row: a value the models cannot read (an unknown enum value, broken JSON) is
returned as stored and flagged, and ancestor walks stop at cycles, so that one bad row written
behind the app's back never keeps the rest of the database from opening.
"""

from __future__ import annotations

import enum
import functools
import json
from collections.abc import Collection, Mapping, Sequence
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
from store.phase_timestamps import phase_timestamps

PAGE_SIZE = 200
# How far up an ancestor walk goes before it gives up: far deeper than any real plan tree.
MAX_ANCESTOR_DEPTH = 10_000


class PlanNotFoundError(LookupError):
    def __init__(self, plan_id: str) -> None:
        super().__init__(f"No plan with id {plan_id!r}.")
        self.plan_id = plan_id


class PlanPathError(LookupError):
    """A plan has no path to a root: its ancestors form a cycle, run too deep, or are missing."""


@dataclass(frozen=True)
class RowProblem:
    """One stored value the models cannot read, kept as it is stored."""

    table: str
    row_id: str
    column: str
    label: str  # short, for a tree row: "phase 'bogus'"
    explanation: str  # for the detail pane: "phase 'bogus' is not one of strategize, …"


def unreadable_label(problems: Sequence[RowProblem]) -> str:
    """ "unreadable: phase 'bogus', tags_json (not valid JSON)", or "" for a sound row."""
    if not problems:
        return ""
    return "unreadable: " + ", ".join(problem.label for problem in problems)


def _shown(value: object) -> str:
    text = repr(str(value))
    return text if len(text) <= 40 else text[:39] + "…"


@dataclass(frozen=True)
class _ColumnCheck:
    name: str
    enum_class: type[enum.Enum] | None  # None: a JSON text column
    allowed: frozenset[str] = frozenset()
    choices: str = ""


@functools.cache
def _column_checks(table: sa.Table) -> tuple[_ColumnCheck, ...]:
    """The columns of `table` whose stored values the models may fail to read."""
    checks: list[_ColumnCheck] = []
    for column in table.columns:
        if isinstance(column.type, sa.Enum) and column.type.enum_class is not None:
            allowed = column.type.enums
            checks.append(_ColumnCheck(column.name, column.type.enum_class, frozenset(allowed),
                                       ", ".join(allowed)))
        elif column.name.endswith("_json") or column.name == "effective_profile_snapshot":
            checks.append(_ColumnCheck(column.name, None))
    return tuple(checks)


def _problems(table: sa.Table, row_id: str, values: Mapping[str, Any]) -> tuple[RowProblem, ...]:
    """The values of one stored row the models cannot read: unknown enum values, broken JSON."""
    problems: list[RowProblem] = []
    for check in _column_checks(table):
        value = values.get(check.name)
        if value is None:
            continue
        if check.enum_class is not None:
            if value not in check.allowed:
                problems.append(RowProblem(
                    table.name, row_id, check.name, f"{check.name} {_shown(value)}",
                    f"{check.name} {_shown(value)} is not one of {check.choices}",
                ))
            continue
        try:
            json.loads(value)
        except (ValueError, TypeError, RecursionError) as exc:
            problems.append(RowProblem(
                table.name, row_id, check.name, f"{check.name} (not valid JSON)",
                f"{check.name} is not valid JSON ({exc.__class__.__name__}: {str(exc)[:80]})",
            ))
    return tuple(problems)


def _with_members(table: sa.Table, values: dict[str, Any]) -> dict[str, Any]:
    """`values` with enum members for the enum values the models know; the rest as stored."""
    for check in _column_checks(table):
        value = values.get(check.name)
        if check.enum_class is not None and value in check.allowed:
            values[check.name] = check.enum_class(value)
    return values


def _as_stored(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    # The Enum type raises on a value it does not know; read the text and check it ourselves.
    if isinstance(column.type, sa.Enum):
        return sa.type_coerce(column, sa.String).label(column.key)
    return column


@dataclass(frozen=True)
class PlanSummary:
    """What a tree row, a filter match or a palette hit shows of a plan; phase and state are the
    stored text, and `problems` names every value the models could not read."""

    plan_id: str
    parent_plan_id: str | None
    root_plan_id: str
    namespaced_name: str
    namespace: str
    phase: str
    processing_state: str
    problems: tuple[RowProblem, ...] = ()


_SUMMARY_COLUMNS = (
    "plan_id", "parent_plan_id", "root_plan_id", "namespaced_name", "namespace", "phase",
    "processing_state",
)
# Read only to check them: a row whose JSON is broken is flagged in the tree as well.
_CHECKED_JSON_COLUMNS = (
    "effective_profile_snapshot", "inputs_schema_json", "tags_json", "error_details_json",
)


def _table_of(model: type[Any]) -> sa.Table:
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


def _summary_select() -> Any:
    table = _table_of(Plan)
    return sa.select(*(_as_stored(table.c[name])
                       for name in (*_SUMMARY_COLUMNS, *_CHECKED_JSON_COLUMNS)))


def _summary(row: Mapping[str, Any]) -> PlanSummary:
    problems = _problems(_table_of(Plan), row["plan_id"], row)
    return PlanSummary(
        plan_id=row["plan_id"],
        parent_plan_id=row["parent_plan_id"],
        root_plan_id=row["root_plan_id"],
        namespaced_name=row["namespaced_name"],
        namespace=row["namespace"],
        phase=str(row["phase"]),
        processing_state=str(row["processing_state"]),
        problems=problems,
    )


@dataclass(frozen=True)
class AncestorPath:
    """A plan's ancestors from the top down, and why the walk stopped short of a root, if it
    did: "cycle", "deeper than N levels" or "parent … is missing"."""

    ids: tuple[str, ...]
    stopped: str | None = None


@dataclass(frozen=True)
class PlanNode:
    """A plan as a tree row: the plan and how many children it has."""

    plan: PlanSummary
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
    """Everything the detail pane shows. Rows are built from the stored values without the
    models' checks: a value named in `problems` is the stored text, not an enum member."""

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
    path_stopped: str | None = None  # why `ancestors` stops short of a root (AncestorPath)
    problems: tuple[RowProblem, ...] = ()  # of the plan and of every row shown with it

    @property
    def plan_problems(self) -> tuple[RowProblem, ...]:
        return self.problems_of("plans", self.plan.plan_id)

    def problems_of(self, table: str, row_id: str) -> tuple[RowProblem, ...]:
        return tuple(p for p in self.problems if p.table == table and p.row_id == row_id)

    def problem_lines(self) -> tuple[str, ...]:
        """Every problem as a sentence that says which row it is in, the plan's own first."""
        sequences = {d.decision_id: d.sequence for d in self.decisions}
        names = {
            "plan_arguments": {str(a.id): f"argument {a.name!r}" for a in self.arguments},
            "plan_invariants": {str(i.id): f"invariant #{i.position}" for i in self.invariants},
            "decisions": {k: f"decision #{v}" for k, v in sequences.items()},
        }
        lines: list[str] = []
        for problem in sorted(self.problems, key=lambda p: p.table != "plans"):
            if problem.table == "plans":
                lines.append(problem.explanation)
                continue
            row = names.get(problem.table, {}).get(
                problem.row_id, f"{problem.table} row {problem.row_id}")
            lines.append(f"{row}: {problem.explanation}")
        return tuple(lines)

    def correction_refusal(self, decision_id: str) -> str | None:
        """Why no correction of `decision_id` can run, or None when one can.

        store.corrections reads the plan and its decisions through the models, so a bad value
        in any of them would fail the correction half-way with an unhelpful error; an
        unreadable correction attempt refuses it too, as the history it adds to is in doubt.
        """
        if self.plan_problems:
            return (f"Plan {self.plan.plan_id} cannot be corrected: its row is "
                    f"{unreadable_label(self.plan_problems)}. Fix the row in the database first.")
        target = next((d for d in self.decisions if d.decision_id == decision_id), None)
        named = f"Decision #{target.sequence}" if target is not None else "This decision"
        for decision in self.decisions:
            bad = self.problems_of("decisions", decision.decision_id)
            if not bad:
                continue
            if decision.decision_id == decision_id:
                why = f"its row is {unreadable_label(bad)}"
            else:
                why = (f"decision #{decision.sequence} of the same plan is "
                       f"{unreadable_label(bad)}, and a correction reads them all")
            return f"{named} cannot be corrected: {why}. Fix the row in the database first."
        attempts = [p for p in self.problems if p.table == "correction_attempts"]
        if attempts:
            return (f"This plan cannot be corrected: correction attempt {attempts[0].row_id} is "
                    f"{unreadable_label(attempts)}. Fix the row in the database first.")
        return None


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
    result = session.execute(query.order_by(col(Plan.plan_id)).limit(limit + 1))
    keys = list(result.keys())
    rows = result.all()
    more = len(rows) > limit
    summaries = [_summary(dict(zip(keys, row, strict=True))) for row in rows[:limit]]
    counts = child_counts(session, [p.plan_id for p in summaries])
    nodes = tuple(PlanNode(p, counts[p.plan_id]) for p in summaries)
    return PlanPage(nodes, summaries[-1].plan_id if more and summaries else None)


def roots_page(session: Session, after: str | None = None, limit: int = PAGE_SIZE) -> PlanPage:
    """Root plans (no parent), ordered by id, starting after the `after` cursor."""
    query = _summary_select().where(col(Plan.parent_plan_id).is_(None))
    if after is not None:
        query = query.where(col(Plan.plan_id) > after)
    return _page(session, query, limit)


def children_page(
    session: Session, parent_id: str, after: str | None = None, limit: int = PAGE_SIZE
) -> PlanPage:
    """Direct children of `parent_id`, ordered by id, starting after the `after` cursor."""
    query = _summary_select().where(Plan.parent_plan_id == parent_id)
    if after is not None:
        query = query.where(col(Plan.plan_id) > after)
    return _page(session, query, limit)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_page(
    session: Session, plan_filter: PlanFilter, after: str | None = None, limit: int = PAGE_SIZE
) -> PlanPage:
    """Plans matching the filter, flat, ordered by id."""
    query = _summary_select()
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


def find_plans(session: Session, text: str, limit: int = 20) -> list[PlanSummary]:
    """Plans whose id starts with `text` or whose name contains it (for the palette)."""
    if not text.strip():
        return [node.plan for node in roots_page(session, limit=limit).nodes]
    return [node.plan for node in search_page(session, PlanFilter(text), limit=limit).nodes]


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


def get_plan(session: Session, plan_id: str) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise PlanNotFoundError(plan_id)
    return plan


def _parent_and_root(session: Session, plan_id: str) -> tuple[str | None, str]:
    """A plan's parent and root ids, read without the rest of a row that may be unreadable."""
    row = session.execute(
        sa.select(col(Plan.parent_plan_id), col(Plan.root_plan_id))
        .where(col(Plan.plan_id) == plan_id)
    ).first()
    if row is None:
        raise PlanNotFoundError(plan_id)
    return row[0], row[1]


_M = TypeVar("_M")


def _rows_as_stored(
    session: Session, model: type[_M], where: Any, order: Any
) -> tuple[tuple[_M, ...], tuple[RowProblem, ...]]:
    """Rows of `model`'s table, built from the stored values (table models skip validation, so a
    bad value arrives as it is stored), with the problems of each."""
    table = _table_of(model)
    key = table.primary_key.columns.values()[0].name
    result = session.execute(
        sa.select(*(_as_stored(c) for c in table.columns)).where(where).order_by(order)
    )
    keys = list(result.keys())
    entities: list[_M] = []
    problems: list[RowProblem] = []
    for row in result.all():
        values = dict(zip(keys, row, strict=True))
        problems.extend(_problems(table, str(values[key]), values))
        entities.append(model(**_with_members(table, values)))
    return tuple(entities), tuple(problems)


def plan_detail(session: Session, plan_id: str) -> PlanDetail:
    """Everything the detail pane shows for one plan, in a handful of indexed queries.

    Never raises for a bad stored value: it is shown as stored and listed in `problems`.
    """
    found, problems = _rows_as_stored(session, Plan, Plan.plan_id == plan_id, Plan.plan_id)
    if not found:
        raise PlanNotFoundError(plan_id)
    plan = found[0]
    collected = list(problems)

    def rows(model: Any, order: Any) -> tuple[Any, ...]:
        entities, bad = _rows_as_stored(session, model, model.plan_id == plan_id, order)
        collected.extend(bad)
        return entities

    snapshot = profiles.parse_snapshot(plan.effective_profile_snapshot)
    current = session.get(AutomationProfile, plan.automation_profile)
    path = ancestor_path(session, plan_id)
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
        ancestors=path.ids,
        path_stopped=path.stopped,
        problems=tuple(collected),
    )


def descendant_count(session: Session, plan_id: str) -> int:
    """How many plans sit below `plan_id` at any depth (each once, even in a parent cycle)."""
    parent_plan_id, _ = _parent_and_root(session, plan_id)
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
        _, root_plan_id = _parent_and_root(session, parent_plan_id)
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
    # Stamped once the phase and state are known to be valid; explicit values are kept.
    for column, stamp in phase_timestamps(plan.phase, plan.processing_state, now).items():
        if column not in extra:
            setattr(plan, column, stamp)
    session.add(plan)
    session.flush()
    return plan


def siblings_from(session: Session, plan_id: str, limit: int = PAGE_SIZE) -> PlanPage:
    """A page of `plan_id`'s siblings (other roots, for a root) starting at `plan_id` itself.

    Lets a jump show a plan deep inside a long level without reading the pages before it.
    """
    parent_plan_id, _ = _parent_and_root(session, plan_id)
    query = _summary_select().where(col(Plan.plan_id) >= plan_id)
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
    query = _summary_select()
    if parent_id is None:
        query = query.where(col(Plan.parent_plan_id).is_(None))
    else:
        query = query.where(Plan.parent_plan_id == parent_id)
    if after is not None:
        query = query.where(col(Plan.plan_id) > after)
    result = session.execute(query.order_by(col(Plan.plan_id).desc()).limit(limit + 1))
    keys = list(result.keys())
    rows = result.all()
    more_before = len(rows) > limit
    found = [_summary(dict(zip(keys, row, strict=True))) for row in reversed(rows[:limit])]
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
    _parent_and_root(session, plan_id)  # PlanNotFoundError; reads no column that may be bad
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
