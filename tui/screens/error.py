"""A database plandesk cannot or must not open: what is wrong, and that nothing was written."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static

from store.db import (
    DatabaseAheadError,
    DatabaseLockedError,
    DatabaseMissingError,
    DatabaseReplacedError,
    DiskFullError,
    NotADatabaseError,
    ReadOnlyDatabaseError,
    StoreError,
    UnsupportedDatabaseError,
    UnversionedDatabaseError,
)
from tui.widgets.footer import KeysFooter
from tui.widgets.literal import literal, short_location, shorten_paths

HINTS: dict[type[StoreError], str] = {
    DatabaseMissingError: "Check the path, or create a database with `plandesk db upgrade "
    "--db PATH`; `plandesk --demo` opens a demo database.",
    NotADatabaseError: "Point --db (or $PLANDESK_DB) at a plandesk database file or URL.",
    ReadOnlyDatabaseError: "Give yourself write access to the file and its folder, or copy it "
    "somewhere writable.",
    DatabaseLockedError: "Another program holds a lock on it. Close that program, then start "
    "plandesk again.",
    DatabaseAheadError: "Install a newer plandesk to open this database.",
    UnversionedDatabaseError: "plandesk will not guess a schema revision.",
    UnsupportedDatabaseError: "Use a file path, sqlite:///PATH or postgresql+psycopg://….",
    DiskFullError: "Free some space on that disk, then start plandesk again.",
    DatabaseReplacedError: "Quit, check which file is at that path now, and open it again.",
}

# what the user can rely on having happened to the database
OUTCOMES: dict[type[StoreError], str] = {
    DatabaseReplacedError: "plandesk stopped all writes: nothing more will be written to it.",
}


class ErrorScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q,escape", "app.quit_with_error", "Quit", id="error.quit"),
    ]

    def __init__(self, error: StoreError, url: str) -> None:
        super().__init__()
        self.error = error
        self.url = url

    def compose(self) -> ComposeResult:
        yield Header()
        with Center(), VerticalScroll(id="error-box"):
            yield Static(literal(self.error.title), id="error-title")
            yield Static(literal(shorten_paths(str(self.error), self.url)), id="error-message")
            yield Static(literal(f"Database: {short_location(self.url)}"), id="error-where")
            hint = HINTS.get(type(self.error))
            if hint:
                yield Static(literal(hint), id="error-hint")
            outcome = OUTCOMES.get(type(self.error), "Nothing was written to the database.")
            yield Static(literal(outcome), id="error-nothing-written")
        yield KeysFooter()
