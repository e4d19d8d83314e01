"""Running one correction to its end: pending -> executing -> complete, or failed with a reason.

The database work is one transaction that also sets `complete`; artifact folders are moved
inside it (see `archive`), so a failure rolls the database back and moves the folders back.
The owner lock (see `liveness`) is held from before the `pending` row exists until the attempt
is terminal, so nobody recovers a live attempt and nobody waits on a dead one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col
from ulid import ULID

from store.corrections.archive import FolderArchive, Move, remove_archive_folder
from store.corrections.errors import (
    AttemptLeftOpenError,
    CorrectionError,
    CorrectionInProgressError,
    UndoIncompleteError,
    UnknownPlanError,
)
from store.corrections.liveness import try_own
from store.corrections.preview import (
    PlanVersion,
    clean_guidance,
    correction_mode,
    plan_version,
    preview,
)
from store.corrections.recovery import RecoveryOutcome, recover_if_dead
from store.corrections.states import (
    commit_failed,
    commit_transition,
    get_attempt,
    open_attempt_on,
    transition,
)
from store.db import StoreError, engine_scope, session_scope, translate_error
from store.decisions import record_decision
from store.models import (
    CorrectionAttempt,
    CorrectionMode,
    CorrectionState,
    Decision,
    DecisionState,
    Plan,
    ProcessingState,
    utc_now,
)
from store.phase_timestamps import TIMESTAMP_COLUMNS, phase_timestamps

OnState = Callable[[CorrectionAttempt], None]
T = TypeVar("T")
# Closing a failed attempt is retried: a writer that held the database lock when the attempt
# failed has usually let go by the next try (each try waits out the busy timeout).
CLOSE_TRIES = 3
# Inserting the pending attempt is retried when the open attempt that blocked it is gone.
INSERT_TRIES = 3


def _notify(on_state: OnState | None, attempt: CorrectionAttempt) -> None:
    if on_state is not None:
        on_state(attempt)


def _failure_reason(exc: BaseException, engine: Engine) -> str:
    if isinstance(exc, sa.exc.DBAPIError):
        clear = translate_error(exc, engine.url.render_as_string(hide_password=True))
        if clear is not None:
            return str(clear)
    text = str(exc).strip() or type(exc).__name__
    if not isinstance(exc, StoreError):
        text = f"{type(exc).__name__}: {text}"
    return text


def _insert_pending(
    engine: Engine, attempt_id: str, plan_id: str, decision_id: str,
    mode: CorrectionMode, guidance: str,
) -> CorrectionAttempt:
    attempt = CorrectionAttempt.model_validate({
        "correction_attempt_id": attempt_id,
        "plan_id": plan_id,
        "original_decision_id": decision_id,
        "mode": mode,
        "guidance": guidance,
        "state": CorrectionState.PENDING,
        "created_at": utc_now(),
    })
    for _ in range(INSERT_TRIES):
        try:
            with session_scope(engine) as session:
                session.add(attempt)
        except sa.exc.IntegrityError:
            with session_scope(engine) as session:
                blocking = open_attempt_on(session, decision_id)
            if blocking is not None:
                raise CorrectionInProgressError(blocking) from None
            # The attempt that blocked the insert closed before we could name it: try again
            # (what it changed is caught by the version check when this attempt runs).
            continue
        return attempt
    raise CorrectionError(
        f"Another correction of decision {decision_id} kept starting and finishing; try again."
    )


def _execute(
    engine: Engine,
    attempt: CorrectionAttempt,
    artifacts: Path,
    archive: Path,
    move: Move,
    expected_version: PlanVersion | None,
) -> CorrectionAttempt:
    """The work: one database transaction, with the artifact moves inside it; the attempt
    becomes `complete` in the same commit. On any error the moves are undone and it re-raises."""
    attempt_id = attempt.correction_attempt_id
    folders = FolderArchive(artifacts, archive / attempt_id, move)
    with Session(engine, expire_on_commit=False) as session:
        try:
            now = utc_now()
            # Writing first takes the plan's row lock (PostgreSQL) or the write lock (SQLite), so
            # corrections of one plan run one at a time and the checks below see fresh data.
            locked = session.exec(
                sa.update(Plan)
                .where(col(Plan.plan_id) == attempt.plan_id)
                .values(updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if locked.rowcount != 1:
                raise UnknownPlanError(f"No plan with id {attempt.plan_id!r}.")
            seen = preview(
                session, attempt.plan_id, attempt.original_decision_id, attempt.mode,
                artifacts_root=artifacts, archive_root=archive, own_attempt_id=attempt_id,
                expected_version=expected_version,
            )
            if seen.moves:
                folders.archive(seen.moves, {
                    "correction_attempt_id": attempt_id,
                    "plan_id": attempt.plan_id,
                    "decision_id": attempt.original_decision_id,
                    "written_at": utc_now(),
                })
            if seen.reverted:
                ids = [d.decision_id for d in seen.reverted]
                result = session.exec(
                    sa.update(Decision)
                    .where(col(Decision.decision_id).in_(ids))
                    .where(col(Decision.state) == DecisionState.ACTIVE)
                    .values(state=DecisionState.REVERTED)
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount != len(ids):
                    raise CorrectionError("Some decisions changed while reverting; nothing done.")
            new = record_decision(
                session,
                plan_id=attempt.plan_id,
                title=seen.new_title,
                phase=seen.new_phase,
                rationale=attempt.guidance,
                parent_decision_id=seen.new_parent_decision_id,
                now=now,
            )
            stamped = session.execute(
                sa.select(*(getattr(Plan, name) for name in TIMESTAMP_COLUMNS))
                .where(col(Plan.plan_id) == attempt.plan_id)
            ).one()
            session.exec(
                sa.update(Plan)
                .where(col(Plan.plan_id) == attempt.plan_id)
                .values(
                    phase=seen.plan_phase_after,
                    processing_state=ProcessingState.QUEUED,
                    **phase_timestamps(
                        seen.plan_phase_after, ProcessingState.QUEUED, now, stamped._asdict()
                    ),
                )
                .execution_options(synchronize_session=False)
            )
            transition(
                session, attempt_id, CorrectionState.EXECUTING, CorrectionState.COMPLETE,
                new_decision_id=new.decision_id,
                completed_at=utc_now(),
                archived_artifacts_path=folders.stored_path() if seen.moves else None,
            )
            session.commit()
        except BaseException as exc:
            session.rollback()
            problems = folders.undo()
            if problems:
                raise UndoIncompleteError(
                    f"{_failure_reason(exc, engine)}; then, undoing: " + "; ".join(problems)
                ) from exc
            raise
    return get_attempt(engine, attempt_id)


def _close_as_failed(
    engine: Engine, attempt_id: str, state: CorrectionState, reason: str
) -> CorrectionAttempt:
    """Mark the attempt failed now, not at the next start, even if the database was locked
    right after its `pending` row was written."""
    for tries_left in range(CLOSE_TRIES - 1, -1, -1):
        try:
            return commit_failed(engine, attempt_id, state,
                                 failure_reason=reason, completed_at=utc_now())
        except sa.exc.OperationalError as exc:
            if tries_left == 0:
                raise AttemptLeftOpenError(
                    f"Correction attempt {attempt_id} failed ({reason}) and could not be marked "
                    f"failed: {_failure_reason(exc, engine)} The next plandesk start (or "
                    "correction of this decision) recovers it."
                ) from exc
    raise AssertionError("unreachable")


def _drive(
    engine: Engine,
    attempt: CorrectionAttempt,
    artifacts: Path,
    archive: Path,
    on_state: OnState | None,
    move: Move,
    expected_version: PlanVersion | None,
) -> CorrectionAttempt:
    """pending -> executing -> complete, or -> failed (through executing) on any error."""
    attempt_id = attempt.correction_attempt_id
    state = CorrectionState.PENDING
    try:
        _notify(on_state, attempt)
        attempt = commit_transition(
            engine, attempt_id, CorrectionState.PENDING, CorrectionState.EXECUTING
        )
        state = CorrectionState.EXECUTING
        _notify(on_state, attempt)
        attempt = _execute(engine, attempt, artifacts, archive, move, expected_version)
    except BaseException as exc:
        attempt = _close_as_failed(engine, attempt_id, state, _failure_reason(exc, engine))
        if not isinstance(exc, UndoIncompleteError):
            remove_archive_folder(archive / attempt_id)
        if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: after cleaning up
            raise
    _notify(on_state, attempt)
    return attempt


def _recovering_dead_owner(
    engine: Engine, artifacts: Path, archive: Path, move: Move, step: Callable[[], T]
) -> T:
    """`step()`; if another open attempt on the decision blocks it and that attempt's owner is
    dead, recover that attempt and try `step()` once more."""
    try:
        return step()
    except CorrectionInProgressError as exc:
        recovery = recover_if_dead(engine, exc.attempt_id, artifacts, archive, move)
        if recovery.outcome is RecoveryOutcome.BUSY:
            raise
        return step()


def plan_version_of(url_or_engine: str | Engine, plan_id: str) -> PlanVersion:
    """The version of the plan's decisions now: what a correction started now has seen."""
    with engine_scope(url_or_engine) as engine, session_scope(engine) as session:
        return plan_version(session, plan_id)


