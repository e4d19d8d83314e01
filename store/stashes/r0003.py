"""Stash for 0003's downgrade. Frozen once released.

0003's downgrade drops plans.effective_profile_snapshot, the automation_profiles table (custom
profiles, edited built-ins) and plan_repairs, and writes legacy JSON profile references back
into plans.automation_profile. Re-upgrading would re-derive all of it: "backfill" snapshots
instead of "creation" ones, built-ins at their defaults, fresh repair rows. So the stash keeps
those values and the re-upgrade puts them back. A value that changed while the database was
downgraded is not overwritten: profile names and roots are restored only where the downgraded
row still holds what the downgrade left in it; plans added meanwhile keep derived values.
"""

import sqlalchemy as sa

PLANS = "plandesk_stash_0003_plans"
PROFILES = "plandesk_stash_0003_automation_profiles"
REPAIRS = "plandesk_stash_0003_plan_repairs"
TABLES = (PLANS, PROFILES, REPAIRS)
PROFILE_COLUMNS = "name, description, settings_json, updated_at"
REPAIR_COLUMNS = "id, plan_id, column_name, old_value, reason, repaired_at"


def same(left: str, right: str) -> str:
    """Null-safe equality that SQLite and PostgreSQL both accept."""
    return f"({left} = {right} OR ({left} IS NULL AND {right} IS NULL))"


def stash(bind: sa.Connection) -> None:
    bind.execute(
        sa.text(
            f"CREATE TABLE {PLANS} AS SELECT plan_id, parent_plan_id, root_plan_id,"
            " automation_profile, effective_profile_snapshot,"
            " CAST(NULL AS TEXT) AS left_parent_plan_id, CAST(NULL AS TEXT) AS left_root_plan_id,"
            " CAST(NULL AS TEXT) AS left_automation_profile,"
            " CAST(NULL AS INTEGER) AS profile_unchanged, CAST(NULL AS INTEGER) AS root_unchanged"
            " FROM plans"
        )
    )
    bind.execute(sa.text(f"CREATE UNIQUE INDEX {PLANS}_key ON {PLANS} (plan_id)"))
    bind.execute(
        sa.text(f"CREATE TABLE {PROFILES} AS SELECT {PROFILE_COLUMNS} FROM automation_profiles")
    )
    bind.execute(sa.text(f"CREATE TABLE {REPAIRS} AS SELECT {REPAIR_COLUMNS} FROM plan_repairs"))
    # restore_repairs looks up each re-derived repair among the stashed ones
    bind.execute(
        sa.text(f"CREATE INDEX {REPAIRS}_plan ON {REPAIRS} (plan_id, column_name)")
    )


def after_downgrade(bind: sa.Connection) -> None:
    """Note what the downgrade left in each plan, to tell later edits from it."""
    bind.execute(
        sa.text(
            f"UPDATE {PLANS} SET left_parent_plan_id = p.parent_plan_id,"
            " left_root_plan_id = p.root_plan_id, left_automation_profile = p.automation_profile"
            f" FROM plans p WHERE p.plan_id = {PLANS}.plan_id"
        )
    )


def before_upgrade(bind: sa.Connection) -> None:
    """Before the upgrade rewrites them: which plans still hold what the downgrade left."""
    bind.execute(
        sa.text(
            f"UPDATE {PLANS} SET"
            " profile_unchanged = CASE WHEN"
            f" {same('p.automation_profile', PLANS + '.left_automation_profile')}"
            " THEN 1 ELSE 0 END,"
            " root_unchanged = CASE WHEN"
            f" {same('p.parent_plan_id', PLANS + '.left_parent_plan_id')}"
            f" AND {same('p.root_plan_id', PLANS + '.left_root_plan_id')}"
            " THEN 1 ELSE 0 END"
            f" FROM plans p WHERE p.plan_id = {PLANS}.plan_id"
        )
    )


def restore(bind: sa.Connection) -> list[str]:
    """Put the stashed values back over the re-derived ones; the stash is then consumed.

    Stashed values of plans deleted while downgraded go with them, as their repairs would
    have at head (ON DELETE CASCADE).
    """
    bind.execute(
        sa.text(
            "UPDATE plans SET effective_profile_snapshot = s.effective_profile_snapshot,"
            " automation_profile = CASE WHEN s.profile_unchanged = 1"
            " THEN s.automation_profile ELSE plans.automation_profile END,"
            " root_plan_id = CASE WHEN s.root_unchanged = 1 AND EXISTS"
            " (SELECT 1 FROM plans r WHERE r.plan_id = s.root_plan_id)"
            " THEN s.root_plan_id ELSE plans.root_plan_id END"
            f" FROM {PLANS} s WHERE s.plan_id = plans.plan_id"
        )
    )
    # The downgrade dropped automation_profiles whole, so nothing can have changed it since.
    bind.execute(sa.text("DELETE FROM automation_profiles"))
    bind.execute(
        sa.text(
            f"INSERT INTO automation_profiles ({PROFILE_COLUMNS})"
            f" SELECT {PROFILE_COLUMNS} FROM {PROFILES}"
        )
    )
    restore_repairs(bind)
    for table in TABLES:
        bind.execute(sa.text(f"DROP TABLE {table}"))
    return []


def restore_repairs(bind: sa.Connection) -> None:
    """The stashed repair rows, with their ids, instead of the ones the re-upgrade made again.

    A re-derived row that repeats a stashed repair, or records rewriting a value that was just
    put back, gives way; any other re-derived row (damage done while downgraded) stays, moved
    to ids above the stashed ones.
    """
    bind.execute(
        sa.text(
            "DELETE FROM plan_repairs WHERE EXISTS (SELECT 1 FROM "
            f"{REPAIRS} s WHERE s.plan_id = plan_repairs.plan_id"
            " AND s.column_name = plan_repairs.column_name AND s.reason = plan_repairs.reason"
            f" AND {same('s.old_value', 'plan_repairs.old_value')})"
            " OR (plan_repairs.column_name = 'automation_profile' AND plan_repairs.plan_id IN"
            f" (SELECT plan_id FROM {PLANS} WHERE profile_unchanged = 1))"
            " OR (plan_repairs.column_name = 'root_plan_id' AND plan_repairs.plan_id IN"
            f" (SELECT plan_id FROM {PLANS} WHERE root_unchanged = 1))"
        )
    )
    # Above every id in either table, so no moved row ever meets another on the way.
    offset = bind.execute(
        sa.text(
            "SELECT max(top) FROM (SELECT coalesce(max(id), 0) AS top FROM plan_repairs"
            f" UNION ALL SELECT coalesce(max(id), 0) FROM {REPAIRS}) tops"
        )
    ).scalar_one()
    bind.execute(sa.text("UPDATE plan_repairs SET id = id + :offset"), {"offset": offset})
    bind.execute(
        sa.text(
            f"INSERT INTO plan_repairs ({REPAIR_COLUMNS}) SELECT {REPAIR_COLUMNS} FROM {REPAIRS} s"
            " WHERE EXISTS (SELECT 1 FROM plans p WHERE p.plan_id = s.plan_id)"
        )
    )
    if bind.dialect.name == "postgresql":
        # Explicit ids bypass the serial sequence; new repairs must still get fresh ids.
        bind.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('plan_repairs', 'id'),"
                " coalesce((SELECT max(id) FROM plan_repairs), 1),"
                " (SELECT count(*) > 0 FROM plan_repairs))"
            )
        )
