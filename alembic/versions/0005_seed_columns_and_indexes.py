"""Seed columns: phase timestamps, execution placeholders, project links, indexes.

Revision ID: 0005
Revises: 0004

plans gains its phase timestamps and execution placeholders (decision_root_id refers to
decisions) and a (parent_plan_id, plan_id) index that replaces the parent_plan_id one, so a
page of children is an index range; plan_projects gains alias, read_only and created_at
(backfilled from its plan); plan_invariants an index on (plan_id, position). An empty
automation_profile becomes `balanced`, recorded in plan_repairs. On SQLite each of plans and
plan_projects is copied once.

downgrade() keeps every value it drops in plandesk_stash_0005, which outlives it; the next
upgrade() restores those values from it and drops it, so nothing is lost on the way back.
"""

from datetime import UTC, datetime

import sqlalchemy as sa

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

DEFAULT_PROFILE = "balanced"
EMPTY_PROFILE_REASON = "empty automation_profile replaced by the default profile"
STASH = "plandesk_stash_0005"
PLAN_COLUMNS = {
    "strategized_at": sa.String,
    "executed_at": sa.String,
    "applied_at": sa.String,
    "completed_at": sa.String,
    "changeset_id": sa.String,
    "sandbox_refs_json": sa.Text,
    "validation_summary_json": sa.Text,
    "decision_root_id": sa.String,
}
DECISION_ROOT_FK = "fk_plans_decision_root_id_decisions"
PARENT_INDEX = "ix_plans_parent_plan_id"
PAGING_INDEX = "ix_plans_parent_plan_id_plan_id"
INVARIANT_INDEX = "ix_plan_invariants_plan_id_position"
PROJECT_COLUMNS = ("alias", "read_only", "created_at")
REPAIR_COLUMNS = ("column_name", "old_value", "reason", "repaired_at")


def stash_exists(bind: sa.Connection) -> bool:
    return STASH in sa.inspect(bind).get_table_names()


def restore_plan_values(bind: sa.Connection) -> None:
    """Put back the plan columns a downgrade stashed, for the plans that still exist."""
    names = ", ".join(PLAN_COLUMNS)
    bind.execute(
        sa.text(
            f"UPDATE plans SET ({names}) = (SELECT {names} FROM {STASH} s"
            " WHERE s.kind = 'plans' AND s.plan_id = plans.plan_id)"
            f" WHERE plan_id IN (SELECT plan_id FROM {STASH} WHERE kind = 'plans')"
        )
    )


def restore_project_values(bind: sa.Connection) -> None:
    """Put back alias, read_only and created_at for the links that are still the same rows."""
    names = ", ".join(PROJECT_COLUMNS)
    same_row = (
        "s.kind = 'plan_projects' AND s.row_id = plan_projects.id"
        " AND s.plan_id = plan_projects.plan_id AND s.project_name = plan_projects.project_name"
    )
    bind.execute(
        sa.text(
            f"UPDATE plan_projects SET ({names}) = (SELECT {names} FROM {STASH} s"
            f" WHERE {same_row}) WHERE EXISTS (SELECT 1 FROM {STASH} s WHERE {same_row})"
        )
    )


def repair_empty_profiles(bind: sa.Connection, now: str, restoring: bool) -> None:
    """'' -> balanced, each recorded in plan_repairs; a re-upgrade puts back the very rows
    (ids and times) that the downgrade took out, for plans that are still empty."""
    if restoring:
        names = ", ".join(REPAIR_COLUMNS)
        bind.execute(
            sa.text(
                f"INSERT INTO plan_repairs (id, plan_id, {names})"
                f" SELECT s.row_id, s.plan_id, {', '.join('s.' + n for n in REPAIR_COLUMNS)}"
                f" FROM {STASH} s JOIN plans p ON p.plan_id = s.plan_id"
                " WHERE s.kind = 'plan_repairs' AND p.automation_profile = ''"
                # an id taken meanwhile (0003 run again) leaves that plan to a fresh repair
                " AND NOT EXISTS (SELECT 1 FROM plan_repairs r WHERE r.id = s.row_id)"
            )
        )
        if bind.dialect.name == "postgresql":
            # Rows put back with their own ids: the sequence must not hand those out again.
            bind.execute(
                sa.text(
                    "SELECT setval(pg_get_serial_sequence('plan_repairs', 'id'), max(id))"
                    " FROM plan_repairs HAVING max(id) IS NOT NULL"
                )
            )
        bind.execute(
            sa.text(
                "UPDATE plans SET automation_profile = :default WHERE automation_profile = ''"
                " AND plan_id IN (SELECT plan_id FROM plan_repairs WHERE reason = :reason)"
            ),
            {"default": DEFAULT_PROFILE, "reason": EMPTY_PROFILE_REASON},
        )
    bind.execute(
        sa.text(
            "INSERT INTO plan_repairs (plan_id, column_name, old_value, reason, repaired_at)"
            " SELECT plan_id, 'automation_profile', automation_profile, :reason, :now"
            " FROM plans WHERE automation_profile = ''"
        ),
        {"reason": EMPTY_PROFILE_REASON, "now": now},
    )
    bind.execute(
        sa.text("UPDATE plans SET automation_profile = :default WHERE automation_profile = ''"),
        {"default": DEFAULT_PROFILE},
    )


