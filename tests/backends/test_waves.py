"""Waveforms of an edge unit: Amaranth's simulator writes a VCD of a run (``AmaranthDevice
(vcd=...)``, ``cosynth rtl --vcd``) that parses and holds the unit's ports; a failing
check names the waveform of the run that failed."""

from __future__ import annotations

import os

import pytest
from vcd.reader import TokenKind, tokenize

import cosynth as cs
from cosynth.backends.rtl import emit
from cosynth.backends.rtl.build import build_unit
from cosynth.backends.rtl.host import UnitHost
from cosynth.backends.rtl.sim import AmaranthDevice
from cosynth.backends.rtl.unit import TOP_PORTS, EdgeUnit
from cosynth.cli import main
from cosynth.errors import MismatchError
from cosynth.ir.interp import interpret
from cosynth.loader import load_kernels
from tests.helpers import EXAMPLES


def bfs():
    return load_kernels(os.path.join(EXAMPLES, "bfs.py"))["bfs"]


def read_vcd(path: str) -> tuple[set[str], int, dict[str, list]]:
    """(signal names, last time, changes of each signal by name)."""
    names, codes, last = set(), {}, 0
    changes: dict[str, list] = {}
    with open(path, "rb") as f:
        for tok in tokenize(f):
            if tok.kind == TokenKind.VAR:
                names.add(tok.var.reference)
                codes.setdefault(tok.var.id_code, tok.var.reference)
            elif tok.kind == TokenKind.CHANGE_TIME:
                last = tok.data
            elif tok.kind in (TokenKind.CHANGE_SCALAR, TokenKind.CHANGE_VECTOR):
                changes.setdefault(codes[tok.data.id_code], []).append((last, tok.data.value))
    return names, last, changes


#: the unit's ports as Amaranth names them (``edges.valid`` -> ``edges__valid``)
PORTS = {"csr__addr", "csr__w_en", "csr__w_data", "csr__r_data", "edges__valid",
         "edges__ready", "edges__payload", "load__valid", "load__ready", "load__payload",
         "rd_req__valid", "rd_req__ready", "rd_resp__valid", "rd_resp__payload"}


def test_amaranth_simulation_writes_a_vcd_with_the_ports(tmp_path):
    g = cs.Graph.kronecker(3, seed=1)
    kf = bfs()
    unit, spec = build_unit(kf, depth=g.n)
    path = str(tmp_path / "bfs.vcd")
    with AmaranthDevice(unit, vcd=path) as dev:
        host = UnitHost(spec, unit.regmap, dev, g)
        interpret(spec.kernel, g, kf.bind(g, source=0), offload=host.handlers())
        cycles = dev.cycles
    names, last, changes = read_vcd(path)
    assert PORTS <= names and "clk" in names
    assert last >= cycles * 10_000  # 10 ns clock, in ps: every simulated cycle is there
    assert sum(1 for _, v in changes["edges__valid"] if v) >= 1  # edges were streamed
    assert len(changes["busy"]) >= 2  # and the unit ran
    assert len(TOP_PORTS) > len(PORTS)  # the flat Verilog ports cover the same streams


def test_cosynth_rtl_vcd(tmp_path, capsys):
    out = tmp_path / "u"
    main(["rtl", os.path.join(EXAMPLES, "bfs.py") + ":bfs", "-o", str(out), "--depth", "32",
          "--no-verilator", "--vcd"])
    vcd = out / "bfs.vcd"
    assert f"waveform: {vcd}" in capsys.readouterr().out
    names, _, _ = read_vcd(str(vcd))
    assert PORTS <= names


def test_a_failing_check_names_the_waveform(tmp_path, monkeypatch):
    """A unit whose forwarding is cut (``EdgeUnit(forward=0)``) really computes wrong
    labels; the check that catches it names the waveform of that run."""
    def broken(kfn, *, variant=None, depth=1024):
        unit, spec = build_unit(kfn, variant=variant, depth=depth)
        return EdgeUnit(spec, depth, forward=0), spec
    monkeypatch.setattr(emit, "build_unit", broken)
    cc = load_kernels(os.path.join(EXAMPLES, "cc.py"))["cc"]
    with pytest.raises(MismatchError) as info:
        emit.write_rtl(cc, str(tmp_path / "u"), cs.Graph.kronecker(4, seed=2), {},
                       depth=16, verilator=False, vcd=True)
    msg = info.value.message
    assert "the waveform of the run is" in msg
    path = msg.rsplit(" ", 1)[1]
    assert path.endswith("cc.vcd") and os.path.isfile(path)
    assert PORTS <= read_vcd(path)[0]
