"""Recovery after a SIGKILL, liveness across artifacts roots, and attempts never left pending."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import pytest
import sqlalchemy as sa
from correction_world import (
    REPO,
    artifact_tree,
    attempt_row,
    attempts,
    db_state,
)
from sqlmodel import col

from store import corrections
from store.corrections import (
    CorrectionInProgressError,
    recover_interrupted,
    run_correction,
)
from store.db import session_scope
from store.models import (
    CorrectionAttempt,
    CorrectionState,
)

# --- crash and recovery (a real process, killed) -------------------------------------------


KILLED_RUN = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from store.corrections import run_correction

    url, plan_id, decision_id, artifacts, archive, where = sys.argv[1:7]
    moved = []

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def on_state(attempt):
        if attempt.state.value == where:
            die()

    def move(source, destination):
        os.rename(source, destination)
        moved.append(source)
        if where == "moves" and len(moved) == 2:
            die()

    run_correction(url, plan_id, decision_id, "revert", "crash", artifacts_root=Path(artifacts),
                   archive_root=Path(archive), on_state=on_state, move=move)
    sys.exit("not killed")
""")


def wait_for_dead_sessions(engine: sa.Engine) -> None:
    """PostgreSQL drops a killed client's session (and its advisory locks) once it sees the
    socket close; wait for that instead of racing it."""
    if engine.dialect.name != "postgresql":
        return
    deadline = time.monotonic() + 60
    with engine.connect() as connection:
        while connection.execute(sa.text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        )).scalar_one():
            assert time.monotonic() < deadline, "a killed session still holds its lock"
            connection.rollback()
            time.sleep(0.01)


