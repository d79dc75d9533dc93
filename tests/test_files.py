"""rl_web_agent/policy/files.py: the one atomic write and folder swap every stage uses."""

from __future__ import annotations

import os

import pytest

from rl_web_agent.policy.files import atomic_write, replace_dir, staged_dir


def test_atomic_write_replaces_whole_readable_and_leaves_no_temp(tmp_path):
    path = tmp_path / "a" / "b.json"
    atomic_write(path, b"old")
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new" and os.listdir(path.parent) == ["b.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0600: it is served


def test_atomic_write_into_a_folder_fails_and_leaves_no_temp(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(OSError):
        atomic_write(tmp_path / "x", b"data")
    assert os.listdir(tmp_path) == ["x"] and os.listdir(tmp_path / "x") == []


def test_staged_dir_swaps_in_whole_or_not_at_all(tmp_path):
    dest = tmp_path / "k"
    with staged_dir(dest) as tmp:
        (tmp / "one").write_text("1")
    assert os.listdir(dest) == ["one"] and dest.stat().st_mode & 0o777 == 0o755
    with pytest.raises(RuntimeError), staged_dir(dest) as tmp:
        (tmp / "two").write_text("2")
        raise RuntimeError("the build failed")
    assert os.listdir(dest) == ["one"] and os.listdir(tmp_path) == ["k"]  # old folder, no temp left
    with staged_dir(dest) as tmp:
        (tmp / "three").write_text("3")
    assert os.listdir(dest) == ["three"] and os.listdir(tmp_path) == ["k"]  # no old folder left


def test_replace_dir_refuses_a_file_in_the_way(tmp_path):
    (tmp_path / "new").mkdir()
    (tmp_path / "k").write_text("not a folder")
    with pytest.raises(NotADirectoryError):
        replace_dir(tmp_path / "new", tmp_path / "k")
    assert (tmp_path / "k").read_text() == "not a folder" and (tmp_path / "new").is_dir()
