"""The first start without a database: create an empty one at the default path, open the
demo, or quit — instead of only an error."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option

from tui.widgets.footer import KeysFooter
from tui.widgets.literal import literal

CHOICES = (
    ("create", "c", "Create an empty database here"),
    ("demo", "d", "Open the demo database (realistic plans to try the keys on)"),
    ("quit", "q", "Quit (nothing is created)"),
)


class FirstRunScreen(Screen[str]):
    """Dismissed with "create", "demo" or "quit"."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "choose('create')", "Create empty", id="first_run.create"),
        Binding("d", "choose('demo')", "Open demo", id="first_run.demo"),
        Binding("q,escape", "choose('quit')", "Quit", id="first_run.quit"),
        Binding("j", "move('down')", "Down", show=False, id="first_run.down"),
        Binding("k", "move('up')", "Up", show=False, id="first_run.up"),
    ]

    def __init__(self, where: str, demo_where: str) -> None:
        super().__init__()
        self.where = where
        self.demo_where = demo_where

    def compose(self) -> ComposeResult:
        yield Header()
        with Center(), Vertical(id="first-run-box"):
            yield Static(literal("Welcome to plandesk"), id="first-run-title")
            yield Static(literal(f"There is no database at {self.where} yet."),
                         id="first-run-where")
            yield OptionList(
                *(Option(f"{key}  {text}", id=choice) for choice, key, text in CHOICES),
                id="first-run-choices",
            )
            yield Static(literal(
                f"The demo lives at {self.demo_where}. Later, --db PATH_OR_URL or "
                "$PLANDESK_DB open any other database."), id="first-run-hint")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)

    def action_move(self, direction: str) -> None:
        choices = self.query_one(OptionList)
        if direction == "down":
            choices.action_cursor_down()
        else:
            choices.action_cursor_up()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.dismiss(event.option.id)
