"""pytest-alembic's built-in checks, on SQLite and on the real PostgreSQL, with data in place."""

from __future__ import annotations

import pytest
from pytest_alembic import Config as PytestAlembicConfig
from pytest_alembic.tests import (  # noqa: F401  (collected as tests here)
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)

from store import migrations
from store.db import create_db_engine

NOW = "2026-01-01T00:00:00.000000+00:00"
LEGACY_PLANS = [
    {
        "plan_id": "01HZZROOT00000000000000000",
        "parent_plan_id": None,
        "root_plan_id": None,
        "namespaced_name": "ops/root",
        "namespace": "ops",
        "description": "root",
        "automation_profile": None,
        "created_at": NOW,
        "updated_at": NOW,
    },
    {
        "plan_id": "01HZZCHILD0000000000000000",
        "parent_plan_id": "01HZZROOT00000000000000000",
        "root_plan_id": None,
        "namespaced_name": "ops/child",
        "namespace": "ops",
        "description": "child",
        "automation_profile": '{"profile_name": "manual", "provenance": "x"}',
        "created_at": NOW,
        "updated_at": NOW,
    },
]
DECISIONS = [
    {
        "decision_id": "01HZZDEC00000000000000000A",
        "plan_id": "01HZZCHILD0000000000000000",
        "sequence": 1,
        "phase": "execute",
        "title": "first",
        "created_at": NOW,
    },
]


# Before 0005: a project link to backfill and a plan with an empty profile to repair.
BEFORE_0005 = [
    {
        "__tablename__": "plans",
        "plan_id": "01HZZEMPTY0000000000000000",
        "root_plan_id": "01HZZEMPTY0000000000000000",
        "namespaced_name": "ops/empty-profile",
        "namespace": "ops",
        "description": "empty profile",
        "automation_profile": "",
        "effective_profile_snapshot": '{"profile_name": "", "source": "creation"}',
        "created_at": NOW,
        "updated_at": NOW,
    },
    {
        "__tablename__": "plan_projects",
        "plan_id": "01HZZROOT00000000000000000",
        "project_name": "ops",
    },
]


@pytest.fixture
def alembic_config():
    return PytestAlembicConfig(
        alembic_config=migrations.alembic_config(),
        before_revision_data={
            "0002": [{"__tablename__": "plans", **row} for row in LEGACY_PLANS],
            "0003": [{"__tablename__": "decisions", **row} for row in DECISIONS],
            "0005": BEFORE_0005,
        },
    )


@pytest.fixture
def alembic_engine(db_url):
    engine = create_db_engine(db_url, foreign_keys=False, transactional_ddl=True)
    yield engine
    engine.dispose()
