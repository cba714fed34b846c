"""The plan and run report you open in a browser: one self-contained HTML file.

``write_report(path, plan, manifest, graph, ...)`` writes what ``cosynth plan --report``
and ``cosynth simulate --report`` produce: the blades as a diagram (vertex ranges,
tables, devices), every blade's superstep timeline (compute, communication, FPGA
cycles), the traffic between blades, predicted against measured per loop nest and per
blade, the rewrites with their Z3 certificates, the ILP's choices against their
alternatives and the baselines, and the FPGA units' resources and clock against the part.

Invariants: the page needs no network (figures are inline SVG drawn by matplotlib
(``figures``), the style is inline CSS, the only script is inline and records script
errors into ``#js-errors``); the same inputs give the same bytes; the file is written
through ``cosynth.outputs.write_file`` (atomic, never replacing a directory).  Every
section has a stable id (``SECTION_IDS``) that tests and scripts can rely on.
"""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

import jinja2
from markupsafe import Markup

from cosynth.errors import ArgumentError
from cosynth.outputs import check_file, write_file

from . import figures
from .data import collect

__all__ = ["render", "write_report", "check_report_path", "collect", "SECTION_IDS"]

#: the sections every report has, by element id (``fpga`` and ``checks`` only when there
#: are FPGA blades / a run)
SECTION_IDS = ("summary", "blades", "tables", "timeline", "traffic", "accuracy", "rewrites",
               "choices")

_TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")


def check_report_path(path: str) -> None:
    """Before the work: ``path`` is an .html file that can be written."""
    if not path.lower().endswith((".html", ".htm")):
        raise ArgumentError(f"--report {path}: the report is an HTML file (.html)")
    check_file(path, option="--report", what="report")


def render(d: dict) -> str:
    """The page of report data ``d`` (``collect``) as HTML text."""
    env = _env()
    figs = {name: Markup(getattr(figures, name)(d)) for name in
            ("blades", "timeline", "fpga_cycles", "traffic", "accuracy", "choices",
             "fpga_resources")}
    return env.get_template("report.html.j2").render(d=d, figures=figs, version=_cosynth())


def write_report(path: str, plan, manifest, graph, *, kernel=None, args=None, sim=None,
                 command: str = "plan") -> dict:
    """Collect, render and write the report of ``plan`` (and of the run ``sim``) to
    ``path``; returns the data it shows."""
    d = collect(plan, manifest, graph, kernel=kernel, args=args, sim=sim, command=command)
    write_file(path, render(d), what="report")
    return d


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES),
                             autoescape=jinja2.select_autoescape(("html", "j2")),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(seconds=_seconds, bytes=_bytes, pct=_pct, money=_money)
    env.globals.update(error=_error, use=_use)
    return env


def _cosynth() -> str:
    try:
        return _version("cosynth")
    except PackageNotFoundError:  # a source tree that was never installed
        return "source"


def _seconds(t) -> str:
    if t is None:
        return "-"
    t = float(t)
    if t >= 1:
        return f"{t:.3g} s"
    if t >= 1e-3:
        return f"{t * 1e3:.3g} ms"
    return f"{t * 1e6:.3g} us"


def _bytes(b) -> str:
    b = float(b)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(b) < 1024 or unit == "TiB":
            return f"{b:.0f} {unit}" if unit == "B" else f"{b:.3g} {unit}"
        b /= 1024
    return f"{b:.3g} TiB"


def _pct(g) -> str:
    return "unknown" if g is None else f"{100 * g:.2f}%"


def _money(x) -> str:
    return f"{x:.2f}" if x == 0 or abs(x) >= 0.01 else f"{x:.2g}"


def _error(pred, meas) -> str:
    if meas is None:
        return "-"
    if meas <= 0:
        return "-" if pred <= 0 else "(not run)"
    return f"{100 * (pred - meas) / meas:+.0f}%"


def _use(used, total) -> str:
    if used is None:
        return "-"
    if not total:
        return f"{used:,}"
    return f"{used:,} / {total:,} ({100 * used / total:.2g}%)"
