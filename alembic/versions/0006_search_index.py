"""Search index: FTS5 trigram on SQLite, pg_trgm GIN indexes on PostgreSQL, kept by triggers.

Revision ID: 0006
Revises: 0005

On SQLite, `plan_search` is a contentless FTS5 table with the trigram tokenizer (substring,
case-insensitive matching; SQLite 3.34 or newer) over namespaced_name, namespace and
description. Its rowids come from `plan_search_rows` (an INTEGER PRIMARY KEY per plan_id),
because the implicit rowid of `plans` may change on VACUUM or a table copy. Triggers on
`plans` keep both in step with every insert, delete and update of those columns. On
PostgreSQL the `pg_trgm` extension and one GIN trigram index per column serve ILIKE.
The index is derived from `plans`: downgrade() drops it and loses nothing (the extension
stays installed: other objects may use it).
"""

import sqlalchemy as sa

from alembic import op
from store.db import StoreError  # shown as a one-line message by the CLI and the app

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

MIN_SQLITE = (3, 34, 0)
SEARCH_TABLE = "plan_search"
ROWS_TABLE = "plan_search_rows"
TEXT_COLUMNS = ("namespaced_name", "namespace", "description")
TRIGGERS = ("plan_search_after_insert", "plan_search_after_delete", "plan_search_after_update")
PG_INDEXES = {f"ix_plans_{column}_trgm": column for column in TEXT_COLUMNS}


def _values(prefix: str) -> str:
    return ", ".join(f"{prefix}.{column}" for column in TEXT_COLUMNS)


COLUMNS = ", ".join(TEXT_COLUMNS)
# A contentless FTS5 table forgets its text: removing a row means handing it the old values.
FORGET_OLD = (
    f"INSERT INTO {SEARCH_TABLE} ({SEARCH_TABLE}, rowid, {COLUMNS})"
    f" SELECT 'delete', search_rowid, {_values('old')} FROM {ROWS_TABLE}"
    " WHERE plan_id = old.plan_id;"
)
INDEX_NEW = (
    f"INSERT INTO {SEARCH_TABLE} (rowid, {COLUMNS})"
    f" SELECT search_rowid, {_values('new')} FROM {ROWS_TABLE} WHERE plan_id = new.plan_id;"
)
CHANGED = " OR ".join(f"old.{c} IS NOT new.{c}" for c in ("plan_id", *TEXT_COLUMNS))

SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER plan_search_after_insert AFTER INSERT ON plans BEGIN
    INSERT OR REPLACE INTO {ROWS_TABLE} (plan_id) VALUES (new.plan_id);
    {INDEX_NEW}
END""",
    f"""CREATE TRIGGER plan_search_after_delete AFTER DELETE ON plans BEGIN
    {FORGET_OLD}
    DELETE FROM {ROWS_TABLE} WHERE plan_id = old.plan_id;
END""",
    f"""CREATE TRIGGER plan_search_after_update
AFTER UPDATE OF plan_id, {COLUMNS} ON plans WHEN {CHANGED} BEGIN
    {FORGET_OLD}
    UPDATE {ROWS_TABLE} SET plan_id = new.plan_id WHERE plan_id = old.plan_id;
    {INDEX_NEW}
END""",
)


def _require_fts5_trigram(bind: sa.Connection) -> None:
    version = str(bind.execute(sa.text("SELECT sqlite_version()")).scalar_one())
    parts = tuple(int(part) for part in version.split(".")[:3])
    if parts < MIN_SQLITE:
        raise StoreError(
            f"The search index needs SQLite 3.34 or newer (FTS5 trigram); this Python has "
            f"SQLite {version}. Use a Python built with a newer SQLite."
        )
    options = {str(row[0]) for row in bind.execute(sa.text("PRAGMA compile_options"))}
    if "ENABLE_FTS5" not in options:
        raise StoreError(
            f"The search index needs SQLite's FTS5, which this SQLite {version} was built "
            "without. Use a Python whose SQLite has FTS5."
        )


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _require_fts5_trigram(bind)
        op.execute(
            f"CREATE TABLE {ROWS_TABLE} (search_rowid INTEGER NOT NULL,"
            " plan_id VARCHAR NOT NULL,"
            f" CONSTRAINT pk_{ROWS_TABLE} PRIMARY KEY (search_rowid),"
            f" CONSTRAINT uq_{ROWS_TABLE}_plan_id UNIQUE (plan_id))"
        )
        op.execute(
            f"CREATE VIRTUAL TABLE {SEARCH_TABLE} USING fts5({COLUMNS},"
            " content='', tokenize='trigram')"
        )
        # Ids in plan_id order, so that the index order is the plans' creation order.
        op.execute(f"INSERT INTO {ROWS_TABLE} (plan_id) SELECT plan_id FROM plans ORDER BY plan_id")
        op.execute(
            f"INSERT INTO {SEARCH_TABLE} (rowid, {COLUMNS})"
            f" SELECT r.search_rowid, {_values('p')} FROM {ROWS_TABLE} r"
            " JOIN plans p ON p.plan_id = r.plan_id"
        )
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)
    elif bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, column in PG_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON plans USING gin ({column} gin_trgm_ops)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute(f"DROP TABLE IF EXISTS {SEARCH_TABLE}")
        op.execute(f"DROP TABLE IF EXISTS {ROWS_TABLE}")
    elif bind.dialect.name == "postgresql":
        for name in PG_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
