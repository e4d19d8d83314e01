"""Where a database is, read without SQLAlchemy for the first frame: the same answers as
SQLAlchemy's own URL parser gives."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from store.locations import database_url, display_name, sqlite_path

URLS = [
    "sqlite:////tmp/plans.db",
    "sqlite:////tmp/a b.db",
    "sqlite:////tmp/a#b.db",
    "sqlite:////tmp/a@b:c.db",
    "sqlite:////tmp/é.db",
    "sqlite:////tmp/a%20b.db",
    "sqlite:////tmp/plans.db?mode=ro",
    "sqlite:///relative.db",
    "sqlite+pysqlite:////x/y.db",
    "SQLITE:////tmp/x.db",
    "sqlite://",
    "sqlite:///:memory:",
    "postgresql+psycopg://user:secret@db.internal/plans",
    "mysql://user:secret@host/db",
]


def sqlalchemy_sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


@pytest.mark.parametrize("url", URLS)
def test_sqlite_path_agrees_with_sqlalchemy(url: str):
    assert sqlite_path(url) == sqlalchemy_sqlite_path(url)


@pytest.mark.parametrize("name", ["plans.db", "a b.db", "a#b@c.db", "é.db", "100%.db"])
def test_a_path_round_trips_through_its_url(tmp_path, name: str):
    url = database_url(tmp_path / name)
    assert sqlite_path(url) == tmp_path / name == sqlalchemy_sqlite_path(url)
    assert display_name(url) == str(tmp_path / name)


def test_passwords_are_masked():
    assert display_name("postgresql+psycopg://user:secret@db.internal/plans") == (
        "postgresql+psycopg://user:***@db.internal/plans")
