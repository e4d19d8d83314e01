"""The phase timestamps of a plan: which of them a phase and processing state imply.

`strategized_at` is when the plan first left strategize (reached execute), `executed_at` when
it reached apply, `applied_at` when it reached applied, and `completed_at` when its processing
last completed. A plan sent back to an earlier phase (a revert) has not reached the later ones
any more, so their timestamps go back to NULL; a timestamp already set is kept, never moved.
"""

from __future__ import annotations

from collections.abc import Mapping

from store.models import PlanPhase, ProcessingState

PHASE_ORDER = (PlanPhase.STRATEGIZE, PlanPhase.EXECUTE, PlanPhase.APPLY, PlanPhase.APPLIED)

# The column stamped when a plan reaches the phase (strategize is where every plan starts).
REACHED_COLUMN = {
    PlanPhase.EXECUTE: "strategized_at",
    PlanPhase.APPLY: "executed_at",
    PlanPhase.APPLIED: "applied_at",
}
TIMESTAMP_COLUMNS = (*REACHED_COLUMN.values(), "completed_at")


def phase_timestamps(
    phase: PlanPhase | str,
    processing_state: ProcessingState | str,
    now: str,
    previous: Mapping[str, str | None] | None = None,
) -> dict[str, str | None]:
    """The four timestamp columns for a plan now in `phase` / `processing_state`.

    `previous` holds the plan's current values (None for a new plan): those still implied
    are kept as they are, newly implied ones get `now`, the rest become NULL.
    """
    position = PHASE_ORDER.index(PlanPhase(phase))
    before = previous or {}
    stamps: dict[str, str | None] = {}
    for reached, column in REACHED_COLUMN.items():
        implied = PHASE_ORDER.index(reached) <= position
        stamps[column] = (before.get(column) or now) if implied else None
    complete = ProcessingState(processing_state) == ProcessingState.COMPLETE
    stamps["completed_at"] = (before.get("completed_at") or now) if complete else None
    return stamps
