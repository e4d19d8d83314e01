"""The demo database: realistic plan trees, decisions with artifact folders, drifted profiles.

Everything is deterministic (ids, timestamps, text) so screenshots and snapshot tests are
stable.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session
from ulid import ULID

from store import decisions, plans, profiles
from store.db import (
    StoreError,
    artifacts_root,
    create_db_engine,
    database_url,
    remove_sqlite_files,
    session_scope,
    sqlite_path,
)
from store.migrations import upgrade
from store.models import (
    DEFAULT_PROFILE,
    ArgType,
    InvariantScope,
    PlanArgument,
    PlanInvariant,
    PlanPhase,
    PlanProject,
    ProcessingState,
)

DEMO_EPOCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def demo_id(key: str, minutes: int) -> str:
    """A stable ULID: the demo clock for its time part, a hash of `key` for the rest."""
    stamp = int((DEMO_EPOCH + timedelta(minutes=minutes)).timestamp() * 1000)
    return str(
        ULID.from_bytes(stamp.to_bytes(6, "big") + hashlib.sha256(key.encode()).digest()[:10])
    )


def demo_time(minutes: int) -> str:
    return (DEMO_EPOCH + timedelta(minutes=minutes)).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class DemoPlan:
    key: str
    name: str
    description: str
    children: tuple[DemoPlan, ...] = ()
    phase: PlanPhase = PlanPhase.EXECUTE
    state: ProcessingState = ProcessingState.PROCESSING
    profile: str | None = None
    decisions: tuple[str, ...] = ()


def P(key: str, name: str, description: str, *children: DemoPlan, **kwargs: object) -> DemoPlan:
    return DemoPlan(key, name, description, tuple(children), **kwargs)  # type: ignore[arg-type]


DONE = {"phase": PlanPhase.APPLIED, "state": ProcessingState.COMPLETE}
FAILED = {"phase": PlanPhase.EXECUTE, "state": ProcessingState.ERRORED}
WAITING = {"phase": PlanPhase.STRATEGIZE, "state": ProcessingState.QUEUED}

FOREST: tuple[DemoPlan, ...] = (
    P(
        "billing",
        "billing/migrate-invoices",
        "Move invoice storage from the monolith to the billing service without losing a cent.",
        P(
            "billing.schema",
            "billing/design-schema",
            "Design the invoices schema in the billing service.",
            P(
                "billing.schema.review",
                "billing/review-schema",
                "Get the schema reviewed by the data team.",
                **DONE,
                decisions=("Accept the reviewers' index changes",),
            ),
            P(
                "billing.schema.ddl",
                "billing/write-ddl",
                "Write and test the DDL migrations.",
                P(
                    "billing.schema.ddl.pg",
                    "billing/ddl-postgres",
                    "Apply the DDL on the staging PostgreSQL cluster.",
                    P(
                        "billing.schema.ddl.pg.verify",
                        "billing/verify-constraints",
                        "Verify every foreign key and CHECK on staging.",
                        **WAITING,
                    ),
                    decisions=(
                        "Use NOT VALID then VALIDATE for the big FKs",
                        "Run the migration in the 02:00 window",
                    ),
                ),
                decisions=("Split the DDL into three revisions",),
            ),
            **DONE,
            decisions=("Key invoices by ULID", "Store money as integer cents"),
        ),
        P(
            "billing.backfill",
            "billing/backfill-invoices",
            "Copy twelve years of invoices in batches of 10,000 rows.",
            P(
                "billing.backfill.dryrun",
                "billing/dry-run",
                "Dry-run the backfill on a snapshot.",
                **DONE,
                decisions=("Batch size 10,000 keeps replication lag under 2 s",),
            ),
            P(
                "billing.backfill.run",
                "billing/run-backfill",
                "Run the backfill for real.",
                **FAILED,
                decisions=(
                    "Pause the backfill when lag exceeds 5 s",
                    "Retry failed batches three times",
                    "Skip invoices with a NULL customer",
                ),
            ),
            profile="supervised",
            decisions=("Backfill oldest invoices first",),
        ),
        profile="supervised",
        decisions=(
            "Migrate in three stages: schema, backfill, cut-over",
            "Keep the monolith writable until cut-over",
        ),
    ),
    P(
        "search",
        "search/reindex-catalog",
        "Rebuild the product search index with the new tokenizer.",
        P(
            "search.tokenizer",
            "search/evaluate-tokenizer",
            "Compare the new tokenizer on the top 1,000 queries.",
            P(
                "search.tokenizer.golden",
                "search/golden-queries",
                "Assemble golden query sets per locale.",
                P(
                    "search.tokenizer.golden.de",
                    "search/golden-queries-de",
                    "German compound words need their own set.",
                    **WAITING,
                ),
                P(
                    "search.tokenizer.golden.ja",
                    "search/golden-queries-ja",
                    "Japanese needs morphological analysis.",
                    **WAITING,
                    profile="manual",
                ),
                **DONE,
                decisions=("Twelve locales, 200 queries each",),
            ),
            decisions=("Use nDCG@10 as the acceptance metric",),
        ),
        P(
            "search.shadow",
            "search/shadow-traffic",
            "Serve 5% shadow traffic from the new index.",
            **WAITING,
        ),
        profile=DEFAULT_PROFILE,
        decisions=(
            "Build the new index beside the old one",
            "Switch the alias only after shadow traffic is clean",
        ),
    ),
    P(
        "infra",
        "infra/upgrade-postgres",
        "Upgrade the primary database cluster from PostgreSQL 14 to 16.",
        P(
            "infra.replica",
            "infra/upgrade-replicas",
            "Upgrade the read replicas first.",
            P(
                "infra.replica.eu",
                "infra/replica-eu",
                "Upgrade the EU replica.",
                P(
                    "infra.replica.eu.check",
                    "infra/replica-eu-checksums",
                    "Compare checksums before and after.",
                    **DONE,
                    decisions=("pg_checksums on every data directory",),
                ),
                **DONE,
                decisions=("Use pg_upgrade --link",),
            ),
            P(
                "infra.replica.us",
                "infra/replica-us",
                "Upgrade the US replica.",
                **FAILED,
                decisions=("Use pg_upgrade --link", "Roll back after the extension mismatch"),
            ),
            decisions=("One region at a time",),
        ),
        profile="autonomous",
        decisions=("Blue/green with logical replication",),
    ),
    P(
        "docs",
        "docs/refresh-api-reference",
        "Regenerate the API reference from the OpenAPI "
        "spec; the old one says [@click=app.quit]boom[/] and \x1b[31mred\x1b[0m literally.",
        P(
            "docs.examples",
            "docs/fix-examples",
            "Make every example in the reference runnable.",
            P(
                "docs.examples.python",
                "docs/examples-python",
                "Python examples.",
                P(
                    "docs.examples.python.async",
                    "docs/examples-python-async",
                    "Async client examples.",
                    **WAITING,
                ),
                decisions=("Test examples with pytest --doctest-glob",),
            ),
            **WAITING,
        ),
        profile="turbo-mode",
        **WAITING,
        decisions=("Generate from the spec, never by hand",),
    ),
)

DRIFTED_PROFILES: dict[str, tuple[str, dict[str, Any]]] = {
    DEFAULT_PROFILE: (
        "Agents plan and execute freely; applying needs a person.",
        {
            "auto_strategize": True,
            "auto_execute": True,
            "auto_apply": False,
            "require_review": True,
            "max_parallel_children": 6,
        },
    ),
    "supervised": (
        "Agents plan and execute; a person reviews and applies.",
        {
            "auto_strategize": True,
            "auto_execute": False,
            "auto_apply": False,
            "require_review": True,
            "max_parallel_children": 2,
            "notify_channel": "#plans",
        },
    ),
}


def _write_artifacts(folder: Path, title: str, plan_name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "decision.md").write_text(f"# {title}\n\nDecided while running {plan_name}.\n")
    (folder / "evidence.json").write_text(json.dumps({"plan": plan_name, "title": title}) + "\n")


def _add_plan(
    session: Session, spec: DemoPlan, parent_id: str | None, clock: Iterator[int],
    artifacts: Path,
) -> int:
    minute = next(clock)
    plan = plans.create_plan(
        session,
        plan_id=demo_id(spec.key, minute),
        namespaced_name=spec.name,
        description=spec.description,
        parent_plan_id=parent_id,
        automation_profile=spec.profile,
        phase=spec.phase,
        processing_state=spec.state,
        now=demo_time(minute),
        created_by="demo-agent",
        tags_json=json.dumps([spec.name.split("/")[0], "demo"]),
        error_message="Replica lag exceeded 5 s" if spec.state == ProcessingState.ERRORED else None,
    )
    session.add(
        PlanProject(
            plan_id=plan.plan_id,
            project_name=spec.name.split("/")[0],
            created_at=demo_time(minute),
        )
    )
    session.add(
        PlanArgument(
            plan_id=plan.plan_id,
            name="owner",
            value_json=json.dumps("team-" + spec.name.split("/")[0]),
            value_type=ArgType.STRING,
            position=0,
        )
    )
    session.add(
        PlanArgument(
            plan_id=plan.plan_id,
            name="max_attempts",
            value_json="3",
            value_type=ArgType.INTEGER,
            position=1,
        )
    )
    session.add(
        PlanInvariant(
            plan_id=plan.plan_id,
            invariant_text="Never write to production without a backup",
            source_scope=InvariantScope.GLOBAL,
            position=0,
            created_at=demo_time(minute),
        )
    )
    session.add(
        PlanInvariant(
            plan_id=plan.plan_id,
            invariant_text=f"Stay inside {spec.name}",
            source_scope=InvariantScope.PLAN,
            position=1,
            created_at=demo_time(minute),
        )
    )
    previous: str | None = None
    for number, title in enumerate(spec.decisions, start=1):
        relative = f"{spec.key}/{number:02d}"
        _write_artifacts(artifacts / relative, title, spec.name)
        decision = decisions.record_decision(
            session,
            decision_id=demo_id(f"{spec.key}#{number}", minute + number),
            plan_id=plan.plan_id,
            title=title,
            phase=spec.phase if spec.phase != PlanPhase.APPLIED else PlanPhase.EXECUTE,
            rationale=f"Chosen while {spec.description[0].lower()}{spec.description[1:]}",
            parent_decision_id=previous,
            artifacts_path=relative,
            now=demo_time(minute + number),
        )
        previous = decision.decision_id
    count = 1
    for child in spec.children:
        count += _add_plan(session, child, plan.plan_id, clock, artifacts)
    return count


def create_demo(target: str | Path) -> tuple[str, int]:
    """Create the demo database at `target` (a path or URL) and its artifact folders.

    Returns the URL and how many plans were written. Refuses to touch an existing database.
    """
    url = database_url(str(target))

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
                clock = itertools.count(7, 7)  # minutes: each plan 7 after the last
                total = sum(_add_plan(session, spec, None, clock, artifacts) for spec in FOREST)
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
