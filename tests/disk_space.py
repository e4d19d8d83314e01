"""A real small disk for tests: a 20 MB tmpfs mounted for one test, and filling it up.

Mounting a tmpfs needs root; elsewhere the tests that use it are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from store.db import database_url
from store.seed import seed_database

FILLERS = {"filler", "filler-tail"}


@pytest.fixture(scope="module")
def legacy_seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 7 MB database at 0002: migrating it needs more room than 1 MB."""
    path = tmp_path_factory.mktemp("seed") / "legacy.db"
    seed_database(database_url(path), 20_000, 10, revision="0002")
    return path


def revision_of(path: Path) -> str:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        connection.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An empty 20 MB filesystem of its own, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("the disk-full tests mount a 20 MB tmpfs, which needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "--lazy", str(disk)], check=False)


def fill(disk: Path, leave: int = 0) -> None:
    """Use up the disk, leaving `leave` bytes free (0: not a single block)."""
    free = shutil.disk_usage(disk).free
    with (disk / "filler").open("wb") as handle:
        if free > leave:
            os.posix_fallocate(handle.fileno(), 0, free - leave)
    if leave == 0:
        fd = os.open(disk / "filler-tail", os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        finally:
            os.close(fd)
        assert shutil.disk_usage(disk).free < 4096


def make_room(disk: Path) -> None:
    for name in FILLERS:
        (disk / name).unlink(missing_ok=True)


def files_in(disk: Path) -> set[str]:
    """What the commands left, besides the fillers and SQLite's own empty -wal and -shm index
    that a read-only reader of a WAL database keeps (and the next writer removes)."""
    names = set()
    for entry in disk.iterdir():
        if entry.name in FILLERS:
            continue
        if entry.name.endswith("-shm") or (entry.name.endswith("-wal")
                                           and entry.stat().st_size == 0):
            continue
        names.add(entry.name)
    return names