def upgrade() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    restoring = stash_exists(bind)
    # One copy of plans on SQLite (the foreign key needs it); ALTERs on PostgreSQL.
    with op.batch_alter_table("plans") as batch:
        for name, kind in PLAN_COLUMNS.items():
            batch.add_column(sa.Column(name, kind(), nullable=True))
        batch.create_foreign_key(DECISION_ROOT_FK, "decisions", ["decision_root_id"], ["decision_id"])
        batch.drop_index(PARENT_INDEX)
        batch.create_index(PAGING_INDEX, ["parent_plan_id", "plan_id"])
    # Plain ADD COLUMNs; created_at is filled before it becomes NOT NULL (plan_projects' copy).
    op.add_column("plan_projects", sa.Column("alias", sa.String(), nullable=True))
    op.add_column(
        "plan_projects",
        sa.Column("read_only", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("plan_projects", sa.Column("created_at", sa.String(), nullable=True))
    bind.execute(
        sa.text(
            "UPDATE plan_projects SET created_at = (SELECT p.created_at FROM plans p"
            " WHERE p.plan_id = plan_projects.plan_id)"
        )
    )
    if restoring:
        restore_plan_values(bind)
        restore_project_values(bind)
    with op.batch_alter_table("plan_projects") as batch:
        batch.alter_column("created_at", existing_type=sa.String(), nullable=False)
    op.create_index(INVARIANT_INDEX, "plan_invariants", ["plan_id", "position"])
    repair_empty_profiles(bind, now, restoring)
    if restoring:
        op.drop_table(STASH)


def create_stash(bind: sa.Connection) -> None:
    if stash_exists(bind):  # left by an upgrade that never ran to the end: start afresh
        op.drop_table(STASH)
    op.create_table(
        STASH,
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("row_id", sa.Integer(), nullable=True),
        *(sa.Column(name, kind(), nullable=True) for name, kind in PLAN_COLUMNS.items()),
        sa.Column("project_name", sa.String(), nullable=True),
        sa.Column("alias", sa.String(), nullable=True),
        sa.Column("read_only", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.String(), nullable=True),
        *(sa.Column(name, sa.Text(), nullable=True) for name in REPAIR_COLUMNS),
    )
    op.create_index(f"ix_{STASH}_kind_plan_id", STASH, ["kind", "plan_id"])


def downgrade() -> None:
    """Stash what 0004 has no place for, undo the '' repairs still in effect, drop the rest."""
    bind = op.get_bind()
    create_stash(bind)
    plan_names = ", ".join(PLAN_COLUMNS)
    bind.execute(
        sa.text(
            f"INSERT INTO {STASH} (kind, plan_id, {plan_names})"
            f" SELECT 'plans', plan_id, {plan_names} FROM plans"
            f" WHERE {' OR '.join(f'{name} IS NOT NULL' for name in PLAN_COLUMNS)}"
        )
    )
    bind.execute(
        sa.text(
            f"INSERT INTO {STASH} (kind, plan_id, row_id, project_name, alias, read_only,"
            " created_at) SELECT 'plan_projects', plan_id, id, project_name, alias, read_only,"
            " created_at FROM plan_projects"
        )
    )
    # A repair whose plan has changed profile since stays in plan_repairs, as history.
    undone = (
        "SELECT r.plan_id FROM plan_repairs r JOIN plans p ON p.plan_id = r.plan_id"
        " WHERE r.reason = :reason AND p.automation_profile = :default"
    )
    params = {"reason": EMPTY_PROFILE_REASON, "default": DEFAULT_PROFILE}
    bind.execute(
        sa.text(
            f"INSERT INTO {STASH} (kind, plan_id, row_id, {', '.join(REPAIR_COLUMNS)})"
            f" SELECT 'plan_repairs', plan_id, id, {', '.join(REPAIR_COLUMNS)} FROM plan_repairs"
            f" WHERE reason = :reason AND plan_id IN ({undone})"
        ),
        params,
    )
    bind.execute(
        sa.text(f"UPDATE plans SET automation_profile = '' WHERE plan_id IN ({undone})"),
        params,
    )
    bind.execute(
        sa.text(
            "DELETE FROM plan_repairs WHERE reason = :reason AND plan_id IN"
            f" (SELECT plan_id FROM {STASH} WHERE kind = 'plan_repairs')"
        ),
        {"reason": EMPTY_PROFILE_REASON},
    )
    op.drop_index(INVARIANT_INDEX, table_name="plan_invariants")
    with op.batch_alter_table("plan_projects") as batch:
        for name in PROJECT_COLUMNS:
            batch.drop_column(name)
    with op.batch_alter_table("plans") as batch:
        batch.drop_index(PAGING_INDEX)
        batch.create_index(PARENT_INDEX, ["parent_plan_id"])
        batch.drop_constraint(DECISION_ROOT_FK, type_="foreignkey")
        for name in PLAN_COLUMNS:
            batch.drop_column(name)
