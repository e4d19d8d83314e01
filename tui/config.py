"""The user's TOML config file: where it is, what it sets, and where each setting in effect
comes from.

Imports neither Textual nor `store`, so that `plandesk config ...` and the headless commands
that read the default database from it stay quick.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

import platformdirs

CONFIG_ENV = "PLANDESK_CONFIG"
DATABASE_ENV = "PLANDESK_DB"
CONFIG_NAME = "config.toml"

Source = Literal["default", "file", "env", "flag"]


class ConfigError(Exception):
    """A config file plandesk cannot use; the message names the file and the line."""


@dataclass(frozen=True)
class LayoutSettings:
    """The `[layout]` table: the split between the tree and the detail pane."""

    tree_width: int | None = None  # 10..500
    tree_hidden: bool = False


@dataclass(frozen=True)
class FileSettings:
    """What a config file may set; every key is optional. Checked by `validate_settings`
    (plain dataclasses: pydantic costs the app's first frame ~0.2 s to import)."""

    database: str | None = None
    theme: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    tree_page_size: int = 200  # 10..5000
    refresh_seconds: float = 0.1  # 0 (live updates off) or 0.1..3600
    read_only: bool = False
    layout: LayoutSettings = field(default_factory=LayoutSettings)

    def replaced(self, **changes: Any) -> FileSettings:
        """These settings with a few changed (the theme picked in the app), as a new value."""
        return replace(self, **changes)


DEFAULTS = FileSettings()
# the keys the file may hold, per table ("" is the top level): anything else is warned about
KNOWN_KEYS: dict[str, frozenset[str]] = {
    "": frozenset(item.name for item in fields(FileSettings)),
    "layout": frozenset(item.name for item in fields(LayoutSettings)),
}
FREE_TABLES = frozenset({"keymap"})  # tables whose keys are the user's (binding ids)



def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir("plandesk", appauthor=False)) / CONFIG_NAME


def config_path(flag: str | None = None) -> tuple[Path, Source]:
    """Where the config file is: --config, else $PLANDESK_CONFIG, else the user config dir."""
    if flag:
        return Path(flag).expanduser(), "flag"
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser(), "env"
    return default_config_path(), "default"


def _line_of(text: str, table: str, key: str) -> int | None:
    """The line that sets `key` in `[table]`, for messages about a value of the wrong type."""
    current = ""
    header = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]")
    for number, line in enumerate(text.splitlines(), start=1):
        found = header.match(line)
        if found:
            current = found.group(1).strip().strip('"')
            continue
        setting = re.match(r'^\s*"?([^"=\s]+)"?\s*=', line)
        if setting and current == table and setting.group(1) == key:
            return number
    return None


def _unknown_keys(data: Mapping[str, Any], text: str, path: Path) -> tuple[str, ...]:
    warnings = []
    for table, known in KNOWN_KEYS.items():
        values = data if not table else data.get(table)
        if not isinstance(values, Mapping):
            continue
        for key in values:
            if key in known or (not table and key in FREE_TABLES):
                continue
            name = f"{table}.{key}" if table else key
            line = _line_of(text, table, key)
            where = f"{path}, line {line}" if line else str(path)
            warnings.append(f"{where}: unknown setting {name!r} is ignored")
    return tuple(warnings)


# A check gives what is wrong with a value (None when it is fine). TOML has no null, so a
# setting that defaults to None is only ever checked with a value.
Check = Callable[[Any], str | None]


def _within(value: float, low: float, high: float) -> str | None:
    # written as "not >=" so that NaN is refused too
    if not value >= low:
        return f"Input should be greater than or equal to {low}"
    if not value <= high:
        return f"Input should be less than or equal to {high}"
    return None


def _integer(low: int, high: int) -> Check:
    def check(value: Any) -> str | None:
        # strict: no strings, no floats, and no booleans (bool is a subclass of int)
        if type(value) is not int:
            return "Input should be a valid integer"
        return _within(value, low, high)
    return check


