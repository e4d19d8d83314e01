"""Opening the database, as the App's connect worker does it: create the demo or an empty
database if asked, inspect the revision (read-only), refuse what would write in read-only
mode, and read the first page of roots; the answer is the message the App acts on.

Runs on a worker thread only: store (and with it SQLAlchemy) is imported here, after the
first frame (tests/tui/test_startup_imports.py).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

from store.locations import sqlite_path
from tui.messages import DatabaseFailed, DatabaseOpened, MigrationNeeded


@dataclass(frozen=True)
class OpenRequest:
    """What the App asks for: which database, and what it may create or write."""

    url: str
    read_only: bool
    tree_page_size: int
    create_demo: bool = False  # create the demo database if the file is missing
    create_empty: bool = False  # create an empty database at head if the file is missing
    # the first roots are on screen already (read with stdlib sqlite3): the engine only has
    # to prove it can read, and the plans screen is not replaced
    shown_early: bool = False


def open_database(request: OpenRequest) -> DatabaseOpened | MigrationNeeded | DatabaseFailed:
    """Open `request.url`: the engine and first roots, the migration it needs, or why not."""
    from store import migrations, plans
    from store.db import (
        ReadOnlyModeError,
        check_writable,
        create_db_engine,
        session_scope,
        to_store_error,
    )

    url, read_only = request.url, request.read_only
    try:
        path = sqlite_path(url)
        if request.create_demo and path is not None and not path.exists():
            if read_only:
                raise ReadOnlyModeError(
                    "read-only: the demo database does not exist yet, and creating it "
                    "would write. Start plandesk --demo once without --read-only.")
            from store.demo import create_demo

            create_demo(url)
        if request.create_empty and path is not None and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            migrations.upgrade(url)  # an empty database at head
        status = migrations.inspect_database(url)
        if path is not None and not read_only:
            # inspect_database never writes; the engine below would (WAL), so a read-only
            # file stops here with nothing written.
            check_writable(path)
        if not status.up_to_date and read_only:
            raise ReadOnlyModeError(
                f"read-only: {status.where} is at revision {status.current or '(empty)'} "
                f"and needs a migration to {status.head}, which would write. Quit, then "
                "run `plandesk db upgrade`, or start plandesk without --read-only.")
        if not status.up_to_date:
            return MigrationNeeded(status, is_sqlite=path is not None)
        engine = create_db_engine(url, read_only=read_only)
        try:
            with session_scope(engine) as session:
                # fails here, on the loading screen, if it cannot connect or read
                first_roots = plans.roots_page(
                    session, limit=1 if request.shown_early else request.tree_page_size)
        except Exception:
            engine.dispose()
            raise
        # the engine is kept by the App's handler, on the UI thread
        return DatabaseOpened(status, None if request.shown_early else first_roots, engine)
    except Exception as exc:
        return DatabaseFailed(to_store_error(exc, url), url)


_startup_frozen = False


def freeze_startup_objects() -> None:
    """Leave what opening made (modules, classes, the engine: most of the process's objects)
    out of the garbage collector's scans from now on. A full collection over them stopped
    the UI for a third of a second, in the middle of drawing a page of the tree. Once per
    process: what later apps made (in tests) is collected as usual."""
    global _startup_frozen
    if not _startup_frozen:
        _startup_frozen = True
        gc.freeze()
