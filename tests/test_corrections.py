"""The correction service on SQLite and PostgreSQL: both modes, refused input, the state machine,
undo after an injected failure, recovery after a SIGKILL, two processes racing, and the CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlmodel import Session, col, select

from store import corrections
from store.corrections import (
    CorrectionError,
    CorrectionInProgressError,
    CorrectionModeError,
    DecisionOfAnotherPlanError,
    DecisionRevertedError,
    GuidanceError,
    IllegalTransitionError,
    MissingArtifactFolderError,
    PlanChangedError,
    UnknownDecisionError,
    UnknownPlanError,
    UnsafeArtifactPathError,
    check_transition,
    plan_correction,
    plan_version_of,
    recover_interrupted,
    run_correction,
    transition,
)
from store.db import session_scope
from store.decisions import record_decision
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
from store.plans import create_plan

REPO = Path(__file__).resolve().parents[1]
PHASES = [PlanPhase.STRATEGIZE, PlanPhase.STRATEGIZE, PlanPhase.EXECUTE, PlanPhase.EXECUTE,
          PlanPhase.APPLY]


@dataclass
class World:
    url: str
    engine: sa.Engine
    artifacts: Path
    archive: Path
    plan_id: str
    decision_ids: list[str]  # sequence 1..5
    other_plan_id: str
    other_decision_id: str

    def run(self, number: int, mode: str = "revert", guidance: str = "Try again", **kw):
        return run_correction(
            self.url, self.plan_id, self.decision_ids[number - 1], mode, guidance,
            artifacts_root=self.artifacts, archive_root=self.archive, **kw,
        )


@pytest.fixture
def world(head_url, engine, tmp_path) -> World:
    artifacts = tmp_path / "artifacts"
    with session_scope(engine) as session:
        plan = create_plan(session, namespaced_name="billing/migrate", description="Move it.",
                           phase=PlanPhase.APPLY, processing_state=ProcessingState.ERRORED)
        ids: list[str] = []
        previous = None
        for number, phase in enumerate(PHASES, start=1):
            relative = f"migrate/{number:02d}"
            (artifacts / relative / "notes").mkdir(parents=True)
            (artifacts / relative / "decision.md").write_text(f"decision {number}\n")
            (artifacts / relative / "notes" / "n.txt").write_text("n\n")
            decision = record_decision(
                session, plan_id=plan.plan_id, title=f"Choice {number}", phase=phase,
                rationale="because", parent_decision_id=previous, artifacts_path=relative,
            )
            previous = decision.decision_id
            ids.append(decision.decision_id)
        other = create_plan(session, namespaced_name="docs/write", description="Write docs.")
        (artifacts / "docs/01").mkdir(parents=True)
        other_decision = record_decision(
            session, plan_id=other.plan_id, title="Use Markdown", phase=PlanPhase.STRATEGIZE,
            artifacts_path="docs/01",
        )
    return World(head_url, engine, artifacts, artifacts / "_archive", plan.plan_id, ids,
                 other.plan_id, other_decision.decision_id)


def db_state(engine: sa.Engine) -> dict[str, list[tuple]]:
    state = {}
    with engine.connect() as connection:
        for table, key in (("plans", "plan_id"), ("decisions", "decision_id"),
                           ("correction_attempts", "correction_attempt_id")):
            rows = connection.execute(sa.text(f"SELECT * FROM {table} ORDER BY {key}")).all()
            state[table] = [tuple(row) for row in rows]
    return state


def tree_state(root: Path, *, skip_empty_dirs: bool = False) -> list[tuple[str, str]]:
    entries = []
    for path in sorted(root.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            if skip_empty_dirs and not any(path.iterdir()):
                continue
            entries.append((path.relative_to(root).as_posix(), "<dir>"))
        elif path.is_symlink():
            entries.append((path.relative_to(root).as_posix(), "-> " + os.readlink(path)))
        else:
            entries.append((path.relative_to(root).as_posix(), path.read_text()))
    return entries


def artifact_tree(world: World) -> list[tuple[str, str]]:
    """The artifacts outside the archive, plus every file inside the archive."""
    return [
        entry for entry in tree_state(world.artifacts, skip_empty_dirs=True)
        if not (entry[0].startswith("_archive") and entry[1] == "<dir>")
    ]


def decisions_of(engine: sa.Engine, plan_id: str) -> list[Decision]:
    with Session(engine) as session:
        return list(session.exec(
            select(Decision).where(Decision.plan_id == plan_id).order_by(col(Decision.sequence))
        ).all())


def plan_of(engine: sa.Engine, plan_id: str) -> Plan:
    with Session(engine) as session:
        plan = session.get(Plan, plan_id)
        assert plan is not None
        return plan


def attempts(engine: sa.Engine) -> list[CorrectionAttempt]:
    with Session(engine) as session:
        return list(session.exec(
            select(CorrectionAttempt).order_by(col(CorrectionAttempt.created_at))
        ).all())


# --- both modes ----------------------------------------------------------------------------


def test_revert_archives_target_and_later_decisions(world):
    seen: list[CorrectionState] = []
    attempt = world.run(3, guidance="  Keep the old invoice ids.  ",
                        on_state=lambda a: seen.append(a.state))

    assert seen == [CorrectionState.PENDING, CorrectionState.EXECUTING, CorrectionState.COMPLETE]
    assert attempt.state == CorrectionState.COMPLETE
    assert attempt.completed_at is not None and attempt.failure_reason is None
    assert attempt.guidance == "Keep the old invoice ids."
    assert attempt.archived_artifacts_path == f"_archive/{attempt.correction_attempt_id}"

    rows = decisions_of(world.engine, world.plan_id)
    assert [(d.sequence, d.state) for d in rows] == [
        (1, DecisionState.ACTIVE), (2, DecisionState.ACTIVE), (3, DecisionState.REVERTED),
        (4, DecisionState.REVERTED), (5, DecisionState.REVERTED), (6, DecisionState.ACTIVE),
    ]
    new = rows[-1]
    assert new.decision_id == attempt.new_decision_id
    assert new.parent_decision_id == world.decision_ids[1]  # the target's parent
    assert new.rationale == "Keep the old invoice ids."
    assert new.title == "Revert to #3: Choice 3"
    assert new.phase == PlanPhase.EXECUTE
    plan = plan_of(world.engine, world.plan_id)
    assert (plan.phase, plan.processing_state) == (PlanPhase.EXECUTE, ProcessingState.QUEUED)

    folder = world.archive / attempt.correction_attempt_id
    for number in (3, 4, 5):
        assert not (world.artifacts / f"migrate/{number:02d}").exists()
        assert (folder / f"migrate/{number:02d}/decision.md").read_text() == f"decision {number}\n"
    for number in (1, 2):
        assert (world.artifacts / f"migrate/{number:02d}/decision.md").exists()
    manifest = json.loads((folder / corrections.MANIFEST_NAME).read_text())
    assert [m["source"] for m in manifest["moves"]] == ["migrate/03", "migrate/04", "migrate/05"]
    locks = world.archive / corrections.LOCKS_DIR  # SQLite only; PostgreSQL locks in the server
    assert not locks.exists() or not list(locks.iterdir())
    assert (world.artifacts / "docs/01").is_dir()

    # Reverting further back skips what is already reverted and takes the new decision along.
    second = world.run(2)
    assert second.state == CorrectionState.COMPLETE
    states = {d.sequence: d.state for d in decisions_of(world.engine, world.plan_id)}
    assert states == {1: "active", 2: "reverted", 3: "reverted", 4: "reverted",
                      5: "reverted", 6: "reverted", 7: "active"}


def test_append_adds_a_child_and_reverts_nothing(world):
    before_tree = artifact_tree(world)
    attempt = world.run(2, mode="append", guidance="Use integer cents")

    assert attempt.state == CorrectionState.COMPLETE
    assert attempt.archived_artifacts_path is None
    rows = decisions_of(world.engine, world.plan_id)
    assert [d.state for d in rows] == [DecisionState.ACTIVE] * 6
    new = rows[-1]
    assert (new.sequence, new.parent_decision_id, new.rationale, new.title) == (
        6, world.decision_ids[1], "Use integer cents", "Correct #2: Choice 2")
    plan = plan_of(world.engine, world.plan_id)
    assert (plan.phase, plan.processing_state) == (PlanPhase.APPLY, ProcessingState.QUEUED)
    assert artifact_tree(world) == before_tree


def test_preview_says_exactly_what_will_happen_and_writes_nothing(world):
    before = db_state(world.engine)
    with session_scope(world.engine) as session:
        revert = plan_correction(session, world.plan_id, world.decision_ids[3], "revert",
                                 artifacts_root=world.artifacts, archive_root=world.archive)
        append = plan_correction(session, world.plan_id, world.decision_ids[3],
                                 CorrectionMode.APPEND)
    assert [d.sequence for d in revert.reverted] == [4, 5]
    assert revert.artifact_folders == ("migrate/04", "migrate/05")
    assert (revert.new_sequence, revert.new_parent_decision_id) == (6, world.decision_ids[2])
    assert revert.plan_phase_after == PlanPhase.EXECUTE
    assert append.reverted == () and append.artifact_folders == ()
    assert append.target.decision_id == world.decision_ids[3]
    assert append.new_parent_decision_id == world.decision_ids[3]
    assert db_state(world.engine) == before
    assert not world.archive.exists()


def test_preview_keeps_nested_and_shared_folders_consistent(world):
    with session_scope(world.engine) as session:
        session.exec(sa.update(Decision).where(col(Decision.decision_id) == world.decision_ids[4])
                     .values(artifacts_path="migrate/04/notes"))
        session.exec(sa.update(Decision).where(col(Decision.decision_id) == world.decision_ids[2])
                     .values(artifacts_path="migrate/04"))
    with session_scope(world.engine) as session:
        preview = plan_correction(session, world.plan_id, world.decision_ids[2], "revert",
                                  artifacts_root=world.artifacts)
    # #3 and #4 share migrate/04; #5's folder sits inside it and moves with it.
    assert [(m.source, len(m.decision_ids)) for m in preview.moves] == [("migrate/04", 3)]
    with session_scope(world.engine) as session, pytest.raises(UnsafeArtifactPathError):
        # Reverting #4 would archive migrate/04, which holds the folder of #3 (staying active).
        session.exec(sa.update(Decision).where(col(Decision.decision_id) == world.decision_ids[2])
                     .values(artifacts_path="migrate/04/notes"))
        plan_correction(session, world.plan_id, world.decision_ids[3], "revert",
                        artifacts_root=world.artifacts)


# --- refused input: a clear error, nothing written -----------------------------------------


def _set_path(world: World, number: int, path: str | None) -> None:
    with session_scope(world.engine) as session:
        session.exec(sa.update(Decision)
                     .where(col(Decision.decision_id) == world.decision_ids[number - 1])
                     .values(artifacts_path=path))


def _symlink_out(world: World) -> None:
    outside = world.artifacts.parent / "outside"
    outside.mkdir()
    shutil.rmtree(world.artifacts / "migrate/05")
    (world.artifacts / "migrate/05").symlink_to(outside, target_is_directory=True)


def _revert_decision(world: World) -> None:
    with session_scope(world.engine) as session:
        session.exec(sa.update(Decision)
                     .where(col(Decision.decision_id) == world.decision_ids[3])
                     .values(state=DecisionState.REVERTED))


BAD_INPUTS = {
    "unknown plan": (UnknownPlanError, None, {"plan_id": "01NOPE"}),
    "unknown decision": (UnknownDecisionError, None, {"decision_id": "01NOPE"}),
    "decision of another plan": (DecisionOfAnotherPlanError, None, {"decision_id": "other"}),
    "already reverted": (DecisionRevertedError, _revert_decision, {"number": 4}),
    "empty guidance": (GuidanceError, None, {"guidance": ""}),
    "whitespace guidance": (GuidanceError, None, {"guidance": " \n\t "}),
    "guidance too long": (GuidanceError, None, {"guidance": "  " + "x" * 10_001 + "  "}),
    "NUL in guidance": (GuidanceError, None, {"guidance": "Use cents\x00 not floats"}),
    "unknown mode": (CorrectionModeError, None, {"mode": "rewind"}),
    "absolute artifact path": (UnsafeArtifactPathError, lambda w: _set_path(w, 4, "/etc"), {}),
    "escaping artifact path": (
        UnsafeArtifactPathError, lambda w: _set_path(w, 5, "migrate/../../outside"), {}),
    "artifact path is the root": (UnsafeArtifactPathError, lambda w: _set_path(w, 4, "."), {}),
    "symlink out of the root": (UnsafeArtifactPathError, _symlink_out, {}),
    "missing artifact folder": (
        MissingArtifactFolderError, lambda w: shutil.rmtree(w.artifacts / "migrate/04"), {}),
}


FILE_ERRORS = (UnsafeArtifactPathError, MissingArtifactFolderError)  # append touches no files


@pytest.mark.parametrize(("case", "mode"), [
    (case, mode) for case, (error, _, _) in BAD_INPUTS.items() for mode in ("revert", "append")
    if mode == "revert" or error not in FILE_ERRORS
])
def test_bad_input_is_refused_and_changes_nothing(world, case, mode):
    error, setup, overrides = BAD_INPUTS[case]
    if setup is not None:
        setup(world)
    number = overrides.get("number", 3)
    decision_id = overrides.get("decision_id", world.decision_ids[number - 1])
    if decision_id == "other":
        decision_id = world.other_decision_id
    before_db, before_tree = db_state(world.engine), tree_state(world.artifacts)

    with pytest.raises(error) as raised:
        run_correction(
            world.url, overrides.get("plan_id", world.plan_id), decision_id,
            overrides.get("mode", mode), overrides.get("guidance", "Do better"),
            artifacts_root=world.artifacts, archive_root=world.archive,
        )
    assert isinstance(raised.value, CorrectionError)
    assert str(raised.value)
    if case == "NUL in guidance":
        assert "NUL" in str(raised.value)
    assert db_state(world.engine) == before_db
    assert tree_state(world.artifacts) == before_tree
    assert not world.archive.exists()


def test_guidance_of_exactly_the_limit_is_accepted(world):
    attempt = world.run(5, mode="append", guidance=" " + "y" * 10_000 + "\n")
    assert attempt.state == CorrectionState.COMPLETE
    assert len(attempt.guidance) == 10_000


def test_another_open_attempt_on_the_decision_is_refused(world):
    entered, release = threading.Event(), threading.Event()
    results: list[CorrectionAttempt] = []

    def hold(attempt: CorrectionAttempt) -> None:
        if attempt.state == CorrectionState.EXECUTING:
            entered.set()
            release.wait(30)

    holder = threading.Thread(target=lambda: results.append(world.run(3, on_state=hold)))
    holder.start()
    try:
        assert entered.wait(30)
        before_db, before_tree = db_state(world.engine), tree_state(world.artifacts)
        for mode in ("revert", "append"):
            with pytest.raises(CorrectionInProgressError,
                               match=r"(?i)another correction of this decision is in progress"):
                world.run(3, mode=mode)
        with session_scope(world.engine) as session, pytest.raises(CorrectionInProgressError):
            plan_correction(session, world.plan_id, world.decision_ids[2], "append")
        # A live owner is never "recovered".
        report = recover_interrupted(world.url, world.artifacts, world.archive)
        assert report.recovered == () and len(report.busy) == 1
        assert db_state(world.engine) == before_db
        assert tree_state(world.artifacts) == before_tree
    finally:
        release.set()
        holder.join(30)
    assert results[0].state == CorrectionState.COMPLETE


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


def _attempt_row(world: World, state: CorrectionState) -> str:
    attempt_id = f"01TEST{state.value.upper():0<20}"[:26]
    with session_scope(world.engine) as session:
        session.add(CorrectionAttempt(
            correction_attempt_id=attempt_id, plan_id=world.plan_id,
            original_decision_id=world.decision_ids[0], mode=CorrectionMode.APPEND,
            guidance="g", state=state, created_at=utc_now(),
        ))
    return attempt_id


@pytest.mark.parametrize(("current", "new"), [p for p in ALL_PAIRS if p not in ALLOWED])
def test_illegal_transitions_raise_and_leave_the_row(world, current, new):
    attempt_id = _attempt_row(world, CorrectionState(current))
    before = db_state(world.engine)
    with session_scope(world.engine) as session, pytest.raises(IllegalTransitionError):
        transition(session, attempt_id, CorrectionState(current), CorrectionState(new))
    assert db_state(world.engine) == before


def test_a_transition_from_a_state_the_row_is_not_in_raises(world):
    attempt_id = _attempt_row(world, CorrectionState.PENDING)
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
    stale = _attempt_row(world, CorrectionState.EXECUTING)
    with session_scope(world.engine) as session:
        session.exec(sa.update(CorrectionAttempt)
                     .where(col(CorrectionAttempt.correction_attempt_id) == stale)
                     .values(original_decision_id=world.decision_ids[2]))
    attempt = world.run(3)
    assert attempt.state == CorrectionState.COMPLETE
    assert corrections.get_attempt(world.engine, stale).failure_reason == "interrupted"


# --- two processes racing ------------------------------------------------------------------


RACER = textwrap.dedent("""
    import json, os, sys, time
    from pathlib import Path
    from store.corrections import CorrectionError, run_correction
    from store.db import create_db_engine

    url, plan_id, decision_id, artifacts, archive, mode, sync, name, other = sys.argv[1:10]
    engine = create_db_engine(url)
    with engine.connect():
        pass

    def wait_for(path):
        deadline = time.monotonic() + 120
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.005)

    def hold(attempt):
        # Keep the window open until the other process has been answered.
        if attempt.state.value == "executing":
            wait_for(Path(sync, "result-" + other))

    Path(sync, "ready-" + name).touch()
    wait_for(Path(sync, "ready-" + other))
    try:
        attempt = run_correction(engine, plan_id, decision_id, mode, "race " + name,
                                 artifacts_root=Path(artifacts), archive_root=Path(archive),
                                 on_state=hold)
        outcome = {"state": attempt.state.value}
    except CorrectionError as exc:
        outcome = {"error": type(exc).__name__, "message": str(exc)}
    Path(sync, "result-" + name).touch()
    print(json.dumps(outcome))