@pytest.mark.parametrize("where", ["pending", "executing", "moves"])
def test_recovery_after_sigkill_restores_everything(world, where):
    before_db, before_tree = db_state(world.engine), artifact_tree(world)
    process = subprocess.run(
        [sys.executable, "-c", KILLED_RUN, world.url, world.plan_id, world.decision_ids[1],
         str(world.artifacts), str(world.archive), where],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert process.returncode == -signal.SIGKILL, process.stderr
    wait_for_dead_sessions(world.engine)

    (left,) = attempts(world.engine)
    assert left.state == (CorrectionState.PENDING if where == "pending"
                          else CorrectionState.EXECUTING)
    folder = world.archive / left.correction_attempt_id
    if where == "moves":
        assert (folder / corrections.MANIFEST_NAME).exists()
        assert sorted(p.name for p in (folder / "migrate").iterdir()) == ["02", "03"]
    # The dead process's decision is blocked until recovery...
    report = recover_interrupted(world.url, world.artifacts, world.archive)
    assert [a.correction_attempt_id for a in report.recovered] == [left.correction_attempt_id]
    assert report.busy == () and report.problems == ()
    (recovered,) = attempts(world.engine)
    assert recovered.state == CorrectionState.FAILED
    assert recovered.failure_reason == "interrupted"
    assert artifact_tree(world) == before_tree
    after = db_state(world.engine)
    assert after["decisions"] == before_db["decisions"]
    assert after["plans"] == before_db["plans"]
    # ...and free afterwards; a second recovery finds nothing.
    assert recover_interrupted(world.url, world.artifacts, world.archive).recovered == ()
    assert world.run(2).state == CorrectionState.COMPLETE


def test_a_run_recovers_an_attempt_left_by_a_dead_process_on_its_decision(world):
    stale = attempt_row(world, CorrectionState.EXECUTING)
    with session_scope(world.engine) as session:
        session.exec(sa.update(CorrectionAttempt)
                     .where(col(CorrectionAttempt.correction_attempt_id) == stale)
                     .values(original_decision_id=world.decision_ids[2]))
    attempt = world.run(3)
    assert attempt.state == CorrectionState.COMPLETE
    assert corrections.get_attempt(world.engine, stale).failure_reason == "interrupted"


# --- liveness across artifact roots (PostgreSQL: many hosts) -------------------------------


HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from store.corrections import run_correction

    url, plan_id, decision_id, artifacts, archive, sync = sys.argv[1:7]

    def hold(attempt):
        if attempt.state.value == "executing":
            Path(sync, "executing").write_text(attempt.correction_attempt_id)
            deadline = time.monotonic() + 120
            while not Path(sync, "release").exists() and time.monotonic() < deadline:
                time.sleep(0.01)

    attempt = run_correction(url, plan_id, decision_id, "revert", "held",
                             artifacts_root=Path(artifacts), archive_root=Path(archive),
                             on_state=hold)
    print(attempt.state.value, attempt.failure_reason)
""")


def test_a_live_attempt_is_not_recovered_from_another_artifacts_root(world, tmp_path):
    """On SQLite too: its lock files live beside the database, not under an artifacts root."""
    sync = tmp_path / "sync"
    sync.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, world.url, world.plan_id, world.decision_ids[2],
         str(world.artifacts), str(world.archive), str(sync)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (sync / "executing").exists() and holder.poll() is None:
            assert time.monotonic() < deadline, "the holder never reached executing"
            time.sleep(0.01)
        attempt_id = (sync / "executing").read_text()
        other_root = tmp_path / "machine-b" / "artifacts"
        other_root.mkdir(parents=True)

        report = recover_interrupted(world.url, other_root, other_root / "_archive")
        assert report.recovered == () and report.busy == (attempt_id,)
        with pytest.raises(CorrectionInProgressError):
            run_correction(world.url, world.plan_id, world.decision_ids[2], "append", "me too",
                           artifacts_root=other_root, archive_root=other_root / "_archive")
        assert corrections.get_attempt(world.engine, attempt_id).state == (
            CorrectionState.EXECUTING)
    finally:
        (sync / "release").touch()
        out, err = holder.communicate(timeout=120)
    assert holder.returncode == 0, err
    assert out.split() == ["complete", "None"]
    assert corrections.get_attempt(world.engine, attempt_id).state == CorrectionState.COMPLETE


def test_a_dead_owner_is_recovered_from_another_artifacts_root(world, tmp_path):
    """The advisory lock dies with its process: another machine fails the attempt, and the
    machine whose archive holds the moved folders puts them back at its next start. (On
    SQLite the file lock beside the database dies with its process the same way.)"""
    before_db, before_tree = db_state(world.engine), artifact_tree(world)
    process = subprocess.run(
        [sys.executable, "-c", KILLED_RUN, world.url, world.plan_id, world.decision_ids[1],
         str(world.artifacts), str(world.archive), "moves"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert process.returncode == -signal.SIGKILL, process.stderr
    wait_for_dead_sessions(world.engine)
    other_root = tmp_path / "machine-b" / "artifacts"
    report = recover_interrupted(world.url, other_root, other_root / "_archive")
    assert len(report.recovered) == 1 and report.busy == ()
    (failed,) = report.recovered
    assert failed.failure_reason == "interrupted"
    assert (world.archive / failed.correction_attempt_id / corrections.MANIFEST_NAME).exists()

    here = recover_interrupted(world.url, world.artifacts, world.archive)
    assert here.recovered == () and here.problems == ()
    assert artifact_tree(world) == before_tree
    assert not (world.archive / failed.correction_attempt_id).exists()
    after = db_state(world.engine)
    assert after["decisions"] == before_db["decisions"]
    assert world.run(2).state == CorrectionState.COMPLETE


# --- an attempt never stays pending behind a database lock ---------------------------------


def test_an_attempt_is_closed_at_once_when_the_database_is_locked_after_pending(world):
    if world.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL waits for row locks instead of failing with 'database is locked'")
    path = world.engine.url.database
    denied, held = threading.Semaphore(0), threading.Event()
    before_db, before_tree = db_state(world.engine), artifact_tree(world)

    def on_error(context) -> None:
        if "database is locked" in str(context.original_exception):
            denied.release()

    def hold_the_write_lock() -> None:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        held.set()
        # Long enough that the old code gave up (it tried twice); released at the second denial.
        for _ in range(2):
            assert denied.acquire(timeout=120)
        blocker.execute("ROLLBACK")
        blocker.close()

    blocker = threading.Thread(target=hold_the_write_lock)

    def lock_right_after_pending(attempt: CorrectionAttempt) -> None:
        if attempt.state == CorrectionState.PENDING:
            blocker.start()
            assert held.wait(30)

    sa.event.listen(world.engine, "handle_error", on_error)
    try:
        attempt = run_correction(
            world.engine, world.plan_id, world.decision_ids[2], "revert", "Blocked",
            artifacts_root=world.artifacts, archive_root=world.archive,
            on_state=lock_right_after_pending,
        )
    finally:
        sa.event.remove(world.engine, "handle_error", on_error)
        blocker.join(60)
    assert attempt.state == CorrectionState.FAILED
    assert "is locked by another program" in attempt.failure_reason
    (row,) = attempts(world.engine)
    assert row.state == CorrectionState.FAILED
    after = db_state(world.engine)
    assert after["decisions"] == before_db["decisions"]
    assert artifact_tree(world) == before_tree
    assert world.run(3).state == CorrectionState.COMPLETE  # the decision is free again
