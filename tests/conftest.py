"""Shared fixtures: a fresh SQLite file or a fresh database on the real PostgreSQL server.

PostgreSQL comes from $PLANDESK_TEST_PG_URL (an admin URL on loopback; `.ci/run` starts the
server and sets it). Without it PostgreSQL tests are skipped, unless $PLANDESK_REQUIRE_PG is
set, which turns the skip into a failure (CI sets it).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from store import migrations
from store.db import create_db_engine, database_url

PG_ENV = "PLANDESK_TEST_PG_URL"


def pg_admin_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if url:
        return url
    if os.environ.get("PLANDESK_REQUIRE_PG"):
        pytest.fail(f"${PG_ENV} is not set but PostgreSQL tests are required")
    return None


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return database_url(tmp_path / "plans.db")


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A new, empty database on the test server, dropped afterwards."""
    admin = pg_admin_url()
    if admin is None:
        pytest.skip(f"PostgreSQL not configured (set ${PG_ENV})")
    name = f"plandesk_test_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_pg_database() as url:
        yield url


@pytest.fixture
def second_db_url(db_url, tmp_path) -> Iterator[str]:
    """Another empty database on the same backend as `db_url`."""
    if db_url.startswith("sqlite"):
        yield database_url(tmp_path / "second.db")
        return
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request) -> str:
    """An empty database on each backend."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def head_url(db_url) -> str:
    """A database on each backend, migrated to head."""
    migrations.upgrade(db_url)
    return db_url


@pytest.fixture
def engine(head_url) -> Iterator[sa.Engine]:
    engine = create_db_engine(head_url)
    yield engine
    engine.dispose()
