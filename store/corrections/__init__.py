"""Corrections: revert to a decision or append a corrective one, crash-safe, archiving artifacts.

An attempt goes pending -> executing -> complete | failed and nowhere else (`states`). What a
correction would do is computed first, writing nothing (`preview`); running it (`run`) is one
database transaction with the artifact folder moves inside it (`archive`: lock file, fsynced
manifest, moves, no SQL). The owner of an open attempt holds a lock the system drops when it
dies (`liveness`: a file lock on SQLite, an advisory lock on PostgreSQL), so `recovery` fails
and undoes exactly the attempts whose owner is gone.
"""

from store.corrections.archive import LOCKS_DIR, MANIFEST_NAME, ArtifactMove, AttemptLock, Move
from store.corrections.errors import (
    AttemptLeftOpenError,
    CorrectionError,
    CorrectionInProgressError,
    CorrectionModeError,
    DecisionOfAnotherPlanError,
    DecisionRevertedError,
    GuidanceError,
    IllegalTransitionError,
    MissingArtifactFolderError,
    PlanChangedError,
    UndoIncompleteError,
    UnknownAttemptError,
    UnknownDecisionError,
    UnknownPlanError,
    UnsafeArtifactPathError,
)
from store.corrections.preview import (
    MAX_GUIDANCE_CHARS,
    MAX_TITLE_CHARS,
    CorrectionPreview,
    PlanVersion,
    clean_guidance,
    correction_mode,
    plan_correction,
    plan_version,
)
from store.corrections.readable import UnreadableRowsError, check_correctable
from store.corrections.recovery import (
    INTERRUPTED,
    Recovery,
    RecoveryOutcome,
    RecoveryReport,
    recover_if_dead,
    recover_interrupted,
    restore_failed_archives,
)
from store.corrections.run import OnState, plan_version_of, run_correction
from store.corrections.states import (
    ALLOWED_TRANSITIONS,
    OPEN_STATES,
    check_transition,
    get_attempt,
    state_progress,
    transition,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "INTERRUPTED",
    "LOCKS_DIR",
    "MANIFEST_NAME",
    "MAX_GUIDANCE_CHARS",
    "MAX_TITLE_CHARS",
    "OPEN_STATES",
    "ArtifactMove",
    "AttemptLeftOpenError",
    "AttemptLock",
    "CorrectionError",
    "CorrectionInProgressError",
    "CorrectionModeError",
    "CorrectionPreview",
    "DecisionOfAnotherPlanError",
    "DecisionRevertedError",
    "GuidanceError",
    "IllegalTransitionError",
    "MissingArtifactFolderError",
    "Move",
    "OnState",
    "PlanChangedError",
    "PlanVersion",
    "Recovery",
    "RecoveryOutcome",
    "RecoveryReport",
    "UndoIncompleteError",
    "UnknownAttemptError",
    "UnknownDecisionError",
    "UnknownPlanError",
    "UnreadableRowsError",
    "UnsafeArtifactPathError",
    "check_correctable",
    "check_transition",
    "clean_guidance",
    "correction_mode",
    "get_attempt",
    "plan_correction",
    "plan_version",
    "plan_version_of",
    "recover_if_dead",
    "recover_interrupted",
    "restore_failed_archives",
    "run_correction",
    "state_progress",
    "transition",
]
