"""Corrections on SQLite and PostgreSQL: both modes, and refused input (a clear error, nothing
written)."""

from __future__ import annotations

import json
import shutil
import threading

import pytest
import sqlalchemy as sa
from correction_world import (
    World,
    artifact_tree,
    db_state,
    decisions_of,
    plan_of,
    revert_decision,
    tree_state,
)
from sqlmodel import col

from store import corrections
from store.corrections import (
    CorrectionError,
    CorrectionInProgressError,
    CorrectionModeError,
    DecisionOfAnotherPlanError,
    DecisionRevertedError,
    GuidanceError,
    MissingArtifactFolderError,
    UnknownDecisionError,
    UnknownPlanError,
    UnsafeArtifactPathError,
    plan_correction,
    recover_interrupted,
    run_correction,
)
from store.corrections.liveness import locks_folder
from store.db import session_scope
from store.models import (
    CorrectionAttempt,
    CorrectionMode,
    CorrectionState,
    Decision,
    DecisionState,
    PlanPhase,
    ProcessingState,
)

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
    # SQLite: lock files beside the database; PostgreSQL locks in the server
    locks = locks_folder(world.engine, world.archive)
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




BAD_INPUTS = {
    "unknown plan": (UnknownPlanError, None, {"plan_id": "01NOPE"}),
    "unknown decision": (UnknownDecisionError, None, {"decision_id": "01NOPE"}),
    "decision of another plan": (DecisionOfAnotherPlanError, None, {"decision_id": "other"}),
    "already reverted": (DecisionRevertedError, revert_decision, {"number": 4}),
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
