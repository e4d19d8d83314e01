"""Writes docs/schema.md from the SQLModel metadata and the Alembic revision scripts.

    python -m store.schema_doc > docs/schema.md

tests/test_schema_doc.py fails when the committed document differs from this output.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.dialects import sqlite
from sqlmodel import SQLModel

import store.models  # registers every table on the metadata; its classes give column notes
from store.migrations import alembic_config


@dataclass(frozen=True)
class SeedName:
    """A name the seed documents use for what plandesk calls `ours`, and why ours differs."""

    seeds: str
    ours: tuple[str, ...]  # table or table.column, each checked against the metadata
    reason: str


SEED_NAMES = (
    SeedName(
        "`v3_plans` (the seeds' code) / `plans` (the spec DDL)",
        ("plans",),
        "The spec DDL names the table `plans`; `v3_plans` was an evolution artifact of the seeds' "
        "codebase (seed 001, \"Low: Table Name\"). plandesk has one plans table and no version "
        "numbers in table names; the schema revision lives in `alembic_version`.",
    ),
    SeedName(
        "`state` (spec DDL)",
        ("plans.processing_state",),
        "The seeds' code and seed 002 call it `processing_state`; next to `phase` a bare `state` "
        "would be ambiguous. `decisions.state` and `correction_attempts.state` keep `state`: each "
        "of those tables has one state only.",
    ),
    SeedName(
        "`automation_profile_name` (spec DDL)",
        ("plans.automation_profile", "actions.automation_profile"),
        "Seed 002 creates `automation_profile` on both actions and plans, and the 0003 backfill "
        "normalised that column in place (legacy JSON references became names, recorded in "
        "`plan_repairs`). It holds a profile name, NOT NULL with default `balanced` (seed 003: the "
        "spec gives no default; plandesk defaults to the spec's default profile).",
    ),
    SeedName(
        "`strategy_actor_name`, `execution_actor_name`, `estimation_actor_name`, "
        "`invariant_actor_name` (spec DDL)",
        tuple(
            f"{table}.{role}_actor"
            for table in ("plans", "actions")
            for role in ("strategy", "execution", "review", "apply", "estimation", "invariant")
        ),
        "Seed 002 creates the six actor columns as `<role>_actor` on actions and plans; one "
        "spelling for all six roles on both tables. The values are actor names.",
    ),
    SeedName(
        "`error_traceback` (spec DDL)",
        ("plans.error_details_json", "plans.error_message"),
        "Seed 002's execution placeholders: `error_message` (text) and `error_details_json` "
        "(structured details, validated as JSON when a plan is created). A traceback, when there "
        "is one, is a field of the JSON rather than a column of its own.",
    ),
    SeedName(
        "`phase` default `action` (the seeds' code)",
        ("plans.phase",),
        "plandesk follows the spec DDL: default `strategize`, phases strategize/execute/apply/"
        "applied; there is no `action` phase (seed 001 asked for the deviation to be reconciled).",
    ),
    SeedName(
        "`ondelete` CASCADE / SET NULL on `correction_attempts` (seed 000's implementation)",
        (
            "correction_attempts.plan_id",
            "correction_attempts.original_decision_id",
            "correction_attempts.new_decision_id",
        ),
        "The spec DDL declares these references without ON DELETE, and plandesk keeps it so: "
        "deleting a plan or decision must not silently delete the history of its corrections.",
    ),
)


def _type(column: sa.Column[object]) -> str:
    if isinstance(column.type, sa.Enum):
        return "enum(" + ", ".join(column.type.enums) + ")"
    return column.type.compile(dialect=sqlite.dialect()).lower()


def _default(column: sa.Column[object]) -> str:
    default = column.server_default
    if default is None or not isinstance(default, sa.DefaultClause):
        return ""
    arg = default.arg
    if isinstance(arg, str):
        return f"`'{arg}'`"
    return f"`{arg.compile(dialect=sqlite.dialect())}`".replace("`0`", "`false`")


def _sql(clause: sa.ClauseElement) -> str:
    return str(clause.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))


def _on_delete(fk: sa.ForeignKey | sa.ForeignKeyConstraint) -> str:
    return fk.ondelete.upper() if fk.ondelete else "NO ACTION"


def _references(column: sa.Column[object]) -> str:
    parts = []
    if column.primary_key:
        parts.append("PK")
    for fk in sorted(column.foreign_keys, key=lambda f: f.target_fullname):
        parts.append(f"→ `{fk.target_fullname}` (ON DELETE {_on_delete(fk)})")
    return ", ".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _names(columns: object) -> str:
    return ", ".join(f"`{c.name}`" for c in columns)  # type: ignore[attr-defined]


def column_notes() -> dict[tuple[str, str], str]:
    """(table, column) -> the description its SQLModel field gives (documentation only)."""
    notes: dict[tuple[str, str], str] = {}
    for model in vars(store.models).values():
        if isinstance(model, type) and issubclass(model, SQLModel) and hasattr(model, "__table__"):
            for name, info in model.model_fields.items():
                if info.description:
                    notes[(model.__tablename__, name)] = info.description  # type: ignore[index]
    return notes


def tables() -> list[sa.Table]:
    return [SQLModel.metadata.tables[name] for name in sorted(SQLModel.metadata.tables)]


def table_section(table: sa.Table) -> list[str]:
    notes = column_notes()
    lines = [f"### `{table.name}`", ""]
    lines += ["| column | type | null | default | key | meaning |", "|---|---|---|---|---|---|"]
    for column in table.columns:
        lines.append(
            f"| `{column.name}` | {_cell(_type(column))} |"
            f" {'NULL' if column.nullable else 'NOT NULL'} | {_default(column)} |"
            f" {_references(column)} | {_cell(notes.get((table.name, column.name), ''))} |"
        )
    lines += ["", "| constraint | kind | definition |", "|---|---|---|"]
    constraints = sorted(table.constraints, key=lambda c: str(c.name))
    for constraint in constraints:
        if isinstance(constraint, sa.PrimaryKeyConstraint):
            kind, definition = "primary key", _names(constraint.columns)
        elif isinstance(constraint, sa.UniqueConstraint):
            kind, definition = "unique", _names(constraint.columns)
        elif isinstance(constraint, sa.CheckConstraint):
            kind, definition = "check", f"`{_sql(constraint.sqltext)}`"
        elif isinstance(constraint, sa.ForeignKeyConstraint):
            target = constraint.elements[0].column.table.name
            kind = "foreign key"
            definition = (
                f"{_names(constraint.columns)} → `{target}`"
                f" ({', '.join(f'`{e.column.name}`' for e in constraint.elements)}),"
                f" ON DELETE {_on_delete(constraint)}"
            )
        else:  # pragma: no cover - every constraint kind we use is listed above
            raise TypeError(f"undocumented constraint {constraint!r}")
        lines.append(f"| `{constraint.name}` | {kind} | {_cell(definition)} |")
    indexes = sorted(table.indexes, key=lambda i: str(i.name))
    if indexes:
        lines += ["", "| index | columns | unique | where |", "|---|---|---|---|"]
        for index in indexes:
            where = index.dialect_options["sqlite"].get("where")
            lines.append(
                f"| `{index.name}` | {_names(index.columns)} | {'yes' if index.unique else 'no'}"
                f" | {_cell(f'`{where}`') if where is not None else ''} |"
            )
    return [*lines, ""]


def _mermaid_type(column: sa.Column[object]) -> str:
    if isinstance(column.type, sa.Enum):
        return "enum"
    return column.type.compile(dialect=sqlite.dialect()).split("(")[0].lower()


def er_diagram() -> list[str]:
    lines = ["```mermaid", "erDiagram"]
    for table in tables():
        lines.append(f"    {table.name} {{")
        for column in table.columns:
            keys = ",".join(
                key for key, on in (("PK", column.primary_key), ("FK", column.foreign_keys)) if on
            )
            suffix = f" {keys}" if keys else ""
            lines.append(f"        {_mermaid_type(column)} {column.name}{suffix}")
        lines.append("    }")
    for table in tables():
        for constraint in sorted(table.foreign_key_constraints, key=lambda c: str(c.name)):
            target = constraint.elements[0].column.table.name
            optional = any(column.nullable for column in constraint.columns)
            parent = "|o" if optional else "||"
            label = ", ".join(column.name for column in constraint.columns)
            lines.append(f'    {target} {parent}--o{{ {table.name} : "{label}"')
    return [*lines, "```", ""]


def revision_history() -> list[str]:
    scripts = ScriptDirectory.from_config(alembic_config())
    ordered = list(reversed(list(scripts.walk_revisions())))
    lines = ["| revision | revises | what it does |", "|---|---|---|"]
    details: list[str] = []
    for script in ordered:
        doc = (script.module.__doc__ or "").strip().splitlines()
        summary = doc[0].rstrip(".") if doc else ""
        revises = script.down_revision or "base"
        lines.append(f"| `{script.revision}` | {revises} | {_cell(summary)} |")
        body = [
            line.strip()
            for line in doc[1:]
            if not line.startswith(("Revision ID:", "Revises:"))
        ]
        text = " ".join(" ".join(body).split())
        if text:
            details += [f"**{script.revision}**: {text}", ""]
    return [*lines, "", *details]


def seed_names() -> list[str]:
    known = {table.name for table in tables()} | {
        f"{table.name}.{column.name}" for table in tables() for column in table.columns
    }
    lines = ["| the seeds say | plandesk | why |", "|---|---|---|"]
    for entry in SEED_NAMES:
        missing = [name for name in entry.ours if name not in known]
        if missing:
            raise ValueError(f"SEED_NAMES names {missing}, which the schema does not have")
        ours = ", ".join(f"`{name}`" for name in entry.ours)
        lines.append(f"| {entry.seeds} | {ours} | {_cell(entry.reason)} |")
    return [*lines, ""]


def render() -> str:
    lines = [
        "# The plandesk database schema",
        "",
        "Generated by `python -m store.schema_doc > docs/schema.md` from the SQLModel metadata",
        "(`store/models.py`) and the Alembic revisions (`alembic/versions/`); do not edit by hand.",
        "`tests/test_schema_doc.py` fails when this file is out of date.",
        "",
        "Timestamps are ISO-8601 UTC text; plan, decision and correction attempt ids are ULIDs.",
        "Every constraint is named by the naming convention in `store/models.py`; SQLite",
        "connections run with foreign keys on. ON DELETE NO ACTION means the database refuses to",
        "delete a row that is still referred to.",
        "",
        "## Revision history",
        "",
        *revision_history(),
        "## Entity-relationship diagram",
        "",
        *er_diagram(),
        "## Tables",
        "",
    ]
    for table in tables():
        lines += table_section(table)
    lines += [
        "## Names that differ from the seeds",
        "",
        "The seed documents (`../shared/seeds/`) name some columns differently from plandesk;",
        "each difference and its reason:",
        "",
        *seed_names(),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
