"""Corrections: revert to a decision or append a corrective one, crash-safe, archiving artifacts.

An attempt goes pending -> executing -> complete | failed and nowhere else (`transition`). The
database work is one transaction that also sets `complete`; artifact folders are moved inside it,
after a manifest listing every move has been fsynced, so a failure or a crash can be undone.

Telling a dead owner from a live one: every run holds an exclusive `flock` on
`<archive root>/.locks/<attempt id>.lock` from before its `pending` row exists until its attempt
is terminal. The kernel drops the lock when the process dies, so `recover_interrupted` recovers
exactly the open attempts whose lock it can take, and leaves alone the ones a live process holds.
A pid/host check would be fooled by pid reuse; the lock cannot be. Limitation: the lock lives on
the local file system, so two machines sharing one PostgreSQL database need their own artifact
folders (a lock file naming another host is never recovered from here).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from ulid import ULID

from store.db import StoreError, create_db_engine, session_scope
from store.decisions import (
    ArtifactPathError,
    checked_artifacts_path,
    next_sequence,
    record_decision,
)
from store.models import (
    CorrectionAttempt,
    CorrectionMode,
    CorrectionState,
    Decision,
    DecisionState,
    Plan,
    PlanPhase,
    ProcessingState,
    utc_now,
)

MAX_GUIDANCE_CHARS = 10_000
MAX_TITLE_CHARS = 200
MANIFEST_NAME = ".plandesk-correction.json"
LOCKS_DIR = ".locks"
INTERRUPTED = "interrupted"
OPEN_STATES = (CorrectionState.PENDING, CorrectionState.EXECUTING)
ALLOWED_TRANSITIONS: dict[CorrectionState, frozenset[CorrectionState]] = {
    CorrectionState.PENDING: frozenset({CorrectionState.EXECUTING}),
    CorrectionState.EXECUTING: frozenset({CorrectionState.COMPLETE, CorrectionState.FAILED}),
    CorrectionState.COMPLETE: frozenset(),
    CorrectionState.FAILED: frozenset(),
}

Move = Callable[[Path, Path], None]
OnState = Callable[[CorrectionAttempt], None]


class CorrectionError(StoreError):
    title = "Correction refused"


class UnknownPlanError(CorrectionError):
    pass


class UnknownDecisionError(CorrectionError):
    pass


class DecisionOfAnotherPlanError(CorrectionError):
    pass


class DecisionRevertedError(CorrectionError):
    pass


class GuidanceError(CorrectionError):
    pass


class CorrectionModeError(CorrectionError):
    pass


class UnsafeArtifactPathError(CorrectionError):
    pass


class MissingArtifactFolderError(CorrectionError):
    pass


class CorrectionInProgressError(CorrectionError):
    title = "Correction in progress"

    def __init__(self, attempt: CorrectionAttempt) -> None:
        super().__init__(
            "Another correction of this decision is in progress "
            f"(attempt {attempt.correction_attempt_id}, {CorrectionState(attempt.state).value})."
        )
        self.attempt_id = attempt.correction_attempt_id


class IllegalTransitionError(CorrectionError):
    title = "Illegal correction state change"


class UnknownAttemptError(CorrectionError):
    pass


class UndoIncompleteError(CorrectionError):
    """A failed correction could not put every artifact folder back; the manifest stays."""


@dataclass(frozen=True)
class ArtifactMove:
    """One artifact folder a revert moves: `source` relative to the artifacts root, `destination`
    relative to the attempt's archive folder (the same relative path, so nothing collides)."""

    source: str
    destination: str
    decision_ids: tuple[str, ...]


@dataclass(frozen=True)
class CorrectionPreview:
    """Exactly what a correction will do; the confirmation modal shows this."""

    plan_id: str
    mode: CorrectionMode
    target: Decision
    reverted: tuple[Decision, ...]  # sequence order; empty for append
    moves: tuple[ArtifactMove, ...]  # empty for append
    new_title: str
    new_phase: PlanPhase
    new_parent_decision_id: str | None
    new_sequence: int
    plan_phase_after: PlanPhase

    @property
    def artifact_folders(self) -> tuple[str, ...]:
        return tuple(move.source for move in self.moves)


@dataclass(frozen=True)
class RecoveryReport:
    recovered: tuple[CorrectionAttempt, ...] = ()
    busy: tuple[str, ...] = ()  # attempt ids a live process (or another host) still owns
    problems: tuple[str, ...] = field(default=())


