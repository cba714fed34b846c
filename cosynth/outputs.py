"""Outputs that never lose or destroy a user's data.

Every file and directory a cosynth command writes goes through this module.  Invariants:

* **Files** (``write_file``) are written to a temporary file in the target's own folder
  (so the final rename is atomic), with the mode a plain ``open()`` gives
  (``0o666 & ~umask``; ``mkstemp``'s 0600 is corrected), then renamed over the target.
  On any failure the temporary file is removed and the target is untouched.  A file
  output replaces a regular file or a symbolic link of its name (the link itself, never
  what it points to) -- the user named that file -- and never a directory.
* **Directories** (``OutputDir``) are built in a staging directory beside the target
  (``.NAME.cosynth-XXXXXX``) holding the marker file ``MARKER``, and renamed into place
  only when complete.  An existing target is taken over only when nothing of the user's
  can be lost:

  - absent: the staging directory is renamed in;
  - a directory holding ``MARKER`` (cosynth made it): moved aside, the new one renamed
    in, then the old one removed;
  - an empty directory: removed with ``rmdir`` (which refuses if anything appeared);
  - anything else (a directory without the marker, a file, a link): refused with
    ``OutputError`` (exit status 2) -- unless ``force``, which *moves it aside* to
    ``NAME.bak-N`` (the lowest free N) and keeps it.  Nothing cosynth did not make is
    ever deleted, with or without ``force``.

* ``check_file`` / ``check_dir`` run before a command's work: the target's folder exists
  and accepts a new file (probed by creating and removing one, which also catches
  read-only mounts where ``os.access`` says yes to root), and the target is acceptable.
* An ``OSError`` while writing becomes an ``OutputError`` naming the file, the reason
  and a fix; ``save_or_fallback`` also saves a finished result somewhere else (the
  current folder, else the temporary folder) and says where.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Callable

from .errors import OutputError

__all__ = ["MARKER", "check_file", "check_dir", "write_file", "save_or_fallback",
           "OutputDir", "os_error", "io_hint", "umask", "is_cosynth_dir"]

#: the file every directory cosynth writes holds; only such a directory is ever replaced
MARKER = ".cosynth-output"

_MARKER_TEXT = ("This directory was written by cosynth ({what}).\n"
                "Running cosynth again with this directory as its output replaces it as a "
                "whole,\nincluding files added here since; without this file cosynth "
                "refuses to touch it.\n")

_FIXES = {
    errno.ENOSPC: "free some space on that filesystem, or write somewhere else",
    errno.EDQUOT: "your disk quota is used up: free some space, or write somewhere else",
    errno.EROFS: "that filesystem is read-only: write somewhere else",
    errno.EACCES: "you may not write there: choose another folder or fix its permissions",
    errno.EPERM: "you may not write there: choose another folder or fix its permissions",
    errno.EFBIG: "the file is too large for that filesystem: write somewhere else",
    errno.ENOENT: "create the folder first (mkdir -p), or choose an existing one",
    errno.ENOTDIR: "a part of the path is a file, not a folder: choose another path",
    errno.ENAMETOOLONG: "choose a shorter path",
}


def umask() -> int:
    """The process's umask (read without changing it where /proc allows)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def io_hint(exc: OSError) -> str:
    """What to do about ``exc`` (a full disk, a read-only filesystem, a forbidden folder)."""
    return _FIXES.get(exc.errno, "check the path and the filesystem")


def os_error(exc: OSError, target: str, what: str = "output") -> OutputError:
    """``exc`` (raised while writing ``target``) as one clear paragraph: the file, the
    reason, the fix."""
    name = exc.filename if isinstance(exc.filename, str) else target
    reason = exc.strerror or str(exc)
    where = f"'{target}'" if os.path.abspath(name) == os.path.abspath(target) else \
        f"'{target}' (at '{name}')"
    return OutputError(f"cannot write the {what} {where}: {reason}", hint=io_hint(exc))


def is_cosynth_dir(path: str) -> bool:
    """``path`` is a real directory (not a link) holding cosynth's marker file."""
    try:
        st = os.lstat(path)
        mk = os.lstat(os.path.join(path, MARKER))
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and stat.S_ISREG(mk.st_mode)


