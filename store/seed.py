"""Synthetic plan databases for benchmarks and migration tests, at head or in an older shape.

At revision 0002 the data is written the way a legacy platform left it: children stored
before their parents, root_plan_id mostly NULL (some wrong), orphans, a 3-cycle and a
self-loop, and automation_profile as NULL, bare names, legacy JSON references or unknown text.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from ulid import ULID

from store import migrations
from store.db import (
    StoreError,
    create_db_engine,
    display_name,
    remove_sqlite_files,
    sqlite_path,
    translated_errors,
)
from store.models import DEFAULT_PROFILE, utc_now
from store.phase_timestamps import TIMESTAMP_COLUMNS, phase_timestamps

INSERT_CHUNK = 20_000
BUILTIN_NAMES = ("manual", "supervised", "balanced", "autonomous")
PHASES = ("strategize", "execute", "apply", "applied")
STATES = ("queued", "processing", "errored", "complete", "cancelled")


@dataclass(frozen=True)
class SeedPlan:
    plan_id: str
    parent_plan_id: str | None
    root_plan_id: str
    depth: int


def synthetic_id(rng: random.Random, index: int) -> str:
    """ULIDs in creation order with reproducible randomness."""
    stamp = 1_750_000_000_000 + index
    return str(ULID.from_bytes(stamp.to_bytes(6, "big") + rng.randbytes(10)))


def generate_forest(
    count: int, max_depth: int, *, wide: int = 0, rng: random.Random
) -> list[SeedPlan]:
    """`count` plans in trees no deeper than `max_depth` levels; the first tree reaches it.

    With `wide`, the first root gets that many direct children before anything else.
    """
    plans: list[SeedPlan] = []
    tree_size = max(max_depth * 4, 200)
    tree: list[SeedPlan] = []
    for index in range(count):
        plan_id = synthetic_id(rng, index)
        if not plans or (index >= wide + 1 and len(tree) >= tree_size):
            node = SeedPlan(plan_id, None, plan_id, 0)
            tree = [node]
        elif index <= wide:
            root = plans[0]
            node = SeedPlan(plan_id, root.plan_id, root.plan_id, 1)
        else:
            last = tree[-1]
            spine = len(tree) < max_depth  # every tree first grows one chain to full depth
            if last.depth + 1 < max_depth and (spine or rng.random() < 0.6):
                parent = last
            else:
                parent = rng.choice(tree)
                if parent.depth + 1 >= max_depth:
                    parent = tree[0]
            node = SeedPlan(plan_id, parent.plan_id, parent.root_plan_id, parent.depth + 1)
        tree.append(node)
        plans.append(node)
    return plans


def _legacy_profile(rng: random.Random) -> str | None:
    roll = rng.random()
    if roll < 0.35:
        return None
    if roll < 0.75:
        return rng.choice(BUILTIN_NAMES)
    if roll < 0.95:
        return json.dumps({"profile_name": rng.choice(BUILTIN_NAMES), "provenance": "global"})
    return "turbo-mode"


def _plan_row(plan: SeedPlan, index: int, now: str, rng: random.Random) -> dict[str, object]:
    namespace = f"ns{index % 37:02d}"
    return {
        "plan_id": plan.plan_id,
        "parent_plan_id": plan.parent_plan_id,
        "namespaced_name": f"{namespace}/task-{index}",
        "namespace": namespace,
        "description": f"Synthetic plan {index} at depth {plan.depth}",
        "phase": PHASES[index % len(PHASES)],
        "processing_state": STATES[index % len(STATES)],
        "created_at": now,
        "updated_at": now,
    }


def legacy_rows(plans: list[SeedPlan], rng: random.Random) -> Iterator[dict[str, object]]:
    """Rows in the 0001/0002 shape, deepest plans first, with the damage a legacy DB has."""
    now = utc_now()
    by_depth = sorted(range(len(plans)), key=lambda i: -plans[i].depth)
    for index in by_depth:
        plan = plans[index]
        row = _plan_row(plan, index, now, rng)
        roll = rng.random()
        if plan.parent_plan_id is None or roll < 0.1:
            row["root_plan_id"] = plan.root_plan_id
        elif roll < 0.15:
            row["root_plan_id"] = plan.parent_plan_id  # the old one-level backfill's mistake
        else:
            row["root_plan_id"] = None
        row["automation_profile"] = _legacy_profile(rng)
        yield row


def damage(plans: list[SeedPlan]) -> dict[str, str]:
    """Parent links to overwrite: two orphans, a 3-cycle and a self-loop (plan_id -> parent)."""
    roots = [p for p in plans if p.parent_plan_id is None]
    children = [p for p in plans if p.parent_plan_id is not None]
    changes: dict[str, str] = {}
    if len(children) >= 2:
        changes[children[-1].plan_id] = "01ORPHAN0000000000000000AA"
        changes[children[-2].plan_id] = "01ORPHAN0000000000000000BB"
    if len(roots) >= 3:
        a, b, c = roots[-3].plan_id, roots[-2].plan_id, roots[-1].plan_id
        changes.update({a: b, b: c, c: a})
    if len(roots) >= 4:
        changes[roots[-4].plan_id] = roots[-4].plan_id
    return changes


def head_rows(
    plans: list[SeedPlan], rng: random.Random, *, timestamps: bool = True
) -> Iterator[dict[str, object]]:
    """Rows in the 0003+ shape; with `timestamps` (0005 on) the phase timestamps too."""
    now = utc_now()
    snapshot = json.dumps(
        {
            "profile_name": DEFAULT_PROFILE,
            "source": "creation",
            "resolved": True,
            "captured_at": now,
        }
    )
    for index, plan in enumerate(plans):
        row = _plan_row(plan, index, now, rng)
        row["root_plan_id"] = plan.root_plan_id
        row["automation_profile"] = DEFAULT_PROFILE
        row["effective_profile_snapshot"] = snapshot
        if timestamps:
            row.update(phase_timestamps(str(row["phase"]), str(row["processing_state"]), now))
        yield row


def _chunks(rows: Iterator[dict[str, object]]) -> Iterator[list[dict[str, object]]]:
    chunk: list[dict[str, object]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= INSERT_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def seed_database(
    url: str,
    plan_count: int,
    max_depth: int,
    *,
    revision: str = "head",
    wide: int = 0,
    random_seed: int = 7,
    progress: Callable[[str], None] | None = None,
) -> str:
    """Write a new synthetic database at `url` in the shape of `revision`."""
    target = migrations.head_revision() if revision == "head" else revision
    if target not in migrations.known_revisions():
        raise StoreError(f"Unknown revision {revision!r}.")
    if migrations.known_revisions().index(target) < 1:
        raise StoreError("Plans and decisions exist from revision 0002 on; seed 0002 or later.")
    legacy = migrations.known_revisions().index(target) < 2
    revisions = migrations.known_revisions()
    timestamps = revisions.index(target) >= revisions.index("0005")  # 0005 added them
    if wide >= plan_count:
        raise ValueError("--wide must be smaller than --plans.")
    path = sqlite_path(url)
    if path is not None and path.exists():
        raise StoreError(f"{path} already exists; seed writes a new database.")
    status = migrations.inspect_database(url, must_exist=False)
    if status.current is not None:
        raise StoreError(f"{status.where} is not empty; seed writes a new database.")
    rng = random.Random(random_seed)
    plans = generate_forest(plan_count, max_depth, wide=wide, rng=rng)
    try:
        migrations.upgrade(url, target)
        engine = create_db_engine(url, foreign_keys=not legacy)
        table = sa.table(
            "plans",
            *(
                sa.column(name)
                for name in (
                    "plan_id",
                    "parent_plan_id",
                    "root_plan_id",
                    "namespaced_name",
                    "namespace",
                    "description",
                    "phase",
                    "processing_state",
                    "created_at",
                    "updated_at",
                    "automation_profile",
                    *(() if legacy else ("effective_profile_snapshot",)),
                    *(TIMESTAMP_COLUMNS if timestamps else ()),
                )
            ),
        )
        with translated_errors(url), engine.begin() as connection:
            if legacy and connection.dialect.name == "postgresql":
                # Legacy damage (orphans) can only exist with FK triggers off for this session.
                connection.exec_driver_sql("SET session_replication_role = replica")
            rows = (
                legacy_rows(plans, rng)
                if legacy
                else head_rows(plans, rng, timestamps=timestamps)
            )
            written = 0
            for chunk in _chunks(rows):
                connection.execute(table.insert(), chunk)
                written += len(chunk)
                if progress is not None and written % 200_000 < INSERT_CHUNK:
                    progress(f"{written:,} plans written")
            if legacy:
                for plan_id, parent in damage(plans).items():
                    connection.execute(
                        sa.text("UPDATE plans SET parent_plan_id = :parent WHERE plan_id = :id"),
                        {"parent": parent, "id": plan_id},
                    )
        engine.dispose()
    except BaseException:
        if path is not None:
            remove_sqlite_files(path)
        raise
    depth = max(p.depth for p in plans) + 1
    return (
        f"wrote {plan_count:,} plans (max depth {depth}, revision {target}"
        f"{', legacy damage' if legacy else ''}) to {display_name(url)}"
    )
