"""The file side of a revert on temporary folders, without a database: the attempt lock, the
manifest written before any move, the moves into the archive and moving them back."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from store.corrections.archive import (
    MANIFEST_NAME,
    ArtifactMove,
    AttemptLock,
    FolderArchive,
    manifest_moves,
    read_manifest,
    remove_archive_folder,
    undo_moves,
)

FOLDERS = ("plan/01", "plan/02", "plan/03")


@pytest.fixture
def artifacts(tmp_path) -> Path:
    root = tmp_path / "artifacts"
    for relative in FOLDERS:
        (root / relative).mkdir(parents=True)
        (root / relative / "notes.md").write_text(relative)
    return root


def moves_of(*folders: str) -> list[ArtifactMove]:
    return [ArtifactMove(f, f, (f"decision-{f}",)) for f in folders]


def test_archive_writes_the_manifest_before_the_first_move(artifacts):
    folder = artifacts / "_archive" / "01ATTEMPT"
    seen_manifest: list[dict] = []

    def move(source: Path, destination: Path) -> None:
        seen_manifest.append(json.loads((folder / MANIFEST_NAME).read_text()))
        os.rename(source, destination)

    archive = FolderArchive(artifacts, folder, move)
    archive.archive(moves_of(*FOLDERS), {"correction_attempt_id": "01ATTEMPT"})

    assert [m["source"] for m in seen_manifest[0]["moves"]] == list(FOLDERS)
    manifest = read_manifest(folder)
    assert manifest is not None and manifest["correction_attempt_id"] == "01ATTEMPT"
    assert manifest["host"] == socket.gethostname()
    assert manifest_moves(manifest) == moves_of(*FOLDERS)
    for relative in FOLDERS:
        assert not (artifacts / relative).exists()
        assert (folder / relative / "notes.md").read_text() == relative
    assert archive.stored_path() == "_archive/01ATTEMPT"
    assert not (folder / (MANIFEST_NAME + ".tmp")).exists()


def test_a_failed_move_is_undone_and_the_archive_folder_removed(artifacts):
    folder = artifacts / "_archive" / "01ATTEMPT"
    calls: list[Path] = []

    def move(source: Path, destination: Path) -> None:
        calls.append(source)
        if len(calls) == 3:
            raise OSError(28, "No space left on device (injected)")
        os.rename(source, destination)

    archive = FolderArchive(artifacts, folder, move)
    with pytest.raises(OSError, match="injected"):
        archive.archive(moves_of(*FOLDERS), {})
    assert [m.source for m in archive.done] == ["plan/01", "plan/02"]
    assert archive.undo() == []
    remove_archive_folder(folder)
    for relative in FOLDERS:
        assert (artifacts / relative / "notes.md").read_text() == relative
    assert not folder.exists()


def test_undo_reports_what_it_cannot_restore_and_keeps_both_copies(artifacts):
    folder = artifacts / "_archive" / "01ATTEMPT"
    (folder / "plan/01").mkdir(parents=True)  # archived while the original is still there
    problems = undo_moves(artifacts, folder, moves_of("plan/01", "plan/gone"), os.rename)
    assert len(problems) == 2
    assert "plan/gone is neither in place nor in the archive" in problems[0]
    assert "exist; left both in place" in problems[1]
    assert (artifacts / "plan/01/notes.md").exists() and (folder / "plan/01").is_dir()


def test_remove_archive_folder_never_deletes_a_file(artifacts):
    folder = artifacts / "_archive" / "01ATTEMPT"
    (folder / "plan/01").mkdir(parents=True)
    (folder / "plan/01/left-behind.txt").write_text("keep me")
    (folder / MANIFEST_NAME).write_text("{}")
    remove_archive_folder(folder)
    assert not (folder / MANIFEST_NAME).exists()
    assert (folder / "plan/01/left-behind.txt").read_text() == "keep me"


def test_the_attempt_lock_is_exclusive_and_names_its_owner(tmp_path):
    archive = tmp_path / "_archive"
    first = AttemptLock.try_acquire(archive, "01ATTEMPT")
    assert first is not None
    assert first.owner() == {"pid": os.getpid(), "host": socket.gethostname()}
    assert AttemptLock.try_acquire(archive, "01ATTEMPT") is None  # another open file: refused
    first.release()
    assert not AttemptLock.path_for(archive, "01ATTEMPT").exists()
    second = AttemptLock.try_acquire(archive, "01ATTEMPT")
    assert second is not None
    second.release()


def test_a_lock_file_naming_another_host_is_never_taken(tmp_path):
    archive = tmp_path / "_archive"
    path = AttemptLock.path_for(archive, "01ATTEMPT")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"pid": 1, "host": "some-other-host.invalid"}))
    assert AttemptLock.try_acquire(archive, "01ATTEMPT") is None
    assert json.loads(path.read_text())["host"] == "some-other-host.invalid"
