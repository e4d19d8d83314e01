"""The first frame: shown before the database is touched, while a worker opens it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Center, Middle
from textual.screen import Screen
from textual.widgets import Header, LoadingIndicator, Static

from tui.widgets.footer import KeysFooter
from tui.widgets.literal import literal

# LoadingIndicator's own frame interval
SPINNER_SECONDS = 1 / 16


class LoadingScreen(Screen[None]):
    def __init__(self, where: str, *, creating: bool = False) -> None:
        super().__init__()
        self.where = where
        self.creating = creating

    def compose(self) -> ComposeResult:
        yield Header()
        with Middle(), Center():
            verb = "Opening (creating the demo if needed)" if self.creating else "Opening"
            yield Static(literal(f"{verb} {self.where}"), id="loading-message")
            yield LoadingIndicator()
        yield KeysFooter()

    def show_where(self, where: str, *, creating: bool) -> None:
        """The database to open changed (the first-start choice) before it was opened."""
        self.where, self.creating = where, creating
        verb = "Creating and opening" if creating else "Opening"
        self.query_one("#loading-message", Static).update(literal(f"{verb} {where}"))

    # The screen stays at the bottom of the stack once the database is open; its spinner's
    # 16 Hz timer would keep repainting behind the plans screen (about a fifth of a core).
    def on_screen_suspend(self) -> None:
        self.query_one(LoadingIndicator).auto_refresh = None

    def on_screen_resume(self) -> None:
        self.query_one(LoadingIndicator).auto_refresh = SPINNER_SECONDS
