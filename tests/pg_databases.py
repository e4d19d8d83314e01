"""Throwaway databases on a PostgreSQL server: created under a fresh name, dropped afterwards.

A plain module (not conftest) so that the test fixtures and the benchmarks share it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import make_url


@contextmanager
def throwaway_database(admin_url: str, prefix: str = "plandesk_test",
                       template: str | None = None) -> Iterator[str]:
    """The URL of a new database on the server `admin_url` is on, empty or a copy of the
    database named `template`, dropped at the end (even with connections still open to it)."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    copied = "" if template is None else f' TEMPLATE "{template}"'
    with engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"{copied}')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()
