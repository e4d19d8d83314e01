"""0005 keeps its own stash: its downgrade() writes plandesk_stash_0005 and its upgrade()
restores from it (alembic/versions/0005_*). Registered so that downgrades through 0005 are
known not to lose data; these hooks have nothing left to do."""

import sqlalchemy as sa

TABLES: tuple[str, ...] = ()


def stash(bind: sa.Connection) -> None:
    """The revision's own downgrade() stashes what it drops."""


def after_downgrade(bind: sa.Connection) -> None:
    """Nothing to compare against later."""


def before_upgrade(bind: sa.Connection) -> None:
    """The revision's own upgrade() reads its stash."""


def restore(bind: sa.Connection) -> list[str]:
    """The revision's own upgrade() has restored everything already."""
    return []
