"""Database text made safe to show: never parsed as markup, control characters made visible.

Textual would parse a `str` as markup in many places (Static, DataTable cells, Tree labels)
and a raw ESC would reach the terminal, so every value from the database goes through here.
"""

from __future__ import annotations

import unicodedata

from rich.text import Text
from textual.content import Content

_VISIBLE = {"\t": "    "}


def visible(text: str | None, *, keep_newlines: bool = True) -> str:
    """`text` with each control character written out as an escape (`\\x1b`), as typed."""
    if not text:
        return ""
    if text.isprintable():
        return text  # no control or format character (nor tab, nor newline): as it is
    out: list[str] = []
    for char in text:
        if char == "\n" and keep_newlines:
            out.append(char)
        elif char in _VISIBLE:
            out.append(_VISIBLE[char])
        elif unicodedata.category(char) in ("Cc", "Cf") and char not in ("\u200d",):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def literal(text: str | None, style: str = "") -> Content:
    """Content showing `text` exactly as stored (no markup, escapes visible)."""
    return Content.styled(visible(text), style) if style else Content(visible(text))


def literal_text(text: str | None, style: str = "", *, one_line: bool = False) -> Text:
    """A Rich Text for widgets that still take Rich renderables (Tree labels, DataTable)."""
    shown = visible(text, keep_newlines=not one_line)
    if one_line:
        shown = shown.replace("\n", " ")
    return Text(shown, style=style, no_wrap=one_line)


def short_location(url: str) -> str:
    """Where the database is, short: relative to the working folder when inside it."""
    from pathlib import Path

    from store.locations import display_name, sqlite_path

    path = sqlite_path(url)
    if path is None:
        return display_name(url)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        home = Path.home()
        return "~/" + str(path.relative_to(home)) if path.is_relative_to(home) else str(path)


def shorten_paths(text: str, url: str) -> str:
    """`text` (a store message) with the database's full path replaced by its short form."""
    from store.locations import display_name

    return text.replace(display_name(url), short_location(url))
