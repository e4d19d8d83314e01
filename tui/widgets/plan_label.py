"""A plan's tree row: its name first, then, right-aligned and never cut, its short id, phase,
state and child count; the name gives way (with an ellipsis) when the row is too narrow.

Short ids are suffixes of the ULID: plans made in one millisecond share the first ten or more
characters (the timestamp), while the random tail tells them apart within a few characters.
"""

from __future__ import annotations

from collections.abc import Collection

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text

from tui.widgets.plan_rows import PlanRow

MIN_ID_CHARS = 4
ID_MARK = "…"  # says the id is shortened, from the front
NAMESPACE_MARK = "…"  # stands for a namespace left out of a name that does not fit
IDS_FROM_WIDTH = 44  # a tree's content columns from which its rows show their short ids
# In a tree narrower than that, phase and state in short words, so that names keep their room
# (a value the models do not know is shown as stored).
SHORT_WORDS = {
    "strategize": "strat", "execute": "exec", "apply": "apply", "applied": "applied",
    "queued": "queued", "processing": "busy", "errored": "error", "complete": "done",
    "cancelled": "cancel",
}


def unique_suffix_chars(plan_ids: Collection[str], minimum: int = MIN_ID_CHARS) -> int:
    """The fewest trailing characters that still tell every id in `plan_ids` apart."""
    ids = set(plan_ids)
    longest = max((len(plan_id) for plan_id in ids), default=minimum)
    chars = minimum
    while chars < longest and len({plan_id[-chars:] for plan_id in ids}) < len(ids):
        chars += 1
    return chars


def short_id(plan_id: str, chars: int) -> str:
    return plan_id if chars >= len(plan_id) else ID_MARK + plan_id[-chars:]


def plan_label(name: Text, row: PlanRow, *, id_chars: int, width: int, tree_width: int,
               style_of: dict[str, Style]) -> Text:
    """`name` and the row's facts in `width` cells (no padding when `width` <= 0).

    A tree narrower than IDS_FROM_WIDTH leaves the ids out (the detail's title has the full
    id) and says phase and state in short words, so that names keep their room; the phase,
    state and count always stay. A name that does not fit drops its namespace first
    (`…/migrate-invoices`): the part after it is what tells siblings apart.
    """
    wide = tree_width >= IDS_FROM_WIDTH
    plan_id = short_id(row.plan_id, id_chars) if wide else None
    right = _facts(row, style_of, plan_id, short_words=not wide)
    left = name.copy()
    left.no_wrap = True
    if width > 0:
        room = width - right.cell_len
        slash = left.plain.rfind("/")
        if left.cell_len > room and 0 < slash < len(left.plain) - 1:
            left = Text.assemble(NAMESPACE_MARK, left[slash:], no_wrap=True)
        if left.cell_len > room:
            left.truncate(max(1, room), overflow="ellipsis")
        left.pad_right(max(0, width - left.cell_len - right.cell_len))
    return Text.assemble(left, right, no_wrap=True)


def facts_width(row: PlanRow, *, id_chars: int, tree_width: int) -> int:
    """The cells of the facts `plan_label` right-aligns: with `width` more than that, the whole
    label is exactly `width` cells (the name is padded or cut to the rest), so a tree can
    measure its rows without drawing them."""
    wide = tree_width >= IDS_FROM_WIDTH
    # counted, not drawn: the tree measures each new row of a page with this
    phase, state = row.phase, row.state
    if not wide:
        phase, state = SHORT_WORDS.get(phase, phase), SHORT_WORDS.get(state, state)
    width = cell_len(phase) + cell_len(state) + 2
    if wide:
        width += 1 + cell_len(short_id(row.plan_id, id_chars))
    if row.child_count:
        width += len(f" ({row.child_count:,})")
    if row.unreadable:
        width += 1 + cell_len(row.unreadable)
    return width


def _facts(row: PlanRow, style_of: dict[str, Style], plan_id: str | None, *,
           short_words: bool = False) -> Text:
    def word(value: str) -> str:
        return SHORT_WORDS.get(value, value) if short_words else value

    return Text.assemble(
        (f" {plan_id}" if plan_id else "", style_of["id"]),
        " ",
        (word(row.phase), style_of["phase"]),
        " ",
        (word(row.state), style_of.get(f"state-{row.state}", Style())),
        (f" ({row.child_count:,})" if row.child_count else "", style_of["count"]),
        (f" {row.unreadable}" if row.unreadable else "", style_of["unreadable"]),
        no_wrap=True,
    )
