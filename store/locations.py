"""Where a database is (path, URL, display name, artifact folders), without loading SQLAlchemy.

The app's first frame needs these, and importing SQLAlchemy costs more than drawing it, so a
plain SQLite URL is read here by hand; any other URL is handed to SQLAlchemy's own parser.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import platformdirs

# The URLs `database_url` makes, and most users type. Anything with a query or a %-escape
# goes to SQLAlchemy, which unquotes and parses options.
_PLAIN_SQLITE_URL = re.compile(r"(?:sqlite|sqlite\+pysqlite):///(?P<database>[^?%]*)")


def default_database_path() -> Path:
    return Path(platformdirs.user_data_dir("plandesk", appauthor=False)) / "plandesk.db"


def database_url(target: str | os.PathLike[str] | None = None) -> str:
    """A SQLAlchemy URL from a path or URL; None means $PLANDESK_DB, then the user data dir."""
    if target is None:
        target = os.environ.get("PLANDESK_DB") or default_database_path()
    text = os.fspath(target)
    if "://" in text:
        return text
    return "sqlite:///" + str(Path(text).expanduser().resolve())


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other backends and in-memory databases."""
    plain = _PLAIN_SQLITE_URL.fullmatch(url)
    if plain is not None:
        database = plain.group("database")
        return Path(database) if database and database != ":memory:" else None
    from store.db import parsed_url

    parsed = parsed_url(url)
    if parsed is None or parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def is_writable(path: Path) -> bool:
    """Whether plandesk may write the SQLite file at `path`: a file marked read-only is refused
    even for root (who could write it anyway), and so is a read-only folder (journal files)."""
    no_write_bits = not path.stat().st_mode & 0o222
    return not (no_write_bits or not os.access(path, os.W_OK)
                or not os.access(path.parent, os.W_OK))


def display_name(url: str) -> str:
    """Where the database is, for messages: a path, or the URL with its password masked."""
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    from store.db import parsed_url

    parsed = parsed_url(url)
    if parsed is None:
        # unparsable: still never show what may be a password between "://" and "@"
        scheme, _, rest = url.partition("://")
        return f"{scheme}://***@{rest.rpartition('@')[2]}" if "@" in rest else url
    return parsed.render_as_string(hide_password=True)


def artifacts_root(url: str) -> Path:
    """Where decision artifact folders live: $PLANDESK_ARTIFACTS, else beside a SQLite file,
    else in the user data dir."""
    configured = os.environ.get("PLANDESK_ARTIFACTS")
    if configured:
        return Path(configured).expanduser().resolve()
    path = sqlite_path(url)
    if path is not None:
        return path.with_name(path.stem + "-artifacts")
    return Path(platformdirs.user_data_dir("plandesk", appauthor=False)) / "artifacts"


def archive_root(url: str) -> Path:
    """Where a revert moves artifact folders: one sub-folder per correction attempt."""
    return artifacts_root(url) / "_archive"
