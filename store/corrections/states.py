"""The state machine of a correction attempt: pending -> executing -> complete | failed, the
guarded UPDATE that moves a row along it, and reading attempts back."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from store.corrections.errors import IllegalTransitionError, UnknownAttemptError
from store.db import session_scope
from store.models import CorrectionAttempt, CorrectionState

OPEN_STATES = (CorrectionState.PENDING, CorrectionState.EXECUTING)
ALLOWED_TRANSITIONS: dict[CorrectionState, frozenset[CorrectionState]] = {
    CorrectionState.PENDING: frozenset({CorrectionState.EXECUTING}),
    CorrectionState.EXECUTING: frozenset({CorrectionState.COMPLETE, CorrectionState.FAILED}),
    CorrectionState.COMPLETE: frozenset(),
    CorrectionState.FAILED: frozenset(),
}
_PROGRESS = {CorrectionState.PENDING: 0, CorrectionState.EXECUTING: 1,
             CorrectionState.COMPLETE: 2, CorrectionState.FAILED: 2}


def state_progress(state: CorrectionState | str) -> int:
    """How far along the state machine `state` is (complete and failed are equally final), so
    that a late report of an earlier state never overwrites a later one."""
    return _PROGRESS[CorrectionState(state)]


def check_transition(current: CorrectionState | str, new: CorrectionState | str) -> None:
    """Raise unless current -> new is one of pending->executing->complete|failed."""
    source, target = CorrectionState(current), CorrectionState(new)
    if target not in ALLOWED_TRANSITIONS[source]:
        raise IllegalTransitionError(
            f"A correction attempt cannot go from {source.value} to {target.value}."
        )


def transition(
    session: Session,
    attempt_id: str,
    current: CorrectionState,
    new: CorrectionState,
    **values: Any,
) -> None:
    """Move an attempt from `current` to `new` with a guarded UPDATE (in the caller's
    transaction); raise if the transition is illegal or the row is not in `current` any more."""
    check_transition(current, new)
    result = session.exec(
        sa.update(CorrectionAttempt)
        .where(col(CorrectionAttempt.correction_attempt_id) == attempt_id)
        .where(col(CorrectionAttempt.state) == current)
        .values(state=new, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        found = session.exec(
            select(CorrectionAttempt.state).where(
                CorrectionAttempt.correction_attempt_id == attempt_id
            )
        ).first()
        if found is None:
            raise UnknownAttemptError(f"No correction attempt with id {attempt_id!r}.")
        raise IllegalTransitionError(
            f"Correction attempt {attempt_id} is {CorrectionState(found).value}, not "
            f"{current.value}; it cannot go to {new.value}."
        )


def commit_transition(
    engine: Engine, attempt_id: str, current: CorrectionState, new: CorrectionState, **values: Any
) -> CorrectionAttempt:
    with session_scope(engine) as session:
        transition(session, attempt_id, current, new, **values)
    return get_attempt(engine, attempt_id)


def commit_failed(
    engine: Engine, attempt_id: str, current: CorrectionState, **values: Any
) -> CorrectionAttempt:
    """Close an open attempt as failed in one transaction (through executing if pending)."""
    with session_scope(engine) as session:
        if current == CorrectionState.PENDING:
            transition(session, attempt_id, CorrectionState.PENDING, CorrectionState.EXECUTING)
        transition(session, attempt_id, CorrectionState.EXECUTING, CorrectionState.FAILED,
                   **values)
    return get_attempt(engine, attempt_id)


def get_attempt(engine: Engine, attempt_id: str) -> CorrectionAttempt:
    with session_scope(engine) as session:
        attempt = session.get(CorrectionAttempt, attempt_id, populate_existing=True)
        if attempt is None:
            raise UnknownAttemptError(f"No correction attempt with id {attempt_id!r}.")
        session.expunge(attempt)
        return attempt


def open_attempt_on(session: Session, decision_id: str) -> CorrectionAttempt | None:
    return session.exec(
        select(CorrectionAttempt)
        .where(CorrectionAttempt.original_decision_id == decision_id)
        .where(col(CorrectionAttempt.state).in_(OPEN_STATES))
    ).first()
