"""models.fileio: atomic writes that never clobber a user's file and leave no debris."""

from __future__ import annotations

import os

import pytest

from models.errors import OverwriteError
from models.fileio import atomic_path, atomic_write_bytes, atomic_write_text, check_writable


def test_write_text_creates_parents_and_refuses_overwrite(tmp_path):
    target = tmp_path / "a" / "b" / "x.txt"
    assert atomic_write_text(target, "héllo\n") == target
    assert target.read_text(encoding="utf-8") == "héllo\n"
    with pytest.raises(OverwriteError, match="x.txt") as err:
        atomic_write_text(target, "other")
    assert "overwrite=True" in str(err.value)
    assert target.read_text(encoding="utf-8") == "héllo\n"
    atomic_write_text(target, "other", overwrite=True)
    assert target.read_text() == "other"
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.txt"]


def test_written_file_gets_normal_permissions(tmp_path):
    target = atomic_write_bytes(tmp_path / "x.bin", b"\x00\x01")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_atomic_path_removes_temp_file_on_failure(tmp_path):
    target = tmp_path / "x.txt"
    target.write_text("original")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(target, overwrite=True) as tmp:
            assert tmp.parent == tmp_path and tmp.suffix == ".txt" and tmp != target
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "original"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_check_writable_lists_every_existing_target(tmp_path):
    a, b, c = tmp_path / "a.csv", tmp_path / "b.lab", tmp_path / "c.mid"
    a.write_text("1")
    b.write_text("2")
    with pytest.raises(OverwriteError) as err:
        check_writable([a, b, c], overwrite=False)
    message = str(err.value)
    assert "2 files already exist" in message
    assert "a.csv" in message and "b.lab" in message and "c.mid" not in message
    check_writable([a, b, c], overwrite=True)  # no error


def test_check_writable_refuses_a_folder_even_with_overwrite(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(OverwriteError, match="folder"):
        check_writable([tmp_path / "d"], overwrite=True)
