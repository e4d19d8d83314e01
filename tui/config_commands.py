"""`plandesk config path|show`: where the config file is and which settings are in effect."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from tui.config import ConfigError, config_path, load_config


@click.group("config")
def config_group() -> None:
    """The TOML config file (theme, keymap, layout, read-only, default database)."""


@config_group.command("path")
@click.pass_context
def config_path_command(ctx: click.Context) -> None:
    """Print where the config file is (it may not exist yet)."""
    path, _ = config_path(ctx.obj.get("config"))
    click.echo(str(path))


def _shown(value: Any) -> str:
    # TOML-like, so that a value can be copied into the file as it is
    return json.dumps(value) if value is not None else "(not set)"


@config_group.command("show")
@click.pass_context
def config_show_command(ctx: click.Context) -> None:
    """Print every setting in effect and where it comes from (default, file, env, flag)."""
    try:
        config = load_config(
            ctx.obj.get("config"),
            database_flag=ctx.obj.get("db"),
            read_only_flag=ctx.obj.get("read_only"),
        )
    except ConfigError as exc:
        click.echo(f"plandesk: {exc}", err=True)
        sys.exit(1)
    exists = "" if config.path.exists() else " (does not exist yet)"
    click.echo(f"# config file: {config.path}{exists} ({config.path_source})")
    for warning in config.warnings:
        click.echo(f"plandesk: warning: {warning}", err=True)
    rows = config.rows()
    width = max(len(name) for name, _, _ in rows)
    for name, value, source in rows:
        click.echo(f"{name.ljust(width)} = {_shown(value)}  # {source}")
