"""A failing check of a run with FPGA units writes the waveform of the unit call the first
wrong vertex points at (``backends.rtl.waves``): the pieces on recorded data, and end to
end (``simulate --fpga`` and ``rtl``) with a unit that really loses updates."""

from __future__ import annotations

import functools
import os

import numpy as np
import pytest
from vcd.reader import TokenKind, tokenize

from cosynth import pipeline
from cosynth.backends.rtl.unit import TOP_PORTS, EdgeUnit
from cosynth.backends.rtl.waves import (
    FailingCall,
    failing_call,
    first_wrong,
    units_per_cycle,
    window,
)
from cosynth.cli import main
from tests.helpers import ROOT

VCD = """$timescale 1ps $end
$scope module TOP $end
 $var wire 1 ! clk $end
 $var wire 4 " count [3:0] $end
 $var wire 1 # busy $end
$upscope $end
$enddefinitions $end
#0
$dumpvars
0!
b0000 "
0#
$end
#5
1!
#10
0!
b0001 "
1#
#15
1!
#20
0!
b0010 "
#25
1!
#30
0!
b0011 "
0#
#35
1!
"""


def _changes(path) -> tuple[list[str], dict[str, list]]:
    """(signal names in header order, changes of each signal by name: (time, value))."""
    names, codes, now, out = [], {}, 0, {}
    with open(path, "rb") as f:
        for tok in tokenize(f):
            if tok.kind == TokenKind.VAR:
                names.append(tok.var.reference)
                codes[tok.var.id_code] = tok.var.reference
            elif tok.kind == TokenKind.CHANGE_TIME:
                now = tok.data
            elif tok.kind in (TokenKind.CHANGE_SCALAR, TokenKind.CHANGE_VECTOR):
                v = tok.data.value  # a scalar's is '0', '1', 'x' or 'z'
                out.setdefault(codes[tok.data.id_code], []).append(
                    (now, int(v) if isinstance(v, str) and v in "01" else v))
    return names, out


def test_window_starts_with_every_value_at_its_first_time(tmp_path):
    src, dst = tmp_path / "all.vcd", tmp_path / "part.vcd"
    src.write_text(VCD)
    window(str(src), str(dst), 20, 29)
    names, ch = _changes(dst)
    assert names == ["clk", "count", "busy"]  # the header as it was
    # at 20: the values then (count set at 20 itself, busy still 1 from 10), then 25 only
    assert ch == {"clk": [(20, 0), (25, 1)], "count": [(20, 2)], "busy": [(20, 1)]}
    window(str(src), str(dst), 100, 200)  # after the end: the last values, nothing more
    assert _changes(dst)[1] == {"clk": [(100, 1)], "count": [(100, 3)], "busy": [(100, 0)]}
    with pytest.raises(ValueError):
        window(str(src), str(dst), 9, 8)


def test_units_per_cycle_from_the_timescale(tmp_path):
    f = tmp_path / "a.vcd"
    f.write_text("$timescale 1 fs $end\n$enddefinitions $end\n")
    assert units_per_cycle(str(f), 1e-8) == 10_000_000  # Amaranth's: 10 ns in fs
    f.write_text("$timescale\n  10ps\n$end\n$enddefinitions $end\n")
    assert units_per_cycle(str(f), 1e-8) == 1000
    f.write_text("$enddefinitions $end\n")
    with pytest.raises(ValueError, match="no .timescale"):
        units_per_cycle(str(f), 1e-8)


def test_first_wrong():
    names = ["d", "total"]
    want = (np.array([1, 2, 3]), 6)
    assert first_wrong(names, (np.array([1, 2, 3]), 6), want) is None
    assert first_wrong(names, (np.array([1, 5, 4]), 6), want) == ("d", 1)
    assert first_wrong(names, (np.array([1, 2, 3]), 7), want) == ("total", None)
    f = (np.array([1.0, np.inf, 2.0]),)
    assert first_wrong(["x"], (np.array([1.0 + 1e-12, np.inf, 2.0]),), f, 1e-9, 0) is None
    assert first_wrong(["x"], (np.array([1.0, np.inf, 2.1]),), f, 1e-9, 0) == ("x", 2)


