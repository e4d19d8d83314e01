"""Downgrades that lose nothing: what a revision's downgrade drops is stashed, and put back.

Before a downgrade step through revision R, the values R's downgrade will drop are copied into
stash tables (`plandesk_stash_<R>_<table>`, outside Alembic's models) in the same transaction
as that step; after the upgrade step through R they replace what R re-derives, and the stash
is dropped. What each revision stashes, and how, is frozen in store/stashes/r<R>.py. What
cannot be kept (a downgrade to base; a stash that an earlier downgrade left unrestored) is
listed by `losses`, so that a caller can refuse without consent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Protocol, cast

import sqlalchemy as sa

from store.stashes import r0002, r0003, r0004, r0005

STASH_PREFIX = "plandesk_stash_"


class RevisionStash(Protocol):
    """What a frozen module in store/stashes/ provides."""

    TABLES: tuple[str, ...]

    def stash(self, bind: sa.Connection) -> None: ...

    def after_downgrade(self, bind: sa.Connection) -> None: ...

    def before_upgrade(self, bind: sa.Connection) -> None: ...

    def restore(self, bind: sa.Connection) -> list[str]: ...


def _spec(module: ModuleType) -> RevisionStash:
    return cast(RevisionStash, module)


STASHES: dict[str, RevisionStash] = {
    "0002": _spec(r0002),
    "0003": _spec(r0003),
    "0004": _spec(r0004),
    "0005": _spec(r0005),  # stashes inside the revision itself
}
"""Every revision whose downgrade drops data, with the frozen spec that keeps it."""

DERIVED_ONLY = frozenset({"0006", "0007", "0008"})
"""Revisions whose downgrade drops only what their upgrade derives again from the data (the
search index, the live-notify triggers), so it loses nothing and needs no stash."""

Report = Callable[[str], None]


@dataclass(frozen=True)
class Loss:
    """Rows a downgrade would destroy for good: `rows` of `table`, and why."""

    table: str
    rows: int | None
    why: str

    def __str__(self) -> str:
        if self.rows is None:
            return f"{self.table}: {self.why}"
        return f"{self.table}: {self.rows:,} row{'s' if self.rows != 1 else ''} ({self.why})"


def _tables(bind: sa.Connection) -> set[str]:
    return set(sa.inspect(bind).get_table_names())


def _rows(bind: sa.Connection, table: str) -> int:
    return int(bind.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one())


def stash_tables(bind: sa.Connection) -> list[str]:
    return sorted(t for t in _tables(bind) if t.startswith(STASH_PREFIX))


def stashed_rows(bind: sa.Connection) -> tuple[tuple[str, int], ...]:
    """Every stash table in the database with its row count."""
    return tuple((table, _rows(bind, table)) for table in stash_tables(bind))


def losses(
    bind: sa.Connection, undone: list[str], *, to_base: bool, data_tables: frozenset[str]
) -> list[Loss]:
    """What downgrading through the `undone` revisions (newest first) would lose for good."""
    present = _tables(bind)
    found: list[Loss] = []
    if to_base:
        for table in sorted(present & data_tables) + stash_tables(bind):
            count = _rows(bind, table)
            if count:
                found.append(Loss(table, count, "dropped with the whole schema"))
        return found
    for revision in undone:
        spec = STASHES.get(revision)
        if spec is None and revision in DERIVED_ONLY:
            continue
        if spec is None:
            found.append(
                Loss(
                    f"revision {revision}", None,
                    "keeps no stash, so whatever its downgrade drops is lost",
                )
            )
            continue
        for table in spec.TABLES:
            if table in present and (count := _rows(bind, table)):
                found.append(
                    Loss(
                        table, count,
                        f"left by an earlier downgrade and never restored; the downgrade of "
                        f"{revision} stashes afresh",
                    )
                )
    return found


def before_downgrade(bind: sa.Connection, revision: str, report: Report) -> None:
    """Stash what the downgrade of `revision` is about to drop (any older stash of it goes:
    `losses` listed it and the caller agreed)."""
    spec = STASHES.get(revision)
    if spec is None:
        return
    report(f"Stashing what the downgrade of {revision} drops")
    present = _tables(bind)
    for table in spec.TABLES:
        if table in present:
            bind.execute(sa.text(f"DROP TABLE {table}"))
    spec.stash(bind)


def after_downgrade(bind: sa.Connection, revision: str, *, to_base: bool) -> None:
    spec = STASHES.get(revision)
    if spec is not None:
        spec.after_downgrade(bind)
    if to_base:
        # Nothing is left to restore anything into; `losses` listed the stashes too.
        for table in stash_tables(bind):
            bind.execute(sa.text(f"DROP TABLE {table}"))


def _stashed(bind: sa.Connection, revision: str) -> RevisionStash | None:
    spec = STASHES.get(revision)
    if spec is None or not set(spec.TABLES) & _tables(bind):
        return None
    return spec


def before_upgrade(bind: sa.Connection, revision: str) -> None:
    spec = _stashed(bind, revision)
    if spec is not None:
        spec.before_upgrade(bind)


def after_upgrade(bind: sa.Connection, revision: str, report: Report) -> None:
    """Put back what the downgrade of `revision` stashed; report what could not go back."""
    spec = _stashed(bind, revision)
    if spec is None:
        return
    report(f"Restoring the values stashed by the downgrade of {revision}")
    for note in spec.restore(bind):
        report(note)
