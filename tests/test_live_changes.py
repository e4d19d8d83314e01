"""Change watchers on a real SQLite file and the real PostgreSQL: a commit by another
connection (or process) is noticed, the PostgreSQL payload names the row, and a dropped
listener falls back to polling and reconnects."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlmodel import select

from store import migrations
from store.changes import (
    CHANNEL,
    Change,
    ChangeWatcher,
    PgChangeWatcher,
    WatchState,
    open_change_watcher,
)
from store.corrections import run_correction
from store.db import create_db_engine, session_scope, sqlite_path
from store.models import Decision
from store.plans import create_plan, roots_page


def poll_until(watcher: ChangeWatcher, holds: Callable[[bool], bool] = bool,
               attempts: int = 600) -> bool:
    """Wait on the watcher like the app does (many times) until `holds(result)`: a
    notification ends a wait at once, so the condition decides, not a time (the attempts only
    keep a broken watcher from hanging the run)."""
    return any(holds(watcher.wait(0.1)) for _ in range(attempts))


def add_plan(engine: sa.Engine, name: str) -> str:
    with session_scope(engine) as session:
        plan = create_plan(session, namespaced_name=name, description="live test")
        return plan.plan_id


def test_sqlite_notices_a_commit_by_another_process(sqlite_url: str) -> None:
    migrations.upgrade(sqlite_url)
    engine = create_db_engine(sqlite_url)
    watcher = open_change_watcher(engine)
    try:
        assert watcher.poll() is False  # nothing happened yet
        path = sqlite_path(sqlite_url)
        subprocess.run(
            [sys.executable, "-c",
             "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
             "c.execute(\"UPDATE automation_profiles SET description = 'x'\"); c.commit()",
             str(path)],
            check=True,
        )
        assert watcher.poll() is True
        assert watcher.poll() is False  # seen once
        add_plan(engine, "ops/second-connection")  # the app's other connections count too
        assert watcher.poll() is True
        assert watcher.state == WatchState.LIVE
    finally:
        watcher.close()
        engine.dispose()


def test_closing_while_another_thread_polls_is_safe_on_each_backend(head_url: str) -> None:
    # The app closes its watcher on the UI thread while a worker may be polling it; closing
    # SQLite's connection under a running PRAGMA crashed the test process (seen in CI).
    engine = create_db_engine(head_url)
    watcher = open_change_watcher(engine)
    polls = 0
    errors: list[BaseException] = []
    stop = threading.Event()

    def keep_polling() -> None:
        nonlocal polls
        try:
            while not stop.is_set():
                watcher.poll()
                polls += 1
        except BaseException as exc:
            errors.append(exc)

    poller = threading.Thread(target=keep_polling)
    poller.start()
    while polls < 20 and poller.is_alive():
        time.sleep(0.001)
    watcher.close()
    closed_at = polls
    while polls < closed_at + 20 and poller.is_alive():  # it goes on polling the closed one
        time.sleep(0.001)
    stop.set()
    poller.join(30)
    engine.dispose()
    assert not poller.is_alive()
    assert errors == []
    assert watcher.poll() is False  # a closed watcher hears nothing and does not raise


def waiting(watcher: ChangeWatcher, timeout: float) -> tuple[threading.Thread, list[bool]]:
    """`watcher.wait(timeout)` running in a thread of its own; its answer lands in the list."""
    answers: list[bool] = []
    thread = threading.Thread(target=lambda: answers.append(watcher.wait(timeout)))
    thread.start()
    return thread, answers


# longer than any test may take: a wait that ends was ended by what the test did
NEVER = 3600.0


def test_a_postgresql_notification_ends_a_wait_at_once(pg_url: str) -> None:
    migrations.upgrade(pg_url)
    engine = create_db_engine(pg_url)
    watcher = open_change_watcher(engine)
    other = create_db_engine(pg_url)
    try:
        thread, answers = waiting(watcher, NEVER)
        plan_id = add_plan(other, "ops/wakes-the-watcher")
        thread.join(60)
        assert not thread.is_alive() and answers == [True]
        assert any(change.key == plan_id for change in watcher.changes)
    finally:
        watcher.close()
        engine.dispose()
        other.dispose()


def test_sqlite_wait_reads_the_version_again_when_it_ends(sqlite_url: str) -> None:
    migrations.upgrade(sqlite_url)
    engine = create_db_engine(sqlite_url)
    watcher = open_change_watcher(engine)
    try:
        assert watcher.wait(0.01) is False
        add_plan(engine, "ops/seen-after-the-wait")
        assert watcher.wait(0.01) is True
        assert watcher.wait(0.01) is False
    finally:
        watcher.close()
        engine.dispose()


def test_close_ends_a_wait_at_once_on_each_backend(head_url: str) -> None:
    # the app closes its watcher from the UI thread when it stops; the waiting worker must
    # not keep the app (or the test run) waiting for its interval
    engine = create_db_engine(head_url)
    watcher = open_change_watcher(engine)
    try:
        thread, answers = waiting(watcher, NEVER)
        while not thread.is_alive():
            time.sleep(0.001)
        watcher.close()
        thread.join(60)
        assert not thread.is_alive() and answers == [False]
    finally:
        watcher.close()
        engine.dispose()


def test_sqlite_watcher_never_creates_a_missing_file(tmp_path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'gone.db'}")
    with pytest.raises(Exception):  # noqa: B017 - sqlite3's own "unable to open"
        open_change_watcher(engine)
    assert not (tmp_path / "gone.db").exists()
    engine.dispose()


def test_postgresql_payload_names_table_key_and_plan(pg_demo_url: str, tmp_path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    pg_url = pg_demo_url
    engine = create_db_engine(pg_url)
    watcher = open_change_watcher(engine)
    other = create_db_engine(pg_url)
    try:
        assert isinstance(watcher, PgChangeWatcher)
        assert watcher.poll() is False
        plan_id = add_plan(other, "ops/notified")
        heard: list[Change] = []
        assert poll_until(watcher, lambda changed: changed and bool(
            heard.extend(watcher.changes) or heard))
        assert Change("plans", plan_id, plan_id, "INSERT") in heard

        # a correction touches decisions and correction_attempts
        with session_scope(other) as session:
            decision = session.exec(select(Decision).order_by(Decision.decision_id)).first()
            assert decision is not None
            target_plan, target_decision = decision.plan_id, decision.decision_id
        heard.clear()
        attempt = run_correction(other, target_plan, target_decision, "append", "live test",
                                 artifacts_root=tmp_path / "artifacts",
                                 archive_root=tmp_path / "archive")
        assert poll_until(watcher, lambda _changed: bool(
            heard.extend(watcher.changes) or {c.table for c in heard} >= {
                "decisions", "correction_attempts", "plans"}))
        assert Change("decisions", attempt.new_decision_id, target_plan, "INSERT") in heard
        assert any(c.table == "correction_attempts" and c.key == attempt.correction_attempt_id
                   and c.plan_id == target_plan for c in heard)
        assert watcher.poll() is False
    finally:
        watcher.close()
        engine.dispose()
        other.dispose()


def test_postgresql_dropped_listener_polls_then_reconnects(pg_url: str) -> None:
    migrations.upgrade(pg_url)
    engine = create_db_engine(pg_url)
    watcher = open_change_watcher(engine)
    assert isinstance(watcher, PgChangeWatcher)
    other = create_db_engine(pg_url)
    try:
        pid = watcher.listener_pid
        with other.connect() as connection:
            listening = connection.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = :pid AND query LIKE :q"
            ), {"pid": pid, "q": f"LISTEN {CHANNEL}%"}).scalar_one()
            assert listening == 1
            connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            connection.commit()
        # the drop itself counts as a change (anything may have been missed), and says so
        assert poll_until(watcher)
        assert watcher.state == WatchState.RECONNECTING
        # while reconnecting, commits are still noticed (by polling), then LISTEN is back
        add_plan(other, "ops/while-reconnecting")
        assert poll_until(watcher)
        assert poll_until(watcher, lambda _c: watcher.state == WatchState.LIVE)
        assert watcher.listener_pid not in (None, pid)
        plan_id = add_plan(other, "ops/after-reconnect")
        heard: list[Change] = []
        assert poll_until(watcher, lambda changed: changed and bool(
            heard.extend(watcher.changes) or heard))
        assert any(c.key == plan_id for c in heard)
    finally:
        watcher.close()
        engine.dispose()
        other.dispose()


def test_live_revision_is_postgresql_only_and_downgrades(db_url: str) -> None:
    """The triggers exist on PostgreSQL at head, not on SQLite, and go with a downgrade."""
    migrations.upgrade(db_url)
    engine = create_db_engine(db_url)
    live = next(r.revision for r in migrations.history() if "NOTIFY" in r.description)
    before = migrations.history()[[r.revision for r in migrations.history()].index(live) - 1]

    def triggers() -> set[str]:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                rows = connection.execute(sa.text(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            else:
                rows = connection.execute(sa.text(
                    "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))
            return {row[0] for row in rows if "notify" in row[0]}

    try:
        with session_scope(engine) as session:
            assert roots_page(session).nodes == ()
        expected = ({"trg_plans_notify_change", "trg_decisions_notify_change",
                     "trg_correction_attempts_notify_change"}
                    if engine.dialect.name == "postgresql" else set())
        assert triggers() == expected
        migrations.downgrade(db_url, before.revision)
        assert triggers() == set()
        migrations.upgrade(db_url)
        assert triggers() == expected
    finally:
        engine.dispose()


def test_postgresql_a_move_names_the_old_place_and_an_unnamed_row_names_nothing(
        pg_url: str) -> None:
    """Revision 0008's payloads as the watcher reads them: a moved plan's old parent and root;
    ids too long for a payload leave the change unnamed (the app then refreshes everything)."""
    migrations.upgrade(pg_url)
    engine = create_db_engine(pg_url)
    other = create_db_engine(pg_url)
    watcher = open_change_watcher(engine)
    long_id = "01KLONG" + "x" * 2500
    try:
        root, child = add_plan(other, "ops/old-root"), add_plan(other, "ops/moved")
        with other.begin() as connection:
            for plan_id, parent in ((long_id, None), (long_id + "c", long_id)):
                connection.execute(sa.text(
                    "INSERT INTO plans (plan_id, parent_plan_id, root_plan_id, namespaced_name,"
                    " namespace, description, effective_profile_snapshot, created_at,"
                    " updated_at) VALUES (:p, :parent, :root, 'ops/long', 'ops', 'long', '{}',"
                    " 'now', 'now')"), {"p": plan_id, "parent": parent, "root": long_id})
            connection.execute(sa.text("UPDATE plans SET parent_plan_id = :r, root_plan_id = :r"
                                       " WHERE plan_id = :c"), {"r": root, "c": child})
        heard: list[Change] = []
        assert poll_until(watcher, lambda changed: changed and bool(
            heard.extend(watcher.changes) or any(c.op == "UPDATE" for c in heard)))
        assert Change("plans", child, child, "UPDATE", None, child) in heard  # was a root

        with other.begin() as connection:  # with a row it names, heard together
            connection.execute(sa.text("UPDATE plans SET description = 'x' WHERE plan_id = :r"),
                               {"r": root})
            connection.execute(sa.text("UPDATE plans SET parent_plan_id = :r, root_plan_id = :r"
                                       " WHERE plan_id = :c"), {"r": root, "c": long_id + "c"})
        # changed, but what is not known: the named row does not stand for the whole commit
        assert poll_until(watcher, lambda changed: changed and watcher.changes == ())
    finally:
        watcher.close()
        engine.dispose()
        other.dispose()
