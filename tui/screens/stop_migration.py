"""The question asked when someone quits during a migration: stop after this revision, or not."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from tui.widgets.literal import literal


class StopMigrationModal(ModalScreen[bool]):
    """Dismissed with True to finish the current revision and stop, False to keep going."""

    # Its own look only; it is drawn over the migration screen and nowhere else.
    DEFAULT_CSS = """
    StopMigrationModal { align: center middle; }
    StopMigrationModal > #stop-dialog {
        width: 64; max-width: 100%; height: auto;
        border: thick $warning; background: $panel; padding: 1 2;
    }
    StopMigrationModal #stop-title { text-style: bold; margin-bottom: 1; }
    StopMigrationModal #stop-buttons { height: auto; margin-top: 1; }
    StopMigrationModal #stop-buttons Button { margin-right: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "answer(True)", "Finish this revision and stop", id="stop_migration.stop"),
        Binding("escape,k", "answer(False)", "Keep going", key_display="esc",
                id="stop_migration.keep_going"),
    ]

    def __init__(self, where: str) -> None:
        super().__init__()
        self.where = where

    def compose(self) -> ComposeResult:
        with Vertical(id="stop-dialog"):
            yield Static(literal("Stop the migration?"), id="stop-title")
            yield Static(literal(
                f"A migration is running: {self.where}. Each revision is one transaction, "
                "so it can stop only between two of them; the database is then left at a "
                "whole revision and plandesk quits."
            ))
            with Horizontal(id="stop-buttons"):
                yield Button("Finish this revision and stop (s)", id="stop", variant="warning")
                yield Button("Keep going (esc)", id="keep-going", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#keep-going", Button).focus()

    def action_answer(self, stop: bool) -> None:
        self.dismiss(stop)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "stop")
