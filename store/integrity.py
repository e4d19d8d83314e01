"""The integrity check: what migrations repaired (`plan_repairs`) and what was written wrong
since, found on demand — roots that disagree, dangling parents, parent cycles, decision gaps.

Each kind is one listing query bounded by `limit` (a single pass over an index or the table,
whatever the size of the database), and a counting pass only when the listing is full.
Nothing here writes.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from store.models import Decision, Plan, PlanRepair
from store.plans.paths import ancestor_path

LISTED_PER_KIND = 100

plans_table = sa.inspect(Plan).local_table
repairs_table = sa.inspect(PlanRepair).local_table
decisions_table = sa.inspect(Decision).local_table


class IntegrityKind(enum.Enum):
    """The kinds of finding, in the order they are shown."""

    REPAIRED = "repaired"
    ROOT_MISMATCH = "root_mismatch"
    DANGLING_PARENT = "dangling_parent"
    PARENT_CYCLE = "parent_cycle"
    DECISION_GAP = "decision_gap"

    @property
    def title(self) -> str:
        return TITLES[self]


TITLES = {
    IntegrityKind.REPAIRED: "Repaired by migrations",
    IntegrityKind.ROOT_MISMATCH: "root_plan_id disagrees with the parent's",
    IntegrityKind.DANGLING_PARENT: "Parent missing",
    IntegrityKind.PARENT_CYCLE: "In or under a parent cycle",
    IntegrityKind.DECISION_GAP: "Gaps in decision sequence",
}


@dataclass(frozen=True)
class Finding:
    """One plan a finding is about, with what is wrong, in words."""

    plan_id: str
    namespaced_name: str
    what: str


@dataclass(frozen=True)
class FindingGroup:
    kind: IntegrityKind
    count: int  # every finding of the kind; `findings` lists at most the limit
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class IntegrityReport:
    groups: tuple[FindingGroup, ...]

    @property
    def total(self) -> int:
        return sum(group.count for group in self.groups)

    def group(self, kind: IntegrityKind) -> FindingGroup:
        return next(group for group in self.groups if group.kind is kind)


def _count(session: Session, query: sa.Select[tuple[str]]) -> int:
    return int(session.execute(sa.select(sa.func.count()).select_from(query.subquery()))
               .scalar_one())


def _counted(listed: int, limit: int, count: Callable[[], int]) -> int:
    """How many findings there are: a listing shorter than its limit has them all, so the
    counting pass runs only when there are more (damage is rare; each pass reads every plan)."""
    return listed if listed < limit else count()


def _named(session: Session, rows: list[tuple[str, str]]) -> list[Finding]:
    """Findings for (plan_id, what) rows, with each plan's name (one indexed query)."""
    ids = sorted({plan_id for plan_id, _what in rows})
    names: dict[str, str] = {}
    if ids:
        names = {
            str(plan_id): str(name)
            for plan_id, name in session.execute(
                sa.select(plans_table.c.plan_id, plans_table.c.namespaced_name)
                .where(plans_table.c.plan_id.in_(ids))
            )
        }
    return [Finding(plan_id, names.get(plan_id, ""), what) for plan_id, what in rows]


def repaired(session: Session, limit: int) -> FindingGroup:
    r = repairs_table.c
    count = int(session.execute(sa.select(sa.func.count()).select_from(repairs_table))
                .scalar_one())
    rows = session.execute(
        sa.select(r.plan_id, r.column_name, r.old_value, r.reason).order_by(r.id).limit(limit)
    ).all()
    listed = [
        (str(plan_id), f"{column} was {old!r}: {reason}" if old is not None
         else f"{column} was empty: {reason}")
        for plan_id, column, old, reason in rows
    ]
    return FindingGroup(IntegrityKind.REPAIRED, count, tuple(_named(session, listed)))


def root_mismatches(session: Session, limit: int) -> FindingGroup:
    """Roots whose root_plan_id is not themselves, and children whose root_plan_id is not
    their parent's: one pass over `plans`, each parent found by its primary key."""
    child, parent = plans_table.alias("child"), plans_table.alias("parent")
    with_parent = (
        sa.select(child.c.plan_id,
                  sa.literal("root_plan_id ").concat(child.c.root_plan_id)
                  .concat(", its parent's ").concat(parent.c.root_plan_id))
        .join(parent, parent.c.plan_id == child.c.parent_plan_id)
        .where(child.c.root_plan_id != parent.c.root_plan_id)
    )
    roots = (
        sa.select(child.c.plan_id,
                  sa.literal("a root whose root_plan_id is ").concat(child.c.root_plan_id))
        .where(child.c.parent_plan_id.is_(None), child.c.root_plan_id != child.c.plan_id)
    )
    rows = [(str(a), str(b)) for a, b in session.execute(
        sa.union_all(with_parent, roots).order_by(sa.literal_column("plan_id")).limit(limit))]
    count = _counted(len(rows), limit,
                     lambda: _count(session, with_parent) + _count(session, roots))
    return FindingGroup(IntegrityKind.ROOT_MISMATCH, count, tuple(_named(session, rows)))


