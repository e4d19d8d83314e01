"""Plans as the tree shows them (summaries, nodes, pages) and the problems of stored values,
in plain dataclasses: the app's first page of roots is read and shown before SQLAlchemy loads,
so nothing here imports it (import-linter keeps it so)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from store.enums import PlanPhase, ProcessingState

PAGE_SIZE = 200


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


def shown_value(value: object) -> str:
    text = repr(str(value))
    return text if len(text) <= 40 else text[:39] + "…"


def enum_problem(table: str, row_id: str, column: str, value: object,
                 allowed: Sequence[str]) -> RowProblem:
    return RowProblem(table, row_id, column, f"{column} {shown_value(value)}",
                      f"{column} {shown_value(value)} is not one of {', '.join(allowed)}")


def json_problem(table: str, row_id: str, column: str, value: object) -> RowProblem | None:
    try:
        json.loads(value)  # type: ignore[arg-type]  # whatever is stored: bad types are problems
    except (ValueError, TypeError, RecursionError) as exc:
        return RowProblem(
            table, row_id, column, f"{column} (not valid JSON)",
            f"{column} is not valid JSON ({exc.__class__.__name__}: {str(exc)[:80]})",
        )
    return None


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


SUMMARY_COLUMNS = (
    "plan_id", "parent_plan_id", "root_plan_id", "namespaced_name", "namespace", "phase",
    "processing_state",
)

# Read only to check them: a row whose JSON is broken is flagged in the tree as well.
CHECKED_JSON_COLUMNS = (
    "effective_profile_snapshot", "inputs_schema_json", "tags_json", "error_details_json",
    "sandbox_refs_json", "validation_summary_json",
)

# The plans columns whose stored values the models may fail to read, in the table's column
# order (enums with their values; None: JSON text); tests check it against the Plan table.
PLAN_CHECKS: tuple[tuple[str, tuple[str, ...] | None], ...] = (
    ("phase", tuple(member.value for member in PlanPhase)),
    ("processing_state", tuple(member.value for member in ProcessingState)),
    *((name, None) for name in CHECKED_JSON_COLUMNS),
)


def plan_problems(values: Mapping[str, Any]) -> tuple[RowProblem, ...]:
    """The values of one stored plans row the models cannot read."""
    row_id = str(values["plan_id"])
    problems: list[RowProblem] = []
    for column, allowed in PLAN_CHECKS:
        value = values.get(column)
        if value is None:
            continue
        if allowed is not None:
            if value not in allowed:
                problems.append(enum_problem("plans", row_id, column, value, allowed))
        else:
            problem = json_problem("plans", row_id, column, value)
            if problem is not None:
                problems.append(problem)
    return tuple(problems)


def plan_summary(values: Mapping[str, Any]) -> PlanSummary:
    """A summary from a row holding SUMMARY_COLUMNS and CHECKED_JSON_COLUMNS as stored."""
    return PlanSummary(
        plan_id=values["plan_id"],
        parent_plan_id=values["parent_plan_id"],
        root_plan_id=values["root_plan_id"],
        namespaced_name=values["namespaced_name"],
        namespace=values["namespace"],
        phase=str(values["phase"]),
        processing_state=str(values["processing_state"]),
        problems=plan_problems(values),
    )


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


@dataclass(frozen=True)
class LoadedLevel:
    """One level a tree shows: its parent (None: the roots), how many of its plans are loaded,
    and the gaps it skips ("… more" rows: open id intervals, None unbounded); `counted` says
    of each gap whether its row shows how many plans it hides ("… 12 more")."""

    parent_id: str | None
    loaded: int
    gaps: tuple[tuple[str | None, str | None], ...] = ()
    counted: tuple[bool, ...] = ()


@dataclass(frozen=True)
class LevelRows:
    """A loaded level read again: its plans outside the gaps, in id order, up to `read_through`
    (the last id read when more followed; None: read to the level's end)."""

    nodes: tuple[PlanNode, ...]
    read_through: str | None
