"""docs/schema.md is what `python -m store.schema_doc` writes, and it covers the whole schema."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import SQLModel

from store import migrations, schema_doc

DOCUMENT = Path(__file__).parent.parent / "docs" / "schema.md"
REGENERATE = "python -m store.schema_doc > docs/schema.md"


def test_document_is_up_to_date():
    assert DOCUMENT.read_text() == schema_doc.render(), (
        f"docs/schema.md is out of date; regenerate it with `{REGENERATE}`"
    )


def test_command_prints_the_document_without_textual():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import runpy, sys; runpy.run_module('store.schema_doc', run_name='__main__');"
            " sys.stderr.write(str(any(m.split('.')[0] in ('textual', 'tui')"
            " for m in sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=DOCUMENT.parent.parent,
    )
    assert result.stdout == DOCUMENT.read_text()
    assert result.stderr == "False"


def test_every_table_column_constraint_and_index_is_documented():
    text = schema_doc.render()
    for table in SQLModel.metadata.tables.values():
        section = text.split(f"### `{table.name}`", 1)[1].split("\n### ", 1)[0]
        for column in table.columns:
            assert f"| `{column.name}` |" in section, (table.name, column.name)
        for item in (*table.constraints, *table.indexes):
            assert f"| `{item.name}` |" in section, (table.name, item.name)
        assert f"    {table.name} {{" in text  # an entity of the ER diagram
    for revision in migrations.known_revisions():
        assert f"| `{revision}` |" in text
    assert "```mermaid\nerDiagram" in text
    assert "ON DELETE CASCADE" in text and "ON DELETE NO ACTION" in text


def test_seed_names_must_name_real_columns(monkeypatch):
    wrong = schema_doc.SeedName("`state`", ("plans.state",), "no such column")
    monkeypatch.setattr(schema_doc, "SEED_NAMES", (*schema_doc.SEED_NAMES, wrong))
    with pytest.raises(ValueError, match=r"plans\.state"):
        schema_doc.render()
