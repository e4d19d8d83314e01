"""The text of a Textual SVG screenshot, row by row, so that a snapshot that no longer matches
says in the test output (CI's log included) which rows changed, not only that one did; when
only colours changed, which cells and how."""

from __future__ import annotations

import difflib
import html
import re

_TEXT = re.compile(
    r'<text class="terminal-(?:\d+-)?(r\d+)" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>')
_STYLE = re.compile(r"\.terminal-(?:\d+-)?(r\d+) \{ ([^}]*) \}")
_BACKGROUND = re.compile(
    r'<rect fill="([^"]+)" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="[\d.]+"'
    r' shape-rendering="crispEdges"/>')
# Textual's SVG export: one cell is this wide, one row this tall, the first row this far down
_CELL_WIDTH, _ROW_HEIGHT, _TEXT_TOP, _BACKGROUND_TOP = 12.2, 24.4, 20.0, 1.5


def screen_text(svg: str) -> list[str]:
    """Each row of the screen as text (styles left out)."""
    rows: dict[float, list[tuple[float, str]]] = {}
    for match in _TEXT.finditer(svg):
        x, y, text = float(match[2]), float(match[3]), html.unescape(match[4])
        rows.setdefault(y, []).append((x, text))
    lines = []
    for y in sorted(rows):
        line = ""
        for x, text in sorted(rows[y]):
            line = line.ljust(round(x / _CELL_WIDTH)) + text
        lines.append(line.replace("\xa0", " ").rstrip())
    return lines


def _cell_styles(svg: str) -> dict[tuple[int, int], str]:
    """(row, column) -> how the cell is drawn: its background and its text's style."""
    styles = dict(_STYLE.findall(svg))
    cells: dict[tuple[int, int], str] = {}
    for fill, x, y, width in _BACKGROUND.findall(svg):
        row = round((float(y) - _BACKGROUND_TOP) / _ROW_HEIGHT)
        first = round(float(x) / _CELL_WIDTH)
        for column in range(first, first + round(float(width) / _CELL_WIDTH)):
            cells[row, column] = f"background {fill}"
    for match in _TEXT.finditer(svg):
        row = round((float(match[3]) - _TEXT_TOP) / _ROW_HEIGHT)
        first = round(float(match[2]) / _CELL_WIDTH)
        for column in range(first, first + len(html.unescape(match[4]))):
            cells[row, column] = (cells.get((row, column), "background none")
                                  + f", text {styles.get(match[1], match[1])}")
    return cells


def style_difference(expected_svg: str, actual_svg: str) -> list[str]:
    """The runs of cells, per row, drawn differently: 'row R, columns A-B: was -> now'."""
    expected, actual = _cell_styles(expected_svg), _cell_styles(actual_svg)
    changed = sorted(cell for cell in expected.keys() | actual.keys()
                     if expected.get(cell) != actual.get(cell))
    lines: list[str] = []
    run: list[tuple[int, int]] = []
    for cell in [*changed, (-1, -1)]:
        if run and (cell[0] != run[-1][0] or cell[1] != run[-1][1] + 1
                    or expected.get(cell) != expected.get(run[0])
                    or actual.get(cell) != actual.get(run[0])):
            (row, start), (_, end) = run[0], run[-1]
            lines.append(f"row {row}, columns {start}-{end}: {expected.get(run[0])}"
                         f" -> {actual.get(run[0])}")
            run = []
        run.append(cell)
    return lines


def screen_difference(expected_svg: str, actual_svg: str) -> str:
    """What differs between two screenshots: a diff of their text, or, when the text is the
    same, the cells whose colours or weights changed."""
    expected, actual = screen_text(expected_svg), screen_text(actual_svg)
    if expected == actual:
        return "\n".join(["the text on screen is the same; these cells are drawn differently:",
                          *style_difference(expected_svg, actual_svg)[:40],
                          "the screen, as the snapshot has it:", *expected])
    return "\n".join(difflib.unified_diff(expected, actual, "snapshot", "this run", lineterm=""))
