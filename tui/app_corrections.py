"""The App's part that runs corrections: one thread worker per decision, so that a correction
outlives the screen that asked for it, the start-up recovery of interrupted ones, and the
toasts and refreshes when they end."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App

from tui.messages import (
    CorrectionFinished,
    CorrectionRefused,
    CorrectionRequest,
    CorrectionRequested,
    CorrectionsRecovered,
    CorrectionStateChanged,
)

if TYPE_CHECKING:
    from store.db import Engine, SessionFactory
    from store.models import CorrectionAttempt
    from tui.screens.plans import PlansScreen


class CorrectionRunning(App[None]):
    """Mixed into `PlandeskApp`; the attributes below are set by its `__init__`."""

    url: str
    read_only: bool
    engine: Engine | None
    artifacts_root: Path
    archive_root: Path

    if TYPE_CHECKING:
        @property
        def session(self) -> SessionFactory: ...

    @property
    def plans_screen(self) -> PlansScreen | None:
        """The plans screen, wherever it is in the stack (None before the database opens)."""
        from tui.screens.plans import PlansScreen

        return next((s for s in self.screen_stack if isinstance(s, PlansScreen)), None)

    @work(thread=True, exclusive=True, exit_on_error=False, group="recover",
          description="Recovering interrupted corrections")
    def recover_corrections(self) -> None:
        """Fail (and move back the artifacts of) corrections a dead process left open."""
        from store.corrections import RecoveryReport, recover_interrupted
        from store.db import to_store_error

        if self.engine is None:
            return
        try:
            report = recover_interrupted(self.engine, self.artifacts_root, self.archive_root)
        except Exception as exc:
            report = RecoveryReport(problems=(f"{to_store_error(exc, self.url)}",))
        if report.recovered or report.problems:
            self.post_message(CorrectionsRecovered(report))

    def on_corrections_recovered(self, message: CorrectionsRecovered) -> None:
        report = message.report
        if report.recovered:
            count = len(report.recovered)
            self.notify(
                f"{count} interrupted correction{'s were' if count != 1 else ' was'} rolled "
                "back and marked failed (interrupted).",
                title="Recovered at start-up", severity="warning", markup=False,
            )
        if report.problems:
            self.notify("\n".join(report.problems), title="Recovery left problems",
                        severity="error", markup=False, timeout=30)
        screen = self.plans_screen
        if screen is not None:
            screen.action_reload()

    @staticmethod
    def _group(decision_id: str) -> str:
        return f"correction:{decision_id}"

    def correction_running(self, decision_id: str) -> bool:
        group = self._group(decision_id)
        return any(w.group == group and not w.is_finished for w in self.workers)

    def start_correction(self, request: CorrectionRequest) -> None:
        """Run a confirmed correction in a thread worker (one at a time per decision)."""
        if self.read_only:
            self.notify("read-only: corrections are disabled.", title="Correction",
                        severity="warning", markup=False)
            return
        if self.correction_running(request.decision_id):
            self.notify(f"A correction of decision #{request.sequence} is still running.",
                        title="Correction", severity="warning", markup=False)
            return
        self.run_worker(
            partial(self._run_correction, request), thread=True, exclusive=True,
            exit_on_error=False, group=self._group(request.decision_id),
            description=f"Correcting decision #{request.sequence}",
        )

    def on_correction_requested(self, message: CorrectionRequested) -> None:
        self.start_correction(message.request)

    def _run_correction(self, request: CorrectionRequest) -> None:
        from store.corrections import CorrectionError, run_correction
        from store.db import to_store_error
        from store.models import Decision, Plan

        def on_state(attempt: CorrectionAttempt) -> None:
            self.post_message(CorrectionStateChanged(attempt))

        try:
            attempt = run_correction(
                self.engine or self.url, request.plan_id, request.decision_id, request.mode,
                request.guidance, artifacts_root=self.artifacts_root,
                archive_root=self.archive_root, expected_version=request.seen,
                on_state=on_state,
            )
        except CorrectionError as exc:
            self.post_message(CorrectionRefused(
                request.plan_id, request.decision_id, exc.title, str(exc)))
            return
        except Exception as exc:
            error = to_store_error(exc, self.url)
            self.post_message(CorrectionRefused(
                request.plan_id, request.decision_id, error.title, str(error)))
            return
        plan: Plan | None = None
        new_sequence: int | None = None
        try:
            with self.session() as session:
                plan = session.get(Plan, request.plan_id)
                if attempt.new_decision_id is not None:
                    new = session.get(Decision, attempt.new_decision_id)
                    new_sequence = new.sequence if new is not None else None
        except Exception:
            pass  # the toast still reports the outcome; the views refresh from the database
        self.post_message(CorrectionFinished(attempt, plan, new_sequence))

    def on_correction_state_changed(self, message: CorrectionStateChanged) -> None:
        screen = self.plans_screen
        if screen is not None:
            screen.show_attempt(message.attempt)

    def on_correction_finished(self, message: CorrectionFinished) -> None:
        from store.models import CorrectionMode, CorrectionState

        attempt = message.attempt
        if attempt.state == CorrectionState.COMPLETE:
            created = (f"new decision #{message.new_sequence}"
                       if message.new_sequence is not None else "a new decision")
            self.notify(f"{str(attempt.mode).capitalize()} complete: {created}.",
                        title="Correction complete", markup=False)
        else:
            self.notify(f"Correction failed: {attempt.failure_reason or 'unknown reason'}",
                        title="Correction failed", severity="error", markup=False, timeout=15)
        screen = self.plans_screen
        if screen is not None:
            screen.show_attempt(attempt)
            # an append shows the decision it made; a revert stays on the one reverted to
            landing = (attempt.new_decision_id if attempt.mode == CorrectionMode.APPEND
                       else attempt.original_decision_id)
            screen.correction_ended(attempt.plan_id, message.plan, landing)

    def on_correction_refused(self, message: CorrectionRefused) -> None:
        self.notify(message.reason, title=message.title, severity="error", markup=False,
                    timeout=15)
        screen = self.plans_screen
        if screen is not None:
            screen.correction_ended(message.plan_id, None)
