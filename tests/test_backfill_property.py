"""Property: 0003 migrates any legacy forest exactly as a plain Python reference says, on SQLite
and PostgreSQL: roots, repaired parents, recorded repairs, profile names and snapshots.

Forests are random: any depth up to 200 and more, any storage order, ids unrelated to the
shape, with dangling parents, parent cycles, self-loops and stale stored roots. Each example is
a real 0002 database (copied from a template) migrated by the real 0003.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from store import migrations
from store.db import create_db_engine, database_url

NOW = "2026-01-01T00:00:00.000000+00:00"
BUILTIN_PROFILES = {"manual", "supervised", "balanced", "autonomous"}
MAX_SPINE = 200


@dataclass(frozen=True)
class LegacyPlan:
    """A plans row as a 0002 database may hold it."""

    plan_id: str
    parent_plan_id: str | None
    root_plan_id: str | None
    automation_profile: str | None


# --- the reference: plain Python over the rows, written from the design's rules -------------


def true_roots(plans: list[LegacyPlan]) -> tuple[dict[str, str], dict[str, str]]:
    """Every plan's root, and the plans whose parent link is cut (plan -> reason).

    Follow parents up: a missing parent makes the topmost plan that exists an orphan root; a
    loop makes its smallest plan_id the root of everything on and below it.
    """
    parent = {p.plan_id: p.parent_plan_id for p in plans}
    roots: dict[str, str] = {}
    cut: dict[str, str] = {}
    for start in parent:
        path: list[str] = []
        node = start
        while node not in roots:
            if node in path:  # back on the path: a loop
                loop = path[path.index(node):]
                top = min(loop)
                cut[top] = "cycle"
                for member in loop:
                    roots[member] = top
                break
            path.append(node)
            up = parent[node]
            if up is None:
                roots[node] = node
                break
            if up not in parent:
                cut[node] = "orphan"
                roots[node] = node
                break
            node = up
        for member in reversed(path):
            if member not in roots:
                roots[member] = roots[parent[member]]  # type: ignore[index]
    return roots, cut


def profile_name(raw: str | None) -> tuple[str, bool]:
    """What a stored automation_profile means: NULL is `balanced`; a JSON object with a
    non-blank string profile_name is that name; anything else is kept as it is."""
    if raw is None:
        return "balanced", False
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):
        return raw, False
    name = parsed.get("profile_name") if isinstance(parsed, dict) else None
    if isinstance(name, str) and name.strip():
        return name, True
    return raw, False


@dataclass
class Expected:
    roots: dict[str, str]
    parents: dict[str, str | None]
    profiles: dict[str, str]
    repairs: Counter[tuple[str, str, str | None, str]]


def expected_after_0003(plans: list[LegacyPlan]) -> Expected:
    roots, cut = true_roots(plans)
    repairs: Counter[tuple[str, str, str | None, str]] = Counter()
    parents: dict[str, str | None] = {}
    profiles: dict[str, str] = {}
    for plan in plans:
        parents[plan.plan_id] = None if plan.plan_id in cut else plan.parent_plan_id
        if plan.plan_id in cut:
            reason = cut[plan.plan_id]
            repairs.update([(plan.plan_id, "parent_plan_id", plan.parent_plan_id, reason)])
        if plan.root_plan_id is not None and plan.root_plan_id != roots[plan.plan_id]:
            repairs.update([(plan.plan_id, "root_plan_id", plan.root_plan_id, "root_plan_id")])
        name, was_reference = profile_name(plan.automation_profile)
        profiles[plan.plan_id] = name
        if was_reference:
            old = plan.automation_profile
            repairs.update([(plan.plan_id, "automation_profile", old, "legacy")])
    return Expected(roots, parents, profiles, repairs)


# --- random legacy forests -------------------------------------------------------------------

# No NUL (PostgreSQL text cannot hold it) and no lone surrogates (not encodable).
free_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)
profile_values = st.one_of(
    st.none(),
    st.sampled_from(sorted(BUILTIN_PROFILES)),
    st.sampled_from(["turbo-mode", "Balanced", " balanced", "", "{", "[]", "null", '"manual"']),
    st.builds(
        lambda name, provenance: json.dumps({"profile_name": name, "provenance": provenance}),
        st.one_of(st.sampled_from(sorted(BUILTIN_PROFILES)), free_text, st.integers()),
        st.sampled_from(["global", "project", None]),
    ),
    st.sampled_from(
        ['{"provenance": "global"}', '{"profile_name": "supervis', ' {"profile_name": "manual"}']
    ),
    free_text,
)


@st.composite
def legacy_forests(draw: st.DrawFn) -> list[LegacyPlan]:
    """Legacy rows in the order they are stored."""
    spine = draw(st.integers(0, MAX_SPINE))  # one chain this deep: deep trees are always in play
    size = spine + draw(st.integers(1, 40))
    # Ids are a random relabelling, so which plan of a loop is smallest has nothing to do
    # with the shape.
    labels = draw(st.permutations(range(size)))
    ids = [f"P{label:04d}" for label in labels]
    parents: list[str | None] = []
    for index in range(size):
        if 0 < index < spine:
            kind = "previous"
        else:
            kind = draw(st.sampled_from(["root", "previous", "any", "any", "dangling", "self"]))
        if kind == "previous" and index > 0:
            parents.append(ids[index - 1])
        elif kind == "any":
            parents.append(ids[draw(st.integers(0, size - 1))])
        elif kind == "dangling":
            parents.append(f"GHOST{draw(st.integers(0, 3))}")
        elif kind == "self":
            parents.append(ids[index])
        else:
            parents.append(None)
    stored_roots = [
        draw(st.one_of(st.none(), st.sampled_from(ids), st.just("GHOSTROOT"))) for _ in ids
    ]
    plans = [
        LegacyPlan(ids[i], parents[i], stored_roots[i], draw(profile_values)) for i in range(size)
    ]
    return draw(st.permutations(plans))


def deep_chain_with_loop() -> list[LegacyPlan]:
    """200 deep below a root, stored leaf first, plus a 200-long loop with a plan below it."""
    chain = [
        LegacyPlan(f"C{n:04d}", f"C{n - 1:04d}" if n else None, None, None) for n in range(201)
    ]
    loop = [LegacyPlan(f"L{n:04d}", f"L{(n + 1) % 200:04d}", None, "manual") for n in range(200)]
    hanging = [LegacyPlan("M0000", "L0150", "C0000", '{"profile_name": "autonomous"}')]
    return list(reversed(chain)) + loop + hanging


# --- databases -------------------------------------------------------------------------------


@dataclass
class LegacyDatabases:
    """Hands each example an empty database at revision 0002: on SQLite a copy of a template
    file; on PostgreSQL the one test database with its schema dropped and migrated afresh
    (CREATE and DROP DATABASE cost seconds each on a busy server)."""

    url: str
    folder: Path

    def fresh(self) -> str:
        if self.url.startswith("sqlite"):
            path = self.folder / f"example-{uuid.uuid4().hex[:8]}.db"
            shutil.copy(make_url(self.url).database or "", path)
            return database_url(path)
        engine = create_db_engine(self.url)
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
        engine.dispose()
        migrations.upgrade(self.url, "0002")
        return self.url

    def discard(self, url: str) -> None:
        if url.startswith("sqlite"):
            Path(make_url(url).database or "").unlink()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def legacy_databases(request, tmp_path_factory) -> Iterator[LegacyDatabases]:
    folder = tmp_path_factory.mktemp("property")
    if request.param == "sqlite":
        url = database_url(folder / "template.db")
        migrations.upgrade(url, "0002")
        yield LegacyDatabases(url, folder)
        return
    with request.getfixturevalue("new_pg_database")() as url:
        yield LegacyDatabases(url, folder)


def seed(url: str, plans: list[LegacyPlan]) -> None:
    rows = [
        {
            "plan_id": plan.plan_id,
            "parent_plan_id": plan.parent_plan_id,
            "root_plan_id": plan.root_plan_id,
            "namespaced_name": f"prop/{plan.plan_id}",
            "namespace": "prop",
            "description": "random legacy plan",
            "automation_profile": plan.automation_profile,
            "created_at": NOW,
            "updated_at": NOW,
        }
        for plan in plans
    ]
    engine = create_db_engine(url, foreign_keys=False)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # dangling parents and roots are what 0002 databases hold; let them in
            connection.exec_driver_sql("SET session_replication_role = replica")
        plans_table = sa.table("plans", *(sa.column(name) for name in rows[0]))
        for row in rows:  # one by one: the storage order is part of the example
            connection.execute(plans_table.insert(), row)
    engine.dispose()


def read(url: str, sql: str) -> list[sa.Row]:
    engine = create_db_engine(url)
    with engine.connect() as connection:
        rows = list(connection.execute(sa.text(sql)))
    engine.dispose()
    return rows


REASON_KINDS = {
    "orphan": "orphan",
    "cycle": "cycle",
    "root_plan_id": "root_plan_id",
    "legacy JSON": "legacy",
}


def reason_kind(reason: str) -> str:
    return next(kind for start, kind in REASON_KINDS.items() if reason.startswith(start))


@settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(plans=legacy_forests())
@example(plans=deep_chain_with_loop())
def test_0003_backfill_equals_the_reference(legacy_databases: LegacyDatabases, plans) -> None:
    url = legacy_databases.fresh()
    try:
        seed(url, plans)
        migrations.upgrade(url, "0003")
        expected = expected_after_0003(plans)
        rows = read(
            url,
            "SELECT plan_id, parent_plan_id, root_plan_id, automation_profile,"
            " effective_profile_snapshot FROM plans",
        )
        assert {r.plan_id: r.root_plan_id for r in rows} == expected.roots
        assert {r.plan_id: r.parent_plan_id for r in rows} == expected.parents
        assert {r.plan_id: r.automation_profile for r in rows} == expected.profiles
        repairs = Counter(
            (r.plan_id, r.column_name, r.old_value, reason_kind(r.reason))
            for r in read(url, "SELECT plan_id, column_name, old_value, reason FROM plan_repairs")
        )
        assert repairs == expected.repairs
        definitions = {
            r.name: json.loads(r.settings_json)
            for r in read(url, "SELECT name, settings_json FROM automation_profiles")
        }
        for row in rows:
            snapshot = json.loads(row.effective_profile_snapshot)
            name = expected.profiles[row.plan_id]
            assert snapshot["source"] == "backfill"
            assert snapshot["profile_name"] == name
            assert snapshot["resolved"] is (name in BUILTIN_PROFILES)
            assert snapshot.get("settings") == definitions.get(name)
    finally:
        legacy_databases.discard(url)
