"""Two processes on one database with different artifacts roots: a live `executing` attempt is
never declared dead by the other, and a dead one is recovered by it, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from store import corrections
from store.corrections import CorrectionInProgressError, recover_interrupted, run_correction
from store.db import session_scope
from store.decisions import record_decision
from store.models import CorrectionState, PlanPhase
from store.plans import create_plan

REPO = Path(__file__).resolve().parent.parent
PATIENCE_S = 120  # a guard against hanging; the tests wait on files the holder writes

HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from store.corrections import run_correction

    url, plan_id, decision_id, artifacts, sync = sys.argv[1:6]

    def hold(attempt):
        if attempt.state.value == "executing":
            Path(sync, "executing").write_text(attempt.correction_attempt_id)
            deadline = time.monotonic() + 120
            while not Path(sync, "release").exists() and time.monotonic() < deadline:
                time.sleep(0.01)

    attempt = run_correction(url, plan_id, decision_id, "revert", "held",
                             artifacts_root=Path(artifacts),
                             archive_root=Path(artifacts) / "_archive", on_state=hold)
    print(attempt.state.value, attempt.failure_reason)
""")


@dataclass(frozen=True)
class Machine:
    """One database, a plan with three decisions whose folders are under `artifacts`."""

    url: str
    engine: sa.Engine
    artifacts: Path
    plan_id: str
    decision_ids: tuple[str, ...]


@pytest.fixture
def machine(head_url, engine, tmp_path) -> Machine:
    artifacts = tmp_path / "machine-a" / "artifacts"
    ids: list[str] = []
    with session_scope(engine) as session:
        plan = create_plan(session, namespaced_name="ops/held", description="Held.")
        for number in (1, 2, 3):
            relative = f"held/{number}"
            (artifacts / relative).mkdir(parents=True)
            (artifacts / relative / "decision.md").write_text(f"decision {number}\n")
            ids.append(record_decision(session, plan_id=plan.plan_id, title=f"Choice {number}",
                                       phase=PlanPhase.EXECUTE, artifacts_path=relative,
                                       ).decision_id)
    return Machine(head_url, engine, artifacts, plan.plan_id, tuple(ids))


@pytest.fixture
def holder(machine: Machine, tmp_path) -> Iterator[tuple[subprocess.Popen[str], Path, str]]:
    """A process whose revert of decision 2 sits in `executing` until `sync/release` exists."""
    sync = tmp_path / "sync"
    sync.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, machine.url, machine.plan_id, machine.decision_ids[1],
         str(machine.artifacts), str(sync)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + PATIENCE_S
        while not (sync / "executing").exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the holder never reached executing"
            time.sleep(0.01)
        yield process, sync, (sync / "executing").read_text()
    finally:
        (sync / "release").touch()
        if process.poll() is None:
            process.communicate(timeout=PATIENCE_S)


def test_a_live_attempt_is_busy_for_a_process_with_another_artifacts_root(
    machine: Machine, holder, tmp_path
):
    process, sync, attempt_id = holder
    other_root = tmp_path / "machine-b" / "artifacts"
    other_root.mkdir(parents=True)

    report = recover_interrupted(machine.url, other_root, other_root / "_archive")
    assert report.recovered == () and report.busy == (attempt_id,)
    with pytest.raises(CorrectionInProgressError):
        run_correction(machine.url, machine.plan_id, machine.decision_ids[1], "append", "me too",
                       artifacts_root=other_root, archive_root=other_root / "_archive")
    assert corrections.get_attempt(machine.engine, attempt_id).state == (
        CorrectionState.EXECUTING)

    (sync / "release").touch()
    out, err = process.communicate(timeout=PATIENCE_S)
    assert process.returncode == 0, err
    assert out.split() == ["complete", "None"]
    assert corrections.get_attempt(machine.engine, attempt_id).state == CorrectionState.COMPLETE


def test_a_killed_owner_is_recovered_by_a_process_with_another_artifacts_root(
    machine: Machine, holder, tmp_path
):
    process, _sync, attempt_id = holder
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=PATIENCE_S)
    other_root = tmp_path / "machine-b" / "artifacts"
    deadline = time.monotonic() + PATIENCE_S
    while True:  # PostgreSQL ends the killed client's session (and its lock) on its own time
        report = recover_interrupted(machine.url, other_root, other_root / "_archive")
        if report.busy == ():
            break
        assert time.monotonic() < deadline, "a killed owner still holds its lock"
        time.sleep(0.05)
    assert [a.correction_attempt_id for a in report.recovered] == [attempt_id]
    assert report.recovered[0].failure_reason == "interrupted"
    # Machine A, whose archive holds the moved folders, puts them back at its next start.
    here = recover_interrupted(machine.url, machine.artifacts, machine.artifacts / "_archive")
    assert here.problems == ()
    for number in (1, 2, 3):
        assert (machine.artifacts / f"held/{number}/decision.md").read_text() == (
            f"decision {number}\n")