def run_correction(
    url_or_engine: str | Engine,
    plan_id: str,
    decision_id: str,
    mode: CorrectionMode | str,
    guidance: str,
    *,
    artifacts_root: Path,
    archive_root: Path,
    expected_version: PlanVersion | None = None,
    on_state: OnState | None = None,
    move: Move = os.rename,
) -> CorrectionAttempt:
    """Run one correction to its end and return the attempt, `complete` or `failed`.

    Invalid input raises a CorrectionError before anything is written; so does another open
    attempt on the same decision held by a live process (one left by a dead process is
    recovered first), and, with `expected_version` (what the caller's preview saw), a plan
    whose decisions changed since. `on_state` is called in this thread after each committed
    state change. `move` moves one folder (os.rename); tests inject faults through it.
    """
    chosen = correction_mode(mode)
    text = clean_guidance(guidance)
    artifacts = Path(artifacts_root).resolve()
    archive = Path(archive_root).resolve()
    with engine_scope(url_or_engine) as engine:

        def validate() -> None:
            with session_scope(engine) as session:
                preview(session, plan_id, decision_id, chosen, artifacts_root=artifacts,
                        archive_root=archive, own_attempt_id=None,
                        expected_version=expected_version)

        _recovering_dead_owner(engine, artifacts, archive, move, validate)
        attempt_id = str(ULID())
        owner = try_own(engine, archive, attempt_id)
        if owner is None:  # nobody else can know a fresh ULID
            raise CorrectionError(f"Could not lock correction attempt {attempt_id}.")
        try:
            attempt = _recovering_dead_owner(
                engine, artifacts, archive, move,
                lambda: _insert_pending(engine, attempt_id, plan_id, decision_id, chosen, text),
            )
            return _drive(engine, attempt, artifacts, archive, on_state, move, expected_version)
        finally:
            owner.release()
