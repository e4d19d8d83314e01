"""What a correction would do, computed without writing: input checks, the decisions and artifact
folders it touches, and the version of the plan it saw (so a stale preview is refused)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlmodel import Session, col, select

from store.corrections.archive import MANIFEST_NAME, ArtifactMove
from store.corrections.errors import (
    CorrectionInProgressError,
    CorrectionModeError,
    DecisionOfAnotherPlanError,
    DecisionRevertedError,
    GuidanceError,
    MissingArtifactFolderError,
    PlanChangedError,
    UnknownDecisionError,
    UnknownPlanError,
    UnsafeArtifactPathError,
)
from store.corrections.readable import refuse_unreadable
from store.corrections.states import open_attempt_on
from store.decisions import ArtifactPathError, checked_artifacts_path
from store.models import CorrectionMode, Decision, DecisionState, Plan, PlanPhase

MAX_GUIDANCE_CHARS = 10_000
MAX_TITLE_CHARS = 200


@dataclass(frozen=True)
class PlanVersion:
    """What a preview saw of a plan's decisions. Any new decision or changed state gives
    another version, so a correction confirmed on an older one is refused."""

    decision_count: int
    highest_sequence: int
    active_count: int
    digest: str  # of every decision's id, sequence and state, in sequence order

    @classmethod
    def of(cls, decisions: Sequence[Decision]) -> PlanVersion:
        ordered = sorted(decisions, key=lambda d: d.sequence)
        text = "\n".join(f"{d.sequence}:{d.decision_id}:{d.state}" for d in ordered)
        return cls(
            decision_count=len(ordered),
            highest_sequence=ordered[-1].sequence if ordered else 0,
            active_count=sum(1 for d in ordered if d.state == DecisionState.ACTIVE),
            digest=hashlib.sha256(text.encode()).hexdigest(),
        )

    def change_since(self, earlier: PlanVersion) -> str:
        """In words, how this version differs from `earlier`."""
        if self.decision_count != earlier.decision_count:
            return (f"it had {earlier.decision_count} decisions (last #{earlier.highest_sequence})"
                    f", now {self.decision_count} (last #{self.highest_sequence})")
        if self.active_count != earlier.active_count:
            return (f"{earlier.active_count} of its decisions were active, "
                    f"now {self.active_count}")
        return "its decisions are not the ones the preview showed"


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
    version: PlanVersion  # what this preview saw; pass it on to run_correction

    @property
    def artifact_folders(self) -> tuple[str, ...]:
        return tuple(move.source for move in self.moves)


def clean_guidance(guidance: str) -> str:
    """The trimmed guidance, or a GuidanceError (empty, NUL, or over MAX_GUIDANCE_CHARS)."""
    text = guidance.strip()
    if not text:
        raise GuidanceError("Guidance cannot be empty: say what should be done differently.")
    if "\x00" in text:
        # PostgreSQL text cannot hold NUL and SQLite would store it silently: refuse it on both.
        raise GuidanceError("Guidance contains a NUL character (\\x00); remove it and try again.")
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


def _decisions_of(session: Session, plan_id: str) -> list[Decision]:
    return list(session.exec(
        select(Decision).where(Decision.plan_id == plan_id).order_by(col(Decision.sequence))
    ).all())


def plan_version(session: Session, plan_id: str) -> PlanVersion:
    """The version of `plan_id`'s decisions now (what `plandesk correct` sees at its start)."""
    if session.get(Plan, plan_id) is None:
        raise UnknownPlanError(f"No plan with id {plan_id!r}.")
    return PlanVersion.of(_decisions_of(session, plan_id))


def preview(
    session: Session,
    plan_id: str,
    decision_id: str,
    mode: CorrectionMode,
    *,
    artifacts_root: Path | None,
    archive_root: Path | None,
    own_attempt_id: str | None,
    expected_version: PlanVersion | None = None,
) -> CorrectionPreview:
    """The preview, or the CorrectionError that refuses it. `own_attempt_id` is the open
    attempt that is allowed to exist (the one computing this); `expected_version` what an
    earlier preview saw, refused with PlanChangedError if the decisions changed since."""
    if own_attempt_id is None:  # before reading through the models; once is enough per attempt
        refuse_unreadable(session, plan_id, decision_id)
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
    decisions = _decisions_of(session, plan_id)
    version = PlanVersion.of(decisions)
    if expected_version is not None and version != expected_version:
        raise PlanChangedError(
            f"The plan changed since the preview: {version.change_since(expected_version)}. "
            "Look at it again before correcting."
        )
    if target.state == DecisionState.REVERTED:
        raise DecisionRevertedError(
            f"Decision #{target.sequence} ({target.title!r}) is already reverted."
        )
    blocking = open_attempt_on(session, decision_id)
    if blocking is not None and blocking.correction_attempt_id != own_attempt_id:
        raise CorrectionInProgressError(blocking)
    sequence = version.highest_sequence + 1
    if mode == CorrectionMode.APPEND:
        return CorrectionPreview(
            plan_id=plan_id, mode=mode, target=target, reverted=(), moves=(),
            new_title=_title("Correct", target), new_phase=target.phase,
            new_parent_decision_id=target.decision_id, new_sequence=sequence,
            plan_phase_after=plan.phase, version=version,
        )
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
        plan_phase_after=target.phase, version=version,
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
    return preview(
        session, plan_id, decision_id, correction_mode(mode),
        artifacts_root=artifacts_root, archive_root=archive_root, own_attempt_id=None,
    )
