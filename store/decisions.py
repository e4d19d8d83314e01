"""Recording decisions: the next sequence number of a plan and a validated new row."""

from __future__ import annotations

from pathlib import PurePosixPath

from sqlmodel import Session, col, func, select
from ulid import ULID

from store.models import Decision, PlanPhase, utc_now


class ArtifactPathError(ValueError):
    pass


def checked_artifacts_path(path: str | None) -> str | None:
    """A relative artifacts path that stays inside the artifacts root, or a clear error."""
    if path is None:
        return None
    if not path.strip():
        raise ArtifactPathError("An artifacts path cannot be empty.")
    if "\\" in path or "\x00" in path:
        raise ArtifactPathError(f"Artifacts path {path!r} contains a forbidden character.")
    pure = PurePosixPath(path)
    if pure.is_absolute():
        raise ArtifactPathError(f"Artifacts path {path!r} is absolute; it must be relative.")
    if ".." in pure.parts:
        raise ArtifactPathError(f"Artifacts path {path!r} leaves the artifacts root.")
    return str(pure)


def next_sequence(session: Session, plan_id: str) -> int:
    current = session.exec(
        select(func.max(col(Decision.sequence))).where(Decision.plan_id == plan_id)
    ).one()
    return int(current or 0) + 1


def record_decision(
    session: Session,
    *,
    plan_id: str,
    title: str,
    phase: PlanPhase,
    rationale: str | None = None,
    parent_decision_id: str | None = None,
    artifacts_path: str | None = None,
    decision_id: str | None = None,
    now: str | None = None,
) -> Decision:
    if not title.strip():
        raise ValueError("A decision needs a non-empty title.")
    decision = Decision.model_validate(
        {
            "decision_id": decision_id or str(ULID()),
            "plan_id": plan_id,
            "parent_decision_id": parent_decision_id,
            "sequence": next_sequence(session, plan_id),
            "phase": phase,
            "title": title.strip(),
            "rationale": rationale,
            "artifacts_path": checked_artifacts_path(artifacts_path),
            "created_at": now or utc_now(),
        }
    )
    session.add(decision)
    session.flush()
    return decision
