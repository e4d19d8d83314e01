"""The demo database: writes the workspace `store.demo_data` describes, with artifact folders.

Everything is deterministic (ids, timestamps, text) so screenshots and snapshot tests are
stable: ids and times come from the demo clock, never from the wall clock.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select
from ulid import ULID

from store import decisions, profiles
from store.corrections.preview import preview
from store.db import (
    StoreError,
    archive_root,
    artifacts_root,
    check_supported_url,
    create_db_engine,
    database_url,
    remove_sqlite_files,
    session_scope,
    sqlite_path,
)
from store.demo_data import (
    CORRECTIONS,
    DECISION_POOL,
    DRIFTED_PROFILES,
    FIRST_KEYS,
    FOREST,
    LEGACY_PLANS,
    MAX_DECISIONS,
    MIN_DECISIONS,
    PROJECT_ALIASES,
    REPAIRS,
    SHARED_PROJECT,
    DemoCorrection,
    DemoPlan,
    stable_number,
)
from store.migrations import upgrade
from store.models import (
    DEFAULT_PROFILE,
    ArgType,
    AutomationProfile,
    CorrectionAttempt,
    CorrectionMode,
    CorrectionState,
    Decision,
    DecisionState,
    InvariantScope,
    Plan,
    PlanArgument,
    PlanInvariant,
    PlanPhase,
    PlanProject,
    PlanRepair,
    ProcessingState,
)
from store.phase_timestamps import phase_timestamps
from store.plans.rows import table_of

DEMO_EPOCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Minutes after creation at which a plan reached each phase (or completed, after the last).
PHASE_OFFSETS = {"strategized_at": 40, "executed_at": 95, "applied_at": 150}
COMPLETED_AFTER = 12


def demo_id(key: str, minutes: int) -> str:
    """A stable ULID: the demo clock for its time part, a hash of `key` for the rest."""
    stamp = int((DEMO_EPOCH + timedelta(minutes=minutes)).timestamp() * 1000)
    return str(
        ULID.from_bytes(stamp.to_bytes(6, "big") + hashlib.sha256(key.encode()).digest()[:10])
    )


def demo_time(minutes: int) -> str:
    return (DEMO_EPOCH + timedelta(minutes=minutes)).isoformat(timespec="microseconds")


@dataclass
class DemoBuild:
    """What writing the demo needs as it goes: the session, the clock and the ids so far."""

    session: Session
    artifacts: Path
    clock: Iterator[int] = field(default_factory=lambda: itertools.count(7, 7))
    ids: dict[str, str] = field(default_factory=dict)  # plan key -> plan id
    minutes: dict[str, int] = field(default_factory=dict)  # plan key -> creation minute
    # set once the decisions are written (decision_root_id points at one)
    decision_roots: list[dict[str, str]] = field(default_factory=list)
    # Rows of the tables below plans, written in one INSERT per table: one ORM flush per
    # row made the demo several times slower than its 2 s budget.
    rows: dict[type[SQLModel], list[dict[str, Any]]] = field(
        default_factory=lambda: {Plan: [], Decision: [], PlanProject: [], PlanArgument: [],
                                 PlanInvariant: []})


def _write_artifacts(folder: Path, title: str, plan_name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    # One file per folder: file writes are most of the time the demo takes.
    (folder / "decision.md").write_text(f"# {title}\n\nDecided while running {plan_name}.\n")


def _timestamps(spec: DemoPlan, minute: int) -> dict[str, str | None]:
    """The phase timestamps the plan's phase and state imply, at the demo's offsets."""
    implied = phase_timestamps(spec.phase, spec.state, "implied")
    stamps: dict[str, str | None] = {}
    last = 0
    for column, offset in PHASE_OFFSETS.items():
        stamps[column] = demo_time(minute + offset) if implied[column] else None
        last = offset if implied[column] else last
    stamps["completed_at"] = (
        demo_time(minute + last + COMPLETED_AFTER) if implied["completed_at"] else None)
    return stamps


def _decision_titles(spec: DemoPlan) -> tuple[tuple[str, PlanPhase], ...]:
    """The plan's own decisions, then generated ones up to between three and eight."""
    own_phase = spec.phase if spec.phase != PlanPhase.APPLIED else PlanPhase.EXECUTE
    titles = [(title, own_phase) for title in spec.decisions]
    wanted = spec.decision_count or (
        MIN_DECISIONS if spec.key in FIRST_KEYS
        else MIN_DECISIONS + stable_number(spec.key) % (MAX_DECISIONS - MIN_DECISIONS + 1))
    pool_phase = spec.phase if spec.phase != PlanPhase.APPLIED else PlanPhase.APPLY
    pool = DECISION_POOL[pool_phase]
    start = stable_number(spec.key + "#pool")
    for number in range(max(wanted, len(titles)) - len(titles)):
        titles.append((pool[(start + number) % len(pool)], pool_phase))
    return tuple(titles)


