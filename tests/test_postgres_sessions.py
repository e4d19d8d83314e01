"""What plandesk's PostgreSQL sessions are set to: scans that start at the table's first block
(the same broad search lists the same first matches, whoever else scanned the table), the
server refusing writes for a read-only engine, and the URL's own `options` kept."""

from __future__ import annotations

from urllib.parse import quote

import sqlalchemy as sa

from store.db import create_db_engine


def settings(url: str, *names: str, read_only: bool = False) -> list[str]:
    engine = create_db_engine(url, read_only=read_only)
    try:
        with engine.connect() as connection:
            return [str(connection.exec_driver_sql(f"SHOW {name}").scalar_one())
                    for name in names]
    finally:
        engine.dispose()


def test_scans_start_at_the_first_block(pg_url: str) -> None:
    assert settings(pg_url, "synchronize_seqscans", "default_transaction_read_only") == [
        "off", "off"]


def test_a_read_only_engine_cannot_write(pg_url: str) -> None:
    assert settings(pg_url, "synchronize_seqscans", "default_transaction_read_only",
                    read_only=True) == ["off", "on"]
    engine = create_db_engine(pg_url, read_only=True)
    try:
        with engine.connect() as connection:
            try:
                connection.exec_driver_sql("CREATE TABLE refused (x int)")
            except sa.exc.InternalError as exc:
                assert "read-only transaction" in str(exc)
            else:
                raise AssertionError("a read-only engine created a table")
    finally:
        engine.dispose()


def test_the_urls_own_options_are_kept(pg_url: str) -> None:
    url = f"{pg_url}?options={quote('-c statement_timeout=12345')}"
    assert settings(url, "statement_timeout", "synchronize_seqscans") == ["12345ms", "off"]
    assert settings(url, "statement_timeout", "default_transaction_read_only",
                    read_only=True) == ["12345ms", "on"]