# --- state machine -------------------------------------------------------------------------


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


def _commit_transition(
    engine: Engine, attempt_id: str, current: CorrectionState, new: CorrectionState, **values: Any
) -> CorrectionAttempt:
    with session_scope(engine) as session:
        transition(session, attempt_id, current, new, **values)
    return get_attempt(engine, attempt_id)


def get_attempt(engine: Engine, attempt_id: str) -> CorrectionAttempt:
    with session_scope(engine) as session:
        attempt = session.get(CorrectionAttempt, attempt_id, populate_existing=True)
        if attempt is None:
            raise UnknownAttemptError(f"No correction attempt with id {attempt_id!r}.")
        session.expunge(attempt)
        return attempt


def attempts_of_plan(session: Session, plan_id: str) -> list[CorrectionAttempt]:
    return list(session.exec(
        select(CorrectionAttempt)
        .where(CorrectionAttempt.plan_id == plan_id)
        .order_by(col(CorrectionAttempt.created_at), col(CorrectionAttempt.correction_attempt_id))
    ).all())


# --- validation and preview ----------------------------------------------------------------


def clean_guidance(guidance: str) -> str:
    """The trimmed guidance, or a GuidanceError (empty, or over MAX_GUIDANCE_CHARS)."""
    text = guidance.strip()
    if not text:
        raise GuidanceError("Guidance cannot be empty: say what should be done differently.")
    if len(text) > MAX_GUIDANCE_CHARS:
        raise GuidanceError(
            f"Guidance is {len(text):,} characters; at most {MAX_GUIDANCE_CHARS:,} are allowed."
        )
    return text


def correction_mode(mode: CorrectionMode | str) -> CorrectionMode:
    try:
        return CorrectionMode(mode)
    except ValueError:
        raise CorrectionModeError(
            f"Unknown correction mode {mode!r}; use 'revert' or 'append'."
        ) from None


def _title(prefix: str, target: Decision) -> str:
    title = f"{prefix} #{target.sequence}: {target.title}"
    if len(title) > MAX_TITLE_CHARS:
        title = title[: MAX_TITLE_CHARS - 1] + "…"
    return title


def _artifact_folder(
    decision: Decision, artifacts_root: Path | None, archive_root: Path | None
) -> str:
    """The decision's artifacts path, checked to stay inside the root (and to exist, if a root
    is given)."""
    raw = decision.artifacts_path or ""
    try:
        relative = checked_artifacts_path(raw)
    except ArtifactPathError as exc:
        raise UnsafeArtifactPathError(f"Decision #{decision.sequence}: {exc}") from None
    assert relative is not None
    if relative in (".", "") or PurePosixPath(relative).parts[0].startswith(MANIFEST_NAME):
        raise UnsafeArtifactPathError(
            f"Decision #{decision.sequence}: artifacts path {raw!r} is not a folder of its own."
        )
    if artifacts_root is None:
        return relative
    root = artifacts_root  # resolved by the caller, once
    folder = (root / relative).resolve()
    if folder == root or not folder.is_relative_to(root):
        raise UnsafeArtifactPathError(
            f"Decision #{decision.sequence}: artifacts path {raw!r} leaves the artifacts root."
        )
    if archive_root is not None and folder.is_relative_to(archive_root):
        raise UnsafeArtifactPathError(
            f"Decision #{decision.sequence}: artifacts path {raw!r} is inside the archive."
        )
    if not (root / relative).is_dir():
        raise MissingArtifactFolderError(
            f"Decision #{decision.sequence}: artifact folder {relative!r} does not exist "
            f"under {root}."
        )
    return relative


def _moves(
    reverted: Sequence[Decision],
    staying: Sequence[Decision],
    artifacts_root: Path | None,
    archive_root: Path | None,
) -> tuple[ArtifactMove, ...]:
    owners: dict[str, list[str]] = {}
    for decision in reverted:
        if decision.artifacts_path is None:
            continue
        relative = _artifact_folder(decision, artifacts_root, archive_root)
        owners.setdefault(relative, []).append(decision.decision_id)
    # A folder nested in another moved folder travels with it; moving it again would fail.
    # Ancestor look-ups in a set keep this linear in the number of folders.
    top: dict[str, None] = {}
    for path in sorted(owners, key=lambda p: len(PurePosixPath(p).parts)):
        parent = next((a for a in _ancestors(path) if a in top), None)
        if parent is None:
            top[path] = None
        else:
            owners[parent].extend(owners[path])
    for decision in staying:
        if decision.artifacts_path is None:
            continue
        inner = str(PurePosixPath(decision.artifacts_path))
        holder = next((a for a in (inner, *_ancestors(inner)) if a in top), None)
        if holder is not None:
            raise UnsafeArtifactPathError(
                f"Artifact folder {holder!r} also holds the artifacts of decision "
                f"#{decision.sequence}, which stays active; refusing to archive it."
            )
    order = {d.decision_id: i for i, d in enumerate(reverted)}
    ordered = sorted(top, key=lambda p: min(order[d] for d in owners[p]))
    return tuple(ArtifactMove(p, p, tuple(owners[p])) for p in ordered)


