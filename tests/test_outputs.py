"""cosynth.outputs: nothing a user made is lost or destroyed, files honour the umask, and
every write failure is one clear paragraph that says where a finished result went."""

from __future__ import annotations

import os
import stat

import pytest

from cosynth.errors import OutputError
from cosynth.outputs import (
    MARKER,
    OutputDir,
    check_dir,
    check_file,
    is_cosynth_dir,
    save_or_fallback,
    umask,
    write_file,
)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def with_umask():
    old = os.umask(0o022)
    yield lambda m: os.umask(m)
    os.umask(old)


def test_umask_is_read_without_changing_it(with_umask):
    with_umask(0o027)
    assert umask() == 0o027 and umask() == 0o027


@pytest.mark.parametrize("mask,want", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_get_the_mode_open_would_give(tmp_path, with_umask, mask, want):
    with_umask(mask)
    path = tmp_path / "r.txt"
    write_file(str(path), "hello\n")
    assert path.read_text() == "hello\n" and _mode(path) == want
    assert os.listdir(tmp_path) == ["r.txt"]


@pytest.mark.parametrize("mask,want", [(0o022, 0o755), (0o077, 0o700)])
def test_directories_get_the_mode_mkdir_would_give(tmp_path, with_umask, mask, want):
    with_umask(mask)
    with OutputDir(str(tmp_path / "d")) as out:
        (open(os.path.join(out.path, "f"), "w")).close()
    assert _mode(tmp_path / "d") == want and is_cosynth_dir(str(tmp_path / "d"))


def test_a_failed_file_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "r.bin"
    path.write_bytes(b"old")

    def boom(f):
        f.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match="No space left on device") as info:
        write_file(str(path), boom)
    assert "free some space" in info.value.hint
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["r.bin"]


def test_a_file_output_never_replaces_a_directory(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "mine.txt").write_text("a")
    with pytest.raises(OutputError, match="is a directory"):
        check_file(str(tmp_path / "d"))
    with pytest.raises(OutputError, match="is a directory"):
        write_file(str(tmp_path / "d"), "x")
    assert (tmp_path / "d" / "mine.txt").read_text() == "a"


def test_a_new_directory_carries_the_marker_and_nothing_else_is_left(tmp_path):
    with OutputDir(str(tmp_path / "out"), made_by="cosynth test") as out:
        assert os.path.dirname(out.path) == str(tmp_path) and out.path != str(tmp_path / "out")
        (open(os.path.join(out.path, "a.txt"), "w")).write("1")
    assert sorted(os.listdir(tmp_path / "out")) == [MARKER, "a.txt"]
    assert "cosynth test" in (tmp_path / "out" / MARKER).read_text()
    assert os.listdir(tmp_path) == ["out"]


def test_a_marked_directory_is_replaced_and_a_sibling_dot_old_is_untouched(tmp_path):
    target = tmp_path / "d"
    with OutputDir(str(target)) as out:
        (open(os.path.join(out.path, "first.txt"), "w")).close()
    (tmp_path / "d.old").mkdir()
    (tmp_path / "d.old" / "backup.txt").write_text("b")
    with OutputDir(str(target)) as out:
        (open(os.path.join(out.path, "second.txt"), "w")).close()
    assert sorted(os.listdir(target)) == [MARKER, "second.txt"]
    assert (tmp_path / "d.old" / "backup.txt").read_text() == "b"
    assert sorted(os.listdir(tmp_path)) == ["d", "d.old"]


def test_a_directory_cosynth_did_not_make_is_refused_before_any_work(tmp_path):
    target = tmp_path / "home"
    target.mkdir()
    (target / "mine.txt").write_text("a")
    with pytest.raises(OutputError) as info:
        check_dir(str(target))
    assert "cosynth did not make" in info.value.message and "--force" in info.value.hint
    assert "home.bak-N" in info.value.hint
    with pytest.raises(OutputError):
        OutputDir(str(target))
    assert os.listdir(target) == ["mine.txt"] and os.listdir(tmp_path) == ["home"]


