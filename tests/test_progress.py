"""Progress displays and tables: the plain rendering (no terminal: pipes, logs, these
tests) and the rich one (a terminal, forced with a rich Console)."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from cosynth.progress import (
    PERIOD_ENV,
    Counter,
    Progress,
    Ticker,
    counted,
    duration,
    period,
    supersteps_text,
)
from cosynth.tables import RULE, Column, is_terminal, render

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _plain_text(s: str) -> str:
    return ANSI.sub("", s)


# ---------------------------------------------------------------------------- tables

COLS = [Column("blade", True), Column("kind"), Column("time", True)]
ROWS = [["0", "cpu", "1.000 ms"], RULE, ["12", "cpu-fpga", "12.250 ms"]]


def test_plain_table_is_aligned_and_exact():
    assert render(COLS, ROWS, title="blades", fancy=False) == [
        "  blades",
        "  blade  kind           time",
        "      0  cpu        1.000 ms",
        "",
        "     12  cpu-fpga  12.250 ms",
    ]


def test_plain_table_never_cuts_a_cell_and_checks_row_width():
    lines = render([Column("x", max_width=3)], [["a-long-cell"]], fancy=False, indent="")
    assert lines == ["x", "a-long-cell"]
    with pytest.raises(ValueError, match="2 cells in a table of 3 columns"):
        render(COLS, [["1", "2"]], fancy=False)


def test_rich_table_on_a_terminal():
    lines = render(COLS, ROWS, fancy=True, width=80)
    text = "\n".join(lines)
    assert "\x1b[" in text  # styled for a terminal
    plain = [_plain_text(ln) for ln in lines]
    assert any("blade" in ln and "kind" in ln and "time" in ln for ln in plain)
    assert any("cpu-fpga" in ln and "12.250 ms" in ln for ln in plain)
    assert all(not ln.endswith("\n") for ln in lines)


def test_tables_default_to_plain_without_a_terminal(capsys):
    assert not is_terminal()  # pytest captures stdout
    assert render(COLS, ROWS, fancy=None) == render(COLS, ROWS, fancy=False)


# ---------------------------------------------------------------------------- progress

def test_duration():
    assert [duration(s) for s in (0, 4.4, 59.6, 62, 3599, 3725)] == \
        ["0s", "4s", "1m00s", "1m02s", "59m59s", "1h02m"]


def test_plain_progress_lines():
    buf = io.StringIO()
    with Progress(buf) as p:
        assert not p.fancy  # a StringIO is not a terminal
        p("planning")
        p.note("note: a notice")
        with p.counted("calibration", 2) as c:
            c.start("bfs (par) on kron:11")
            c.start("bfs (par) on kron:12")
    lines = buf.getvalue().splitlines()
    assert lines[0] == "  .. planning"
    assert lines[1] == "  note: a notice"
    assert re.fullmatch(r"  \.\. \[1/2, \d+s elapsed\] bfs \(par\) on kron:11", lines[2])
    assert re.fullmatch(r"  \.\. \[2/2, \d+s elapsed, ETA \d+s\] bfs \(par\) on kron:12",
                        lines[3])
    assert len(lines) == 4


def test_counter_eta_from_the_items_done():
    now = [100.0]
    c = Counter(_Sink(), "work", 5, clock=lambda: now[0])
    c.start("a")
    assert c.done == 0 and c.eta() is None
    now[0] += 10
    c.start("b")
    now[0] += 10
    c.start("c")  # two done in 20 s: 10 s each, three left
    assert c.done == 2 and c.eta() == pytest.approx(30.0)
    assert c.label() == "3/5, 20s elapsed, ETA 30s"


def test_counted_on_a_plain_callable():
    got = []
    with counted(got.append, "runs", 3) as c:
        for name in ("x", "y"):
            c.start(name)
    assert [m.split("] ")[1] for m in got] == ["x", "y"]
    assert got[0].startswith("[1/3, ") and got[1].startswith("[2/3, ")
    with counted(None, "runs", 1) as c:  # no callable: silent
        c.start("z")


def test_rich_progress_on_a_forced_terminal():
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=100)
    with Progress(console=console) as p:
        assert p.fancy
        p("compiling")
        p("running 2 blades")
        with p.counted("calibration", 3) as c:
            for i in range(3):
                c.start(f"item {i}")
        p.note("note: kept")
    out = buf.getvalue()
    text = _plain_text(out)
    assert "\x1b[" in out  # a live display was drawn
    assert re.search(r"✓ compiling \(\d+\.\d s\)", text)
    assert re.search(r"✓ running 2 blades \(\d+\.\d s\)", text)
    assert "✓ calibration: 3/3 in" in text
    assert "calibration: item 2" in text and "2/3" in text
    assert "note: kept" in text
    assert ".. compiling" not in text  # not the plain rendering
    assert p._live is None  # closed: nothing live under the command's report


def test_nothing_is_written_before_the_first_step():
    buf = io.StringIO()
    Progress(console=Console(file=buf, force_terminal=True)).close()
    Progress(buf).close()
    assert buf.getvalue() == ""


# ---------------------------------------------------------------------------- running jobs

def test_supersteps_text():
    assert supersteps_text({}, 2) == "starting"
    assert supersteps_text({0: 1, 1: 1}, 2) == "1 superstep done"
    assert supersteps_text({0: 52, 1: 52}, 2) == "52 supersteps done"
    assert supersteps_text({0: 50, 1: 52}, 2) == "50-52 supersteps done"
    assert supersteps_text({1: 3}, 2) == "3 supersteps done, 1/2 blades started"


def test_plain_ticker_writes_a_line_per_period():
    """Ticks come four times a second; a line is written at the first tick at or after
    each multiple of the period (no clock is read: the job's seconds are given)."""
    buf = io.StringIO()
    p = Progress(buf)
    t = Ticker(p, "blades running", 2, period_s=10)
    for sec, done in ((0.0, {}), (0.25, {0: 1}), (9.9, {0: 4, 1: 4}), (10.1, {0: 5, 1: 5}),
                      (12.0, {0: 6, 1: 6}), (31.0, {0: 9, 1: 8})):
        t(sec, done)
    assert buf.getvalue().splitlines() == [
        "  .. blades running: 10s elapsed, 5 supersteps done",
        "  .. blades running: 31s elapsed, 8-9 supersteps done"]


def test_period_from_the_environment(monkeypatch):
    monkeypatch.delenv(PERIOD_ENV, raising=False)
    assert period() == 10.0
    monkeypatch.setenv(PERIOD_ENV, "0")
    assert period() == 0.0
    got = []
    t = Ticker(got.append, "blades running", 1)  # a plain callable gets each line
    t(0.0, {})
    t(0.25, {0: 2})
    assert got == ["blades running: 0s elapsed, starting",
                   "blades running: 0s elapsed, 2 supersteps done"]
    for bad in ("-1", "soon"):
        monkeypatch.setenv(PERIOD_ENV, bad)
        assert period() == 10.0


def test_rich_ticker_updates_the_current_step():
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=100)
    with Progress(console=console) as p:
        p("running 2 blades")
        Ticker(p, "blades running", 2, period_s=10)(3.0, {0: 7, 1: 7})
        assert p._live.tasks[-1].description == "running 2 blades — 7 supersteps done"
    assert "7 supersteps done" in _plain_text(buf.getvalue())


class _Sink:
    def _item(self, c, msg):
        pass
