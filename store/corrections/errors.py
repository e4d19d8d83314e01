"""Why a correction was refused: one CorrectionError subclass per reason, messages for people."""

from __future__ import annotations

from store.db import StoreError
from store.models import CorrectionAttempt, CorrectionState


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


class PlanChangedError(CorrectionError):
    """The plan's decisions are not what the preview saw (another correction got there first)."""

    title = "Plan changed"


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


class AttemptLeftOpenError(CorrectionError):
    """A correction failed and its attempt could not even be marked failed (database locked)."""

    title = "Correction left open"
