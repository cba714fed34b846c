"""User-facing errors.

Every mistake a user can make (a kernel outside the language, a broken graph file, a bad
argument, a malformed manifest, an output that cannot be written) raises a
``CosynthError`` that names where the mistake is (file, line, column), what is wrong, and
what to do instead.  The CLI prints it as one paragraph and exits with the class's status:
2 for a user mistake, 3 for a ``MismatchError``, 4 for a ``ToolError`` (a tool or a blade
that failed); anything else that escapes is a cosynth bug.  A message that blames cosynth
itself carries ``bug_hint(log)``: how to report it and where the log is.
"""

from __future__ import annotations

import linecache
from dataclasses import dataclass

__all__ = [
    "NoReference",
    "Loc",
    "CosynthError",
    "KernelError",
    "GraphError",
    "ArgumentError",
    "KernelRuntimeError",
    "MismatchError",
    "ToolError",
    "OutputError",
    "bug_hint",
    "BUG_REPORT",
]

#: where and how to report a cosynth bug
BUG_REPORT = ("please report it to the cosynth maintainers (the project's issue tracker) "
              "with the command you ran")


@dataclass(frozen=True)
class Loc:
    """A position in a user's file (1-based line, 0-based column as in Python's ``ast``)."""

    file: str
    line: int
    col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col + 1}"


class CosynthError(Exception):
    """A user mistake, reported with its place and its fix."""

    kind = "error"

    def __init__(self, message: str, *, loc: Loc | None = None, hint: str | None = None,
                 path: str | None = None, line: int | None = None):
        self.message = message
        if loc is None and path is not None:
            loc = Loc(path, line or 0, 0)
        self.loc = loc
        self.hint = hint
        super().__init__(self.format())

    def format(self) -> str:
        where = ""
        if self.loc is not None:
            if self.loc.line:
                where = f"{self.loc}: "
            else:
                where = f"{self.loc.file}: "
        text = f"{where}{self.kind}: {self.message}"
        snippet = self._snippet()
        if snippet:
            text += "\n" + snippet
        if self.hint:
            text += f"\n  fix: {self.hint}"
        return text

    def _snippet(self) -> str:
        if self.loc is None or not self.loc.line or not self.loc.file:
            return ""
        try:
            src = linecache.getline(self.loc.file, self.loc.line).rstrip("\n")
        except (OSError, ValueError):  # a path that is not one: no snippet, still the error
            return ""
        if not src.strip():
            return ""
        return f"    {src}\n    {' ' * self.loc.col}^"


class KernelError(CosynthError):
    """The kernel's source is outside the cosynth language or is ill-typed."""


class GraphError(CosynthError):
    """A graph file or graph spec that cannot be read."""


class ArgumentError(CosynthError):
    """A kernel argument or command-line value that does not fit."""


class KernelRuntimeError(CosynthError):
    """A kernel that failed while running (an index out of range, a division by zero)."""


class MismatchError(CosynthError):
    """Two executions of the same kernel disagree: always an error, never a warning."""


class ToolError(CosynthError):
    """An external tool is missing or failed, or a blade crashed or hung (exit status 4)."""


class OutputError(CosynthError):
    """An output cannot be written where the user asked (a missing or read-only folder, a
    full disk, a directory cosynth did not make in the way); the message names the path
    and, when a finished result was saved elsewhere, where."""


def bug_hint(log: str | None = None) -> str:
    """The fix of a message that blames cosynth: how to report it, and the log to attach."""
    return "a cosynth bug: " + BUG_REPORT + (f" and the log {log}" if log else "")


class NoReference(Exception):
    """networkx has no reference for this kernel on this graph (the reason is the text).

    Not a ``CosynthError``: a missing reference is a fact a check reports, not a failure.
    Defined here so that ``cosynth.lang`` can name it without importing networkx."""
