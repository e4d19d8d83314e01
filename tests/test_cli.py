"""The headless commands, through click and through the installed console script."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import sysconfig
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from store import migrations
from store.db import database_url
from tui.cli import main

REPO = Path(__file__).resolve().parent.parent


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_db_upgrade_current_downgrade_history(tmp_path):
    path = str(tmp_path / "x.db")
    result = run("db", "upgrade", "--db", path, "--to", "0002")
    assert result.exit_code == 0, result.output
    assert "[1/2] 0001" in result.output and "is at 0002" in result.output
    current = run("db", "current", "--db", path)
    assert "current:  0002" in current.output
    assert "pending:  0003" in current.output and "pending:  0005" in current.output
    assert run("db", "upgrade", "--db", path).exit_code == 0
    assert "up to date" in run("db", "current", "--db", path).output
    down = run("db", "downgrade", "0001", "--db", path)
    assert down.exit_code == 0 and "is at 0001" in down.output
    history = run("db", "history").output.splitlines()
    assert [line.split()[0] for line in history] == migrations.known_revisions()
    assert [line.split()[0] for line in history][:5] == ["0001", "0002", "0003", "0004", "0005"]


def test_db_option_and_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANDESK_DB", str(tmp_path / "env.db"))
    assert run("db", "upgrade").exit_code == 0
    assert (tmp_path / "env.db").exists()
    current = run("--db", str(tmp_path / "env.db"), "db", "current").output
    assert f"current:  {migrations.head_revision()}" in current


def test_bad_revision_is_an_error_and_writes_nothing(tmp_path):
    path = tmp_path / "x.db"
    result = run("db", "upgrade", "--db", str(path), "--to", "9999")
    assert result.exit_code == 1
    assert "Unknown revision" in result.stderr
    assert not path.exists()


def test_demo_writes_trees_and_artifacts_and_refuses_to_overwrite(tmp_path):
    path = tmp_path / "demo.db"
    result = run("demo", str(path))
    assert result.exit_code == 0, result.output
    connection = sqlite3.connect(path)
    depth = connection.execute(
        "WITH RECURSIVE d(id, n) AS (SELECT plan_id, 1 FROM plans WHERE parent_plan_id IS NULL"
        " UNION ALL SELECT p.plan_id, d.n + 1 FROM plans p JOIN d ON p.parent_plan_id = d.id)"
        " SELECT max(n), count(DISTINCT id) FROM d"
    ).fetchone()
    artifacts = connection.execute(
        "SELECT artifacts_path FROM decisions WHERE artifacts_path IS NOT NULL"
        " AND state = 'active'"  # a reverted decision's folder is in the attempt's archive
    ).fetchall()
    connection.close()
    assert depth[0] >= 4 and depth[1] >= 20
    assert artifacts and all((tmp_path / "demo-artifacts" / a).is_dir() for (a,) in artifacts)
    again = run("demo", str(path))
    assert again.exit_code == 1 and "already exists" in again.stderr


def test_seed_legacy_database_migrates_to_head(tmp_path):
    path = tmp_path / "seed.db"
    result = run("seed", str(path), "--plans", "3000", "--max-depth", "60", "--revision", "0002")
    assert result.exit_code == 0, result.output
    assert "max depth 60" in result.output
    connection = sqlite3.connect(path)
    first_rowid_plan = connection.execute(
        "SELECT parent_plan_id FROM plans ORDER BY rowid LIMIT 1"
    ).fetchone()[0]
    connection.close()
    assert first_rowid_plan is not None  # children stored before parents
    migrations.upgrade(database_url(path))
    connection = sqlite3.connect(path)
    reasons = {r for (r,) in connection.execute("SELECT DISTINCT reason FROM plan_repairs")}
    assert any(r.startswith("orphan") for r in reasons) and any(
        r.startswith("cycle") for r in reasons
    )
    assert connection.execute(
        "SELECT count(*) FROM plans WHERE root_plan_id IS NULL"
    ).fetchone() == (0,)
    connection.close()
    refused = run("seed", str(path), "--plans", "10", "--max-depth", "2")
    assert refused.exit_code == 1 and "already exists" in refused.stderr


def test_installed_wheel_migrates_outside_the_repo(tmp_path):
    """`pip install .` into a fresh venv elsewhere, then the console script can migrate."""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    # Dependencies come from the test environment; plandesk itself only from the wheel.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = next(wheels.glob("plandesk-*.whl"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    env = {k: v for k, v in os.environ.items() if k != "PLANDESK_DB"}
    # A legacy database with plans, so that 0003 runs its backfill module from the wheel.
    subprocess.run(
        [str(venv / "bin" / "plandesk"), "seed", str(tmp_path / "x.db"), "--plans", "30",
         "--max-depth", "4", "--revision", "0002"],
        cwd=tmp_path, capture_output=True, env=env, check=True,
    )
    result = subprocess.run(
        [str(venv / "bin" / "plandesk"), "db", "upgrade", "--db", str(tmp_path / "x.db")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert f"is at {migrations.head_revision()}" in result.stdout
    where = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import store.migrations as m; print(m.script_location())",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert where.strip().startswith(str(site))


def assert_one_clear_line(result, *words: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("plandesk: "), result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


UNSUPPORTED = [
    "foo://bar/baz",
    "mysql://ann:hunter2secret@db.internal/plans",
    "postgresql+psycopg2://ann:hunter2secret@db.internal/plans",  # not shipped
]


@pytest.mark.parametrize("url", UNSUPPORTED)
@pytest.mark.parametrize("command", [
    ["db", "current"], ["db", "upgrade"], ["db", "upgrade", "--backup"],
    ["db", "downgrade", "0001"],
    ["correct", "01J0000000000000000000000A", "01J0000000000000000000000B", "--mode",
     "append", "--guidance", "Retry."],
])
def test_unsupported_url_names_the_supported_schemes(url, command):
    result = run(*command, "--db", url)
    assert_one_clear_line(result, "not supported", "sqlite:///PATH", "postgresql+psycopg://")
    assert "hunter2secret" not in result.output


@pytest.mark.parametrize("url", UNSUPPORTED)
def test_seed_and_demo_refuse_an_unsupported_url(url):
    for command in (["seed", url, "--plans", "5", "--max-depth", "2"], ["demo", url]):
        result = run(*command)
        assert_one_clear_line(result, "not supported", "postgresql+psycopg://")
        assert "hunter2secret" not in result.output


@pytest.fixture
def pg_url_with_password(pg_url) -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL database owned by a role with a password of its own."""
    tag = uuid.uuid4().hex[:10]
    role, password = f"plandesk_pw_{tag}", f"Pw-{tag}-SeCrEt"
    name = make_url(pg_url).database
    engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
        connection.exec_driver_sql(f'ALTER DATABASE "{name}" OWNER TO "{role}"')
        connection.exec_driver_sql(f'ALTER SCHEMA public OWNER TO "{role}"')
    engine.dispose()
    try:
        url = make_url(pg_url).set(username=role, password=password)
        yield url.render_as_string(hide_password=False), password
    finally:
        engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql(f'SELECT pg_terminate_backend(pid) FROM pg_stat_activity '
                                       f"WHERE usename = '{role}'")
            connection.exec_driver_sql(f'REASSIGN OWNED BY "{role}" TO CURRENT_USER')
            connection.exec_driver_sql(f'DROP OWNED BY "{role}"')
            connection.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
        engine.dispose()


