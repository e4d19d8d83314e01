"""The correction state machine, and undo after an injected failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from correction_world import (
    artifact_tree,
    attempt_row,
    db_state,
    decisions_of,
)

from store import corrections
from store.corrections import (
    IllegalTransitionError,
    check_transition,
    transition,
)
from store.db import session_scope
from store.models import (
    CorrectionState,
)

# --- the state machine ---------------------------------------------------------------------


ALLOWED = {("pending", "executing"), ("executing", "complete"), ("executing", "failed")}
ALL_PAIRS = [(a.value, b.value) for a in CorrectionState for b in CorrectionState]


@pytest.mark.parametrize(("current", "new"), ALL_PAIRS)
def test_check_transition_allows_only_the_three_edges(current, new):
    if (current, new) in ALLOWED:
        check_transition(current, new)
    else:
        with pytest.raises(IllegalTransitionError):
            check_transition(current, new)




@pytest.mark.parametrize(("current", "new"), [p for p in ALL_PAIRS if p not in ALLOWED])
def test_illegal_transitions_raise_and_leave_the_row(world, current, new):
    attempt_id = attempt_row(world, CorrectionState(current))
    before = db_state(world.engine)
    with session_scope(world.engine) as session, pytest.raises(IllegalTransitionError):
        transition(session, attempt_id, CorrectionState(current), CorrectionState(new))
    assert db_state(world.engine) == before


def test_a_transition_from_a_state_the_row_is_not_in_raises(world):
    attempt_id = attempt_row(world, CorrectionState.PENDING)
    before = db_state(world.engine)
    with session_scope(world.engine) as session, pytest.raises(IllegalTransitionError,
                                                                match="is pending"):
        transition(session, attempt_id, CorrectionState.EXECUTING, CorrectionState.COMPLETE)
    assert db_state(world.engine) == before
    with session_scope(world.engine) as session:
        transition(session, attempt_id, CorrectionState.PENDING, CorrectionState.EXECUTING)
        transition(session, attempt_id, CorrectionState.EXECUTING, CorrectionState.FAILED,
                   failure_reason="test")
    assert corrections.get_attempt(world.engine, attempt_id).state == CorrectionState.FAILED


# --- failures are undone -------------------------------------------------------------------


def failing_move(fail_on_call: int, *, also_fail_back: bool = False):
    calls: list[tuple[Path, Path]] = []

    def move(source: Path, destination: Path) -> None:
        calls.append((source, destination))
        forward = "_archive" not in source.parts
        if forward and len(calls) == fail_on_call:
            raise OSError(28, "No space left on device (injected)")
        if not forward and also_fail_back:
            raise OSError(13, "Permission denied (injected)")
        os.rename(source, destination)

    move.calls = calls  # type: ignore[attr-defined]
    return move


def test_failure_after_some_moves_moves_everything_back(world):
    before_db, before_tree = db_state(world.engine), artifact_tree(world)
    move = failing_move(4)
    attempt = world.run(1, move=move)

    assert attempt.state == CorrectionState.FAILED
    assert "No space left on device (injected)" in attempt.failure_reason
    assert attempt.completed_at is not None and attempt.new_decision_id is None
    assert len(move.calls) == 4 + 3  # three moved, the fourth failed, three moved back
    assert artifact_tree(world) == before_tree
    assert not (world.archive / attempt.correction_attempt_id).exists()
    after = db_state(world.engine)
    assert after["decisions"] == before_db["decisions"]
    assert after["plans"] == before_db["plans"]
    assert len(after["correction_attempts"]) == 1
    # The decision is free again.
    assert world.run(1).state == CorrectionState.COMPLETE


def test_a_failed_undo_keeps_the_manifest_and_says_so(world):
    attempt = world.run(1, move=failing_move(3, also_fail_back=True))
    assert attempt.state == CorrectionState.FAILED
    assert "(injected)" in attempt.failure_reason and "undoing" in attempt.failure_reason
    folder = world.archive / attempt.correction_attempt_id
    assert (folder / corrections.MANIFEST_NAME).exists()
    assert (folder / "migrate/01").is_dir() and (folder / "migrate/02").is_dir()
    assert [d.state for d in decisions_of(world.engine, world.plan_id)] == ["active"] * 5