def _links(spec: DemoPlan, plan_id: str, minute: int) -> dict[type[SQLModel], list[dict[str, Any]]]:
    """Rows of one plan's projects, arguments and invariants, by table."""
    namespace = spec.name.split("/")[0]
    projects = [{"plan_id": plan_id, "project_name": namespace,
                 "alias": PROJECT_ALIASES.get(namespace), "read_only": False,
                 "created_at": demo_time(minute)}]
    if stable_number(spec.key + "#shared") % 3 == 0:
        name, alias = SHARED_PROJECT
        projects.append({"plan_id": plan_id, "project_name": name, "alias": alias,
                         "read_only": True, "created_at": demo_time(minute + 1)})
    return {
        PlanProject: projects,
        PlanArgument: [
            {"plan_id": plan_id, "name": "owner", "value_json": json.dumps("team-" + namespace),
             "value_type": ArgType.STRING.value, "position": 0},
            {"plan_id": plan_id, "name": "max_attempts", "value_json": "3",
             "value_type": ArgType.INTEGER.value, "position": 1},
        ],
        PlanInvariant: [
            {"plan_id": plan_id, "invariant_text": "Never write to production without a backup",
             "source_scope": InvariantScope.GLOBAL.value, "position": 0,
             "created_at": demo_time(minute)},
            {"plan_id": plan_id, "invariant_text": f"Stay inside {spec.name}",
             "source_scope": InvariantScope.PLAN.value, "position": 1,
             "created_at": demo_time(minute)},
        ],
    }


def _execution(spec: DemoPlan) -> dict[str, str]:
    """Execution placeholders of a plan that got past execute: what the executor produced."""
    if spec.phase not in (PlanPhase.APPLY, PlanPhase.APPLIED):
        return {}
    digest = hashlib.sha256(spec.key.encode()).hexdigest()
    checks = 4 + stable_number(spec.key) % 9
    failed = 1 if spec.state == ProcessingState.ERRORED else 0
    return {
        "changeset_id": f"cs-{digest[:12]}",
        "sandbox_refs_json": json.dumps(
            [{"sandbox": f"sbx-{digest[12:20]}", "ref": f"refs/heads/plan/{spec.key}"}],
            sort_keys=True),
        "validation_summary_json": json.dumps(
            {"checks": checks, "passed": checks - failed, "failed": failed,
             "warnings": ["2 tests skipped on arm64"] if checks % 3 == 0 else []},
            sort_keys=True),
    }


def _add_plan(build: DemoBuild, spec: DemoPlan, parent_id: str | None,
              root_id: str | None = None) -> int:
    session = build.session
    minute = next(build.clock)
    now = demo_time(minute)
    plan_id = demo_id(spec.key, minute)
    profile_name = spec.profile or DEFAULT_PROFILE
    if spec.key in LEGACY_PLANS:  # snapshots of migrated plans are backfills
        snapshot = profiles.snapshot_of(
            profile_name, session.get(AutomationProfile, profile_name), source="backfill",
            captured_at=demo_time(minute + 1))
    else:
        snapshot = profiles.creation_snapshot(session, profile_name, now=now)
    errored = spec.state == ProcessingState.ERRORED
    # As plans.create_plan builds a plan (validated), but written with the other rows in one
    # INSERT: the demo knows each plan's root, so no query per plan is needed.
    plan = Plan.model_validate({
        "plan_id": plan_id,
        "parent_plan_id": parent_id,
        "root_plan_id": root_id or plan_id,
        "namespaced_name": spec.name,
        "namespace": spec.name.split("/", 1)[0],
        "description": spec.description,
        "automation_profile": profile_name,
        "effective_profile_snapshot": snapshot,
        "phase": spec.phase,
        "processing_state": spec.state,
        "created_at": now,
        "updated_at": now,
        "created_by": "demo-agent",
        "tags_json": json.dumps([spec.name.split("/")[0], "demo"]),
        "error_message": (spec.error or "Replica lag exceeded 5 s") if errored else None,
        **_timestamps(spec, minute),
        **_execution(spec),
    })
    build.rows[Plan].append(plan.model_dump())
    build.ids[spec.key] = plan.plan_id
    build.minutes[spec.key] = minute
    for model, rows in _links(spec, plan.plan_id, minute).items():
        build.rows[model].extend(rows)
    previous: str | None = None
    first: str | None = None
    for number, (title, phase) in enumerate(_decision_titles(spec), start=1):
        relative = f"{spec.key}/{number:02d}"
        _write_artifacts(build.artifacts / relative, title, spec.name)
        decision_id = demo_id(f"{spec.key}#{number}", minute + number)
        build.rows[Decision].append({
            "decision_id": decision_id,
            "plan_id": plan.plan_id,
            "parent_decision_id": previous,
            "sequence": number,
            "phase": phase.value,
            "title": title,
            "rationale": f"Chosen while {spec.description[0].lower()}{spec.description[1:]}",
            "state": DecisionState.ACTIVE.value,
            "artifacts_path": decisions.checked_artifacts_path(relative),
            "created_at": demo_time(minute + number),
        })
        previous = decision_id
        first = first or decision_id
    if first is not None and spec.phase in (PlanPhase.APPLY, PlanPhase.APPLIED):
        build.decision_roots.append({"b_plan_id": plan.plan_id, "b_root": first})
    count = 1
    for child in spec.children:
        count += _add_plan(build, child, plan.plan_id, plan.root_plan_id)
    return count


