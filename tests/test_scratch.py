"""Scratch folders (cosynth.scratch): a folder whose owner was killed outright is removed by
the next one made in the same place; nothing without cosynth's owner record, and nothing
whose owner is alive, is ever touched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from cosynth import scratch
from tests.helpers import ROOT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="owners are told apart through /proc")

KILLED = """
import os, signal, sys
sys.path.insert(0, {root!r})
from cosynth import scratch
path = scratch.make(".build-", {where!r})
open(os.path.join(path, "half.o"), "w").write("x")
print(path, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no finally runs, as under the OOM killer
"""


def _killed_owner(where: str) -> str:
    run = subprocess.run([sys.executable, "-c", KILLED.format(root=ROOT, where=where)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == -signal.SIGKILL
    path = run.stdout.strip()
    assert os.path.isfile(os.path.join(path, "half.o"))
    return path


def test_a_killed_owners_folder_goes_with_the_next_one(tmp_path):
    where = str(tmp_path)
    dead = _killed_owner(where)
    theirs = tmp_path / ".build-not-cosynths"  # same prefix, no owner record
    theirs.mkdir()
    (theirs / "keep.txt").write_text("user data")
    mine = scratch.make(".build-", where)
    assert not os.path.exists(dead)
    assert (theirs / "keep.txt").read_text() == "user data"
    assert os.path.isfile(os.path.join(mine, scratch.OWNER))
    other = scratch.make(".build-", where)  # a live owner's folder is left alone
    assert os.path.isdir(mine) and os.path.isdir(other)
    assert scratch.sweep(where, ".runtime-") == []  # another prefix: not looked at


def test_an_owner_from_another_boot_or_a_reused_pid_is_gone(tmp_path):
    where = str(tmp_path)
    me = os.getpid()
    for name, record in [("a", f"{me} 1 another-boot"),  # this pid, but another boot
                         ("b", f"{me} 0 {scratch._boot_id()}"),  # this pid, another start
                         ("c", "garbage")]:  # unreadable: not ours, kept
        d = tmp_path / f"cosynth-sim-{name}"
        d.mkdir()
        (d / scratch.OWNER).write_text(record + "\n")
    gone = scratch.sweep(where, "cosynth-sim-")
    assert sorted(os.path.basename(p) for p in gone) == ["cosynth-sim-a", "cosynth-sim-b"]
    assert (tmp_path / "cosynth-sim-c").is_dir()


def test_a_released_folder_is_never_swept(tmp_path):
    where = str(tmp_path)
    path = _killed_owner(where)
    scratch.release(path)  # as a cache entry is before it is renamed in
    assert scratch.sweep(where, ".build-") == [] and os.path.isdir(path)
