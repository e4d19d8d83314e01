"""Plan rows read as stored: summaries for tree rows and the problems of values the models
cannot read (an unknown enum value, broken JSON), so one bad row never blocks the rest."""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from store.models import Plan
from store.plans.summaries import (
    CHECKED_JSON_COLUMNS,
    SUMMARY_COLUMNS,
    PlanSummary,
    RowProblem,
    enum_problem,
    json_problem,
    plan_summary,
    unreadable_label,
)

__all__ = ["PlanSummary", "RowProblem", "unreadable_label"]  # re-exported from summaries


@dataclass(frozen=True)
class _ColumnCheck:
    name: str
    enum_class: type[enum.Enum] | None  # None: a JSON text column
    allowed: frozenset[str] = frozenset()
    choices: tuple[str, ...] = ()  # in the order the enum declares them


@functools.cache
def _column_checks(table: sa.Table) -> tuple[_ColumnCheck, ...]:
    """The columns of `table` whose stored values the models may fail to read."""
    checks: list[_ColumnCheck] = []
    for column in table.columns:
        if isinstance(column.type, sa.Enum) and column.type.enum_class is not None:
            allowed = column.type.enums
            checks.append(_ColumnCheck(column.name, column.type.enum_class, frozenset(allowed),
                                       tuple(allowed)))
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
                problems.append(enum_problem(table.name, row_id, check.name, value,
                                             check.choices))
            continue
        problem = json_problem(table.name, row_id, check.name, value)
        if problem is not None:
            problems.append(problem)
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


def table_of(model: type[Any]) -> sa.Table:
    table = model.__table__
    assert isinstance(table, sa.Table)
    return table


def summary_select() -> Any:
    table = table_of(Plan)
    return sa.select(*(_as_stored(table.c[name])
                       for name in (*SUMMARY_COLUMNS, *CHECKED_JSON_COLUMNS)))


def summary_row(row: Mapping[str, Any]) -> PlanSummary:
    # the same function builds the rows the app's first page reads with sqlite3
    return plan_summary(row)


_M = TypeVar("_M")


def rows_as_stored(
    session: Session, model: type[_M], where: Any, order: Any
) -> tuple[tuple[_M, ...], tuple[RowProblem, ...]]:
    """Rows of `model`'s table, built from the stored values (table models skip validation, so a
    bad value arrives as it is stored), with the problems of each."""
    table = table_of(model)
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
