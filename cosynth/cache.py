"""Where cosynth keeps what it can rebuild: compiled programs, Verilator models, tool-flow
runs, proof outcomes, measured FPGA costs -- and how an entry is checked before use.

``$COSYNTH_CACHE``, else ``$XDG_CACHE_HOME/cosynth``, else ``~/.cache/cosynth``.  Every
entry is keyed by the content it was made from, so deleting the folder only costs time.

Nothing read back from the cache is trusted blindly:

* a built artefact (a binary, a model, a flow run) sits in a folder with a *record*
  (``write_record``/``read_record``): what it was built as and the SHA-256 of its files
  (``digest``), checked on every use; an entry that fails is ``discard``-ed and rebuilt;
* a JSON table (``load_table``) that is not JSON, or not an object, is ignored;
* a claim that cannot be re-derived cheaply from its record alone (a proof outcome) is
  signed with ``sign``: an HMAC-SHA256 under a per-user key (``key_path``, created on first
  use with mode 0600 in ``$COSYNTH_CONFIG``, else ``$XDG_CONFIG_HOME/cosynth``, else
  ``~/.config/cosynth``); ``signed`` checks it.  A key readable by others is replaced.

Each rejection is reported once, as one line on stderr (``notice``), never a traceback.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import shutil
import stat
import sys
import tempfile

__all__ = ["cache_root", "cache_dir", "notice", "digest", "folder_digests", "unverified",
           "read_record", "write_record",
           "discard", "load_table", "write_table", "config_root", "key_path", "sign",
           "signed"]

RECORD = "entry.json"  # the record of a cached folder


def cache_root() -> str:
    return os.environ.get("COSYNTH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "cosynth")


def cache_dir(*parts: str) -> str:
    """``<root>/<parts...>``, created."""
    path = os.path.join(cache_root(), *parts)
    os.makedirs(path, exist_ok=True)
    return path


def notice(message: str) -> None:
    """One line on stderr: ``cosynth: notice: <message>``."""
    print(f"cosynth: notice: {message}", file=sys.stderr, flush=True)


def digest(path: str) -> str:
    """SHA-256 (hex) of the file at ``path``."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def folder_digests(folder: str, exclude: tuple[str, ...] = (RECORD,)) -> dict[str, str]:
    """name -> SHA-256 of every file directly in ``folder`` (less ``exclude``)."""
    return {name: digest(os.path.join(folder, name)) for name in sorted(os.listdir(folder))
            if name not in exclude and os.path.isfile(os.path.join(folder, name))}


def unverified(folder: str, digests: object) -> str | None:
    """Why ``folder`` does not hold exactly the files ``digests`` records (a dict name ->
    SHA-256, as ``folder_digests`` made it), or None when it does."""
    if not isinstance(digests, dict) or not digests or not all(
            isinstance(k, str) and isinstance(v, str) and os.path.basename(k) == k
            for k, v in digests.items()):
        return "its record lists no files"
    for name, want in digests.items():
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            return f"{name} is missing"
        if digest(path) != want:
            return f"{name} does not have the SHA-256 recorded when it was built"
    return None


def read_record(folder: str, name: str = RECORD) -> dict | None:
    """The record ``folder/name`` as a dict; None when missing, not JSON or not an object."""
    try:
        with open(os.path.join(folder, name)) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_record(folder: str, record: dict, name: str = RECORD) -> None:
    """Write ``record`` as ``folder/name`` (a temporary file renamed into place)."""
    _atomic_write(os.path.join(folder, name), json.dumps(record, indent=1, sort_keys=True))


def discard(folder: str) -> None:
    """Remove a cache entry that failed verification: renamed aside first (so no reader
    finds half of it), then deleted; a failure to delete is not an error."""
    if not os.path.lexists(folder):
        return
    parent = os.path.dirname(os.path.abspath(folder))
    trash = os.path.join(parent, f".trash-{secrets.token_hex(6)}")
    try:
        os.replace(folder, trash)
    except OSError:
        trash = folder
    if os.path.isdir(trash) and not os.path.islink(trash):
        shutil.rmtree(trash, ignore_errors=True)
    else:
        try:
            os.remove(trash)
        except OSError:
            pass


def load_table(path: str, what: str, *, quiet: bool = False) -> dict:
    """The JSON object in ``path``; ``{}`` when it is missing, and ``{}`` with a notice
    (unless ``quiet``) when it is not JSON or not an object (``what`` names it)."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        if not quiet:
            notice(f"{what} {path} is not valid JSON; ignored")
        return {}
    if not isinstance(data, dict):
        if not quiet:
            notice(f"{what} {path} holds a JSON {type(data).__name__}, not an object; "
                   "ignored")
        return {}
    return data


def write_table(path: str, table: dict, **dump) -> None:
    """Write ``table`` as JSON to ``path`` atomically (temporary file, then rename)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    _atomic_write(path, json.dumps(table, **dump))


# ------------------------------------------------------------------ signatures
_KEY: bytes | None = None


def config_root() -> str:
    return os.environ.get("COSYNTH_CONFIG") or os.path.join(
        os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"), "cosynth")


def key_path() -> str:
    return os.path.join(config_root(), "key")


def sign(text: str) -> str:
    """HMAC-SHA256 (hex) of ``text`` under this installation's key."""
    return hmac.new(_key(), text.encode(), hashlib.sha256).hexdigest()


def signed(text: str, signature: object) -> bool:
    """Whether ``signature`` is this installation's signature of ``text``."""
    return isinstance(signature, str) and hmac.compare_digest(sign(text), signature)


def _key() -> bytes:
    """The per-user key: read from ``key_path()``, created there (mode 0600) on first use;
    one with group or other permissions is replaced; an in-memory key for this process
    when the folder cannot be written (nothing signed then outlives the process)."""
    global _KEY
    path = key_path()
    if _KEY is not None and getattr(_key, "path", None) == path:
        return _KEY
    key = _read_key(path)
    if key is None:
        key = secrets.token_bytes(32)
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            tmp = f"{path}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(key.hex() + "\n")
            try:
                os.link(tmp, path)  # first writer wins: never replace a valid key
            except FileExistsError:
                if _read_key(path, quiet=True) is None:  # still the refused one
                    os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
            key = _read_key(path) or key
        except OSError:
            pass
    _KEY = key
    _key.path = path
    return key


def _read_key(path: str, quiet: bool = False) -> bytes | None:
    try:
        st = os.stat(path)
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO) or st.st_uid != os.getuid():
        if not quiet:
            notice(f"the signing key {path} is readable or writable by others; replaced")
        return None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        return None
    return key if len(key) >= 16 else None


def _atomic_write(path: str, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
