"""How the detail pane writes a value: timestamps, labelled fields, headings, stored JSON."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from textual.content import Content

from tui.widgets.literal import literal


def when(timestamp: str | None) -> str:
    """An ISO-8601 UTC timestamp as `2026-03-02 09:35:00 UTC`; other text as it is."""
    if not timestamp:
        return "—"
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    if moment.utcoffset() not in (None, timedelta(0)):
        return timestamp
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def field_line(name: str, value: object, width: int = 9) -> Content:
    return Content.assemble((f"{name:<{width - 1}} ", "$text-muted"), literal(str(value)))


def heading(text: str) -> Content:
    return Content.styled(text, "bold $text-primary")


def stored_json(raw: str) -> Content:
    """Stored JSON highlighted; text that is not JSON shown exactly as stored, and flagged.

    The highlighted text is re-serialised with ensure_ascii, so no control character or
    markup from the database can reach the terminal as anything but text.
    """
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return Content("\n").join([
            literal("unreadable: not valid JSON, shown as stored", "$text-error"),
            literal(raw),
        ])
    # Pygments loads with the first highlighted JSON, not before the first roots
    from textual.highlight import highlight

    return highlight(json.dumps(value, indent=2, ensure_ascii=True), language="json")