def _add_repairs(build: DemoBuild) -> None:
    """plan_repairs rows as migrations 0003 and 0005 write them for a legacy database."""
    for repair in REPAIRS:
        old_value = repair.old_value
        if old_value is not None and old_value.startswith("{") and old_value[1:-1] in build.ids:
            old_value = build.ids[old_value[1:-1]]  # "{key}": the id of a demo plan
        build.session.add(PlanRepair(
            plan_id=build.ids[repair.plan_key], column_name=repair.column_name,
            old_value=old_value, reason=repair.reason, repaired_at=demo_time(5)))


def _add_correction(build: DemoBuild, correction: DemoCorrection, archive: Path) -> None:
    """One correction attempt as `store.corrections` leaves it, its preview computed by the
    same code; the demo writes the outcome itself so that ids and times stay fixed."""
    session = build.session
    plan_id = build.ids[correction.plan_key]
    target = session.exec(select(Decision).where(
        Decision.plan_id == plan_id, Decision.sequence == correction.decision)).one()
    minute = next(build.clock)
    attempt_id = demo_id(f"correction:{correction.plan_key}#{correction.decision}", minute)
    attempt = CorrectionAttempt(
        correction_attempt_id=attempt_id, plan_id=plan_id,
        original_decision_id=target.decision_id, mode=CorrectionMode(correction.mode),
        guidance=correction.guidance, created_at=demo_time(minute),
        completed_at=demo_time(minute + 1),
    )
    if correction.failure_reason is not None:  # rolled back: only the attempt remains
        attempt.state = CorrectionState.FAILED
        attempt.failure_reason = correction.failure_reason
        session.add(attempt)
        session.flush()
        return
    seen = preview(session, plan_id, target.decision_id, attempt.mode,
                   artifacts_root=build.artifacts, archive_root=archive, own_attempt_id=None)
    folder = archive / attempt_id
    for move in seen.moves:
        destination = folder / move.destination
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.rename(build.artifacts / move.source, destination)
    for decision in seen.reverted:
        decision.state = DecisionState.REVERTED
        session.add(decision)
    new = decisions.record_decision(
        session, decision_id=demo_id(f"{attempt_id}#new", minute + 1), plan_id=plan_id,
        title=seen.new_title, phase=seen.new_phase, rationale=attempt.guidance,
        parent_decision_id=seen.new_parent_decision_id, now=demo_time(minute + 1))
    plan = session.get(Plan, plan_id)
    assert plan is not None
    stamps = phase_timestamps(seen.plan_phase_after, ProcessingState.QUEUED,
                              demo_time(minute + 1), plan.model_dump())
    plan.phase, plan.processing_state = seen.plan_phase_after, ProcessingState.QUEUED
    for column, stamp in stamps.items():
        setattr(plan, column, stamp)
    plan.updated_at = demo_time(minute + 1)
    attempt.state = CorrectionState.COMPLETE
    attempt.new_decision_id = new.decision_id
    if seen.moves:
        attempt.archived_artifacts_path = folder.relative_to(build.artifacts).as_posix()
    session.add_all([plan, attempt])
    session.flush()


def create_demo(target: str | Path) -> tuple[str, int]:
    """Create the demo database at `target` (a path or URL) and its artifact folders.

    Returns the URL and how many plans were written. Refuses to touch an existing database.
    """
    url = database_url(str(target))
    check_supported_url(url)  # before the folder checks: an unsupported URL is the real error
    path = sqlite_path(url)
    if path is not None and path.exists():
        raise StoreError(f"{path} already exists; the demo is only written to a new file.")
    artifacts = artifacts_root(url)
    if artifacts.exists():
        raise StoreError(f"{artifacts} already exists; the demo only writes to new folders.")
    try:
        upgrade(url)
        engine = create_db_engine(url)
        try:
            with session_scope(engine) as session:
                # The migration stamped the built-in profiles with the wall clock.
                session.execute(sa.update(AutomationProfile).values(updated_at=demo_time(0)))
                build = DemoBuild(session, artifacts)
                total = sum(_add_plan(build, spec, None) for spec in FOREST)
                for model, rows in build.rows.items():
                    session.execute(sa.insert(model), rows)
                plan_table = table_of(Plan)
                session.execute(
                    sa.update(plan_table)
                    .where(plan_table.c.plan_id == sa.bindparam("b_plan_id"))
                    .values(decision_root_id=sa.bindparam("b_root")),
                    build.decision_roots)
                _add_repairs(build)
                for correction in CORRECTIONS:
                    _add_correction(build, correction, archive_root(url))
                for name, (description, settings) in DRIFTED_PROFILES.items():
                    profiles.set_profile(session, name, settings, description, now=demo_time(600))
        finally:
            engine.dispose()
    except BaseException:
        shutil.rmtree(artifacts, ignore_errors=True)
        if path is not None:
            remove_sqlite_files(path)
        raise
    return url, total
