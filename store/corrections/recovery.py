"""Recovering attempts a dead process left open: artifact folders moved back from the manifest,
the attempt marked failed ("interrupted"). Attempts a live process owns are left alone."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from store.corrections.archive import (
    MANIFEST_NAME,
    AttemptLock,
    Move,
    manifest_moves,
    read_manifest,
    remove_archive_folder,
    undo_moves,
)
from store.corrections.liveness import locks_folder, try_own
from store.corrections.states import OPEN_STATES, commit_failed, get_attempt
from store.db import engine_scope, session_scope
from store.models import CorrectionAttempt, CorrectionState, utc_now

INTERRUPTED = "interrupted"


class RecoveryOutcome(enum.Enum):
    BUSY = "busy"  # a live process (or another host) owns the attempt
    RECOVERED = "recovered"  # its owner was gone; now failed, files moved back
    CLOSED = "closed"  # it was already complete or failed


@dataclass(frozen=True)
class Recovery:
    outcome: RecoveryOutcome
    attempt: CorrectionAttempt | None = None  # the recovered attempt
    problems: tuple[str, ...] = ()  # folders that could not be moved back


@dataclass(frozen=True)
class RecoveryReport:
    recovered: tuple[CorrectionAttempt, ...] = ()
    busy: tuple[str, ...] = ()  # attempt ids a live process (or another host) still owns
    problems: tuple[str, ...] = field(default=())


def _recover_one(
    engine: Engine, attempt_id: str, artifacts: Path, archive: Path, move: Move
) -> Recovery:
    current = get_attempt(engine, attempt_id)  # re-read under the owner lock
    if current.state not in OPEN_STATES:
        return Recovery(RecoveryOutcome.CLOSED)
    folder = archive / attempt_id
    problems: list[str] = []
    manifest = read_manifest(folder)
    if manifest is not None:
        root = Path(manifest.get("artifacts_root") or artifacts)
        problems = undo_moves(root, folder, manifest_moves(manifest), move)
    reason = INTERRUPTED if not problems else f"{INTERRUPTED}; " + "; ".join(problems)
    attempt = commit_failed(
        engine, attempt_id, CorrectionState(current.state),
        failure_reason=reason, completed_at=utc_now(),
    )
    if not problems:
        remove_archive_folder(folder)
    return Recovery(RecoveryOutcome.RECOVERED, attempt, tuple(problems))


def recover_if_dead(
    engine: Engine, attempt_id: str, artifacts: Path, archive: Path, move: Move = os.rename
) -> Recovery:
    """Recover `attempt_id` if it is still open and its owner is gone; BUSY if it is alive."""
    owner = try_own(engine, archive, attempt_id)
    if owner is None:
        return Recovery(RecoveryOutcome.BUSY)
    try:
        return _recover_one(engine, attempt_id, artifacts, archive, move)
    finally:
        owner.release()


def _failed_ids(engine: Engine, attempt_ids: list[str]) -> list[str]:
    failed: list[str] = []
    with session_scope(engine) as session:
        for start in range(0, len(attempt_ids), 500):  # well under any bound-parameter limit
            failed.extend(session.exec(
                select(CorrectionAttempt.correction_attempt_id)
                .where(col(CorrectionAttempt.correction_attempt_id).in_(
                    attempt_ids[start:start + 500]))
                .where(col(CorrectionAttempt.state) == CorrectionState.FAILED)
            ).all())
    return sorted(failed)


def restore_failed_archives(
    engine: Engine, artifacts: Path, archive: Path, move: Move = os.rename
) -> list[str]:
    """Move back the folders of failed attempts whose manifest is still in this archive.

    On a shared PostgreSQL database another machine may fail an attempt whose process died
    here; only this machine can see its folders. A failed undo leaves its manifest too, and is
    tried again. Returns what still could not be restored.
    """
    if not archive.is_dir():
        return []
    with_manifest = [d.name for d in archive.iterdir() if (d / MANIFEST_NAME).is_file()]
    problems: list[str] = []
    for attempt_id in _failed_ids(engine, with_manifest) if with_manifest else []:
        lock = AttemptLock.try_acquire(locks_folder(engine, archive), attempt_id)
        if lock is None:  # another process here is restoring it right now
            continue
        try:
            folder = archive / attempt_id
            manifest = read_manifest(folder)
            if manifest is None:
                continue
            root = Path(manifest.get("artifacts_root") or artifacts)
            found = undo_moves(root, folder, manifest_moves(manifest), move)
            if found:
                problems.extend(f"{attempt_id}: {p}" for p in found)
            else:
                remove_archive_folder(folder)
        finally:
            lock.release()
    return problems


def recover_interrupted(
    url_or_engine: str | Engine,
    artifacts_root: Path,
    archive_root: Path,
    *,
    move: Move = os.rename,
) -> RecoveryReport:
    """Fail every open attempt left by a dead process, after moving its artifacts back, then
    restore what failed attempts left in this archive (`restore_failed_archives`).

    Run at start-up. Attempts whose lock a live process holds are left alone, listed as busy.
    """
    artifacts = Path(artifacts_root).resolve()
    archive = Path(archive_root).resolve()
    recovered: list[CorrectionAttempt] = []
    busy: list[str] = []
    problems: list[str] = []
    with engine_scope(url_or_engine) as engine:
        with session_scope(engine) as session:
            open_ids = list(session.exec(
                select(CorrectionAttempt.correction_attempt_id)
                .where(col(CorrectionAttempt.state).in_(OPEN_STATES))
                .order_by(col(CorrectionAttempt.correction_attempt_id))
            ).all())
        for attempt_id in open_ids:
            recovery = recover_if_dead(engine, attempt_id, artifacts, archive, move)
            if recovery.outcome is RecoveryOutcome.BUSY:
                busy.append(attempt_id)
            if recovery.attempt is not None:
                recovered.append(recovery.attempt)
            problems.extend(f"{attempt_id}: {p}" for p in recovery.problems)
        problems.extend(restore_failed_archives(engine, artifacts, archive, move))
    return RecoveryReport(tuple(recovered), tuple(busy), tuple(problems))
