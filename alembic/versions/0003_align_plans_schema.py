"""Align plans with the spec: automation profiles, true root_plan_id, frozen profile snapshots.

Revision ID: 0003
Revises: 0002

The backfill is set-based: one recursive CTE walks every tree from its root into a temporary
table (correct at any depth and in any storage order); only the plans that walk did not reach
are examined for orphans and cycles, and every repaired value is written to plan_repairs. On
SQLite, which must copy plans to tighten its columns, the roots, profile names and snapshots
are written by that one copy; on PostgreSQL by a chunked UPDATE, then ALTER TABLE.
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from alembic import context, op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

DEFAULT_PROFILE = "balanced"
UPDATE_CHUNK = 100_000
COPYING = "Copying plans into the new shape"
PLAN_PHASES = ("strategize", "execute", "apply", "applied")
PROCESSING_STATES = ("queued", "processing", "errored", "complete", "cancelled")
ACTOR_ROLES = ("strategy", "execution", "review", "apply", "estimation", "invariant")
BACKFILLED = ("root_plan_id", "automation_profile", "effective_profile_snapshot")

# The built-in profiles as they are defined when this revision runs; backfilled snapshots
# freeze exactly these definitions.
BUILTIN_PROFILES = {
    "manual": (
        "Every step waits for a person.",
        {
            "auto_strategize": False,
            "auto_execute": False,
            "auto_apply": False,
            "require_review": True,
            "max_parallel_children": 1,
        },
    ),
    "supervised": (
        "Agents plan and execute; a person reviews and applies.",
        {
            "auto_strategize": True,
            "auto_execute": True,
            "auto_apply": False,
            "require_review": True,
            "max_parallel_children": 2,
        },
    ),
    "balanced": (
        "Agents plan and execute freely; applying needs a person.",
        {
            "auto_strategize": True,
            "auto_execute": True,
            "auto_apply": False,
            "require_review": False,
            "max_parallel_children": 4,
        },
    ),
    "autonomous": (
        "Agents plan, execute and apply without waiting.",
        {
            "auto_strategize": True,
            "auto_execute": True,
            "auto_apply": True,
            "require_review": False,
            "max_parallel_children": 8,
        },
    ),
}


def reporter() -> Callable[[str, int, int], None]:
    try:
        report = context.config.attributes.get("report_rows")
    except (NameError, AttributeError):  # run outside Alembic (the backfill benchmark calls these functions)
        report = None
    return report if report is not None else (lambda _message, _done, _total: None)


def profile_name_from(raw: str | None) -> tuple[str | None, bool]:
    """The profile name a stored automation_profile value means, and whether it was a JSON ref.

    NULL means the default; a legacy JSON reference {"profile_name": ..., "provenance": ...}
    means its name; any other text is kept exactly as it is.
    """
    if raw is None:
        return DEFAULT_PROFILE, False
    if raw.lstrip().startswith("{"):
        try:
            parsed = json.loads(raw)
        except (ValueError, RecursionError):
            return raw, False
        name = parsed.get("profile_name") if isinstance(parsed, dict) else None
        if isinstance(name, str) and name.strip():
            return name, True
    return raw, False


def backfill_snapshot(name: str, profiles: dict[str, tuple[str | None, str]], now: str) -> str:
    known = profiles.get(name)
    snapshot: dict[str, object] = {
        "profile_name": name,
        "source": "backfill",
        "resolved": known is not None,
        "captured_at": now,
    }
    if known is not None:
        snapshot["description"] = known[0]
        snapshot["settings"] = json.loads(known[1])
    return json.dumps(snapshot, sort_keys=True)


TREE_WALK = (
    "WITH RECURSIVE tree(plan_id, root_plan_id) AS ("
    " SELECT plan_id, plan_id FROM plans WHERE {seed}"
    " UNION ALL"
    " SELECT c.plan_id, t.root_plan_id FROM plans c JOIN tree t ON c.parent_plan_id = t.plan_id"
    ") SELECT plan_id, root_plan_id FROM tree"
)
INSERT_WALK = "INSERT INTO plan_roots_tmp (plan_id, root_plan_id) " + TREE_WALK


def count(bind: sa.Connection, table: str) -> int:
    return int(bind.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def compute_roots(bind: sa.Connection, now: str) -> None:
    """Fill plan_roots_tmp with every plan's true root; orphans and cycles become roots.

    One walk down from the roots reaches every plan of a sound forest. Only what it did not
    reach (plans below a missing parent, or on or below a parent cycle) needs repairs, so
    that work is proportional to the damage, not to the table.
    """
    bind.execute(
        sa.text("CREATE TEMPORARY TABLE plan_roots_tmp AS "
                + TREE_WALK.format(seed="parent_plan_id IS NULL"))
    )
    # Indexed after the walk: one sort instead of a million random B-tree inserts.
    bind.execute(sa.text("CREATE UNIQUE INDEX plan_roots_tmp_plan_id ON plan_roots_tmp (plan_id)"))
    if count(bind, "plan_roots_tmp") < count(bind, "plans"):
        repair_unreached(bind, now)
    bind.execute(
        sa.text(
            "INSERT INTO plan_repairs (plan_id, column_name, old_value, reason, repaired_at) "
            "SELECT p.plan_id, 'root_plan_id', p.root_plan_id, 'root_plan_id was not the true root',"
            " :now FROM plans p JOIN plan_roots_tmp r ON r.plan_id = p.plan_id "
            "WHERE p.root_plan_id IS NOT NULL AND p.root_plan_id <> r.root_plan_id"
        ),
        {"now": now},
    )


def repair_unreached(bind: sa.Connection, now: str) -> None:
    """Orphans, then cycles, among the plans the walk from the roots did not reach."""
    bind.execute(
        sa.text(
            "CREATE TEMPORARY TABLE plan_unreached_tmp AS SELECT p.plan_id, p.parent_plan_id"
            " FROM plans p"
            " WHERE NOT EXISTS (SELECT 1 FROM plan_roots_tmp r WHERE r.plan_id = p.plan_id)"
        )
    )
    # An orphan's parent does not exist: it becomes a root, the old link goes to plan_repairs.
    bind.execute(
        sa.text(
            "INSERT INTO plan_repairs (plan_id, column_name, old_value, reason, repaired_at) "
            "SELECT u.plan_id, 'parent_plan_id', u.parent_plan_id, "
            "'orphan: parent plan does not exist', :now FROM plan_unreached_tmp u "
            "WHERE u.parent_plan_id IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM plans p WHERE p.plan_id = u.parent_plan_id)"
        ),
        {"now": now},
    )
    repaired = "(SELECT plan_id FROM plan_repairs WHERE reason LIKE '{kind}:%')"
    bind.execute(
        sa.text("UPDATE plans SET parent_plan_id = NULL WHERE plan_id IN "
                + repaired.format(kind="orphan"))
    )
    bind.execute(sa.text(INSERT_WALK.format(seed="plan_id IN " + repaired.format(kind="orphan"))))
    # Whatever is still unreached sits on, or hangs below, a parent cycle. Pointer jumping
    # finds a plan on every such cycle in log2(unreached) set-based joins: after 2^k >= unreached
    # steps up, every walk has arrived on its cycle.
    bind.execute(
        sa.text(
            "CREATE TEMPORARY TABLE plan_jump_tmp AS SELECT u.plan_id AS start_id,"
            " u.parent_plan_id AS cur_id FROM plan_unreached_tmp u"
            " WHERE NOT EXISTS (SELECT 1 FROM plan_roots_tmp r WHERE r.plan_id = u.plan_id)"
        )
    )
    bind.execute(sa.text("DROP TABLE plan_unreached_tmp"))
    unreached = count(bind, "plan_jump_tmp")
    steps = 1
    while steps <= unreached:
        bind.execute(sa.text("CREATE INDEX plan_jump_tmp_start ON plan_jump_tmp (start_id)"))
        bind.execute(
            sa.text(
                "CREATE TEMPORARY TABLE plan_jump2_tmp AS SELECT a.start_id, b.cur_id"
                " FROM plan_jump_tmp a JOIN plan_jump_tmp b ON b.start_id = a.cur_id"
            )
        )
        bind.execute(sa.text("DROP TABLE plan_jump_tmp"))
        bind.execute(sa.text("ALTER TABLE plan_jump2_tmp RENAME TO plan_jump_tmp"))
        steps *= 2
    # Walk once around each cycle from the plans found on it; a cycle breaks at its smallest id.
    bind.execute(
        sa.text(
            "CREATE TEMPORARY TABLE plan_ring_tmp AS "
            "WITH RECURSIVE ring(start_id, cur_id) AS ("
            " SELECT p.plan_id, p.parent_plan_id FROM plans p"
            "  WHERE p.plan_id IN (SELECT cur_id FROM plan_jump_tmp)"
            " UNION"
            " SELECT w.start_id, p.parent_plan_id FROM ring w JOIN plans p ON p.plan_id = w.cur_id"
            ") SELECT start_id, cur_id FROM ring"
        )
    )
    bind.execute(
        sa.text(
            "INSERT INTO plan_repairs (plan_id, column_name, old_value, reason, repaired_at) "
            "SELECT p.plan_id, 'parent_plan_id', p.parent_plan_id, "
            "'cycle: parent links loop back to this plan', :now FROM plans p "
            "WHERE p.plan_id IN (SELECT MIN(cur_id) FROM plan_ring_tmp GROUP BY start_id)"
        ),
        {"now": now},
    )
    bind.execute(sa.text("DROP TABLE plan_jump_tmp"))
    bind.execute(sa.text("DROP TABLE plan_ring_tmp"))
    bind.execute(
        sa.text("UPDATE plans SET parent_plan_id = NULL WHERE plan_id IN "
                + repaired.format(kind="cycle"))
    )
    bind.execute(sa.text(INSERT_WALK.format(seed="plan_id IN " + repaired.format(kind="cycle"))))


def map_profiles(bind: sa.Connection, now: str) -> None:
    """One row per distinct stored profile value: its normalised name and frozen snapshot."""
    profiles = {
        row.name: (row.description, row.settings_json)
        for row in bind.execute(
            sa.text("SELECT name, description, settings_json FROM automation_profiles")
        )
    }
    bind.execute(
        sa.text(
            "CREATE TEMPORARY TABLE profile_map_tmp (raw_key TEXT PRIMARY KEY,"
            " profile_name TEXT NOT NULL, snapshot TEXT NOT NULL, was_reference INTEGER NOT NULL)"
        )
    )
    rows = []
    for (raw,) in bind.execute(sa.text("SELECT DISTINCT automation_profile FROM plans")):
        name, was_reference = profile_name_from(raw)
        rows.append(
            {
                "raw_key": "n" if raw is None else "v" + raw,
                "profile_name": name,
                "snapshot": backfill_snapshot(name, profiles, now),
                "was_reference": int(was_reference),
            }
        )
    if rows:
        bind.execute(
            sa.text(
                "INSERT INTO profile_map_tmp VALUES (:raw_key, :profile_name, :snapshot, :was_reference)"
            ),
            rows,
        )
    bind.execute(
        sa.text(
            "INSERT INTO plan_repairs (plan_id, column_name, old_value, reason, repaired_at) "
            f"SELECT p.plan_id, 'automation_profile', p.automation_profile, "
            "'legacy JSON profile reference replaced by its name', :now FROM plans p "
            f"JOIN profile_map_tmp m ON m.raw_key = {RAW_KEY} WHERE m.was_reference = 1"
        ),
        {"now": now},
    )


RAW_KEY = "(CASE WHEN p.automation_profile IS NULL THEN 'n' ELSE 'v' || p.automation_profile END)"


def write_backfill(bind: sa.Connection) -> None:
    """PostgreSQL: write roots, profile names and snapshots into plans in place, a chunk of
    plan ids at a time (the constraints are then tightened with ALTER TABLE, no copy)."""
    report = reporter()
    total = count(bind, "plan_roots_tmp")
    bounds = [
        row[0]
        for row in bind.execute(
            sa.text(
                "SELECT plan_id FROM (SELECT plan_id, ROW_NUMBER() OVER (ORDER BY plan_id) AS n"
                " FROM plan_roots_tmp) numbered WHERE n % :chunk = 0 ORDER BY plan_id"
            ),
            {"chunk": UPDATE_CHUNK},
        )
    ]
    set_clause = (
        "UPDATE plans SET root_plan_id = r.root_plan_id, automation_profile = m.profile_name,"
        " effective_profile_snapshot = m.snapshot"
        " FROM plan_roots_tmp r, profile_map_tmp m"
        " WHERE r.plan_id = plans.plan_id AND m.raw_key = "
        + RAW_KEY.replace("p.", "plans.")
        + " AND plans.plan_id > :low"
    )
    update_upto = sa.text(set_clause + " AND plans.plan_id <= :high")
    update_rest = sa.text(set_clause)
    edges = ["", *bounds]
    done = 0
    report("Writing root_plan_id and profile snapshots", 0, total)
    for index, low in enumerate(edges):
        if index + 1 < len(edges):
            result = bind.execute(update_upto, {"low": low, "high": edges[index + 1]})
        else:
            result = bind.execute(update_rest, {"low": low})
        done += result.rowcount
        report("Writing root_plan_id and profile snapshots", done, total)
    plans_total = count(bind, "plans")
    if done != plans_total:
        raise RuntimeError(f"backfill reached {done} of {plans_total} plans; nothing was changed")


def plans_shape() -> "list[sa.Column[Any] | sa.Constraint]":
    """plans as this revision leaves it, frozen here: on SQLite the table is built afresh."""

    def enum(values: tuple[str, ...], name: str) -> sa.Enum:
        return sa.Enum(*values, name=name, native_enum=False, create_constraint=True)

    def flag(name: str) -> sa.Column[bool]:
        return sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false())

    return [
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("parent_plan_id", sa.String(), nullable=True),
        sa.Column("root_plan_id", sa.String(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("namespaced_name", sa.String(), nullable=False),
        sa.Column("namespace", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("definition_of_done", sa.Text(), nullable=True),
        sa.Column("action_name", sa.String(), nullable=True),
        sa.Column(
            "phase", enum(PLAN_PHASES, "plan_phase"), nullable=False, server_default="strategize"
        ),
        sa.Column(
            "processing_state",
            enum(PROCESSING_STATES, "processing_state"),
            nullable=False,
            server_default="queued",
        ),
        sa.Column(
            "automation_profile", sa.String(), nullable=False, server_default=DEFAULT_PROFILE
        ),
        *(sa.Column(f"{role}_actor", sa.String(), nullable=True) for role in ACTOR_ROLES),
        flag("read_only"),
        flag("reusable"),
        sa.Column("inputs_schema_json", sa.Text(), nullable=True),
        sa.Column("tags_json", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("error_details_json", sa.Text(), nullable=True),
        sa.Column("created_at", sa.String(), nullable=False),
        sa.Column("updated_at", sa.String(), nullable=False),
        sa.Column("effective_profile_snapshot", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("plan_id"),
        sa.ForeignKeyConstraint(["parent_plan_id"], ["plans.plan_id"]),
        sa.ForeignKeyConstraint(["root_plan_id"], ["plans.plan_id"]),
        sa.ForeignKeyConstraint(["action_name"], ["actions.namespaced_name"]),
    ]


PLAN_INDEXES = {
    "ix_plans_phase": ["phase"],
    "ix_plans_processing_state": ["processing_state"],
    "ix_plans_namespace": ["namespace"],
    "ix_plans_parent_plan_id": ["parent_plan_id"],
    "ix_plans_root_plan_id": ["root_plan_id"],
}


def set_legacy_plans_aside(bind: sa.Connection) -> None:
    """SQLite: rename plans out of the way without touching the tables that refer to it.

    With legacy_alter_table on (and foreign keys off, as during every migration) SQLite leaves
    REFERENCES plans(...) in other tables as they are, so they point at the new table.
    """
    bind.execute(sa.text("PRAGMA legacy_alter_table = ON"))
    bind.execute(sa.text("ALTER TABLE plans RENAME TO _plans_legacy"))
    bind.execute(sa.text("PRAGMA legacy_alter_table = OFF"))


def copy_plans(bind: sa.Connection, columns: list[str]) -> None:
    """SQLite: fill the new plans from the legacy rows, joined with their backfilled roots,
    profile names and snapshots: one pass over the table, in rowid chunks for progress."""
    report = reporter()
    kept = [name for name in columns if name not in BACKFILLED]
    insert = sa.text(
        f"INSERT INTO plans ({', '.join(kept)}, {', '.join(BACKFILLED)}) "
        f"SELECT {', '.join('p.' + name for name in kept)},"
        " r.root_plan_id, m.profile_name, m.snapshot FROM _plans_legacy p"
        " JOIN plan_roots_tmp r ON r.plan_id = p.plan_id"
        f" JOIN profile_map_tmp m ON m.raw_key = {RAW_KEY}"
        " WHERE p.rowid > :low AND p.rowid <= :high"
    )
    total = count(bind, "_plans_legacy")
    last = int(bind.execute(sa.text("SELECT coalesce(max(rowid), 0) FROM _plans_legacy")).scalar())
    done = 0
    report(COPYING, 0, total)
    for low in range(0, last, UPDATE_CHUNK):
        done += bind.execute(insert, {"low": low, "high": low + UPDATE_CHUNK}).rowcount
        report(COPYING, done, total)
    if done != total:
        raise RuntimeError(f"backfill reached {done} of {total} plans; nothing was changed")


def drop_backfill_tables(bind: sa.Connection) -> None:
    bind.execute(sa.text("DROP TABLE plan_roots_tmp"))
    bind.execute(sa.text("DROP TABLE profile_map_tmp"))


def upgrade() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    profiles_table = op.create_table(
        "automation_profiles",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("settings_json", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("updated_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.bulk_insert(
        profiles_table,
        [
            {
                "name": name,
                "description": description,
                "settings_json": json.dumps(settings, sort_keys=True),
                "updated_at": now,
            }
            for name, (description, settings) in BUILTIN_PROFILES.items()
        ],
    )
    op.create_table(
        "plan_repairs",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("plan_id", sa.String(), nullable=False),
        sa.Column("column_name", sa.String(), nullable=False),
        sa.Column("old_value", sa.Text(), nullable=True),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("repaired_at", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.plan_id"], ondelete="CASCADE"),
    )
    op.create_index("ix_plan_repairs_plan_id", "plan_repairs", ["plan_id"])
    report = reporter()
    report("Walking every plan tree from its root", 0, 0)
    compute_roots(bind, now)
    map_profiles(bind, now)
    if bind.dialect.name == "sqlite":
        # SQLite cannot tighten columns in place; the table is copied once anyway, so the
        # backfilled values are written by that copy instead of by an UPDATE beforehand.
        set_legacy_plans_aside(bind)
        shape = plans_shape()
        op.create_table("plans", *shape)
        copy_plans(bind, [item.name for item in shape if isinstance(item, sa.Column)])
        report("Dropping the legacy table and indexing plans", 0, 0)  # progress text only
        op.drop_table("_plans_legacy")
        for name, columns in PLAN_INDEXES.items():
            op.create_index(name, "plans", columns)
    else:
        op.add_column("plans", sa.Column("effective_profile_snapshot", sa.Text(), nullable=True))
        write_backfill(bind)
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
            server_default=DEFAULT_PROFILE,
        )
        op.alter_column(
            "plans", "effective_profile_snapshot", existing_type=sa.Text(), nullable=False
        )
        op.create_index("ix_plans_root_plan_id", "plans", ["root_plan_id"])
    drop_backfill_tables(bind)


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
