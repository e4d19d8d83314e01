"""Align plans with the spec: automation profiles, true root_plan_id, frozen profile snapshots.

Revision ID: 0003
Revises: 0002

The backfill is set-based: one recursive CTE walks every tree from its root into a temporary
table (correct at any depth and in any storage order); only the plans that walk did not reach
are examined for orphans and cycles, and every repaired value is written to plan_repairs. On
SQLite, which must copy plans to tighten its columns, the roots, profile names and snapshots
are written by that one copy; on PostgreSQL by a chunked UPDATE, then ALTER TABLE.
"""

import importlib.util
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa

from alembic import context, op


def load_backfill() -> ModuleType:
    """alembic/backfills/b0003.py, found beside this file's folder: the scripts are not an
    importable package (in a checkout `alembic` is the library's name), in the repo or in the
    wheel alike."""
    path = Path(__file__).resolve().parent.parent / "backfills" / "b0003.py"
    spec = importlib.util.spec_from_file_location("plandesk_backfill_b0003", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


backfill = load_backfill()

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    report = context.config.attributes.get("report_rows") or (
        lambda _message, _done, _total: None
    )
    profiles_table = op.create_table("automation_profiles", *backfill.automation_profiles_shape())
    op.bulk_insert(profiles_table, backfill.builtin_profile_rows(now))
    op.create_table("plan_repairs", *backfill.plan_repairs_shape())
    op.create_index("ix_plan_repairs_plan_id", "plan_repairs", ["plan_id"])
    report("Walking every plan tree from its root", 0, 0)
    backfill.compute_roots(bind, now)
    backfill.map_profiles(bind, now)
    if bind.dialect.name == "sqlite":
        # SQLite cannot tighten columns in place; the table is copied once anyway, so the
        # backfilled values are written by that copy instead of by an UPDATE beforehand.
        backfill.set_legacy_plans_aside(bind)
        shape = backfill.plans_shape()
        op.create_table("plans", *shape)
        backfill.copy_plans(
            bind, [item.name for item in shape if isinstance(item, sa.Column)], report
        )
        report("Dropping the legacy table and indexing plans", 0, 0)  # progress text only
        op.drop_table("_plans_legacy")
        for name, columns in backfill.PLAN_INDEXES.items():
            op.create_index(name, "plans", columns)
    else:
        op.add_column("plans", sa.Column("effective_profile_snapshot", sa.Text(), nullable=True))
        backfill.write_backfill(bind, report)
        report("Tightening the plans constraints", 0, 0)
        op.drop_constraint("fk_plans_root_plan_id_plans", "plans", type_="foreignkey")
        op.create_foreign_key(
            "fk_plans_root_plan_id_plans", "plans", "plans", ["root_plan_id"], ["plan_id"]
        )
        op.alter_column("plans", "root_plan_id", existing_type=sa.String(), nullable=False)
        op.alter_column(
            "plans",
            "automation_profile",
            existing_type=sa.String(),
            nullable=False,
            server_default=backfill.DEFAULT_PROFILE,
        )
        op.alter_column(
            "plans", "effective_profile_snapshot", existing_type=sa.Text(), nullable=False
        )
        op.create_index("ix_plans_root_plan_id", "plans", ["root_plan_id"])
    backfill.drop_backfill_tables(bind)


def downgrade() -> None:
    """Restore the legacy shape. Legacy JSON profile references come back from plan_repairs;
    repaired parent links stay repaired (restoring them would break foreign keys)."""
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "UPDATE plans SET automation_profile = (SELECT MIN(r.old_value) FROM plan_repairs r"
            " WHERE r.plan_id = plans.plan_id AND r.column_name = 'automation_profile')"
            " WHERE plan_id IN (SELECT plan_id FROM plan_repairs"
            " WHERE column_name = 'automation_profile')"
        )
    )
    with op.batch_alter_table("plans") as batch:
        batch.drop_index("ix_plans_root_plan_id")
        batch.drop_constraint("fk_plans_root_plan_id_plans", type_="foreignkey")
        batch.create_foreign_key(
            "fk_plans_root_plan_id_plans",
            "plans",
            ["root_plan_id"],
            ["plan_id"],
            ondelete="SET NULL",
        )
        batch.alter_column("root_plan_id", existing_type=sa.String(), nullable=True)
        batch.alter_column(
            "automation_profile", existing_type=sa.String(), nullable=True, server_default=None
        )
        batch.drop_column("effective_profile_snapshot")
    op.drop_index("ix_plan_repairs_plan_id", table_name="plan_repairs")
    op.drop_table("plan_repairs")
    op.drop_table("automation_profiles")
