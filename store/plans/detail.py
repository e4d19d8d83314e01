"""Everything the detail pane shows of one plan, read without trusting a stored value."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from store import profiles
from store.models import (
    AutomationProfile,
    CorrectionAttempt,
    Decision,
    Plan,
    PlanArgument,
    PlanInvariant,
    PlanProject,
    PlanRepair,
)
from store.plans.paths import AncestorPath, PlanNotFoundError, ancestor_path, tree_size
from store.plans.rows import (
    RowProblem,
    child_counts,
    rows_as_stored,
    table_of,
    unreadable_label,
)


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
    ancestor_names: tuple[str, ...] = ()  # the names of `ancestors`, in the same order
    problems: tuple[RowProblem, ...] = ()  # of the plan and of every row shown with it
    tree_size: int = 1  # plans sharing the plan's root_plan_id, the root included

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


def get_plan(session: Session, plan_id: str) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise PlanNotFoundError(plan_id)
    return plan


# Ids per IN list: far below SQLite's and PostgreSQL's limits on bound parameters.
NAMES_CHUNK = 500


def names_of(session: Session, plan_ids: tuple[str, ...]) -> tuple[str, ...]:
    """The namespaced names of `plan_ids`, in their order (the id where a name is missing)."""
    names: dict[str, str] = {}
    for start in range(0, len(plan_ids), NAMES_CHUNK):
        chunk = plan_ids[start:start + NAMES_CHUNK]
        rows = session.exec(
            select(Plan.plan_id, Plan.namespaced_name).where(col(Plan.plan_id).in_(chunk))
        ).all()
        names.update((str(plan_id), str(name)) for plan_id, name in rows)
    return tuple(names.get(plan_id, plan_id) for plan_id in plan_ids)


def plan_detail(session: Session, plan_id: str) -> PlanDetail:
    """Everything the detail pane shows for one plan, in a handful of indexed queries.

    Never raises for a bad stored value: it is shown as stored and listed in `problems`.
    """
    return plan_details(session, [plan_id])[0]


def plan_details(
    session: Session, plan_ids: Sequence[str], paths: Mapping[str, AncestorPath] | None = None
) -> list[PlanDetail]:
    """`plan_detail` of several plans (an export's page) in one query per table, in the order
    given; `paths` are ancestor paths the caller already knows (a walk down a tree), the rest
    are read. Raises PlanNotFoundError for the first id that is not there."""
    ids = list(plan_ids)
    found, plan_problems = rows_as_stored(session, Plan, col(Plan.plan_id).in_(ids),
                                          Plan.plan_id)
    plans = {plan.plan_id: plan for plan in found}
    for plan_id in ids:
        if plan_id not in plans:
            raise PlanNotFoundError(plan_id)
    problems: dict[str, list[RowProblem]] = {plan_id: [] for plan_id in ids}
    for problem in plan_problems:
        problems[problem.row_id].append(problem)

    def rows(model: Any, order: Any) -> dict[str, tuple[Any, ...]]:
        # sorted by `order` alone: grouping by plan below keeps each plan's rows in that order
        entities, bad = rows_as_stored(session, model, col(model.plan_id).in_(ids), order)
        key = table_of(model).primary_key.columns.values()[0].name
        owner = {str(getattr(entity, key)): entity.plan_id for entity in entities}
        for problem in bad:
            problems[owner[problem.row_id]].append(problem)
        grouped: dict[str, list[Any]] = {plan_id: [] for plan_id in ids}
        for entity in entities:
            grouped[entity.plan_id].append(entity)
        return {plan_id: tuple(group) for plan_id, group in grouped.items()}

    counts = child_counts(session, ids)
    arguments = rows(PlanArgument, col(PlanArgument.position))
    invariants = rows(PlanInvariant, col(PlanInvariant.position))
    projects = rows(PlanProject, col(PlanProject.project_name))
    decisions = rows(Decision, col(Decision.sequence))
    corrections = rows(CorrectionAttempt, col(CorrectionAttempt.created_at))
    repairs = rows(PlanRepair, col(PlanRepair.id))
    sizes: dict[str, int] = {}  # one count per tree, however many of its plans are asked for
    walks = {plan_id: (paths or {}).get(plan_id) or ancestor_path(session, plan_id)
             for plan_id in ids}
    # every ancestor of the batch named in one go (they are mostly shared)
    ancestor_ids = tuple(dict.fromkeys(a for walk in walks.values() for a in walk.ids))
    name_of = dict(zip(ancestor_ids, names_of(session, ancestor_ids), strict=True))
    details: list[PlanDetail] = []
    for plan_id in ids:
        plan = plans[plan_id]
        if plan.root_plan_id not in sizes:
            sizes[plan.root_plan_id] = tree_size(session, plan.root_plan_id)
        snapshot = profiles.parse_snapshot(plan.effective_profile_snapshot)
        current = session.get(AutomationProfile, plan.automation_profile)
        path = walks[plan_id]
        details.append(PlanDetail(
            plan=plan,
            child_count=counts[plan_id],
            arguments=arguments[plan_id],
            invariants=invariants[plan_id],
            projects=projects[plan_id],
            decisions=decisions[plan_id],
            corrections=corrections[plan_id],
            repairs=repairs[plan_id],
            snapshot=snapshot,
            drift=profiles.drift(snapshot, plan.automation_profile, current),
            ancestors=path.ids,
            path_stopped=path.stopped,
            ancestor_names=tuple(name_of[a] for a in path.ids),
            problems=tuple(problems[plan_id]),
            tree_size=sizes[plan.root_plan_id],
        ))
    return details


def _comparable(value: Any) -> Any:
    """`value` with its table rows as their column values (rows compare by identity)."""
    if hasattr(value, "model_dump"):
        return value.model_dump()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return tuple(_comparable(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, tuple | list):
        return [_comparable(item) for item in value]
    return value


def changed_parts(shown: PlanDetail, read: PlanDetail) -> frozenset[str]:
    """The fields of `read` that differ from `shown`'s (a live refresh redraws only those)."""
    return frozenset(
        f.name for f in dataclasses.fields(PlanDetail)
        if _comparable(getattr(shown, f.name)) != _comparable(getattr(read, f.name)))


def same_detail(shown: PlanDetail, read: PlanDetail) -> bool:
    """Whether `read` holds exactly what `shown` holds (a live refresh that found nothing new
    for this plan need not redraw it)."""
    return not changed_parts(shown, read)
