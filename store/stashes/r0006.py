"""0006 (live notifications) drops only its PostgreSQL triggers and function on the way down,
and its upgrade creates them again: no data to keep. Registered so that downgrades through it
are known not to lose anything."""

import sqlalchemy as sa

TABLES: tuple[str, ...] = ()


def stash(bind: sa.Connection) -> None:
    """Triggers hold no data."""


def after_downgrade(bind: sa.Connection) -> None:
    """Nothing to compare against later."""


def before_upgrade(bind: sa.Connection) -> None:
    """Nothing was stashed."""


def restore(bind: sa.Connection) -> list[str]:
    """Nothing was stashed."""
    return []
