"""Live refresh: triggers that NOTIFY plandesk_changes on PostgreSQL (nothing on SQLite).

Revision ID: 0007
Revises: 0006

Each row inserted, updated or deleted in plans, decisions or correction_attempts sends one
notification on the channel `plandesk_changes` whose payload is JSON: the table, the row's key,
the plan id and the operation. An open plandesk LISTENs on it to refresh what it shows. SQLite
has no NOTIFY (the app polls `PRAGMA data_version` there), so on SQLite this revision does
nothing. No data is added or dropped, so there is nothing to stash.
"""

import sqlalchemy as sa

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

CHANNEL = "plandesk_changes"
FUNCTION = "plandesk_notify_change"
# table -> its key column (every one of them has a plan_id column too)
KEYS = {
    "plans": "plan_id",
    "decisions": "decision_id",
    "correction_attempts": "correction_attempt_id",
}


def _trigger(table: str) -> str:
    return f"trg_{table}_notify_change"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    bind.execute(sa.text(f"""
        CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            changed jsonb;
        BEGIN
            IF TG_OP = 'DELETE' THEN
                changed := to_jsonb(OLD);
            ELSE
                changed := to_jsonb(NEW);
            END IF;
            PERFORM pg_notify('{CHANNEL}', json_build_object(
                'table', TG_TABLE_NAME,
                'key', changed ->> TG_ARGV[0],
                'plan_id', changed ->> 'plan_id',
                'op', TG_OP)::text);
            RETURN NULL;
        END
        $$
    """))
    for table, key in KEYS.items():
        bind.execute(sa.text(
            f"CREATE TRIGGER {_trigger(table)} AFTER INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}('{key}')"
        ))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table in KEYS:
        bind.execute(sa.text(f"DROP TRIGGER IF EXISTS {_trigger(table)} ON {table}"))
    bind.execute(sa.text(f"DROP FUNCTION IF EXISTS {FUNCTION}()"))