def server_lets_in(url: str) -> bool:
    engine = sa.create_engine(url)
    try:
        with engine.connect():
            return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


def test_postgresql_password_is_never_printed(pg_url_with_password, tmp_path, monkeypatch):
    monkeypatch.setenv("PLANDESK_ARTIFACTS", str(tmp_path / "artifacts"))
    url, password = pg_url_with_password
    outputs = [
        run("seed", url, "--plans", "30", "--max-depth", "3"),
        run("db", "current", "--db", url),
        run("db", "upgrade", "--db", url),
        run("seed", url, "--plans", "30", "--max-depth", "3"),  # refused: not empty
        run("correct", "01J0000000000000000000000A", "01J0000000000000000000000B",
            "--mode", "append", "--guidance", "Retry.", "--db", url),  # refused: unknown plan
        run("db", "current", "--db", url.replace(password, "wrong-" + password)),
    ]
    assert outputs[0].exit_code == 0, outputs[0].output
    assert "wrote 30 plans" in outputs[0].output and "***" in outputs[0].output
    assert outputs[1].exit_code == 0 and "***" in outputs[1].output
    # a wrong password is refused where the server checks passwords (CI's does; a throwaway
    # server started by pytest-postgresql trusts loopback and lets it in)
    wrong_refused = not server_lets_in(url.replace(password, "wrong-" + password))
    assert [o.exit_code for o in outputs[3:]] == [1, 1, 1 if wrong_refused else 0]
    for result in outputs:
        assert password not in result.output, result.output


@pytest.mark.parametrize("command", [
    ["db", "current", "--db"], ["db", "upgrade", "--db"], ["db", "downgrade", "0001", "--db"],
    ["correct", "01J0000000000000000000000A", "01J0000000000000000000000B", "--mode",
     "append", "--guidance", "Retry.", "--db"],
    ["seed", "--plans", "5", "--max-depth", "2"],
])
def test_unreachable_postgresql_is_one_line_without_the_password(command):
    url = "postgresql+psycopg://ann:hunter2secret@127.0.0.1:1/plans"
    result = run(*command, url) if command[0] != "seed" else run("seed", url, *command[1:])
    assert_one_clear_line(result, "Cannot connect to postgresql+psycopg://ann:***@127.0.0.1:1/plans")
    assert "hunter2secret" not in result.output