def _ancestors(path: str) -> list[str]:
    """'a/b/c' -> ['a/b', 'a'] (proper ancestors, as relative POSIX paths)."""
    return [str(parent) for parent in PurePosixPath(path).parents if str(parent) != "."]


def _open_attempt_on(session: Session, decision_id: str) -> CorrectionAttempt | None:
    return session.exec(
        select(CorrectionAttempt)
        .where(CorrectionAttempt.original_decision_id == decision_id)
        .where(col(CorrectionAttempt.state).in_(OPEN_STATES))
    ).first()


def _preview(
    session: Session,
    plan_id: str,
    decision_id: str,
    mode: CorrectionMode,
    *,
    artifacts_root: Path | None,
    archive_root: Path | None,
    own_attempt_id: str | None,
) -> CorrectionPreview:
    plan = session.get(Plan, plan_id, populate_existing=True)
    if plan is None:
        raise UnknownPlanError(f"No plan with id {plan_id!r}.")
    target = session.get(Decision, decision_id, populate_existing=True)
    if target is None:
        raise UnknownDecisionError(f"No decision with id {decision_id!r}.")
    if target.plan_id != plan_id:
        raise DecisionOfAnotherPlanError(
            f"Decision {decision_id} belongs to plan {target.plan_id}, not to plan {plan_id}."
        )
    if target.state == DecisionState.REVERTED:
        raise DecisionRevertedError(
            f"Decision #{target.sequence} ({target.title!r}) is already reverted."
        )
    blocking = _open_attempt_on(session, decision_id)
    if blocking is not None and blocking.correction_attempt_id != own_attempt_id:
        raise CorrectionInProgressError(blocking)
    sequence = next_sequence(session, plan_id)
    if mode == CorrectionMode.APPEND:
        return CorrectionPreview(
            plan_id=plan_id, mode=mode, target=target, reverted=(), moves=(),
            new_title=_title("Correct", target), new_phase=target.phase,
            new_parent_decision_id=target.decision_id, new_sequence=sequence,
            plan_phase_after=plan.phase,
        )
    decisions = session.exec(
        select(Decision).where(Decision.plan_id == plan_id).order_by(col(Decision.sequence))
    ).all()
    reverted = tuple(
        d for d in decisions
        if d.sequence >= target.sequence and d.state == DecisionState.ACTIVE
    )
    reverted_ids = {d.decision_id for d in reverted}
    staying = [
        d for d in decisions
        if d.decision_id not in reverted_ids and d.state == DecisionState.ACTIVE
    ]
    return CorrectionPreview(
        plan_id=plan_id, mode=mode, target=target, reverted=reverted,
        moves=_moves(
            reverted, staying,
            artifacts_root.resolve() if artifacts_root is not None else None,
            archive_root.resolve() if archive_root is not None else None,
        ),
        new_title=_title("Revert to", target), new_phase=target.phase,
        new_parent_decision_id=target.parent_decision_id, new_sequence=sequence,
        plan_phase_after=target.phase,
    )


def plan_correction(
    session: Session,
    plan_id: str,
    decision_id: str,
    mode: CorrectionMode | str,
    *,
    artifacts_root: Path | None = None,
    archive_root: Path | None = None,
) -> CorrectionPreview:
    """What correcting `decision_id` would do, or the CorrectionError that would refuse it.

    Writes nothing. With `artifacts_root`, artifact folders are also checked to exist.
    """
    return _preview(
        session, plan_id, decision_id, correction_mode(mode),
        artifacts_root=artifacts_root, archive_root=archive_root, own_attempt_id=None,
    )


# --- the lock and the manifest -------------------------------------------------------------


