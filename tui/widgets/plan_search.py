"""The plans screen's tree column: the `/` filter box, its status line and the plan tree it
searches, and the way back from the matches to the forest as the user left it.

The screen keeps the keys (`/`, `enter` and `escape` are its bindings, see
tui/screens/plans.py) and calls in here; the column owns what the filter shows.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from textual import events, on
from textual._ansi_sequences import ANSI_SEQUENCES_KEYS
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.keys import _character_to_key
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static

from store.plans import PlanFilter
from tui.widgets.literal import literal
from tui.widgets.plan_rows import TreePlace
from tui.widgets.plan_tree import PlanTree

if TYPE_CHECKING:
    from store.db import SessionFactory

# Results follow typing once the keys pause this long (seconds); enter searches at once.
SEARCH_DEBOUNCE = 0.1
# While typing in the filter, the first match's detail loads once the keys pause this long:
# a detail read per keystroke competed with placing the next matches, then was thrown away.
DETAIL_SETTLE = 0.15
# A search whose matches take longer than this (seconds, after the debounce) says
# "searching…" in the title; a quicker one changes the title only once, to the count.
SEARCHING_AFTER = 0.15
TITLE = "Plans"
# the status line while the box is empty
HINT = "matches show as you type (escape: back to the tree)"

# The characters Textual's parser makes of escape + one key ("\x1b4" is "¢", macOS's
# option+4), mapped back to that key. Textual reads escape + a letter as alt+letter.
AFTER_ESCAPE = {
    text: sequence[1] for sequence, text in ANSI_SEQUENCES_KEYS.items()
    if isinstance(text, str) and len(sequence) == 2 and sequence[0] == "\x1b"
}


def key_after_escape(event: events.Key) -> str | None:
    """The key typed right after escape, if `event` is what the terminal made of the pair.

    A terminal sends alt+key as escape then the key, so escape and the next key sent
    together are read as one key: in tmux, whose escape-time holds an escape for 500 ms by
    default, escape then `4` typed at a normal pace arrives as "¢". Text for a plan search
    never needs alt or these characters; the pair is taken as escape then the key.
    """
    character = event.character
    if character is None or len(character) != 1:
        return None
    if event.key.startswith("alt+") or character in AFTER_ESCAPE:
        # the name bindings know it by ("4", "j", "minus"); Textual names a character so
        return _character_to_key(AFTER_ESCAPE.get(character, character))
    return None


def status_line(query: str, window: int | None = None) -> str:
    """The line under the filter box: what the matches are for, and what they may miss."""
    if window is None:
        return f"matches for {query.strip()} (escape: back to the tree)"
    # trigrams need three characters: a shorter text is looked for in the newest plans only
    return (f"matches for {query.strip()} in the newest {window:,} plans only: a third "
            "character searches them all (escape: back to the tree)")


class FilterInput(Input):
    """The filter box: an escape sent together with the next key still closes it."""

    class EscapedKey(Message, bubble=True):
        """Escape and `key` arrived as one key: close the filter, then press `key`."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    async def _on_key(self, event: events.Key) -> None:
        key = key_after_escape(event)
        if key is None:
            return  # Input's own handler types it
        event.stop()
        event.prevent_default()
        self.post_message(self.EscapedKey(key))


