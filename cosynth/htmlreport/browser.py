"""Headless Chromium: the one module that finds and runs a browser.

cosynth never needs a browser to write a report; the tests and the report benchmark use
one to prove the page loads (``load``: the DOM after scripts ran, and the console
messages Chromium logged) and to take a screenshot (``screenshot``).  Debian's
``chromium`` package is what CI installs; ``find_chromium`` also accepts
``$COSYNTH_CHROMIUM`` and the other usual names.  Every run goes through
``cosynth.procs`` (own session, stopped whole on timeout or interrupt), with a private
profile folder that is removed afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from cosynth import procs, scratch
from cosynth.errors import ToolError

__all__ = ["find_chromium", "load", "screenshot", "Page", "NAMES"]

#: executable names tried, in order, after $COSYNTH_CHROMIUM
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
         "chrome-headless-shell")

#: flags of every run: no GPU, no sandbox (containers run as root), nothing remembered
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
          "--no-first-run", "--no-default-browser-check", "--disable-extensions",
          "--disable-background-networking", "--disable-sync", "--mute-audio",
          "--hide-scrollbars")

# Chromium logs a page's console messages, with logging on, as
#   [..:INFO:CONSOLE(12)] "message", source: file:///... (12)
# (older builds: "INFO:CONSOLE"; newer: ":INFO:CONSOLE..." or "console_message...")
_CONSOLE = re.compile(r'CONSOLE[^\]]*\]\s*"(?P<msg>.*)", source: (?P<src>.*)$')


@dataclass
class Page:
    """A page as the browser left it: its serialised DOM and the console lines."""

    dom: str
    console: list[str]
    stderr: str


def find_chromium() -> str | None:
    """The Chromium executable: ``$COSYNTH_CHROMIUM``, else the first of ``NAMES`` on
    PATH; None when there is none."""
    given = os.environ.get("COSYNTH_CHROMIUM")
    if given:
        return given if os.access(given, os.X_OK) else shutil.which(given)
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _chromium() -> str:
    exe = find_chromium()
    if exe is None:
        raise ToolError("no Chromium browser found", hint="install it (apt-get install "
                        "chromium on Debian) or set COSYNTH_CHROMIUM to its path")
    return exe


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    profile = scratch.make("cosynth-chromium-")
    try:
        cmd = [_chromium(), *_FLAGS, f"--user-data-dir={profile}", *args]
        try:
            return procs.run(cmd, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ToolError(f"Chromium did not finish within {timeout:g} s",
                            hint="the machine may be overloaded: try again") from None
        except OSError as exc:
            raise ToolError(f"cannot start Chromium ({cmd[0]}): {exc}") from None
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def load(path: str, *, timeout: float = 120.0) -> Page:
    """Open the local file ``path`` headless, let its scripts run, and return the DOM
    and every console message Chromium logged (with ``--enable-logging=stderr``)."""
    url = "file://" + os.path.abspath(path)
    res = _run(["--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
                "--dump-dom", url], timeout)
    if res.returncode != 0 or "<html" not in res.stdout:
        raise ToolError(f"Chromium failed on {path} (status {res.returncode})",
                        hint=res.stderr.strip()[-800:] or None)
    console = [m.group("msg") for m in map(_CONSOLE.search, res.stderr.splitlines()) if m]
    return Page(res.stdout, console, res.stderr)


def screenshot(path: str, png: str, *, width: int = 1280, height: int = 2400,
               timeout: float = 120.0) -> str:
    """Render ``path`` headless into the PNG file ``png`` (``width`` x ``height``
    pixels); returns ``png``."""
    url = "file://" + os.path.abspath(path)
    png = os.path.abspath(png)
    res = _run([f"--window-size={width},{height}", f"--screenshot={png}",
                "--virtual-time-budget=5000", url], timeout)
    if res.returncode != 0 or not os.path.isfile(png):
        raise ToolError(f"Chromium took no screenshot of {path} (status {res.returncode})",
                        hint=res.stderr.strip()[-800:] or None)
    return png
