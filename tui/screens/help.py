"""The `?` help screen: the keys that work where the user is, read from the live bindings.

It is built from the screen underneath (`HelpScreen.for_screen`): first the focused pane's
keys, then that screen's, then the keys that work everywhere, each key once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import ActiveBinding, Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

INTRO = (
    "plandesk browses the plans of one database. Highlight a plan in the tree to see its "
    "details; press 2 for its profile snapshot and drift. Type / to filter, ctrl+p to jump "
    "to a plan by id or name. On the Decisions tab (4), r reverts the highlighted decision "
    "and every later one, and a appends a corrective decision after it, each after a preview."
)

# Keys with a modifier that Textual's own widgets declare are generic editing and scrolling
# keys (ctrl+shift+left, ctrl+pageup…); these few are worth knowing all the same.
KEPT_TEXTUAL_MODIFIED_KEYS = frozenset({"shift+tab"})


@dataclass(frozen=True)
class HelpSection:
    title: str
    rows: tuple[tuple[str, str], ...]  # (keys, what they do)


def _declared_by_textual(node: DOMNode) -> set[tuple[str, str]]:
    """(key, action) of the bindings that only Textual's own classes declare on `node`."""
    ours: set[tuple[str, str]] = set()
    theirs: set[tuple[str, str]] = set()
    for cls in type(node).__mro__:
        declared = cls.__dict__.get("BINDINGS")
        if not declared:
            continue
        target = theirs if cls.__module__.startswith("textual") else ours
        target.update((b.key, b.action) for b in Binding.make_bindings(declared))
    return theirs - ours


def _generic(key: str, binding: Binding, textual_keys: set[tuple[str, str]]) -> bool:
    return (
        (key, binding.action) in textual_keys
        and "+" in key
        and key not in KEPT_TEXTUAL_MODIFIED_KEYS
    )


def _words(node: DOMNode) -> str:
    """'PlanTree' -> 'Plan tree', 'PlansScreen' -> 'Plans screen'."""
    words = re.findall(r"[A-Z][a-z0-9]*", type(node).__name__)
    text = " ".join(words) or type(node).__name__
    return text[:1] + text[1:].lower()


def _pane_title(screen: Screen[object]) -> str:
    focused = screen.focused
    if focused is None:
        return "Focused pane"
    for node in focused.ancestors_with_self:
        if node is screen:
            break
        title = getattr(node, "border_title", None)
        if title:
            return f"This pane: {title}"
    return f"This pane: {_words(focused)}"


def sections_for(screen: Screen[object]) -> list[HelpSection]:
    """The keys that work on `screen` now: focused pane, the screen, then everywhere."""
    app = screen.app
    pane: dict[tuple[str, str], list[str]] = {}
    own: dict[tuple[str, str], list[str]] = {}
    everywhere: dict[tuple[str, str], list[str]] = {}
    textual_keys: dict[int, set[tuple[str, str]]] = {}
    active: dict[str, ActiveBinding] = screen.active_bindings
    for key, (node, binding, enabled, tooltip) in active.items():
        if binding.system or not binding.description:
            continue
        if id(node) not in textual_keys:
            textual_keys[id(node)] = _declared_by_textual(node)
        if _generic(key, binding, textual_keys[id(node)]):
            continue
        if isinstance(node, App):
            section = everywhere
        elif isinstance(node, Screen):
            section = own
        else:
            section = pane
        description = tooltip or binding.tooltip or binding.description
        if not enabled:
            description += " (not available now)"
        keys = section.setdefault((binding.action, description), [])
        shown = app.get_key_display(binding) if binding.key_display else key
        if shown not in keys:
            keys.append(shown)
    # The screen's keys that do nothing right now (r/a away from the Decisions tab) are still
    # the screen's keys: listed, and marked, so that help teaches them.
    textual_keys.setdefault(id(screen), _declared_by_textual(screen))
    for key, bindings in screen._bindings.key_to_bindings.items():
        for binding in bindings:
            if key in active or binding.system or not binding.description:
                continue
            if _generic(key, binding, textual_keys[id(screen)]):
                continue
            description = f"{binding.tooltip or binding.description} (not available now)"
            keys = own.setdefault((binding.action, description), [])
            shown = app.get_key_display(binding) if binding.key_display else key
            if shown not in keys:
                keys.append(shown)
    found = [
        HelpSection(_pane_title(screen), _rows(pane)),
        HelpSection(_words(screen), _rows(own)),
        HelpSection("Everywhere", _rows(everywhere)),
    ]
    return [section for section in found if section.rows]


def _rows(section: dict[tuple[str, str], list[str]]) -> tuple[tuple[str, str], ...]:
    return tuple((", ".join(keys), description) for (_, description), keys in section.items())


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close help", key_display="esc",
                id="help.close"),
    ]

    def __init__(self, sections: list[HelpSection]) -> None:
        super().__init__()
        self.sections = sections

    @classmethod
    def for_screen(cls, screen: Screen[object]) -> HelpScreen:
        return cls(sections_for(screen))

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Static(Content.styled("plandesk — keys", "bold"), id="help-title")
            with VerticalScroll(id="help-body"):
                yield Static(Content(INTRO), id="help-intro")
                for section in self.sections:
                    if not section.rows:
                        continue
                    yield Static(Content.styled(section.title, "bold $text-primary"),
                                 classes="help-section")
                    width = max(len(keys) for keys, _ in section.rows) + 2
                    yield Static(
                        Content("\n").join(
                            Content.assemble((keys.ljust(width), "bold $text-accent"), description)
                            for keys, description in section.rows
                        ),
                        classes="help-table",
                    )
            yield Static(Content("escape closes this help"), id="help-footer")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
