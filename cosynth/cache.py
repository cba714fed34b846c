"""Where cosynth keeps what it can rebuild: compiled programs, Verilator models, tool-flow
runs, proof outcomes, measured FPGA costs.

``$COSYNTH_CACHE``, else ``$XDG_CACHE_HOME/cosynth``, else ``~/.cache/cosynth``.  Every
entry is keyed by the content it was made from, so deleting the folder only costs time.
"""

from __future__ import annotations

import os

__all__ = ["cache_root", "cache_dir"]


def cache_root() -> str:
    return os.environ.get("COSYNTH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "cosynth")


def cache_dir(*parts: str) -> str:
    """``<root>/<parts...>``, created."""
    path = os.path.join(cache_root(), *parts)
    os.makedirs(path, exist_ok=True)
    return path
