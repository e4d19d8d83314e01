"""`plandesk correct`: exit codes, refusals, recovery first, and the statements a revert sends."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from correction_world import (
    World,
    attempt_row,
    attempts,
    revert_decision,
    tree_state,
)

from store import corrections
from store.corrections import (
    run_correction,
)
from store.db import session_scope
from store.decisions import record_decision
from store.models import (
    CorrectionAttempt,
    CorrectionState,
    PlanPhase,
)
from store.plans import create_plan

# --- plandesk correct ----------------------------------------------------------------------


def _cli(world: World, monkeypatch, *args: str):
    from tui.cli import main

    monkeypatch.setenv("PLANDESK_ARTIFACTS", str(world.artifacts))
    return CliRunner().invoke(main, ["correct", *args, "--db", world.url])


def test_cli_correct_complete(world, monkeypatch):
    result = _cli(world, monkeypatch, world.plan_id, world.decision_ids[3],
                  "--mode", "revert", "--guidance", "Go back")
    assert result.exit_code == 0, result.output
    (attempt,) = attempts(world.engine)
    assert result.stdout.strip() == f"{attempt.correction_attempt_id} complete"
    assert (world.archive / attempt.correction_attempt_id / "migrate/04").is_dir()


def test_cli_correct_refused(world, monkeypatch):
    result = _cli(world, monkeypatch, world.plan_id, world.decision_ids[3],
                  "--mode", "append", "--guidance", "   ")
    assert result.exit_code == 1
    assert "Guidance cannot be empty" in result.stderr
    assert attempts(world.engine) == []
    result = _cli(world, monkeypatch, world.plan_id, world.other_decision_id,
                  "--mode", "revert", "--guidance", "x")
    assert result.exit_code == 1 and "belongs to plan" in result.stderr
    result = _cli(world, monkeypatch, world.plan_id, world.decision_ids[0],
                  "--mode", "rewind", "--guidance", "x")
    assert result.exit_code == 2


def test_a_change_seen_under_the_lock_fails_the_attempt(world):
    # Another writer reverts the decision between validation and the work transaction.
    def revert_behind_its_back(attempt: CorrectionAttempt) -> None:
        if attempt.state == CorrectionState.EXECUTING:
            revert_decision(world)

    attempt = world.run(4, on_state=revert_behind_its_back)
    assert attempt.state == CorrectionState.FAILED
    assert "already reverted" in attempt.failure_reason
    assert (world.artifacts / "migrate/05").is_dir()


def test_cli_correct_failed_attempt_exits_non_zero(world, monkeypatch):
    # An archive on another file system: rename() fails with EXDEV after validation passed.
    elsewhere = Path("/dev/shm")
    if not elsewhere.is_dir() or elsewhere.stat().st_dev == world.artifacts.stat().st_dev:
        pytest.skip("needs /dev/shm on a file system of its own")
    target = elsewhere / f"plandesk-archive-{os.getpid()}-{time.monotonic_ns()}"
    target.mkdir()
    try:
        world.archive.symlink_to(target, target_is_directory=True)
        before_tree = tree_state(world.artifacts)
        result = _cli(world, monkeypatch, world.plan_id, world.decision_ids[3],
                      "--mode", "revert", "--guidance", "Go back")
        assert result.exit_code == 1
        (attempt,) = attempts(world.engine)
        assert result.stdout.strip() == f"{attempt.correction_attempt_id} failed"
        assert "failed: OSError" in result.stderr and "cross-device" in result.stderr.lower()
        assert attempt.state == CorrectionState.FAILED
        assert tree_state(world.artifacts) == before_tree
    finally:
        shutil.rmtree(target)


def test_cli_recovers_first_then_corrects(world, monkeypatch):
    stale = attempt_row(world, CorrectionState.PENDING)
    result = _cli(world, monkeypatch, world.plan_id, world.decision_ids[0],
                  "--mode", "append", "--guidance", "After the crash")
    assert result.exit_code == 0, result.output
    assert f"recovered interrupted correction {stale}: interrupted" in result.stderr
    assert corrections.get_attempt(world.engine, stale).state == CorrectionState.FAILED


def test_console_script_exit_codes(world):
    env = {**os.environ, "PLANDESK_ARTIFACTS": str(world.artifacts)}
    script = Path(sys.executable).with_name("plandesk")
    ok = subprocess.run([script, "correct", world.plan_id, world.decision_ids[4], "--mode",
                         "revert", "--guidance", "No", "--db", world.url],
                        capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip().endswith(" complete")
    again = subprocess.run([script, "correct", world.plan_id, world.decision_ids[4], "--mode",
                            "revert", "--guidance", "No", "--db", world.url],
                           capture_output=True, text=True, env=env, timeout=120)
    assert again.returncode == 1
    assert "already reverted" in again.stderr


def _plan_with_decisions(world: World, count: int) -> tuple[str, str]:
    """A plan with `count` decisions, each with an artifact folder; returns (plan, first)."""
    with session_scope(world.engine) as session:
        plan = create_plan(session, namespaced_name=f"bulk/plan-{count}", description="Bulk.")
        first = None
        for number in range(1, count + 1):
            relative = f"bulk-{count}/{number:03d}"
            (world.artifacts / relative).mkdir(parents=True)
            decision = record_decision(session, plan_id=plan.plan_id, title=f"Step {number}",
                                       phase=PlanPhase.EXECUTE, artifacts_path=relative)
            first = first or decision.decision_id
    assert first is not None
    return plan.plan_id, first


def _statements_of_a_revert(world: World, decisions: int) -> dict[str, int]:
    """SQL statements a revert of every one of `decisions` decisions sends, by state reached."""
    plan_id, first = _plan_with_decisions(world, decisions)
    sent: list[str] = []
    counts: dict[str, int] = {}

    def count(_conn, _cursor, statement, *_args) -> None:
        sent.append(statement)

    sa.event.listen(world.engine, "before_cursor_execute", count)
    try:
        attempt = run_correction(
            world.engine, plan_id, first, "revert", "Start over",
            artifacts_root=world.artifacts, archive_root=world.archive,
            on_state=lambda a: counts.setdefault(a.state.value, len(sent)),
        )
    finally:
        sa.event.remove(world.engine, "before_cursor_execute", count)
    assert attempt.state == CorrectionState.COMPLETE
    counts["total"] = len(sent)
    return counts


def test_a_revert_sends_the_same_statements_for_5_or_60_decisions(world):
    """Not a benchmark: no statement per decision or per folder, however many are reverted."""
    small = _statements_of_a_revert(world, 5)
    large = _statements_of_a_revert(world, 60)
    assert large == small
    assert small["total"] <= 30, small
