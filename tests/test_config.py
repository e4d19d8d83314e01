"""The TOML config file: where it is, what is in effect and from where, bad files, write-back."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from store import migrations
from store.db import database_url
from tui.cli import main
from tui.config import ConfigError, load_config, save_settings


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def shown(output: str) -> dict[str, tuple[str, str]]:
    """`config show` lines as {name: (value, source)}."""
    rows = {}
    for line in output.splitlines():
        if line.startswith("#") or "=" not in line:
            continue
        name, _, rest = line.partition("=")
        value, _, source = rest.rpartition("#")
        rows[name.strip()] = (value.strip(), source.strip())
    return rows


def test_path_comes_from_the_flag_then_the_environment_then_the_user_config_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PLANDESK_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert run("config", "path").output.strip() == str(tmp_path / "xdg/plandesk/config.toml")
    monkeypatch.setenv("PLANDESK_CONFIG", str(tmp_path / "env.toml"))
    assert run("config", "path").output.strip() == str(tmp_path / "env.toml")
    flagged = run("--config", str(tmp_path / "flag.toml"), "config", "path")
    assert flagged.output.strip() == str(tmp_path / "flag.toml")


def test_show_says_where_each_setting_comes_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('theme = "nord"\nread_only = true\n[layout]\ntree_width = 40\n'
                      '[keymap]\n"plans.revert" = "R"\n')
    result = run("--config", str(config), "config", "show")
    assert result.exit_code == 0, result.output
    rows = shown(result.output)
    assert rows["theme"] == ('"nord"', "file")
    assert rows["read_only"] == ("true", "file")
    assert rows["layout.tree_width"] == ("40", "file")
    assert rows["layout.tree_hidden"] == ("false", "default")
    assert rows["keymap.plans.revert"] == ('"R"', "file")
    assert rows["tree_page_size"] == ("200", "default")
    assert rows["database"] == ("(not set)", "default")

    monkeypatch.setenv("PLANDESK_DB", "/data/env.db")
    rows = shown(run("--config", str(config), "config", "show").output)
    assert rows["database"] == ('"/data/env.db"', "env")
    rows = shown(run("--config", str(config), "--db", "/data/flag.db", "--no-read-only",
                     "config", "show").output)
    assert rows["database"] == ('"/data/flag.db"', "flag")
    assert rows["read_only"] == ("false", "flag")


def test_a_file_that_does_not_exist_yet_sets_nothing(tmp_path: Path) -> None:
    result = run("--config", str(tmp_path / "none.toml"), "config", "show")
    assert result.exit_code == 0
    assert "does not exist yet" in result.output
    assert {source for _, source in shown(result.output).values()} == {"default"}


def test_unknown_keys_are_warned_about_with_their_line_and_ignored(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('theme = "nord"\ncolour = "red"\n[layout]\ntree_widht = 3\n')
    result = run("--config", str(config), "config", "show")
    assert result.exit_code == 0
    assert f"{config}, line 2: unknown setting 'colour' is ignored" in result.stderr
    assert f"{config}, line 4: unknown setting 'layout.tree_widht' is ignored" in result.stderr
    assert shown(result.stdout)["theme"] == ('"nord"', "file")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('theme = "nord"\ntree_page_size = "big"\n',
         "line 2: tree_page_size: Input should be a valid integer (got 'big')"),
        ("read_only = 1\n", "line 1: read_only: Input should be a valid boolean (got 1)"),
        ("[layout]\ntree_width = 2\n", "line 2: layout.tree_width: Input should be greater"),
        ('[keymap]\n"plans.revert" = 5\n', "line 2: keymap.plans.revert: Input should be a "
         "valid string"),
        ('theme = "nord"\ntheme "x"\n', "not valid TOML: Expected '=' after a key in a "
         "key/value pair (at line 2, column 7)"),
        # strict types: a boolean is not an integer nor a number, a float is not an integer
        ("tree_page_size = true\n", "line 1: tree_page_size: Input should be a valid integer "
         "(got True)"),
        ("tree_page_size = 1.5\n", "line 1: tree_page_size: Input should be a valid integer"),
        ("refresh_seconds = false\n", "line 1: refresh_seconds: Input should be a valid number"),
        ("tree_page_size = 5001\n", "line 1: tree_page_size: Input should be less than or equal "
         "to 5000 (got 5001)"),
        ("refresh_seconds = 0.01\n", "line 1: refresh_seconds: Input should be 0 (off) or "
         "greater than or equal to 0.1"),
        ("refresh_seconds = nan\n", "line 1: refresh_seconds: Input should be 0 (off) or greater"),
        ('database = ""\n', "line 1: database: String should have at least 1 character"),
        ("theme = 3\n", "line 1: theme: Input should be a valid string (got 3)"),
        ("layout = 3\n", "line 1: layout: Input should be a valid dictionary (got 3)"),
        ("keymap = [1]\n", "line 1: keymap: Input should be a valid dictionary"),
        ("[layout]\ntree_hidden = 1\ntree_width = 501\n",
         "line 2: layout.tree_hidden: Input should be a valid boolean (got 1)\n"),
    ],
)
def test_a_bad_file_is_refused_naming_the_line(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text)
    result = run("--config", str(config), "config", "show")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert message in result.stderr, result.stderr
    assert result.stderr.startswith(f"plandesk: {config}")
    assert len(result.stderr.splitlines()) <= 2


def test_headless_commands_use_the_configured_database(tmp_path: Path) -> None:
    target = tmp_path / "configured.db"
    config = tmp_path / "config.toml"
    config.write_text(f'database = "{target}"\n')
    assert run("--config", str(config), "db", "upgrade").exit_code == 0
    assert migrations.inspect_database(database_url(target)).up_to_date
    current = run("--config", str(config), "db", "current")
    assert f"database: {target}" in current.output


def test_a_headless_command_with_a_bad_config_and_no_db_says_why(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('database = "x" y\n')
    result = run("--config", str(config), "db", "current")
    assert result.exit_code == 1
    assert "not valid TOML" in result.stderr and "line" in result.stderr
    # --db does not need the file
    ok = run("--config", str(config), "db", "upgrade", "--db", str(tmp_path / "x.db"))
    assert ok.exit_code == 0, ok.output


def test_saving_keeps_the_users_comments_and_other_settings(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    original = ('# my plandesk\ntheme = "nord"  # dark, for the evening\n\n'
                '[keymap]\n"plans.revert" = "R"  # shift: harder to hit\n')
    config.write_text(original)
    save_settings(config, {"theme": "gruvbox", "layout.tree_width": 42})
    text = config.read_text()
    assert text.startswith("# my plandesk\ntheme = \"gruvbox\"  # dark, for the evening\n")
    assert '"plans.revert" = "R"  # shift: harder to hit' in text
    settings = load_config(str(config)).settings
    assert (settings.theme, settings.layout.tree_width) == ("gruvbox", 42)
    assert settings.keymap == {"plans.revert": "R"}


def test_saving_creates_the_file_and_its_folder(tmp_path: Path) -> None:
    config = tmp_path / "new" / "dir" / "config.toml"
    save_settings(config, {"theme": "nord"})
    assert load_config(str(config)).settings.theme == "nord"


def test_saving_leaves_a_file_that_is_not_toml_as_it_is(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("theme = = 'x'\n")
    with pytest.raises(ConfigError, match="left as it is"):
        save_settings(config, {"theme": "nord"})
    assert config.read_text() == "theme = = 'x'\n"
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]


def test_config_commands_never_open_a_database(tmp_path: Path) -> None:
    target = tmp_path / "never.db"
    result = run("--db", str(target), "config", "show")
    assert result.exit_code == 0
    assert not target.exists()
    assert sqlite3.sqlite_version  # the standard library is all this test touched


def test_the_readme_example_is_a_valid_config_with_nothing_unknown(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    [example] = re.findall(r"```toml\n(.*?)```", readme, flags=re.DOTALL)
    config = tmp_path / "config.toml"
    config.write_text(example)
    loaded = load_config(str(config))
    assert loaded.warnings == ()
    assert loaded.settings.keymap == {"plans.revert": "x", "app.help": "f1,question_mark"}


@pytest.mark.parametrize("command", [["db", "upgrade"], ["db", "downgrade", "0004"],
                                     ["correct", "P", "D", "--mode", "append", "--guidance", "g"]])
def test_commands_that_write_are_refused_with_read_only(tmp_path: Path, command) -> None:
    target = tmp_path / "x.db"
    result = run("--read-only", "--db", str(target), *command)
    assert result.exit_code == 1
    assert result.stderr.startswith("plandesk: read-only: ")
    assert not target.exists()


def test_every_problem_in_a_file_is_named_and_good_values_are_kept(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('theme = "nord"\nrefresh_seconds = 1\n[layout]\ntree_width = 9\n'
                      'tree_hidden = true\n[keymap]\n"app.help" = "f1"\n"plans.revert" = 2\n')
    with pytest.raises(ConfigError) as raised:
        load_config(str(config))
    assert str(raised.value).splitlines() == [
        f"{config}, line 8: keymap.plans.revert: Input should be a valid string (got 2)",
        f"{config}, line 4: layout.tree_width: Input should be greater than or equal to 10 "
        "(got 9)",
    ]
    config.write_text('refresh_seconds = 1\n[layout]\ntree_width = 10\n')
    settings = load_config(str(config)).settings
    assert settings.refresh_seconds == 1.0 and isinstance(settings.refresh_seconds, float)
    config.write_text('refresh_seconds = 0\n')  # live updates off
    assert load_config(str(config)).settings.refresh_seconds == 0.0
    assert (settings.layout.tree_width, settings.layout.tree_hidden) == (10, False)
    with pytest.raises(AttributeError):
        settings.theme = "x"  # type: ignore[misc]


def test_reading_the_config_imports_neither_pydantic_nor_tomlkit() -> None:
    # the app reads the config before its first frame; tomlkit is for writing it back only
    script = ("import sys, tui.config\n"
              "tui.config.parse_settings('theme = \"nord\"', tui.config.Path('c.toml'))\n"
              "print(sorted({m.split('.')[0] for m in sys.modules} & {'pydantic', 'tomlkit'}))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