def check_file(path: str, *, option: str = "-o", what: str = "output") -> None:
    """Before the work: ``path`` can be written (its folder exists and takes a new file;
    it is not a directory)."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path) and not os.path.islink(path):
        raise OutputError(f"{option} {path}: is a directory; the {what} is a file",
                          hint="name a file inside it or beside it")
    if not os.path.isdir(folder):
        raise OutputError(f"{option} {path}: folder '{folder}' does not exist",
                          hint="create it first (mkdir -p), or choose an existing one")
    _probe(folder, path, option, what)


def check_dir(path: str, *, force: bool = False, option: str = "-o",
              what: str = "output directory", parents: bool = False,
              force_flag: str | None = "--force") -> None:
    """Before the work: the directory output ``path`` can be written and, when it exists,
    may be replaced (the marker rule above); with ``parents`` missing folders above it
    are allowed (they will be created)."""
    folder = os.path.dirname(os.path.abspath(path))
    probe_in = folder
    while parents and not os.path.lexists(probe_in) and os.path.dirname(probe_in) != probe_in:
        probe_in = os.path.dirname(probe_in)
    if not os.path.isdir(probe_in):
        raise OutputError(f"{option} {path}: folder '{folder}' does not exist",
                          hint="create it first (mkdir -p), or choose an existing one")
    _probe(probe_in, path, option, what)
    state = _state(path)
    if state == "foreign" and not force:
        kind = "directory" if os.path.isdir(path) and not os.path.islink(path) else \
            "file" if not os.path.islink(path) else "link"
        how = (f"rerun with {force_flag} to move it aside to {_bak_hint(path)} (nothing is "
               "deleted), " if force_flag else "") + "choose another path, or move it away"
        raise OutputError(f"{option} {path}: a {kind} cosynth did not make is in the way "
                          f"(no {MARKER} file in it); cosynth never replaces what it did not "
                          "write", hint=how)


def write_file(path: str, content: str | bytes | Callable, *, what: str = "output") -> None:
    """Write ``content`` (text, bytes, or a function given the open binary file) to
    ``path`` atomically; an ``OSError`` becomes ``OutputError`` and leaves no temporary
    file."""
    if os.path.isdir(path) and not os.path.islink(path):
        raise OutputError(f"cannot write the {what} '{path}': it is a directory",
                          hint="name a file")
    folder = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.",
                                   suffix=".tmp")
        os.fchmod(fd, 0o666 & ~umask())
        with os.fdopen(fd, "wb") as f:
            if callable(content):
                content(f)
            else:
                f.write(content.encode() if isinstance(content, str) else content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise os_error(exc, path, what) from None
    finally:
        if tmp is not None:
            _unlink(tmp)


def save_or_fallback(path: str, save: Callable[[str], None], *, what: str = "result"
                     ) -> None:
    """``save(path)``; when that fails for a reason of the filesystem, ``save`` to a free
    name in the current folder, else in the temporary folder, and raise ``OutputError``
    naming the path, the reason and where the result is now (nothing finished is lost)."""
    try:
        save(path)
        return
    except OutputError as exc:
        first = exc
    tried = []
    for folder in _fallback_folders(path):
        alt = _free_name(folder, os.path.basename(path))
        try:
            save(alt)
        except OutputError:
            tried.append(folder)
            continue
        raise OutputError(f"{first.message}; the {what} was saved to '{alt}' instead",
                          hint=first.hint)
    raise OutputError(f"{first.message}; the {what} could not be saved anywhere else either "
                      f"(tried {', '.join(tried) or 'nothing'})", hint=first.hint)


class OutputDir:
    """A directory output under construction: write into ``.path`` (the staging
    directory beside ``target``), then ``commit()``; ``discard()`` (or leaving the
    ``with`` block by an exception) removes the staging directory and leaves ``target``
    as it was.  ``moved_aside`` names where ``force`` put a directory cosynth did not
    make.  ``OSError`` inside the ``with`` block becomes ``OutputError``."""

    def __init__(self, target: str, *, force: bool = False, what: str = "output directory",
                 made_by: str = "cosynth", parents: bool = False, option: str = "-o",
                 force_flag: str | None = "--force"):
        self.target = target
        self.force = force
        self.what = what
        self.moved_aside: str | None = None
        self._done = False
        check_dir(target, force=force, option=option, what=what, parents=parents,
                  force_flag=force_flag)
        parent = os.path.dirname(os.path.abspath(target))
        try:
            if parents:
                os.makedirs(parent, mode=0o777, exist_ok=True)
            self.path = tempfile.mkdtemp(dir=parent,
                                         prefix=f".{os.path.basename(target)}.cosynth-")
        except OSError as exc:
            raise os_error(exc, target, what) from None
        try:
            os.chmod(self.path, 0o777 & ~umask())
            with open(os.path.join(self.path, MARKER), "w") as f:
                f.write(_MARKER_TEXT.format(what=made_by))
        except OSError as exc:
            shutil.rmtree(self.path, ignore_errors=True)
            raise os_error(exc, target, what) from None

    def __enter__(self) -> OutputDir:
        return self

    def __exit__(self, typ, exc, tb) -> bool:
        if exc is not None:
            self.discard()
            if isinstance(exc, OSError):
                raise os_error(exc, self.target, self.what) from None
            return False
        self.commit()
        return False

    def commit(self) -> None:
        """Put the staging directory in place of ``target`` (the marker rule)."""
        if self._done:
            return
        try:
            self._commit()
        except OSError as exc:
            self.discard()
            raise os_error(exc, self.target, self.what) from None
        except BaseException:
            self.discard()
            raise
        self._done = True

    def discard(self) -> None:
        if not self._done:
            self._done = True
            shutil.rmtree(self.path, ignore_errors=True)

    def _commit(self) -> None:
        target = self.target
        state = _state(target)
        if state == "foreign":
            if not self.force:
                check_dir(target)  # raises, naming what appeared meanwhile
            self.moved_aside = _move_aside(target)
            state = "absent"
        if state == "empty":
            os.rmdir(target)  # refuses (ENOTEMPTY) when something appeared meanwhile
        if state == "ours":
            old = tempfile.mkdtemp(dir=os.path.dirname(os.path.abspath(target)),
                                   prefix=f".{os.path.basename(target)}.old-")
            os.replace(target, old)  # onto our own empty directory: atomic
            try:
                os.replace(self.path, target)
            except BaseException:
                os.replace(old, target)
                raise
            if is_cosynth_dir(old):
                shutil.rmtree(old, ignore_errors=True)
            return
        os.replace(self.path, target)


# -- private helpers -----------------------------------------------------------------------

def _state(path: str) -> str:
    """absent | ours (a marked directory) | empty (an empty real directory) | foreign."""
    if not os.path.lexists(path):
        return "absent"
    if is_cosynth_dir(path):
        return "ours"
    if os.path.isdir(path) and not os.path.islink(path):
        try:
            if not os.listdir(path):
                return "empty"
        except OSError:
            pass
    return "foreign"


def _probe(folder: str, path: str, option: str, what: str) -> None:
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".cosynth-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        err = os_error(exc, path, what)
        raise OutputError(f"{option} {path}: cannot write in '{folder}': "
                          f"{exc.strerror or exc}", hint=err.hint) from None


def _bak_hint(path: str) -> str:
    return os.path.basename(os.path.normpath(path)) + ".bak-N"


def _move_aside(path: str) -> str:
    """Rename ``path`` to ``path.bak-N`` (lowest free N), never over anything: the name
    is reserved first by creating an empty placeholder of our own, then replaced."""
    base = os.path.normpath(path)
    is_dir = os.path.isdir(base) and not os.path.islink(base)
    n = 1
    while True:
        bak = f"{base}.bak-{n}"
        try:
            if is_dir:
                os.mkdir(bak)
            else:
                os.close(os.open(bak, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            n += 1
            continue
        try:
            os.replace(base, bak)
        except BaseException:
            (os.rmdir if is_dir else os.unlink)(bak)
            raise
        return bak


def _fallback_folders(path: str) -> list[str]:
    here = os.path.dirname(os.path.abspath(path))
    out = []
    for folder in (os.getcwd(), tempfile.gettempdir()):
        folder = os.path.abspath(folder)
        if folder != here and folder not in out:
            out.append(folder)
    return out


def _free_name(folder: str, name: str) -> str:
    stem, ext = os.path.splitext(name)
    cand = os.path.join(folder, name)
    n = 1
    while os.path.lexists(cand):
        cand = os.path.join(folder, f"{stem}-{n}{ext}")
        n += 1
    return cand


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
