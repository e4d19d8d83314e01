"""The Snapshot tab's text: where the frozen profile came from, the JSON, and its drift."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from textual.content import Content

from tui.widgets.detail_text import heading, when
from tui.widgets.literal import literal, visible

if TYPE_CHECKING:  # its module loads SQLAlchemy; the pane is drawn before it loads
    from store.plans import PlanDetail


def snapshot_source_content(detail: PlanDetail) -> Content:
    snapshot = detail.snapshot
    data = snapshot.data or {}
    captured = when(str(data.get("captured_at", ""))) if data.get("captured_at") else "?"
    source = snapshot.source
    if source == "creation":
        how = f"Captured when the plan was created, at {captured}."
    elif source == "backfill":
        how = (f"Backfilled by migration 0003 at {captured}: the plan predates snapshots, so "
               "this is the profile as it was defined at migration time.")
    else:
        how = f"Source unknown ({source})."
    lines = [heading("Effective profile snapshot"), literal(how)]
    if data and data.get("resolved") is False:
        lines.append(literal(
            f"Profile {data.get('profile_name')!r} was not defined when the snapshot was "
            "taken (unresolved).", "$text-warning"))
    if snapshot.error:
        lines.append(literal(snapshot.error, "$text-error"))
    return Content("\n").join(lines)


def snapshot_json_content(detail: PlanDetail) -> Content:
    snapshot = detail.snapshot
    if snapshot.data is None:
        return literal(snapshot.raw)
    pretty = json.dumps(snapshot.data, indent=2, sort_keys=True, ensure_ascii=True)
    # Pygments loads with the first highlighted JSON, not before the first roots
    from textual.highlight import highlight

    return highlight(pretty, language="json")


def drift_content(detail: PlanDetail) -> Content:
    drift = detail.drift
    name = visible(drift.profile_name)
    if not drift.current_exists:
        return Content("\n").join([
            heading("Drift"),
            literal(f"Profile {name!r} is not defined any more (or never was); nothing to "
                    "compare the snapshot with.", "$text-warning"),
        ])
    if not drift.diff_lines:
        return Content("\n").join([
            heading("Drift"),
            literal(f"None: profile {name!r} is defined today exactly as frozen here.",
                    "$text-success"),
        ])
    lines = [
        heading("Drift"),
        literal(f"Profile {name!r} changed since this snapshot (- frozen, + now):",
                "$text-warning"),
    ]
    for line in drift.diff_lines:
        if line.startswith(("---", "+++")):
            lines.append(literal(line, "bold"))
        elif line.startswith("@@"):
            lines.append(literal(line, "$text-accent"))
        elif line.startswith("-"):
            lines.append(literal(line, "$text-error"))
        elif line.startswith("+"):
            lines.append(literal(line, "$text-success"))
        else:
            lines.append(literal(line, "$text-muted"))
    return Content("\n").join(lines)
