"""Atomic writes: complete files readable by others, nothing left behind on failure."""

from __future__ import annotations

import os
import stat

import pytest

from spikemem.atomic_files import atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it afterwards."""
    saved = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(saved)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_file_has_the_mode_of_a_plain_open(tmp_path, umask, mask, expected):
    umask(mask)
    text_file, json_file, bytes_file = tmp_path / "a" / "out.csv", tmp_path / "out.json", tmp_path / "out.npy"
    atomic_write_text(text_file, "x,y\n1,2\n")
    atomic_write_json(json_file, {"b": 1, "a": [1, 2]})
    atomic_write_bytes(bytes_file, b"\x93NUMPY")
    assert text_file.read_text() == "x,y\n1,2\n"
    assert json_file.read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    assert bytes_file.read_bytes() == b"\x93NUMPY"
    assert mode(text_file) == mode(json_file) == mode(bytes_file) == expected
    plain = tmp_path / "plain"
    plain.write_text("")
    assert mode(plain) == expected


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "fig.png"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target, suffix=".part.png") as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".part.png")
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png"]


def test_a_file_written_by_another_writer_gets_a_shareable_mode(tmp_path, umask):
    """Figures and arrays are written by their libraries into the temporary path (which mkstemp
    creates 0600); the renamed file still has the mode of a plain open."""
    umask(0o022)
    target = tmp_path / "fig.png"
    target.write_bytes(b"old")
    target.chmod(0o600)  # an earlier, private version: its mode is not inherited
    with atomic_path(target, suffix=".part.png") as tmp:
        assert mode(tmp) == 0o600
        with open(tmp, "wb") as f:
            f.write(b"\x89PNG")
    assert target.read_bytes() == b"\x89PNG" and mode(target) == 0o644