def _interval(low: float, high: float) -> Check:
    """A number of seconds in low..high, or 0 for never."""
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "Input should be a valid number"
        if value == 0:
            return None
        problem = _within(value, low, high)
        return None if problem is None else problem.replace("Input should be",
                                                            "Input should be 0 (off) or", 1)
    return check


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "Input should be a valid boolean"


def _string(value: Any) -> str | None:
    return None if isinstance(value, str) else "Input should be a valid string"


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return "Input should be a valid string"
    return None if value else "String should have at least 1 character"


# every key but the tables, in the order problems are reported
TOP_CHECKS: dict[str, Check] = {
    "database": _text,
    "theme": _text,
    "tree_page_size": _integer(10, 5000),
    "refresh_seconds": _interval(0.1, 3600),
    "read_only": _boolean,
}
LAYOUT_CHECKS: dict[str, Check] = {"tree_width": _integer(10, 500), "tree_hidden": _boolean}
Problem = tuple[tuple[str, ...], str, Any]  # (where: key path, what is wrong, the value)


def _checked(
    values: Mapping[str, Any], checks: Mapping[str, Check], table: tuple[str, ...],
    problems: list[Problem],
) -> dict[str, Any]:
    """The values that pass their check; a problem recorded for each that does not."""
    good = {}
    for name, check in checks.items():
        if name not in values:
            continue
        problem = check(values[name])
        if problem is None:
            good[name] = values[name]
        else:
            problems.append(((*table, name), problem, values[name]))
    return good


def validate_settings(data: Mapping[str, Any]) -> tuple[FileSettings, list[Problem]]:
    """The settings in a parsed config file, and what is wrong with it (unknown keys are
    ignored here: `_unknown_keys` warns about them)."""
    problems: list[Problem] = []
    top = _checked(data, TOP_CHECKS, (), problems)
    if "refresh_seconds" in top:
        top["refresh_seconds"] = float(top["refresh_seconds"])
    keymap = data.get("keymap", {})
    if not isinstance(keymap, dict):
        problems.append((("keymap",), "Input should be a valid dictionary", keymap))
    else:
        top["keymap"] = _checked(keymap, dict.fromkeys(keymap, _string), ("keymap",), problems)
    layout = data.get("layout", {})
    if not isinstance(layout, dict):
        problems.append((("layout",), "Input should be a valid dictionary", layout))
    else:
        top["layout"] = LayoutSettings(**_checked(layout, LAYOUT_CHECKS, ("layout",), problems))
    return FileSettings(**top), problems


def _invalid(problems: list[Problem], text: str, path: Path) -> ConfigError:
    lines = []
    for loc, message, got in problems:
        table, key = (loc[0], loc[1]) if len(loc) > 1 else ("", loc[0])
        line = _line_of(text, table, key)
        where = f"{path}, line {line}" if line else str(path)
        shown = f" (got {got!r})" if not isinstance(got, dict | list) else ""
        lines.append(f"{where}: {'.'.join(loc)}: {message}{shown}")
    return ConfigError("\n".join(lines))


def parse_settings(text: str, path: Path) -> tuple[FileSettings, tuple[str, ...]]:
    """The settings in a config file's text, and warnings about keys plandesk does not know."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    settings, problems = validate_settings(data)
    if problems:
        raise _invalid(problems, text, path)
    return settings, _unknown_keys(data, text, path)


def _read_text(path: Path) -> str | None:
    """The file's text; None for a file that does not exist yet (it sets nothing)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from exc