""")


@pytest.mark.parametrize("mode", ["revert", "append"])
def test_two_processes_racing_on_one_decision(world, mode, tmp_path):
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, world.url, world.plan_id, world.decision_ids[2],
             str(world.artifacts), str(world.archive), mode, str(barrier), name, other],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name, other in (("a", "b"), ("b", "a"))
    ]
    outcomes = []
    for racer in racers:
        out, err = racer.communicate(timeout=120)
        assert racer.returncode == 0, err
        outcomes.append(json.loads(out))
    winners = [o for o in outcomes if o.get("state") == "complete"]
    losers = [o for o in outcomes if "error" in o]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert losers[0]["error"] == "CorrectionInProgressError"
    assert "another correction of this decision is in progress" in losers[0]["message"].lower()
    assert [a.state for a in attempts(world.engine)] == [CorrectionState.COMPLETE]
    assert len(decisions_of(world.engine, world.plan_id)) == 6


def test_corrections_of_one_plan_never_interleave(world):
    """Two different decisions of one plan at once: both finish, sequences stay unique."""
    results: list[CorrectionAttempt] = []
    start = threading.Barrier(2)

    def run(number: int) -> None:
        start.wait()
        results.append(world.run(number, mode="append"))

    threads = [threading.Thread(target=run, args=(n,)) for n in (1, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert [r.state for r in results] == [CorrectionState.COMPLETE] * 2
    assert [d.sequence for d in decisions_of(world.engine, world.plan_id)] == [1, 2, 3, 4, 5, 6, 7]


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
            _revert_decision(world)

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
    stale = _attempt_row(world, CorrectionState.PENDING)
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


# --- a correction carries what its preview saw ----------------------------------------------


@pytest.mark.parametrize("mode", ["revert", "append"])
def test_a_stale_preview_is_refused_and_writes_nothing(world, mode):
    with session_scope(world.engine) as session:
        seen = plan_correction(session, world.plan_id, world.decision_ids[2], mode,
                               artifacts_root=world.artifacts).version
    # Someone else corrects another decision of the plan after our preview.
    assert world.run(5, mode="append", guidance="Meanwhile").state == CorrectionState.COMPLETE
    before_db, before_tree = db_state(world.engine), tree_state(world.artifacts)

    with pytest.raises(PlanChangedError, match=r"The plan changed since the preview: it had 5 "
                       r"decisions \(last #5\), now 6 \(last #6\)"):
        world.run(3, mode=mode, expected_version=seen)
    assert db_state(world.engine) == before_db
    assert tree_state(world.artifacts) == before_tree

    with session_scope(world.engine) as session:
        fresh = plan_correction(session, world.plan_id, world.decision_ids[2], mode).version
    assert fresh != seen
    assert world.run(3, mode=mode, expected_version=fresh).state == CorrectionState.COMPLETE


def test_a_change_after_validation_fails_the_attempt_under_the_lock(world):
    seen = plan_version_of(world.engine, world.plan_id)

    def append_behind_its_back(attempt: CorrectionAttempt) -> None:
        if attempt.state == CorrectionState.EXECUTING:
            with session_scope(world.engine) as session:
                record_decision(session, plan_id=world.plan_id, title="Sneaked in",
                                phase=PlanPhase.APPLY)

    attempt = world.run(2, mode="append", expected_version=seen, on_state=append_behind_its_back)
    assert attempt.state == CorrectionState.FAILED
    assert attempt.failure_reason.startswith("The plan changed since the preview")
    assert [d.title for d in decisions_of(world.engine, world.plan_id)][-1] == "Sneaked in"


CLI_RACER = textwrap.dedent("""
    import contextlib, io, json, sys, time
    from pathlib import Path
    from sqlmodel import Session, col, select
    import store.corrections as corrections
    from store.db import create_db_engine
    from store.models import Decision, DecisionState
    from tui.cli import main

    url, plan_id, decision_id, mode, orders, sync, name, other = sys.argv[1:9]
    sync = Path(sync)
    engine = create_db_engine(url)
    took_version = corrections.plan_version_of

    def wait_for(path):
        deadline = time.monotonic() + 120
        while not path.exists():
            if time.monotonic() > deadline:
                sys.exit(f"{name}: no {path.name} after 120 s")
            time.sleep(0.005)

    def newest_active_decision():
        with Session(engine) as session:
            return session.exec(
                select(Decision.decision_id).where(Decision.plan_id == plan_id)
                .where(Decision.state == DecisionState.ACTIVE)
                .order_by(col(Decision.sequence).desc())
            ).first()

    for round, first in enumerate(orders):
        if round:
            wait_for(sync / f"{round - 1}-done-{other}")

        def version_then_meet(engine, plan_id, round=round):
            # Both commands have taken their snapshot before either corrects anything.
            version = took_version(engine, plan_id)
            (sync / f"{round}-seen-{name}").touch()
            wait_for(sync / f"{round}-seen-{other}")
            if first == other:  # a round where the other command runs to its end first
                wait_for(sync / f"{round}-done-{other}")
            return version

        corrections.plan_version_of = version_then_meet
        target = decision_id if mode == "append" else newest_active_decision()
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main(["correct", plan_id, target, "--mode", mode, "--guidance",
                      f"race {name} {round}", "--db", url], standalone_mode=False)
                code = 0
            except SystemExit as exc:
                code = exc.code
        (sync / f"{round}-result-{name}.json").write_text(
            json.dumps({"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}))
        (sync / f"{round}-done-{name}").touch()
""")


@pytest.mark.parametrize("mode", ["append", "revert"])
def test_two_correct_commands_racing_have_one_winner_per_round(world, mode, tmp_path):
    # Per round: "=" both go at once; "a" or "b" that one finishes before the other starts
    # (the case the one-open-attempt index cannot see: only the version check refuses it).
    orders = "=ab="
    rounds = len(orders)
    sync = tmp_path / "sync"
    sync.mkdir()
    env = {**os.environ, "PLANDESK_ARTIFACTS": str(world.artifacts)}
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", CLI_RACER, world.url, world.plan_id, world.decision_ids[1],
             mode, orders, str(sync), name, other],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name, other in (("a", "b"), ("b", "a"))
    ]
    for racer in racers:
        _out, err = racer.communicate(timeout=600)
        assert racer.returncode == 0, err
    for round in range(rounds):
        results = [json.loads((sync / f"{round}-result-{n}.json").read_text()) for n in "ab"]
        winners = [r for r in results if r["code"] == 0]
        losers = [r for r in results if r["code"] == 1]
        assert len(winners) == 1 and len(losers) == 1, (round, results)
        assert winners[0]["stdout"].strip().endswith(" complete")
        assert re.search(r"plan changed since the preview|another correction of this decision "
                         r"is in progress", losers[0]["stderr"], re.IGNORECASE), losers[0]
        assert losers[0]["stderr"].startswith("plandesk: ")
    states = [a.state for a in attempts(world.engine)]
    assert CorrectionState.PENDING not in states and CorrectionState.EXECUTING not in states
    assert states.count(CorrectionState.COMPLETE) == rounds
    assert len(decisions_of(world.engine, world.plan_id)) == 5 + rounds


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
    if world.engine.dialect.name != "postgresql":
        pytest.skip("SQLite is one host: its file lock lives under the one artifacts root")
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
    machine whose archive holds the moved folders puts them back at its next start."""
    if world.engine.dialect.name != "postgresql":
        pytest.skip("SQLite is one host: its file lock lives under the one artifacts root")
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
