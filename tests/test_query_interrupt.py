"""QueryInterrupt on SQLite and PostgreSQL: another thread stops a running statement at once,
the block's later statements are refused, and the connection serves its next user untouched."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from store.db import create_db_engine, session_scope
from store.query_interrupt import QueryInterrupt, QueryInterrupted

# far longer than any wait below: a statement that ends before it was stopped
SQLITE_FOREVER = (
    "WITH RECURSIVE c(x) AS (SELECT started() UNION ALL SELECT x + 1 FROM c"
    " WHERE x < 4000000000) SELECT count(*) FROM c"
)
POSTGRES_FOREVER = "SELECT pg_sleep(600)"
WITHIN = 30.0  # seconds: a wait for something that happens at once unless it is broken


@pytest.fixture
def engine(db_url) -> Iterator[sa.Engine]:
    engine = create_db_engine(db_url)
    yield engine
    engine.dispose()


def run_forever(engine: sa.Engine, interrupt: QueryInterrupt, started: threading.Event,
                outcome: list[BaseException | None]) -> None:
    """In a thread: the endless statement under `interrupt`, then what it ended with."""
    try:
        with session_scope(engine) as session, interrupt.watching(session):
            connection = session.connection()
            if connection.dialect.name == "sqlite":
                raw = connection.connection.dbapi_connection
                raw.create_function("started", 0, lambda: started.set() or 1)
                session.execute(sa.text(SQLITE_FOREVER))
            else:
                started.set()
                session.execute(sa.text(POSTGRES_FOREVER))
        outcome.append(None)
    except BaseException as exc:
        outcome.append(exc)


def wait_until_running(engine: sa.Engine, started: threading.Event) -> None:
    assert started.wait(WITHIN)
    if engine.dialect.name != "postgresql":
        return  # started() is called by the statement itself
    deadline = time.monotonic() + WITHIN
    with engine.connect() as watcher:
        while not watcher.execute(sa.text(
                "SELECT 1 FROM pg_stat_activity WHERE state = 'active'"
                " AND query = :q"), {"q": POSTGRES_FOREVER}).first():
            assert time.monotonic() < deadline, "the statement never ran"
            time.sleep(0.01)


def test_interrupt_stops_the_running_statement(engine):
    interrupt, started, outcome = QueryInterrupt(), threading.Event(), []
    thread = threading.Thread(target=run_forever, args=(engine, interrupt, started, outcome),
                              daemon=True)
    thread.start()
    wait_until_running(engine, started)
    interrupt.interrupt()
    thread.join(WITHIN)
    assert not thread.is_alive(), "the statement ran on after interrupt()"
    assert isinstance(outcome[0], QueryInterrupted)
    assert interrupt.interrupted
    # the connection goes back to the pool clean: its next user is not interrupted
    with session_scope(engine) as session:
        assert session.execute(sa.text(
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000)"
            " SELECT count(*) FROM c")).scalar_one() == 100000


def test_statements_after_an_interrupt_are_refused(engine):
    interrupt = QueryInterrupt()
    ran = []
    with session_scope(engine) as session, pytest.raises(QueryInterrupted), \
            interrupt.watching(session):
        ran.append(session.execute(sa.text("SELECT 1")).scalar_one())
        interrupt.interrupt()
        ran.append(session.execute(sa.text("SELECT 2")).scalar_one())
    assert ran == [1]
    # interrupted before it began: it runs nothing
    with pytest.raises(QueryInterrupted), session_scope(engine) as session, \
            interrupt.watching(session):
        session.execute(sa.text("SELECT 3"))


def test_errors_of_an_uninterrupted_block_stay_as_they_are(engine):
    with session_scope(engine) as session, pytest.raises(sa.exc.DBAPIError), \
            QueryInterrupt().watching(session):
        session.execute(sa.text("SELECT * FROM no_such_table"))


def test_stop_soon_refuses_the_next_statement_and_says_if_a_server_must_cancel(engine):
    interrupt = QueryInterrupt()
    with session_scope(engine) as session, pytest.raises(QueryInterrupted), \
            interrupt.watching(session):
        assert session.execute(sa.text("SELECT 1")).scalar_one() == 1
        # between statements: SQLite's flag is enough; PostgreSQL's would need a cancel
        assert interrupt.stop_soon() is (engine.dialect.name == "postgresql")
        session.execute(sa.text("SELECT 2"))
    assert QueryInterrupt().stop_soon() is False  # no block holds a connection
