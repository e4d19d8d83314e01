"""A plan's tree row: its name first, then, right-aligned and never cut, its short id, phase,
state and child count; the name gives way (with an ellipsis) when the row is too narrow.

Short ids are suffixes of the ULID: plans made in one millisecond share the first ten or more
characters (the timestamp), while the random tail tells them apart within a few characters.
"""

from __future__ import annotations

from collections.abc import Collection

from rich.style import Style
from rich.text import Text

from tui.widgets.plan_rows import PlanRow

MIN_ID_CHARS = 4
ID_MARK = "…"  # says the id is shortened, from the front
MIN_NAME_CELLS = 16  # below this, a narrow tree leaves the id out rather than cut the name


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


def plan_label(name: Text, row: PlanRow, *, id_chars: int, width: int,
               style_of: dict[str, Style]) -> Text:
    """`name` and the row's facts in `width` cells (no padding when `width` <= 0).

    In a narrow tree the id goes before the name would shrink below MIN_NAME_CELLS (the
    detail's title shows the full id); the phase, state and count always stay.
    """
    right = _facts(row, style_of, short_id(row.plan_id, id_chars))
    if width > 0 and width - right.cell_len < MIN_NAME_CELLS:
        right = _facts(row, style_of, None)
    left = name.copy()
    left.no_wrap = True
    if width > 0:
        room = width - right.cell_len
        if left.cell_len > room:
            left.truncate(max(1, room), overflow="ellipsis")
        left.pad_right(max(0, width - left.cell_len - right.cell_len))
    return Text.assemble(left, right, no_wrap=True)


def _facts(row: PlanRow, style_of: dict[str, Style], plan_id: str | None) -> Text:
    return Text.assemble(
        (f" {plan_id}" if plan_id else "", style_of["id"]),
        " ",
        (row.phase, style_of["phase"]),
        " ",
        (row.state, style_of.get(f"state-{row.state}", Style())),
        (f" ({row.child_count:,})" if row.child_count else "", style_of["count"]),
        (f" {row.unreadable}" if row.unreadable else "", style_of["unreadable"]),
        no_wrap=True,
    )