def dangling_parents(session: Session, limit: int) -> FindingGroup:
    child, parent = plans_table.alias("child"), plans_table.alias("parent")
    query = (
        sa.select(child.c.plan_id, child.c.parent_plan_id)
        .select_from(child.outerjoin(parent, parent.c.plan_id == child.c.parent_plan_id))
        .where(child.c.parent_plan_id.is_not(None), parent.c.plan_id.is_(None))
    )
    rows = [(str(plan_id), f"parent {missing} does not exist")
            for plan_id, missing in session.execute(query.order_by(child.c.plan_id)
                                                    .limit(limit))]
    count = _counted(len(rows), limit, lambda: _count(session, query))
    return FindingGroup(IntegrityKind.DANGLING_PARENT, count, tuple(_named(session, rows)))


def _reached(orphans: tuple[str, ...] | None) -> sa.CTE:
    """Plans a walk down from a root (or from a plan whose parent is missing) reaches; the
    rest are in a parent cycle or below one. The walk follows the parent index and reaches
    each plan once (a plan has one parent), so it cannot loop. `orphans`, when known, are the
    plans whose parent is missing (saving a join over every plan to find them)."""
    roots = sa.select(plans_table.c.plan_id).where(plans_table.c.parent_plan_id.is_(None))
    if orphans is None:
        child, parent = plans_table.alias("child"), plans_table.alias("parent")
        starts = (
            sa.select(child.c.plan_id)
            .select_from(child.outerjoin(parent, parent.c.plan_id == child.c.parent_plan_id))
            .where(sa.or_(child.c.parent_plan_id.is_(None), parent.c.plan_id.is_(None)))
        )
    elif orphans:
        starts = sa.select(plans_table.c.plan_id).where(sa.or_(
            plans_table.c.parent_plan_id.is_(None), plans_table.c.plan_id.in_(orphans)))
    else:
        starts = roots
    reached = starts.cte("reached", recursive=True)
    below = plans_table.alias("below")
    return reached.union_all(
        sa.select(below.c.plan_id).where(below.c.parent_plan_id == reached.c.plan_id)
    )


def _parent_of(session: Session, plan_id: str) -> str | None:
    return session.execute(
        sa.select(plans_table.c.parent_plan_id).where(plans_table.c.plan_id == plan_id)
    ).scalar_one_or_none()


def parent_cycles(
    session: Session, limit: int, orphans: tuple[str, ...] | None = None
) -> FindingGroup:
    """Plans in a parent cycle or below one: one recursive walk down from the roots counts
    them; only when there are any, a second lists them, then one bounded walk up (the detail
    pane's) per listed plan tells which."""
    reached = _reached(orphans)
    # Each plan is reached at most once, so the difference of two counts is the count.
    count = int(session.execute(sa.select(
        sa.select(sa.func.count()).select_from(plans_table).scalar_subquery()
        - sa.select(sa.func.count()).select_from(reached).scalar_subquery()
    )).scalar_one())
    if count == 0:
        return FindingGroup(IntegrityKind.PARENT_CYCLE, 0, ())
    # An anti join, not NOT IN: PostgreSQL re-scans a NOT IN list too big for work_mem.
    ids = [str(plan_id) for plan_id in session.execute(
        sa.select(plans_table.c.plan_id)
        .select_from(plans_table.outerjoin(reached, reached.c.plan_id == plans_table.c.plan_id))
        .where(reached.c.plan_id.is_(None))
        .order_by(plans_table.c.plan_id).limit(limit)).scalars()]
    rows: list[tuple[str, str]] = []
    for plan_id in ids:
        path = ancestor_path(session, plan_id)
        # The walk up stops at the first plan met twice: the plan itself when it is on the loop.
        top = path.ids[0] if path.ids else plan_id
        in_cycle = path.stopped == "cycle" and _parent_of(session, top) == plan_id
        rows.append((plan_id, "in a parent cycle" if in_cycle else "below a parent cycle"))
    return FindingGroup(IntegrityKind.PARENT_CYCLE, count, tuple(_named(session, rows)))


def decision_gaps(session: Session, limit: int) -> FindingGroup:
    """Plans whose decisions are not numbered 1..n: one pass over UNIQUE(plan_id, sequence)."""
    d = decisions_table.c
    query = (
        sa.select(d.plan_id, sa.func.count().label("n"), sa.func.min(d.sequence).label("low"),
                  sa.func.max(d.sequence).label("high"))
        .group_by(d.plan_id)
        .having(sa.or_(sa.func.min(d.sequence) != 1,
                       sa.func.max(d.sequence) != sa.func.count()))
    )
    rows = [
        (str(plan_id), f"{n} decisions numbered {low} to {high}"
         + (f" ({high - low + 1 - n} missing)" if high - low + 1 > n else ""))
        for plan_id, n, low, high in session.execute(query.order_by(d.plan_id).limit(limit))
    ]
    count = _counted(len(rows), limit, lambda: _count(session, query))
    return FindingGroup(IntegrityKind.DECISION_GAP, count, tuple(_named(session, rows)))


def integrity_report(session: Session, limit: int = LISTED_PER_KIND) -> IntegrityReport:
    """Every kind of finding with its count and its first `limit` plans, by plan id."""
    dangling = dangling_parents(session, limit)
    # Listed in full, the orphans start the cycle walk without a join over every plan.
    orphans = (tuple(f.plan_id for f in dangling.findings)
               if dangling.count == len(dangling.findings) else None)
    return IntegrityReport((
        repaired(session, limit),
        root_mismatches(session, limit),
        dangling,
        parent_cycles(session, limit, orphans),
        decision_gaps(session, limit),
    ))
