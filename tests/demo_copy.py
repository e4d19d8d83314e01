"""The demo database for tests, built once per test process and copied where a test wants it.

Building the demo runs every migration and writes 273 plans (about a second on SQLite, five
on PostgreSQL under load); over a hundred app tests start from it. The demo is byte-for-byte
deterministic (tests/test_demo.py), so a copy of the database and its artifact folders is the
same demo a fresh build would give. On PostgreSQL the copy is `CREATE DATABASE … TEMPLATE`
(about half a second).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from pg_databases import throwaway_database
from sqlalchemy.engine import make_url

from store.demo import create_demo

_template: Path | None = None
# per admin URL: the template database holding the demo, and its artifacts folder
_pg_templates: dict[str, tuple[str, Path]] = {}


def _demo_template() -> Path:
    global _template
    if _template is None:
        folder = Path(tempfile.mkdtemp(prefix="plandesk-demo-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)  # (300 were left in /tmp)
        create_demo(folder / "demo.db")
        _template = folder / "demo.db"
    return _template


def copy_demo(path: Path) -> Path:
    """The demo at the SQLite file `path` (which must not exist yet), artifacts beside it."""
    if os.environ.get("PLANDESK_ARTIFACTS"):  # the artifacts would not be beside the file
        create_demo(path)
        return path
    if path.exists():
        raise FileExistsError(path)
    template = _demo_template()
    shutil.copytree(template.with_name(template.stem + "-artifacts"),
                    path.with_name(path.stem + "-artifacts"), symlinks=True)
    shutil.copyfile(template, path)
    return path


def _pg_demo_template(admin_url: str) -> tuple[str, Path]:
    if admin_url not in _pg_templates:
        name = f"plandesk_demo_template_{uuid.uuid4().hex[:12]}"
        artifacts = Path(tempfile.mkdtemp(prefix="plandesk-pg-demo-template-")) / "artifacts"
        atexit.register(shutil.rmtree, artifacts.parent, ignore_errors=True)
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')

        def drop() -> None:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()

        atexit.register(drop)
        configured = os.environ.get("PLANDESK_ARTIFACTS")
        os.environ["PLANDESK_ARTIFACTS"] = str(artifacts)
        try:
            create_demo(make_url(admin_url).set(database=name).render_as_string(
                hide_password=False))
        finally:
            if configured is None:
                del os.environ["PLANDESK_ARTIFACTS"]
            else:
                os.environ["PLANDESK_ARTIFACTS"] = configured
        _pg_templates[admin_url] = (name, artifacts)
    return _pg_templates[admin_url]


@contextmanager
def pg_demo(admin_url: str, artifacts: Path) -> Iterator[str]:
    """The URL of a new PostgreSQL database holding the demo, its artifact folders at
    `artifacts` (which must not exist yet: $PLANDESK_ARTIFACTS must name it), dropped at the end."""
    template, template_artifacts = _pg_demo_template(admin_url)
    with throwaway_database(admin_url, template=template) as url:
        shutil.copytree(template_artifacts, artifacts, symlinks=True)
        yield url