@dataclass(frozen=True)
class Config:
    """The settings in effect, and where each came from (default, file, env or flag)."""

    path: Path
    path_source: Source
    settings: FileSettings = DEFAULTS
    sources: Mapping[str, Source] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def source(self, name: str) -> Source:
        return self.sources.get(name, "default")

    @property
    def read_only(self) -> bool:
        return self.settings.read_only

    def rows(self) -> list[tuple[str, Any, Source]]:
        """Every setting as (dotted name, value, source), for `plandesk config show`."""
        rows: list[tuple[str, Any, Source]] = []
        for name, value in asdict(self.settings).items():
            if isinstance(value, dict) and not value:
                rows.append((name, value, self.source(name)))
            elif isinstance(value, dict) and name in KNOWN_KEYS:
                for key, inner in value.items():
                    rows.append((f"{name}.{key}", inner, self.source(f"{name}.{key}")))
            elif isinstance(value, dict):
                for key, inner in sorted(value.items()):
                    rows.append((f"{name}.{key}", inner, self.source(name)))
            else:
                rows.append((name, value, self.source(name)))
        return rows


def _file_sources(data: Mapping[str, Any]) -> dict[str, Source]:
    """Which settings the file itself sets (dotted for `[layout]`)."""
    sources: dict[str, Source] = {}
    for key, value in data.items():
        if key in KNOWN_KEYS and isinstance(value, Mapping):
            sources.update({f"{key}.{inner}": "file" for inner in value})
        sources[key] = "file"
    return sources


def load_config(
    config_flag: str | None = None,
    *,
    database_flag: str | None = None,
    read_only_flag: bool | None = None,
    use_file: bool = True,
) -> Config:
    """The config in effect: the file (raising ConfigError if it is bad), then $PLANDESK_DB,
    then the flags. `use_file=False` gives the defaults with the env and flags applied, for
    when the file is bad and the app starts anyway."""
    path, path_source = config_path(config_flag)
    settings: FileSettings = DEFAULTS
    warnings: tuple[str, ...] = ()
    sources: dict[str, Source] = {}
    text = _read_text(path) if use_file else None
    if text is not None:
        settings, warnings = parse_settings(text, path)
        sources = _file_sources(tomllib.loads(text))
    updates: dict[str, Any] = {}
    env_database = os.environ.get(DATABASE_ENV)
    if database_flag:
        updates["database"], sources["database"] = database_flag, "flag"
    elif env_database:
        updates["database"], sources["database"] = env_database, "env"
    if read_only_flag is not None:
        updates["read_only"], sources["read_only"] = read_only_flag, "flag"
    return Config(path, path_source, settings.replaced(**updates), sources, warnings)


def app_config(
    config_flag: str | None, *, database_flag: str | None, read_only_flag: bool | None
) -> tuple[Config, str | None]:
    """The config the app starts with, and what was wrong with the file if it is bad: the app
    then starts with the defaults (the env and the flags still apply) and says so."""
    try:
        return load_config(config_flag, database_flag=database_flag,
                           read_only_flag=read_only_flag), None
    except ConfigError as exc:
        return load_config(config_flag, database_flag=database_flag,
                           read_only_flag=read_only_flag, use_file=False), str(exc)


def configured_database(config_flag: str | None) -> str | None:
    """The config file's database for a headless command given no --db, unless $PLANDESK_DB
    names one (it wins); raises ConfigError for a bad file."""
    if os.environ.get(DATABASE_ENV):
        return None
    return load_config(config_flag).settings.database


_saving = threading.Lock()


def save_settings(
    path: Path, values: Mapping[str, Any] | Callable[[], Mapping[str, Any]]
) -> None:
    """Set a few keys in the file (dotted names for tables: "layout.tree_width"), keeping
    everything else in it, comments included; written to a temporary file, then renamed.

    One save at a time; `values` may be a function, called once it is this save's turn."""
    with _saving:
        _save(path, values() if callable(values) else values)


def _save(path: Path, values: Mapping[str, Any]) -> None:
    # imported here: only a save needs tomlkit (it keeps the user's comments), not a read
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    try:
        document = tomlkit.parse(text)
    except TOMLKitError as exc:
        raise ConfigError(f"{path}: not valid TOML, so it was left as it is: {exc}") from exc
    for name, value in values.items():
        table_name, _, key = name.rpartition(".")
        table: Any = document
        if table_name:
            if table_name not in document:
                document[table_name] = tomlkit.table()
            table = document[table_name]
        table[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(tomlkit.dumps(document))
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