class PlanSearch(Vertical):
    """The filter box over the plan tree; the filter in effect and where the user was."""

    def __init__(self, session: SessionFactory, *, page_size: int, id: str | None = None
                 ) -> None:
        super().__init__(id=id)
        self.session = session
        self.page_size = page_size
        self.plan_filter = PlanFilter()
        self.query_text = ""  # as typed, for plan_filter
        # where the user was in the unfiltered forest, for when the filter is cleared
        self.forest_place: TreePlace | None = None
        # how many of the newest plans the shown matches were looked for in (None: all)
        self.shown_window: int | None = None
        # the filter whose matches (and count) are on screen (None: the forest is)
        self.shown_filter: PlanFilter | None = None
        self._searching: Timer | None = None  # says "searching…" if the matches are slow

    def compose(self) -> ComposeResult:
        yield FilterInput(placeholder="search: text or id, phase:execute state:errored",
                          id="filter")
        yield Static(id="filter-status")
        yield PlanTree(self.session, page_size=self.page_size, id="plan-tree")

    def on_mount(self) -> None:
        self.border_title = TITLE
        self.show_box(False)

    @property
    def plan_tree(self) -> PlanTree:
        return self.query_one(PlanTree)

    @property
    def filter_box(self) -> Input:
        return self.query_one("#filter", Input)

    @property
    def status(self) -> Static:
        return self.query_one("#filter-status", Static)

    def show_box(self, show: bool) -> None:
        # A hidden Input is also disabled, so that focus can never land on it unseen.
        box = self.filter_box
        box.display = show
        box.disabled = not show
        # The status line comes and goes with the box, never on a keystroke: showing it then
        # laid the screen out again and rebuilt every tree line, while the search ran.
        status = self.status
        status.display = show
        if show:
            self.say(HINT)

    def say(self, text: str) -> None:
        """The status line's text (one row, as wide as the column: no layout needed)."""
        self.status.update(literal(text), layout=False)

    def open(self) -> None:
        """Show the box and focus it at once (see PlansScreen.action_filter)."""
        box = self.filter_box
        self.show_box(True)
        self.screen.set_focus(box)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self.filter_box.display:  # not the box being emptied as it closes
            self.search(event.value, delay=SEARCH_DEBOUNCE)

    def search(self, query: str, *, delay: float, say_errors: bool = False) -> bool:
        """Show the plans `query` matches, with their ancestors, after `delay` seconds; an
        empty query shows the forest as it was. False if the query cannot be read."""
        try:
            plan_filter = PlanFilter.parse(query)
        except ValueError as exc:
            self.say(str(exc))
            if say_errors:
                self.notify(str(exc), title="Filter", severity="error", markup=False)
            return False  # the box keeps what was typed, to be fixed
        if plan_filter.empty:
            self.say(HINT)
            self.back_to_forest()
            return True
        if plan_filter == self.plan_filter:
            self.say(status_line(query, self.shown_window))
            return True
        tree = self.plan_tree
        if self.plan_filter.empty:
            self.forest_place = tree.place()
        self.plan_filter = plan_filter
        self.query_text = query
        # The title and the line under the box change with the matches, in the same frame:
        # drawing them as the search starts competed with it for the UI thread and the GIL.
        # Only a search still running after SEARCHING_AFTER says so.
        if self._searching is not None:
            self._searching.stop()
        self._searching = self.set_timer(delay + SEARCHING_AFTER, self._say_searching)
        tree.search(plan_filter, delay=delay)
        return True

    def _say_searching(self) -> None:
        self._searching = None
        if not self.plan_filter.empty and self.plan_filter != self.shown_filter:
            self.border_title = f"{TITLE}: searching…"

    @on(PlanTree.MatchesShown)
    def _matches_shown(self, message: PlanTree.MatchesShown) -> None:
        if not self.plan_filter.empty:
            self.shown_filter = self.plan_filter
            if self._searching is not None:
                self._searching.stop()
                self._searching = None
            self.border_title = f"{TITLE}: {message.label}"
            # the title may be cut short in a narrow column: the line under the box says it
            self.shown_window = message.window
            self.say(status_line(self.query_text, message.window))

    @on(PlanTree.MatchChosen)
    def _match_chosen(self, message: PlanTree.MatchChosen) -> None:
        self.clear(reveal=message.plan_id)

    def back_to_forest(self, reveal: str | None = None) -> None:
        """The forest as it was before the filter (on `reveal`, if given, instead)."""
        self.border_title = TITLE
        self.shown_filter = None
        if self.plan_filter.empty:
            return
        self.plan_filter = PlanFilter()
        place = self.forest_place or TreePlace()
        if reveal is None and self.plan_tree.bring_back_forest():
            self.forest_place = None
            return  # at once: keys right after escape act on the forest
        if reveal is not None and reveal != place.cursor_plan_id:
            place = replace(place, cursor_plan_id=reveal, cursor_path=(), cursor_index=0)
        self.forest_place = None
        self.plan_tree.restore(place, None)

    def clear(self, reveal: str | None = None) -> None:
        """Close the filter: back to the forest and the place from before it (escape), or on
        the chosen match (enter on it)."""
        box = self.filter_box
        if not box.display and self.plan_filter.empty:
            return
        box.value = ""
        self.show_box(False)
        self.back_to_forest(reveal)
        self.plan_tree.focus()

    def drop(self) -> None:
        """Close the filter without going back to the old place: a jump goes elsewhere."""
        if self.plan_filter.empty:
            return
        self.plan_filter = PlanFilter()
        self.forest_place = None
        self.filter_box.value = ""
        self.show_box(False)
        self.border_title = TITLE
        self.shown_filter = None

    def reload(self) -> None:
        """Read the tree again, keeping expanded nodes, the cursor and scroll."""
        tree = self.plan_tree
        if self.plan_filter.empty:
            tree.restore(tree.place(), None)
        else:
            tree.search(self.plan_filter, keep_cursor=True)
