"""Every table cosynth prints, rendered in one place.

A table is a list of ``Column``s and rows of already formatted cells (strings; a number
is formatted by the caller, who knows its unit).  ``render`` returns the lines to print:

* plain text (the default whenever stdout is not a terminal: pipes, files, tests): a
  header line, then one line per row, columns separated by two spaces, numbers
  right-aligned, every line starting with ``indent``; a ``rule`` row is an empty line
  between groups.  The output is a pure function of the arguments (no terminal size,
  no colour), so scripts and tests may rely on it;
* ``rich`` (when stdout is a terminal, or ``fancy=True``): a ``rich.table.Table`` with a
  bold header and dim separators, rendered through a ``rich.console.Console`` into the
  same list-of-lines shape (with the terminal's escape sequences).

Invariants: the lines carry no trailing newline; a cell is never cut in plain text (the
column grows); ``render`` does no I/O.
"""

from __future__ import annotations

import io
import shutil
import sys
from dataclasses import dataclass

from rich import box
from rich.console import Console
from rich.table import Table

__all__ = ["Column", "RULE", "render", "is_terminal"]

#: A row that is a separator between groups of rows.
RULE = None


@dataclass(frozen=True)
class Column:
    """One column: its header, whether its cells are right-aligned (numbers), and a
    maximum width for rich mode (plain text never cuts a cell)."""

    header: str
    right: bool = False
    max_width: int | None = None


def is_terminal(stream=None) -> bool:
    """Whether ``stream`` (default: stdout) is an interactive terminal."""
    stream = sys.stdout if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def render(columns: list[Column], rows: list, *, indent: str = "  ",
           title: str | None = None, fancy: bool | None = None,
           width: int | None = None) -> list[str]:
    """The lines of a table; ``fancy`` None means rich exactly when stdout is a terminal.
    ``title`` is a line above the table (plain) or the table's caption (rich)."""
    columns = [c if isinstance(c, Column) else Column(c) for c in columns]
    rows = [r if r is RULE else [str(x) for x in r] for r in rows]
    for r in rows:
        if r is not RULE and len(r) != len(columns):
            raise ValueError(f"a row of {len(r)} cells in a table of {len(columns)} columns")
    if fancy is None:
        fancy = is_terminal()
    if fancy:
        return _rich(columns, rows, indent, title, width)
    return _plain(columns, rows, indent, title)


def _plain(columns, rows, indent, title) -> list[str]:
    widths = [len(c.header) for c in columns]
    for r in rows:
        if r is not RULE:
            widths = [max(w, len(x)) for w, x in zip(widths, r)]

    def line(cells):
        parts = [(x.rjust(w) if c.right else x.ljust(w))
                 for c, w, x in zip(columns, widths, cells)]
        return (indent + "  ".join(parts)).rstrip()

    out = [indent + title] if title else []
    out.append(line([c.header for c in columns]))
    out += ["" if r is RULE else line(r) for r in rows]
    return out


def _rich(columns, rows, indent, title, width) -> list[str]:
    table = Table(title=title, title_justify="left", header_style="bold",
                  border_style="dim", show_edge=False, pad_edge=False, box=box.SIMPLE_HEAD)
    for c in columns:
        table.add_column(c.header, justify="right" if c.right else "left",
                         max_width=c.max_width, overflow="fold")
    for r in rows:
        if r is RULE:
            table.add_section()
        else:
            table.add_row(*r)
    buf = io.StringIO()
    if width is None:
        width = _terminal_width()
    console = Console(file=buf, force_terminal=True, width=max(40, width - len(indent)),
                      highlight=False, soft_wrap=False)
    console.print(table)
    return [indent + ln for ln in buf.getvalue().rstrip("\n").split("\n")]


def _terminal_width() -> int:
    return shutil.get_terminal_size((120, 24)).columns
