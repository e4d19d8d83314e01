"""Shared fixtures: a fresh SQLite file or a fresh database on a real PostgreSQL server.

PostgreSQL comes from $PLANDESK_TEST_PG_URL (an admin URL on loopback; `.ci/run` starts the
server and sets it). Without it, a throwaway server is started from the installed server
binaries (/usr/lib/postgresql/*/bin) with pytest-postgresql, one per xdist worker. Only when
neither exists are PostgreSQL tests skipped, and the summary says so; $PLANDESK_REQUIRE_PG turns
that skip into a failure (CI sets it).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import port_for
import pytest
import sqlalchemy as sa
from pg_databases import throwaway_database
from pytest_postgresql import factories
from pytest_postgresql.executors import PostgreSQLExecutor

from store import migrations
from store.db import create_db_engine, database_url

PG_ENV = "PLANDESK_TEST_PG_URL"
REQUIRE_PG_ENV = "PLANDESK_REQUIRE_PG"
NO_PG = (
    f"no PostgreSQL: ${PG_ENV} is unset and no server binaries are installed in "
    "/usr/lib/postgresql/*/bin"
)


def installed_pg_ctl() -> str | None:
    """pg_ctl of the newest PostgreSQL server installed the Debian way, if any."""
    found = glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")
    if not found:
        return None
    return max(found, key=lambda path: int(Path(path).parts[-3].split(".")[0]))


def server_user() -> str | None:
    """Whom a throwaway server runs as: PostgreSQL refuses to run as root, so root hands it to
    the `postgres` system user (the Debian package creates it); None when there is nobody."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None
    return "postgres" if shutil.which("runuser") else None


def pg_source() -> str:
    """Where the PostgreSQL tests' server comes from, in words, or NO_PG."""
    if os.environ.get(PG_ENV):
        return f"${PG_ENV}"
    pg_ctl = installed_pg_ctl()
    if pg_ctl is None:
        return NO_PG
    if server_user() is None:
        return (
            f"no PostgreSQL: ${PG_ENV} is unset and, running as root with no `postgres` user "
            "(or no runuser), a throwaway server cannot start"
        )
    return f"throwaway server from {Path(pg_ctl).parent} (pytest-postgresql)"


def pytest_report_header(config: pytest.Config) -> str:
    return f"PostgreSQL tests: {pg_source()}"


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if "no PostgreSQL" in str(getattr(report, "longrepr", ""))
    ]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} PostgreSQL test(s) SKIPPED: {pg_source()}.", yellow=True
        )


# The factory picks a free port per xdist worker and keeps its data in the worker's basetemp.
throwaway_pg = factories.postgresql_proc(executable=installed_pg_ctl(), port=None)


@contextmanager
def pg_as_postgres_user(pg_ctl: str, user: str) -> Iterator[PostgreSQLExecutor]:
    """A throwaway server for root: pytest-postgresql's executor driving pg_ctl as `user`.

    postgresql_proc keeps its data directory under pytest's basetemp, which is private to
    root (mode 0700), where the server's user cannot reach it; so the directory, the log and
    a pg_ctl wrapper live in a temporary folder owned by that user instead.
    """
    folder = Path(tempfile.mkdtemp(prefix="plandesk-pg-"))
    try:
        shutil.chown(folder, user=user)
        wrapper = folder / "pg_ctl"
        wrapper.write_text(f'#!/bin/sh\nexec runuser -u {user} -- "{pg_ctl}" "$@"\n')
        wrapper.chmod(0o755)
        executor = PostgreSQLExecutor(
            executable=str(wrapper),
            host="127.0.0.1",
            port=port_for.select_random(),
            datadir=str(folder / "data"),
            unixsocketdir=str(folder),
            logfile=str(folder / "server.log"),
            startparams="-w",
            dbname="postgres",
            user="postgres",
        )
        executor.start()
        try:
            executor.wait_for_postgres()
            yield executor
        finally:
            executor.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_admin_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """An admin URL on a PostgreSQL server tests may create databases on, or None."""
    url = os.environ.get(PG_ENV)
    if url:
        yield url
        return
    pg_ctl, user = installed_pg_ctl(), server_user()
    if pg_ctl is None or user is None:
        yield None
        return
    if os.geteuid() == 0:
        with pg_as_postgres_user(pg_ctl, user) as executor:
            yield f"postgresql+psycopg://postgres@127.0.0.1:{executor.port}/postgres"
        return
    executor = request.getfixturevalue("throwaway_pg")
    yield f"postgresql+psycopg://{executor.user}@{executor.host}:{executor.port}/postgres"


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return database_url(tmp_path / "plans.db")


def required_pg(admin: str | None) -> str:
    """The server's admin URL; without one skip the test (fail it with $PLANDESK_REQUIRE_PG)."""
    if admin is None:
        if os.environ.get(REQUIRE_PG_ENV):
            pytest.fail(f"PostgreSQL tests are required (${REQUIRE_PG_ENV}) but {pg_source()}")
        pytest.skip(pg_source())
    return admin


@contextmanager
def fresh_pg_database(admin: str | None) -> Iterator[str]:
    """A new, empty database on the test server, dropped afterwards."""
    with throwaway_database(required_pg(admin)) as url:
        yield url


@pytest.fixture(scope="session")
def new_pg_database(pg_admin_url) -> Callable[[], AbstractContextManager[str]]:
    """`fresh_pg_database` for fixtures of a wider scope (test modules cannot import conftest:
    another folder's conftest may be the `conftest` module they get)."""
    return lambda: fresh_pg_database(pg_admin_url)


@pytest.fixture
def pg_url(pg_admin_url) -> Iterator[str]:
    with fresh_pg_database(pg_admin_url) as url:
        yield url


@pytest.fixture
def pg_demo_url(pg_admin_url, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The demo on a fresh PostgreSQL database, its artifacts in tmp_path/artifacts (which
    $PLANDESK_ARTIFACTS names for the test)."""
    from demo_copy import pg_demo

    admin = required_pg(pg_admin_url)
    artifacts = tmp_path / "artifacts"
    monkeypatch.setenv("PLANDESK_ARTIFACTS", str(artifacts))
    with pg_demo(admin, artifacts) as url:
        yield url


@pytest.fixture
def second_db_url(db_url, tmp_path, pg_admin_url) -> Iterator[str]:
    """Another empty database on the same backend as `db_url`."""
    if db_url.startswith("sqlite"):
        yield database_url(tmp_path / "second.db")
        return
    with fresh_pg_database(pg_admin_url) as url:
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


@pytest.fixture(autouse=True)
def no_user_config(tmp_path_factory, monkeypatch) -> None:
    """No test reads or writes the config file of the person running the tests."""
    folder = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("PLANDESK_CONFIG", str(folder / "config.toml"))