def _log(starts, end, write=0, touch=0, origin=100):
    return {"origin": origin, "end": end, "starts": starts, "last_write": write,
            "last_touch": touch}


def test_the_call_a_wrong_vertex_points_at():
    logs = {0: _log([100, 150, 300], 420, write=2, touch=3),
            1: _log([100, 180], 260, write=1, touch=1)}
    # the owner's last call that changed the entry; its stretch ends before the next call
    assert failing_call(logs, 0, "d[3]") == FailingCall(
        0, 2, 3, "the last unit call that changed d[3]", 500, 1999)
    # owner 1 wrote it in its first call: the stretch ends where its second begins
    assert failing_call(logs, 1, "d[9]") == FailingCall(
        1, 1, 2, "the last unit call that changed d[9]", 0, 799)
    # a CPU owner (2): the FPGA blade whose call changed its ghost, the lowest first
    assert failing_call(logs, 2, "d[20]").blade == 0
    # nothing changed it: the last call that streamed an edge to it
    quiet = {0: _log([100, 150], 200, touch=1), 1: _log([100], 300)}
    fc = failing_call(quiet, 1, "d[7]")
    assert (fc.blade, fc.call, fc.why) == (
        0, 1, "the last unit call that read back d[7] (its value did not change)")
    # nothing reached it: the owner's last call
    fc = failing_call({0: _log([100, 150], 200), 1: _log([100], 300)}, 1, "d[7]")
    assert (fc.blade, fc.call, fc.calls) == (1, 1, 1) and fc.why.startswith("no unit call")
    assert failing_call({0: _log([], 100)}, 0, "d[0]") is None  # no call at all


INDEG = """import cosynth as cs


@cs.kernel
def indeg(g: cs.Graph) -> cs.NodeArray[cs.i64]:
    d = g.node_array(cs.i64, 0)
    for v in g.nodes():
        for e in g.out_edges(v):
            d[e.dst] += 1
    return d
"""


@pytest.mark.slow  # ~60 s cold: two Verilator models (plain and traced), two blade builds
def test_a_failing_fpga_check_writes_the_failing_calls_waveform(tmp_path, monkeypatch,
                                                                 capsys):
    """A unit whose forwarding is cut (``EdgeUnit(forward=0)``, the same broken unit the
    formal and waveform tests use) really loses updates of a sum, so the blades' in-degrees
    are wrong; ``simulate --fpga`` without ``--vcd`` names ``fail-call1.vcd`` in the
    ``--keep`` folder: the traced call of blade 0 that last changed d[0]."""
    monkeypatch.setattr(pipeline, "EdgeUnit", functools.partial(EdgeUnit, forward=0))
    kernel = tmp_path / "indeg.py"
    kernel.write_text(INDEG)
    keep = tmp_path / "kept"
    with pytest.raises(SystemExit) as exc:
        main(["simulate", f"{kernel}:indeg", "--manifest",
              os.path.join(ROOT, "manifests", "pair.yaml"), "--graph", "kron:6", "--fpga",
              "--blades", "2", "--keep", str(keep)])
    err = capsys.readouterr().err
    assert exc.value.code == 3, err
    path = keep / "fail-call1.vcd"
    assert "differs from the IR interpreter" in err
    assert (f"the waveform of blade 0's FPGA unit during its call 1 of 1 (the last unit "
            f"call that changed d[0]): {path}") in err
    names, ch = _changes(path)
    assert set(TOP_PORTS) - {"edges_weight", "rst"} <= set(names)
    assert any(v for _, v in ch["edges_valid"]) and len(ch["clk"]) > 100
    assert not (keep / "build" / "fail-waves").exists()  # the whole-run trace is gone