class AttemptLock:
    """An exclusive flock on the attempt's lock file, held while the attempt is open."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd

    @staticmethod
    def path_for(archive_root: Path, attempt_id: str) -> Path:
        return archive_root / LOCKS_DIR / f"{attempt_id}.lock"

    @classmethod
    def try_acquire(cls, archive_root: Path, attempt_id: str) -> AttemptLock | None:
        path = cls.path_for(archive_root, attempt_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd)

    def owner(self) -> dict[str, Any]:
        try:
            data = json.loads(os.pread(self.fd, 4096, 0) or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def claim(self) -> None:
        """Record who holds the lock (for people and for the other-host check)."""
        payload = json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, payload, 0)

    def release(self, *, remove: bool = True) -> None:
        # Unlink before unlocking: whoever opened the file meanwhile re-reads the attempt's state
        # once it holds the lock, and finds it terminal.
        if remove:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        os.close(self.fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> Path:
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    if created:
        _fsync_dir(folder.parent)
    target = folder / MANIFEST_NAME
    temporary = folder / (MANIFEST_NAME + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    _fsync_dir(folder)
    return target


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST_NAME
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


def _undo_moves(
    artifacts: Path, attempt_folder: Path, moves: Sequence[ArtifactMove], move: Move
) -> list[str]:
    """Move archived folders back, last first; returns what could not be restored."""
    problems: list[str] = []
    for item in reversed(moves):
        source = artifacts / item.source
        destination = attempt_folder / item.destination
        moved = destination.exists() or destination.is_symlink()
        present = source.exists() or source.is_symlink()
        if moved and not present:
            try:
                source.parent.mkdir(parents=True, exist_ok=True)
                move(destination, source)
            except OSError as exc:
                problems.append(f"could not move {destination} back to {source}: {exc}")
        elif moved and present:
            problems.append(f"both {source} and {destination} exist; left both in place")
        elif not moved and not present:
            problems.append(f"{item.source} is neither in place nor in the archive")
    return problems


def _remove_archive_folder(attempt_folder: Path) -> None:
    """After an undo: drop the manifest and the now empty folders, never anything else."""
    with contextlib.suppress(FileNotFoundError):
        (attempt_folder / MANIFEST_NAME).unlink()
    if not attempt_folder.exists():
        return
    for directory in sorted(
        (p for p in attempt_folder.rglob("*") if p.is_dir() and not p.is_symlink()),
        key=lambda p: len(p.parts),
        reverse=True,
    ):
        with contextlib.suppress(OSError):
            directory.rmdir()
    with contextlib.suppress(OSError):
        attempt_folder.rmdir()


def _stored_archive_path(artifacts: Path, attempt_folder: Path) -> str:
    """Relative to the artifacts root when the archive lives inside it (the default)."""
    if attempt_folder.is_relative_to(artifacts):
        return attempt_folder.relative_to(artifacts).as_posix()
    return str(attempt_folder)


# --- running a correction ------------------------------------------------------------------


@contextlib.contextmanager
def _engine_for(url_or_engine: str | Engine) -> Iterator[Engine]:
    if isinstance(url_or_engine, Engine):
        yield url_or_engine
        return
    engine = create_db_engine(url_or_engine)
    try:
        yield engine
    finally:
        engine.dispose()


def _notify(on_state: OnState | None, attempt: CorrectionAttempt) -> None:
    if on_state is not None:
        on_state(attempt)


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
    try:
        with session_scope(engine) as session:
            session.add(attempt)
    except sa.exc.IntegrityError:
        with session_scope(engine) as session:
            blocking = _open_attempt_on(session, decision_id)
        if blocking is None:
            raise
        raise CorrectionInProgressError(blocking) from None
    return attempt


def _execute(
    engine: Engine,
    attempt: CorrectionAttempt,
    artifacts: Path,
    archive: Path,
    move: Move,
) -> CorrectionAttempt:
    """The work: one database transaction, with the artifact moves inside it; the attempt
    becomes `complete` in the same commit. On any error the moves are undone and it re-raises."""
    attempt_id = attempt.correction_attempt_id
    attempt_folder = archive / attempt_id
    done: list[ArtifactMove] = []
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
            preview = _preview(
                session, attempt.plan_id, attempt.original_decision_id, attempt.mode,
                artifacts_root=artifacts, archive_root=archive, own_attempt_id=attempt_id,
            )
            if preview.moves:
                _write_manifest(attempt_folder, {
                    "version": 1,
                    "correction_attempt_id": attempt_id,
                    "plan_id": attempt.plan_id,
                    "decision_id": attempt.original_decision_id,
                    "artifacts_root": str(artifacts),
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "written_at": utc_now(),
                    "moves": [
                        {"source": m.source, "destination": m.destination,
                         "decision_ids": list(m.decision_ids)}
                        for m in preview.moves
                    ],
                })
                touched: set[Path] = set()
                for item in preview.moves:
                    source = artifacts / item.source
                    destination = attempt_folder / item.destination
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    move(source, destination)
                    done.append(item)
                    touched.update((source.parent, destination.parent))
                for directory in touched:
                    _fsync_dir(directory)
            if preview.reverted:
                ids = [d.decision_id for d in preview.reverted]
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
                title=preview.new_title,
                phase=preview.new_phase,
                rationale=attempt.guidance,
                parent_decision_id=preview.new_parent_decision_id,
                now=now,
            )
            session.exec(
                sa.update(Plan)
                .where(col(Plan.plan_id) == attempt.plan_id)
                .values(phase=preview.plan_phase_after, processing_state=ProcessingState.QUEUED)
                .execution_options(synchronize_session=False)
            )
            transition(
                session, attempt_id, CorrectionState.EXECUTING, CorrectionState.COMPLETE,
                new_decision_id=new.decision_id,
                completed_at=utc_now(),
                archived_artifacts_path=(
                    _stored_archive_path(artifacts, attempt_folder) if preview.moves else None
                ),
            )
            session.commit()
        except BaseException as exc:
            session.rollback()
            if done:
                problems = _undo_moves(artifacts, attempt_folder, done, move)
                if problems:
                    raise UndoIncompleteError(
                        f"{_failure_reason(exc)}; then, undoing: " + "; ".join(problems)
                    ) from exc
            raise
    return get_attempt(engine, attempt_id)


def _failure_reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if not isinstance(exc, StoreError):
        text = f"{type(exc).__name__}: {text}"
    return text


def run_correction(
    url_or_engine: str | Engine,
    plan_id: str,
    decision_id: str,
    mode: CorrectionMode | str,
    guidance: str,
    *,
    artifacts_root: Path,
    archive_root: Path,
    on_state: OnState | None = None,
    move: Move = os.rename,
) -> CorrectionAttempt:
    """Run one correction to its end and return the attempt, `complete` or `failed`.

    Invalid input raises a CorrectionError before anything is written; so does another open
    attempt on the same decision held by a live process (one left by a dead process is
    recovered first). `on_state` is called in this thread after each committed state change.
    `move` moves one folder (os.rename); tests inject faults through it.
    """
    chosen = correction_mode(mode)
    text = clean_guidance(guidance)
    artifacts = Path(artifacts_root).resolve()
    archive = Path(archive_root).resolve()
    with _engine_for(url_or_engine) as engine:

        def validate() -> None:
            with session_scope(engine) as session:
                _preview(session, plan_id, decision_id, chosen, artifacts_root=artifacts,
                         archive_root=archive, own_attempt_id=None)

        try:
            validate()
        except CorrectionInProgressError as exc:
            outcome, _, _ = _recover_if_dead(engine, exc.attempt_id, artifacts, archive, move)
            if outcome == "busy":
                raise
            validate()
        attempt_id = str(ULID())
        lock = AttemptLock.try_acquire(archive, attempt_id)
        if lock is None:  # nobody else can know a fresh ULID
            raise CorrectionError(f"Could not lock correction attempt {attempt_id}.")
        try:
            lock.claim()
            try:
                attempt = _insert_pending(engine, attempt_id, plan_id, decision_id, chosen, text)
            except CorrectionInProgressError as exc:
                outcome, _, _ = _recover_if_dead(engine, exc.attempt_id, artifacts, archive, move)
                if outcome == "busy":
                    raise
                attempt = _insert_pending(engine, attempt_id, plan_id, decision_id, chosen, text)
            return _drive(engine, attempt, artifacts, archive, on_state, move)
        finally:
            lock.release()


def _drive(
    engine: Engine,
    attempt: CorrectionAttempt,
    artifacts: Path,
    archive: Path,
    on_state: OnState | None,
    move: Move,
) -> CorrectionAttempt:
    """pending -> executing -> complete, or -> failed (through executing) on any error."""
    attempt_id = attempt.correction_attempt_id
    state = CorrectionState.PENDING
    try:
        _notify(on_state, attempt)
        attempt = _commit_transition(
            engine, attempt_id, CorrectionState.PENDING, CorrectionState.EXECUTING
        )
        state = CorrectionState.EXECUTING
        _notify(on_state, attempt)
        attempt = _execute(engine, attempt, artifacts, archive, move)
    except BaseException as exc:
        if state == CorrectionState.PENDING:
            _commit_transition(
                engine, attempt_id, CorrectionState.PENDING, CorrectionState.EXECUTING
            )
        attempt = _commit_transition(
            engine, attempt_id, CorrectionState.EXECUTING, CorrectionState.FAILED,
            failure_reason=_failure_reason(exc), completed_at=utc_now(),
        )
        if not isinstance(exc, UndoIncompleteError):
            _remove_archive_folder(archive / attempt_id)
        if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: after cleaning up
            raise
    _notify(on_state, attempt)
    return attempt


# --- start-up recovery ---------------------------------------------------------------------


def _recover_one(
    engine: Engine, attempt_id: str, artifacts: Path, archive: Path, move: Move
) -> tuple[CorrectionAttempt | None, list[str]]:
    current = get_attempt(engine, attempt_id)  # re-read under the lock
    if current.state not in OPEN_STATES:
        return None, []
    if current.state == CorrectionState.PENDING:
        _commit_transition(engine, attempt_id, CorrectionState.PENDING, CorrectionState.EXECUTING)
    folder = archive / attempt_id
    problems: list[str] = []
    manifest = _read_manifest(folder)
    if manifest is not None:
        root = Path(manifest.get("artifacts_root") or artifacts)
        moves = [
            ArtifactMove(str(m["source"]), str(m["destination"]),
                         tuple(m.get("decision_ids", ())))
            for m in manifest.get("moves", [])
        ]
        problems = _undo_moves(root, folder, moves, move)
    reason = INTERRUPTED if not problems else f"{INTERRUPTED}; " + "; ".join(problems)
    attempt = _commit_transition(
        engine, attempt_id, CorrectionState.EXECUTING, CorrectionState.FAILED,
        failure_reason=reason, completed_at=utc_now(),
    )
    if not problems:
        _remove_archive_folder(folder)
    return attempt, problems


def _recover_if_dead(
    engine: Engine, attempt_id: str, artifacts: Path, archive: Path, move: Move
) -> tuple[str, CorrectionAttempt | None, list[str]]:
    """("busy", ...) when a live process (or another host) owns the attempt, else recover it
    if it is still open: ("recovered", attempt, problems) or ("closed", None, [])."""
    lock = AttemptLock.try_acquire(archive, attempt_id)
    if lock is None:
        return "busy", None, []
    owner_host = lock.owner().get("host")
    if owner_host not in (None, socket.gethostname()):
        lock.release(remove=False)
        return "busy", None, []
    try:
        attempt, problems = _recover_one(engine, attempt_id, artifacts, archive, move)
    finally:
        lock.release()
    if attempt is None:
        return "closed", None, []
    return "recovered", attempt, problems


def recover_interrupted(
    url_or_engine: str | Engine,
    artifacts_root: Path,
    archive_root: Path,
    *,
    move: Move = os.rename,
) -> RecoveryReport:
    """Fail every open attempt left by a dead process, after moving its artifacts back.

    Run at start-up. Attempts whose lock a live process holds are left alone, listed as busy.
    """
    artifacts = Path(artifacts_root).resolve()
    archive = Path(archive_root).resolve()
    recovered: list[CorrectionAttempt] = []
    busy: list[str] = []
    problems: list[str] = []
    with _engine_for(url_or_engine) as engine:
        with session_scope(engine) as session:
            open_ids = list(session.exec(
                select(CorrectionAttempt.correction_attempt_id)
                .where(col(CorrectionAttempt.state).in_(OPEN_STATES))
                .order_by(col(CorrectionAttempt.correction_attempt_id))
            ).all())
        for attempt_id in open_ids:
            outcome, attempt, found = _recover_if_dead(
                engine, attempt_id, artifacts, archive, move
            )
            if outcome == "busy":
                busy.append(attempt_id)
            if attempt is not None:
                recovered.append(attempt)
            problems.extend(f"{attempt_id}: {p}" for p in found)
    return RecoveryReport(tuple(recovered), tuple(busy), tuple(problems))
