"""The plandesk Textual app: global bindings, and opening the database off the UI thread.

The first frame is the loading screen; the database is inspected (read-only) in a thread
worker, which then asks for the migration, error or plans screen.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session
from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen

from store import migrations
from store.db import (
    StoreError,
    check_writable,
    create_db_engine,
    display_name,
    session_scope,
    sqlite_path,
    translate_error,
)
from tui.commands import PlanCommands
from tui.messages import (
    DatabaseFailed,
    DatabaseOpened,
    MigrationNeeded,
)
from tui.screens.error import ErrorScreen
from tui.screens.help import HelpScreen
from tui.screens.loading import LoadingScreen
from tui.screens.migration import MigrationScreen
from tui.screens.plans import PlansScreen
from tui.widgets.literal import short_location


def as_store_error(exc: BaseException, url: str) -> StoreError:
    """A StoreError for the error screen, whatever the worker raised."""
    if isinstance(exc, StoreError):
        return exc
    clear = translate_error(exc, url) if isinstance(exc, sa.exc.DBAPIError | OSError) else None
    if clear is None:
        clear = StoreError(f"{display_name(url)} could not be opened: {exc}")
    return clear


class PlandeskApp(App[None]):
    """Browse the plans of one database (a file path's URL or any SQLAlchemy URL)."""

    CSS_PATH = "plandesk.tcss"
    TITLE = "plandesk"
    COMMANDS = App.COMMANDS | {PlanCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("ctrl+p", "command_palette", "Palette",
                show=False),
    ]

    def __init__(self, url: str, *, create_demo: bool = False) -> None:
        super().__init__()
        self.url = url
        self.create_demo = create_demo
        self.engine: Engine | None = None
        self.sub_title = short_location(url)

    def get_default_screen(self) -> Screen[None]:
        return LoadingScreen(short_location(self.url), creating=self.create_demo)

    def on_mount(self) -> None:
        self.open_database()

    def on_unmount(self) -> None:
        if self.engine is not None:
            self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session on the open database; only for thread workers."""
        if self.engine is None:
            raise StoreError("The database is not open yet.")
        with session_scope(self.engine) as session:
            yield session

    @work(thread=True, exclusive=True, exit_on_error=False, group="connect",
          description="Opening the database")
    def open_database(self) -> None:
        try:
            path = sqlite_path(self.url)
            if self.create_demo and path is not None and not path.exists():
                from store.demo import create_demo

                create_demo(self.url)
            status = migrations.inspect_database(self.url)
            if path is not None:
                # inspect_database never writes; the engine below would (WAL), so a read-only
                # file stops here with nothing written.
                check_writable(path)
            if not status.up_to_date:
                self.post_message(MigrationNeeded(status, is_sqlite=path is not None))
                return
            self.engine = create_db_engine(self.url)
            with self.session() as session:
                session.connection()  # fail here, on the loading screen, if it cannot connect
            self.post_message(DatabaseOpened(status))
        except Exception as exc:
            self.post_message(DatabaseFailed(as_store_error(exc, self.url), self.url))

    def _show(self, screen: Screen[None]) -> None:
        # The loading screen stays at the bottom of the stack; what replaces it goes on top.
        if len(self.screen_stack) > 1:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def on_database_opened(self, message: DatabaseOpened) -> None:
        self._show(PlansScreen())

    def on_migration_needed(self, message: MigrationNeeded) -> None:
        self._show(MigrationScreen(message.status, is_sqlite=message.is_sqlite))

    def on_database_failed(self, message: DatabaseFailed) -> None:
        self._show(ErrorScreen(message.error, message.url))

    def migrated(self) -> None:
        """The migration screen finished: open the database as usual."""
        self.open_database()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_quit_with_error(self) -> None:
        self.exit(return_code=1)
