"""Plans as plain JSON-ready dicts in versioned shapes, and as CSV rows.

The shapes are documented as JSON Schemas in docs/json/ (README "Scripting"); a change that
breaks a script bumps the number after the slash in "format".
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from store.plans import PlanDetail, PlanNode, RowProblem, unreadable_label

SUMMARY_FORMAT = "plandesk.plan-summary/1"
PLAN_FORMAT = "plandesk.plan/1"
EXPORT_FORMAT = "plandesk.export/1"


# C1 controls and DEL pass through json.dumps(ensure_ascii=False) as they are; some terminals
# act on them (\x9b is a CSI), so they are written as \u escapes, which JSON reads back the same.
_RAW_CONTROLS = {code: f"\\u{code:04x}" for code in (0x7F, *range(0x80, 0xA0))}


def to_json(value: Any, *, indent: int | None = None) -> str:
    """JSON text that keeps non-ASCII names readable and carries no raw control character."""
    return json.dumps(value, ensure_ascii=False, indent=indent).translate(_RAW_CONTROLS)


def printable(text: str | None) -> str:
    """Database text for a terminal line: every control character written as an escape."""
    if not text:
        return ""
    return "".join(
        f"\\x{ord(char):02x}" if ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 else char
        for char in text
    )


def _plain(value: Any) -> Any:
    # enum members (StrEnum) become their stored text; everything else is already JSON-ready
    return str(value) if isinstance(value, str) else value


def row_dict(entity: Any) -> dict[str, Any]:
    """Every column of a table row, as stored (an unreadable enum value is its stored text)."""
    table = entity.__table__
    assert isinstance(table, sa.Table)
    return {column.name: _plain(getattr(entity, column.name)) for column in table.columns}


def problem_dict(problem: RowProblem) -> dict[str, str]:
    return {"table": problem.table, "row_id": problem.row_id, "column": problem.column,
            "explanation": problem.explanation}


def summary_dict(node: PlanNode) -> dict[str, Any]:
    """One line of `plandesk plans list --json` (shape plandesk.plan-summary/1)."""
    plan = node.plan
    return {
        "format": SUMMARY_FORMAT,
        "plan_id": plan.plan_id,
        "parent_plan_id": plan.parent_plan_id,
        "root_plan_id": plan.root_plan_id,
        "namespaced_name": plan.namespaced_name,
        "namespace": plan.namespace,
        "phase": plan.phase,
        "processing_state": plan.processing_state,
        "child_count": node.child_count,
        "problems": [problem_dict(p) for p in plan.problems],
    }


def detail_dict(detail: PlanDetail) -> dict[str, Any]:
    """Everything known of one plan (shape plandesk.plan/1): `plandesk plans show --json` and
    each plan of an export."""
    snapshot, drift = detail.snapshot, detail.drift
    return {
        "format": PLAN_FORMAT,
        "plan": row_dict(detail.plan),
        "child_count": detail.child_count,
        "ancestors": list(detail.ancestors),
        "path_stopped": detail.path_stopped,
        "snapshot": {
            "raw": snapshot.raw,
            "data": snapshot.data,
            "error": snapshot.error,
            "source": snapshot.source,
        },
        "drift": {
            "profile_name": drift.profile_name,
            "current_exists": drift.current_exists,
            "drifted": drift.drifted,
            "diff": list(drift.diff_lines),
        },
        "arguments": [row_dict(row) for row in detail.arguments],
        "invariants": [row_dict(row) for row in detail.invariants],
        "projects": [row_dict(row) for row in detail.projects],
        "decisions": [row_dict(row) for row in detail.decisions],
        "corrections": [row_dict(row) for row in detail.corrections],
        "repairs": [row_dict(row) for row in detail.repairs],
        "problems": [problem_dict(p) for p in detail.problems],
    }


CSV_COLUMNS = (
    "plan_id", "parent_plan_id", "root_plan_id", "depth", "namespaced_name", "namespace",
    "description", "phase", "processing_state", "automation_profile", "attempt",
    "created_at", "updated_at", "strategized_at", "executed_at", "applied_at", "completed_at",
    "child_count", "decision_count", "active_decision_count", "correction_count",
    "snapshot_source", "drifted", "unreadable", "effective_profile_snapshot",
    "decisions_json", "corrections_json",
)


def csv_row(depth: int, detail: PlanDetail) -> dict[str, Any]:
    """One plan as one CSV row (columns CSV_COLUMNS; lists as JSON text)."""
    plan = detail.plan
    return {
        "plan_id": plan.plan_id,
        "parent_plan_id": plan.parent_plan_id or "",
        "root_plan_id": plan.root_plan_id,
        "depth": depth,
        "namespaced_name": plan.namespaced_name,
        "namespace": plan.namespace,
        "description": plan.description,
        "phase": str(plan.phase),
        "processing_state": str(plan.processing_state),
        "automation_profile": plan.automation_profile,
        "attempt": plan.attempt,
        "created_at": plan.created_at,
        "updated_at": plan.updated_at,
        "strategized_at": plan.strategized_at or "",
        "executed_at": plan.executed_at or "",
        "applied_at": plan.applied_at or "",
        "completed_at": plan.completed_at or "",
        "child_count": detail.child_count,
        "decision_count": len(detail.decisions),
        "active_decision_count": sum(1 for d in detail.decisions if d.state == "active"),
        "correction_count": len(detail.corrections),
        "snapshot_source": detail.snapshot.source,
        "drifted": "yes" if detail.drift.drifted else "no",
        "unreadable": unreadable_label(detail.problems),
        "effective_profile_snapshot": detail.snapshot.raw,
        "decisions_json": to_json([row_dict(d) for d in detail.decisions]),
        "corrections_json": to_json([row_dict(c) for c in detail.corrections]),
    }
