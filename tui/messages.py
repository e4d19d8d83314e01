"""Messages the app's workers post back to the UI thread, named for what happened."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    # types only: importing them would load SQLAlchemy before the app's first frame
    from store.corrections import PlanVersion, RecoveryReport
    from store.db import Engine, StoreError
    from store.migrations import MigrationProgress, MigrationStatus
    from store.models import CorrectionAttempt, CorrectionMode, Plan
    from store.plans import PlanDetail, PlanPage


@dataclass
class FirstRootsRead(Message):
    """A SQLite file at head: its first page of roots, read before SQLAlchemy loads, to be
    shown while the engine is built; the worker goes on once `shown` is set."""

    first_roots: PlanPage
    shown: threading.Event


@dataclass
class DatabaseOpened(Message):
    """The database is at head and `engine` is ready; the first page of roots came along,
    unless FirstRootsRead brought it earlier."""

    status: MigrationStatus
    first_roots: PlanPage | None
    engine: Engine


@dataclass
class MigrationNeeded(Message):
    """The database is behind the code's head; nothing has been written."""

    status: MigrationStatus
    is_sqlite: bool


@dataclass
class DatabaseFailed(Message):
    """Opening the database failed; `error.title` and `str(error)` are for the user."""

    error: StoreError
    url: str


@dataclass
class DatabaseFileChanged(Message):
    """The open SQLite file was replaced or deleted; the store refuses every write from now."""

    error: StoreError
    url: str


@dataclass
class MigrationProgressed(Message):
    """One progress report from a running migration.

    Row reports come in bursts, so a queued row report of the same revision is replaced by
    a newer one instead of piling up (Toolong's PendingLines idea).
    """

    event: MigrationProgress

    def can_replace(self, message: Message) -> bool:
        return (
            isinstance(message, MigrationProgressed)
            and message.event.step == "rows"
            and self.event.step == "rows"
            and message.event.revision == self.event.revision
            and message.event.message == self.event.message
        )


@dataclass
class MigrationFinished(Message):
    """Every pending revision was applied; the App opens the database as usual."""

    status: MigrationStatus
    backup_path: str | None


@dataclass
class MigrationStopped(Message):
    """The user asked to stop: the worker finished the revision it was in and went no further.

    `status` is where the database stands now (a whole revision); the App quits with status 1.
    """

    status: MigrationStatus
    backup_path: str | None


@dataclass
class MigrationFailed(Message):
    """A revision failed and was rolled back; the database is at `revision_left_at`."""

    error: BaseException
    revision_left_at: str | None


@dataclass
class PlanDetailLoaded(Message):
    detail: PlanDetail


@dataclass
class PlanDetailFailed(Message):
    plan_id: str
    error: str


@dataclass
class CorrectionStateChanged(Message):
    """A running correction committed a new state (pending, executing, complete or failed)."""

    attempt: CorrectionAttempt


@dataclass
class CorrectionFinished(Message):
    """A correction ended, `complete` or `failed`; `plan` is the plan as it is now and
    `new_sequence` the sequence of the decision it created (None when it failed)."""

    attempt: CorrectionAttempt
    plan: Plan | None
    new_sequence: int | None


@dataclass
class CorrectionRefused(Message):
    """A correction was refused before it started (a CorrectionError) or could not run."""

    plan_id: str
    decision_id: str
    title: str
    reason: str


@dataclass
class CorrectionsRecovered(Message):
    """Start-up recovery failed interrupted corrections (or could not)."""

    report: RecoveryReport


@dataclass(frozen=True)
class CorrectionRequest:
    """What the user confirmed in the correction modal; `guidance` is already trimmed and
    checked."""

    plan_id: str
    decision_id: str
    sequence: int
    mode: CorrectionMode
    guidance: str
    seen: PlanVersion | None = None  # the plan as the preview showed it; a change since refuses


@dataclass
class CorrectionRequested(Message):
    """The user confirmed a correction; the App runs it in a worker that outlives the screen."""

    request: CorrectionRequest
