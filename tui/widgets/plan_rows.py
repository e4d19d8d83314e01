"""What the plan tree's nodes hold, and the messages its thread workers post back to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

from textual.message import Message
from textual.widgets.tree import NodeID

from store.plans import PlanFilter, PlanPage

if TYPE_CHECKING:  # their modules load SQLAlchemy, which the first page of roots does without
    from store.plans import MatchChunk, RevealStep, SearchResult, TailPage


@dataclass
class PlanRow:
    plan_id: str
    name: str
    phase: str
    state: str
    child_count: int
    children_loaded: bool = False
    unreadable: str = ""  # "unreadable: phase 'bogus'" for a row the models cannot read
    context: bool = False  # shown (dimmed) only to place filter matches in their tree


@dataclass
class MoreRow:
    """A gap of not-yet-loaded siblings: ids after `after` and before `until`."""

    after: str | None
    until: str | None = None
    remaining: int | None = None
    loading: bool = False


@dataclass
class LoadingRow:
    what: str = "loading…"


@dataclass
class NoteRow:
    """A line that is not a plan: "… 112 more matches: type more to narrow them"."""

    what: str


@dataclass
class MoreMatchesRow:
    """The filter's next matches, found but not placed yet (a screenful is placed at a time)."""

    plan_ids: tuple[str, ...]
    loading: bool = False


TreeRow: TypeAlias = PlanRow | MoreRow | LoadingRow | NoteRow | MoreMatchesRow


@dataclass(frozen=True)
class PageRequest:
    generation: int
    parent_node: NodeID | None  # None: the tree's root (Tree.clear() makes a new, unregistered one)
    parent_plan_id: str | None
    plan_filter: PlanFilter | None
    after: str | None
    until: str | None
    placeholder: NodeID | None


@dataclass(frozen=True)
class TreePlace:
    """Where the user is in the tree, so that a reload can put them back there."""

    expanded: tuple[str, ...] = ()  # plan ids, parents before their children
    loaded: tuple[tuple[str | None, int], ...] = ((None, 0),)  # plans loaded per level
    cursor_plan_id: str | None = None
    cursor_path: tuple[str, ...] = ()  # the cursor plan's ancestors in the tree, root first
    cursor_index: int = 0  # its position among its siblings
    scroll_y: float = 0


# What the tree tells the screen (named as PlanTree's own: on_plan_tree_plan_highlighted, …).


class PlanHighlighted(Message, namespace="plan_tree"):
    """The cursor is now on `plan_id` (None: on no plan, e.g. a "… more" row)."""

    def __init__(self, plan_id: str | None) -> None:
        super().__init__()
        self.plan_id = plan_id


class MatchesShown(Message, namespace="plan_tree"):
    """The filter's matches are on screen; `label` says how many ("312 matches"), `window`
    how many of the newest plans a short text was looked for in (None: in all of them)."""

    def __init__(self, label: str, window: int | None = None) -> None:
        super().__init__()
        self.label = label
        self.window = window


class MatchChosen(Message, namespace="plan_tree"):
    """`enter` on a plan among the filter's matches: show it in the full tree."""

    def __init__(self, plan_id: str) -> None:
        super().__init__()
        self.plan_id = plan_id


# Private to the tree: they are posted to it by its own workers and must not bubble.


@dataclass
class PageLoaded(Message, bubble=False):
    request: PageRequest
    page: PlanPage


@dataclass
class PageFailed(Message, bubble=False):
    request: PageRequest
    error: str


@dataclass
class RevealReady(Message, bubble=False):
    generation: int
    plan_id: str
    steps: tuple[RevealStep, ...] = field(default=())
    error: str | None = None


@dataclass
class MatchesLoaded(Message, bubble=False):
    """A search's matches (None and `error` if it failed): `chunk`, the first screenful of
    them with their ancestors, to place now; `rest`, the ids of the others, to place later."""

    generation: int
    result: SearchResult | None
    chunk: MatchChunk | None = None
    rest: tuple[str, ...] = ()
    cursor_plan_id: str | None = None  # keep the cursor on this plan if it is still shown
    error: str | None = None


@dataclass
class MoreMatchesLoaded(Message, bubble=False):
    """The next matches of a search, with the ancestors not shown yet (None: it failed)."""

    generation: int
    chunk: MatchChunk | None
    rest: tuple[str, ...]  # the matches after these, still to place
    error: str | None = None


@dataclass
class TailLoaded(Message, bubble=False):
    generation: int
    parent_plan_id: str | None
    tail: TailPage | None
    error: str | None = None


@dataclass
class PlaceRestored(Message, bubble=False):
    """A reload's pages, and the way down to the cursor plan (None: that plan is gone)."""

    generation: int
    place: TreePlace
    pages: dict[str | None, PlanPage]
    steps: tuple[RevealStep, ...] | None
    error: str | None = None
    say_if_gone: bool = True
    live: bool = False  # read for a live refresh (plan_tree_live), not for ctrl+r
