"""Scratch folders: temporary directories that a killed cosynth does not leave behind.

Every temporary folder cosynth makes (``cosynth-sim-*`` under the system's temporary
directory, ``.build-*`` compile and tool-flow folders in the cache, ...) is made by
``make``, which writes an owner record into it: the process id, that process's start time
(``/proc/<pid>/stat``, field 22) and the machine's boot id.  A ``finally`` block removes the
folder when cosynth ends normally, on an error or on an interrupt; when cosynth is killed
outright (SIGKILL, the OOM killer) nothing runs, so the next ``make`` for the same place and
prefix first removes the folders whose owner has gone (no process with that pid, or one
started at another time, or another boot).

Only folders that carry a readable owner record are ever removed: a folder of the same
prefix that cosynth did not make (no record), or one whose owner is alive, is left alone.
A folder that becomes a cache entry or a user's output is ``release``d first (its record
removed) so that it is never swept.
"""

from __future__ import annotations

import os
import shutil
import tempfile

__all__ = ["make", "release", "sweep", "OWNER"]

OWNER = ".cosynth-owner"


def make(prefix: str, dir: str | None = None, mode: int | None = None) -> str:
    """A new folder ``<dir>/<prefix>XXXXXXXX`` (``tempfile.mkdtemp``) holding its owner
    record, after sweeping the dead owners' folders of the same prefix there."""
    where = dir or tempfile.gettempdir()
    sweep(where, prefix)
    path = tempfile.mkdtemp(prefix=prefix, dir=where)
    try:
        if mode is not None:
            os.chmod(path, mode)
        with open(os.path.join(path, OWNER), "w") as f:
            f.write(_me() + "\n")
    except BaseException:  # a full disk: no half-made folder is left
        shutil.rmtree(path, ignore_errors=True)
        raise
    return path


def release(path: str) -> None:
    """Forget that ``path`` is scratch (before it is renamed into a cache entry or an
    output): it is no longer swept."""
    try:
        os.unlink(os.path.join(path, OWNER))
    except FileNotFoundError:
        pass


def sweep(where: str, prefix: str) -> list[str]:
    """Remove the folders ``<where>/<prefix>*`` whose owner record names a process that is
    gone; returns their paths.  Never raises: a sweep is housekeeping."""
    gone = []
    try:
        names = sorted(os.listdir(where))
    except OSError:
        return gone
    for name in names:
        if not name.startswith(prefix):
            continue
        path = os.path.join(where, name)
        owner = _owner(path)
        if owner is None or _alive(owner):
            continue
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.exists(path):
            gone.append(path)
    return gone


def _owner(path: str) -> tuple[int, str, str] | None:
    try:
        with open(os.path.join(path, OWNER)) as f:
            pid, start, boot = f.read().split()
        return int(pid), start, boot
    except (OSError, ValueError):
        return None  # not ours, or being made right now


def _alive(owner: tuple[int, str, str]) -> bool:
    pid, start, boot = owner
    if start == "None":
        return True  # written where /proc could not tell: never swept
    if boot != _boot_id():
        return False
    return _start_time(pid) == start


def _me() -> str:
    pid = os.getpid()
    return f"{pid} {_start_time(pid)} {_boot_id()}"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, or None when there is no such
    process.  (The command name, field 2, may hold spaces and parentheses: split after
    its last ')'.)"""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()[19]


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return "-"
