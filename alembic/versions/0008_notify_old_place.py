"""Live refresh: a moved or deleted plan's notification names its old parent and old root.

Revision ID: 0008
Revises: 0007

On PostgreSQL the function behind 0007's triggers is replaced: when an UPDATE of `plans`
changes parent_plan_id or root_plan_id, and on every DELETE of a plan, the JSON payload also
carries `old_parent_id` and `old_root_id`, so that an open plandesk refreshes the tree the plan
left as well as the one it joined. Four ids of thousands of characters would not fit NOTIFY's 8000
bytes, which fails the writer's transaction: such a payload is sent as `{"table", "op",
"unnamed": true}` instead, and the app then reads again everything it shows. SQLite has no NOTIFY: nothing to do there.
Only a function body changes (no data), so there is nothing to stash; downgrade() puts 0007's
body back exactly.
"""

import sqlalchemy as sa

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CHANNEL = "plandesk_changes"
FUNCTION = "plandesk_notify_change"
# NOTIFY refuses a payload of 8000 bytes or more, failing the transaction that wrote the row
MAX_PAYLOAD_BYTES = 7999

# 0007's function, frozen here as it was released (its trigger definitions stay as they are)
BODY_0007 = f"""
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
        """

# the same function for every table; the old place is read through jsonb because OLD of the
# other tables has no parent_plan_id field to name
BODY_0008 = f"""
DECLARE
    changed jsonb;
    before jsonb;
    payload jsonb;
BEGIN
    IF TG_OP = 'DELETE' THEN
        changed := to_jsonb(OLD);
    ELSE
        changed := to_jsonb(NEW);
    END IF;
    payload := jsonb_build_object(
        'table', TG_TABLE_NAME,
        'key', changed ->> TG_ARGV[0],
        'plan_id', changed ->> 'plan_id',
        'op', TG_OP);
    IF TG_TABLE_NAME = 'plans' AND TG_OP <> 'INSERT' THEN
        before := to_jsonb(OLD);
        IF TG_OP = 'DELETE'
                OR before -> 'parent_plan_id' IS DISTINCT FROM changed -> 'parent_plan_id'
                OR before -> 'root_plan_id' IS DISTINCT FROM changed -> 'root_plan_id' THEN
            payload := payload || jsonb_build_object(
                'old_parent_id', before ->> 'parent_plan_id',
                'old_root_id', before ->> 'root_plan_id');
        END IF;
    END IF;
    IF octet_length(payload::text) > {MAX_PAYLOAD_BYTES} THEN
        payload := jsonb_build_object('table', TG_TABLE_NAME, 'op', TG_OP, 'unnamed', true);
    END IF;
    PERFORM pg_notify('{CHANNEL}', payload::text);
    RETURN NULL;
END
"""


def _replace_function(body: str) -> None:
    # CREATE OR REPLACE keeps the function's oid: the three triggers of 0007 call the new body
    op.get_bind().execute(sa.text(
        f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql "
        f"AS $${body}$$"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _replace_function(BODY_0008)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _replace_function(BODY_0007)
