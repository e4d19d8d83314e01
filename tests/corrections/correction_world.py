"""The correction tests' world: a plan with five decisions and their artifact folders, and
readers of the database and the folders to compare before and after."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from store.corrections import (
    run_correction,
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

REPO = Path(__file__).resolve().parents[2]
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


def attempt_row(world: World, state: CorrectionState) -> str:
    attempt_id = f"01TEST{state.value.upper():0<20}"[:26]
    with session_scope(world.engine) as session:
        session.add(CorrectionAttempt(
            correction_attempt_id=attempt_id, plan_id=world.plan_id,
            original_decision_id=world.decision_ids[0], mode=CorrectionMode.APPEND,
            guidance="g", state=state, created_at=utc_now(),
        ))
    return attempt_id


def revert_decision(world: World) -> None:
    with session_scope(world.engine) as session:
        session.exec(sa.update(Decision)
                     .where(col(Decision.decision_id) == world.decision_ids[3])
                     .values(state=DecisionState.REVERTED))