def test_force_moves_the_users_directory_aside_and_deletes_nothing(tmp_path):
    target = tmp_path / "d"
    for i in (1, 2):
        target.mkdir()
        (target / "mine.txt").write_text(str(i))
        with OutputDir(str(target), force=True) as out:
            pass
        assert out.moved_aside == f"{target}.bak-{i}"
        assert (tmp_path / f"d.bak-{i}" / "mine.txt").read_text() == str(i)
        assert is_cosynth_dir(str(target))
        os.remove(target / MARKER)
        os.rmdir(target)
    # a file, and a link, in the way: moved aside too, never followed
    (tmp_path / "f").write_text("file")
    with OutputDir(str(tmp_path / "f"), force=True) as out:
        pass
    assert (tmp_path / "f.bak-1").read_text() == "file" and is_cosynth_dir(str(tmp_path / "f"))


def test_a_link_to_a_directory_is_not_followed(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / MARKER).write_text("")
    (real / "keep.txt").write_text("k")
    os.symlink(real, tmp_path / "link")
    with pytest.raises(OutputError, match="a link cosynth did not make"):
        check_dir(str(tmp_path / "link"))
    with OutputDir(str(tmp_path / "link"), force=True):
        pass
    assert os.path.islink(tmp_path / "link.bak-1") and (real / "keep.txt").exists()


def test_an_empty_directory_is_taken_over(tmp_path):
    (tmp_path / "d").mkdir()
    with OutputDir(str(tmp_path / "d")) as out:
        pass
    assert out.moved_aside is None and is_cosynth_dir(str(tmp_path / "d"))


def test_what_appears_while_the_work_runs_is_not_overwritten(tmp_path):
    target = tmp_path / "d"
    out = OutputDir(str(target))
    target.mkdir()
    (target / "mine.txt").write_text("a")
    with pytest.raises(OutputError, match="cosynth did not make"):
        out.commit()
    assert os.listdir(target) == ["mine.txt"] and os.listdir(tmp_path) == ["d"]


def test_an_error_inside_discards_the_staging_directory(tmp_path):
    target = tmp_path / "d"
    with OutputDir(str(target)) as out:
        (open(os.path.join(out.path, "a"), "w")).close()
    with pytest.raises(RuntimeError):
        with OutputDir(str(target)) as out:
            raise RuntimeError("stop")
    with pytest.raises(OutputError, match="No space left") as info:
        with OutputDir(str(target)) as out:
            raise OSError(28, "No space left on device", os.path.join(out.path, "x"))
    assert "(at '" in info.value.message
    assert sorted(os.listdir(target)) == [MARKER, "a"] and os.listdir(tmp_path) == ["d"]


def test_missing_folders(tmp_path):
    with pytest.raises(OutputError, match="does not exist"):
        check_file(str(tmp_path / "no" / "r.npy"))
    with pytest.raises(OutputError, match="does not exist"):
        check_dir(str(tmp_path / "no" / "d"))
    with OutputDir(str(tmp_path / "a" / "b" / "d"), parents=True):
        pass
    assert is_cosynth_dir(str(tmp_path / "a" / "b" / "d"))


def test_a_result_that_cannot_be_written_is_saved_elsewhere(tmp_path, monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    (here / "r.npy").write_text("someone else's")
    monkeypatch.chdir(here)
    saved = []

    def save(path):
        if path.startswith(str(tmp_path / "full")):
            raise OutputError(f"cannot write the result '{path}': No space left on device",
                              hint="free some space")
        write_file(path, "R")
        saved.append(path)

    with pytest.raises(OutputError) as info:
        save_or_fallback(str(tmp_path / "full" / "r.npy"), save)
    assert saved == [str(here / "r-1.npy")] and (here / "r.npy").read_text() == "someone else's"
    assert f"saved to '{here / 'r-1.npy'}' instead" in info.value.message
    assert "No space left" in info.value.message and info.value.hint == "free some space"
