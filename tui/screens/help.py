"""The `?` help screen: every key binding of every screen and widget, read from the classes
themselves so that it cannot fall out of date."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Input, Static

INTRO = (
    "plandesk browses the plans of one database. Highlight a plan in the tree to see its "
    "details; press 2 for its profile snapshot and drift. Type / to filter, ctrl+p to jump "
    "to a plan by id or name. On the Decisions tab (4), r reverts to the highlighted decision "
    "and a appends a corrective one, after a preview."
)


def _sections() -> list[tuple[str, type[DOMNode], tuple[Binding, ...]]]:
    from tui.app import PlandeskApp
    from tui.screens.correction import CorrectionModal
    from tui.screens.error import ErrorScreen
    from tui.screens.migration import MigrationScreen
    from tui.screens.plans import PlansScreen
    from tui.widgets.plan_detail import PlanDetailPane
    from tui.widgets.plan_tree import PlanTree

    return [
        ("Everywhere", PlandeskApp, _own(Screen)),
        ("Plans screen", PlansScreen, ()),
        ("Plan tree", PlanTree, ()),
        ("Detail pane", PlanDetailPane, ()),
        ("Tables (decisions, corrections, inputs)", DataTable, ()),
        ("Filter box", Input, ()),
        ("Correction dialog", CorrectionModal, ()),
        ("Migration screen", MigrationScreen, ()),
        ("Error screen", ErrorScreen, ()),
        ("This help", HelpScreen, ()),
    ]


def _own(node_class: type[DOMNode]) -> tuple[Binding, ...]:
    return tuple(Binding.make_bindings(node_class.__dict__.get("BINDINGS", [])))


def binding_rows(
    node_class: type[DOMNode], extra: tuple[Binding, ...] = ()
) -> list[tuple[str, str]]:
    """(keys, description) for each action bound on `node_class`, keys of one action joined.

    Screens list only their own bindings (what every screen has is under "Everywhere");
    widgets list everything they inherit, scrolling included.
    """
    if issubclass(node_class, Screen):
        bindings: tuple[Binding, ...] = _own(node_class)
    else:
        merged = node_class._merge_bindings()
        bindings = tuple(b for bs in merged.key_to_bindings.values() for b in bs)
    by_action: dict[tuple[str, str], list[str]] = {}
    for binding in (*extra, *bindings):
        if binding.system or not binding.description:
            continue
        # The footer's word is short; a tooltip, where there is one, says it in full.
        keys = by_action.setdefault((binding.action, binding.tooltip or binding.description), [])
        shown = binding.key_display or binding.key
        if shown not in keys:
            keys.append(shown)
    return [(", ".join(keys), description) for (_, description), keys in by_action.items()]


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close help", key_display="esc"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Static(Content.styled("plandesk — keys", "bold"), id="help-title")
            with VerticalScroll(id="help-body"):
                yield Static(Content(INTRO), id="help-intro")
                for title, node_class, extra in _sections():
                    rows = binding_rows(node_class, extra)
                    if not rows:
                        continue
                    yield Static(Content.styled(title, "bold $text-primary"),
                                 classes="help-section")
                    width = max(len(keys) for keys, _ in rows) + 2
                    yield Static(
                        Content("\n").join(
                            Content.assemble((keys.ljust(width), "bold $text-accent"), description)
                            for keys, description in rows
                        ),
                        classes="help-table",
                    )
            yield Static(Content("escape closes this help"), id="help-footer")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
