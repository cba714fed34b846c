"""Files that ship inside the package: example manifests and their schema, example kernels.

They live in the repository's ``manifests/`` and ``examples/`` folders, which install as
the packages ``cosynth.manifests`` and ``cosynth.examples`` (pyproject's ``package-dir``),
so the same lookup works from a checkout, an editable install and a wheel.  Runtime
headers are found by the backend that owns them, next to its own module.
"""

from __future__ import annotations

import os
from importlib import resources

__all__ = ["manifest_path", "example_path", "schema_path"]


def _file(package: str, name: str) -> str:
    path = resources.files(package).joinpath(name)
    # cosynth installs as plain files (no zip), so every resource has a real path
    return os.fspath(path)


def manifest_path(name: str) -> str:
    """``manifests/<name>`` (e.g. ``"pair.yaml"``)."""
    return _file("cosynth.manifests", name)


def schema_path() -> str:
    """The XML schema blade manifests are validated against."""
    return manifest_path("blade-manifest.xsd")


def example_path(name: str) -> str:
    """``examples/<name>`` (e.g. ``"sssp.py"``)."""
    return _file("cosynth.examples", name)
