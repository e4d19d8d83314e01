"""The text of a Textual SVG screenshot, row by row, so that a snapshot that no longer matches
says in the test output (CI's log included) which rows changed, not only that one did."""

from __future__ import annotations

import difflib
import html
import re

_TEXT = re.compile(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>')
_CELL_WIDTH = 12.2  # Textual's SVG export draws one terminal cell this many units wide


def screen_text(svg: str) -> list[str]:
    """Each row of the screen as text (styles left out)."""
    rows: dict[float, list[tuple[float, str]]] = {}
    for match in _TEXT.finditer(svg):
        x, y, text = float(match[1]), float(match[2]), html.unescape(match[3])
        rows.setdefault(y, []).append((x, text))
    lines = []
    for y in sorted(rows):
        line = ""
        for x, text in sorted(rows[y]):
            line = line.ljust(round(x / _CELL_WIDTH)) + text
        lines.append(line.replace("\xa0", " ").rstrip())
    return lines


def screen_difference(expected_svg: str, actual_svg: str) -> str:
    """What differs between two screenshots, as a diff of their text, or a line saying that
    only styles (colours, bold, …) differ."""
    expected, actual = screen_text(expected_svg), screen_text(actual_svg)
    if expected == actual:
        return "the text on screen is the same; only styles (colours, weights) differ"
    return "\n".join(difflib.unified_diff(expected, actual, "snapshot", "this run", lineterm=""))
