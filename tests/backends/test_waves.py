"""Waveforms of an edge unit: Amaranth's simulator writes a VCD of a run (``AmaranthDevice
(vcd=...)``, ``cosynth rtl --vcd``) that parses and holds the unit's ports; a failing
check names the waveform of the run that failed."""

from __future__ import annotations

import os
import re

import pytest
from vcd.reader import TokenKind, tokenize

import cosynth as cs
from cosynth.backends.rtl import emit
from cosynth.backends.rtl.build import build_unit, unit_for
from cosynth.backends.rtl.host import UnitHost
from cosynth.backends.rtl.sim import AmaranthDevice
from cosynth.backends.rtl.unit import TOP_PORTS, EdgeUnit
from cosynth.cli import main
from cosynth.errors import MismatchError
from cosynth.ir.interp import interpret
from cosynth.loader import load_kernels
from tests.helpers import EXAMPLES, ROOT, kernel_from_source


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


@pytest.mark.slow  # ~30 s (2 min on a busy machine) for the first traced Verilator runtime
def test_cosynth_rtl_vcd(tmp_path, capsys):
    """``--vcd``: the Amaranth run and the Verilator replay of it (``--trace``), both with
    the unit's ports (the Verilog's flat names under Verilator)."""
    out = tmp_path / "u"
    with pytest.raises(SystemExit) as exc:
        main(["rtl", os.path.join(EXAMPLES, "bfs.py") + ":bfs", "-o", str(out), "--depth",
              "32", "--vcd"])
    assert exc.value.code == 0
    vcd = out / "bfs.vcd"
    assert f"waveform: {vcd}" in capsys.readouterr().out
    names, _, _ = read_vcd(str(vcd))
    assert PORTS <= names
    names, last, changes = read_vcd(str(out / "bfs.verilator.vcd"))
    assert set(TOP_PORTS) - {"edges_weight", "rst"} <= names
    assert last > 1000 and any(v for _, v in changes["edges_valid"])


# 25 s of the cold CI run (three Verilator builds): with the slow set; the named waveform
# of a failing check stays in the default suite (test_a_failing_check_names_the_waveform)
@pytest.mark.slow
def test_a_failing_testbench_writes_and_names_its_waveform(tmp_path):
    """The replay of a trace whose recorded answer is wrong fails; the bench is run again
    with tracing (``--trace``) and the error names the VCD it wrote: the whole replay
    for a wrong answer before the first unit call (the ID read), the failing call's
    stretch, ``fail-call<N>.vcd``, for a wrong read-back in call N."""
    out = tmp_path / "u"
    with pytest.raises(SystemExit) as exc:
        main(["rtl", os.path.join(EXAMPLES, "bfs.py") + ":bfs", "-o", str(out), "--depth",
              "32", "--no-verilator"])
    assert exc.value.code == 0
    good = (out / "trace.txt").read_text().splitlines()
    verilog = (out / "bfs.v").read_text()

    lines = list(good)
    i = next(i for i, ln in enumerate(lines) if ln.startswith("R "))
    a, v = lines[i].split()[1:3]
    lines[i] = f"R {a} {int(v) + 1}"
    (out / "trace.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(MismatchError) as info:
        emit.run_testbench(str(out), "bfs", verilog, False)
    assert "(unit call 0 from cycle 0)" in info.value.message
    assert info.value.message.endswith(f"the waveform of the replay is {out}/bfs.verilator.vcd")
    names, _, _ = read_vcd(str(out / "bfs.verilator.vcd"))
    assert {"edges_valid", "csr_addr", "rd_resp_data"} <= names
    os.remove(out / "bfs.verilator.vcd")

    # the calls as CallLog numbers them: a write or load after a run or read-back, a run
    # after a read-back; corrupt the last read-back's first answer
    calls, ran, read, last_b = 0, True, False, None
    for i, ln in enumerate(good):
        op = ln.split()[0] if ln and not ln[0].isdigit() else ""
        if op in ("W", "L") and (ran or read) or op == "X" and read:
            calls, ran, read = calls + 1, False, False
        ran, read = ran or op == "X", read or op == "B"
        if op == "B":
            last_b = i
    assert calls >= 2 and last_b is not None
    lines = list(good)
    m, a, v = lines[last_b + 1].split()
    lines[last_b + 1] = f"{m} {a} {int(v) + 1}"
    (out / "trace.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(MismatchError) as info:
        emit.run_testbench(str(out), "bfs", verilog, False)
    msg = info.value.message
    assert f"(unit call {calls} from cycle " in msg, msg
    part = out / f"fail-call{calls}.vcd"
    assert msg.endswith(f"the waveform of the failing unit call {calls}, from its start to "
                        f"the difference, is {part}"), msg
    assert not (out / "bfs.verilator.vcd").exists()  # not asked for: only the call is kept
    names, last, changes = read_vcd(str(part))
    assert {"edges_valid", "csr_addr", "rd_resp_data"} <= names
    start = int(msg.split(" from cycle ")[1].split(")")[0])
    assert min(t for ch in changes.values() for t, _ in ch) == 10 * start  # the dump at t0
    assert last > 10 * start and any(v == "1" for _, v in changes["edges_valid"])


#: a kernel whose sums a lost update changes for good (a fixed point would repair it)
INDEG = """
@cs.kernel
def indeg(g: cs.Graph) -> cs.NodeArray[cs.i64]:
    d = g.node_array(cs.i64, 0)
    for v in g.nodes():
        for e in g.out_edges(v):
            d[e.dst] += 1
    return d
"""


@pytest.mark.parametrize("vcd", [True, False])
def test_a_failing_check_names_the_waveform(tmp_path, monkeypatch, vcd):
    """A unit whose forwarding is cut (``EdgeUnit(forward=0)``) really loses updates; the
    check that catches it runs the sample again with its waveform and writes the output
    directory with the stretch of the unit call the first wrong vertex points at,
    ``fail-call<N>.vcd`` (and with ``--vcd`` the whole run's), which the message names."""
    def broken(kfn, *, variant=None, depth=1024):
        spec = unit_for(getattr(kfn, "ir", kfn), variant)
        return EdgeUnit(spec, depth, forward=0), spec
    monkeypatch.setattr(emit, "build_unit", broken)
    kf, _ = kernel_from_source(tmp_path, INDEG)
    with pytest.raises(MismatchError) as info:
        emit.write_rtl(kf, str(tmp_path / "u"), cs.Graph.kronecker(4, seed=2), {},
                       depth=16, verilator=False, vcd=vcd)
    msg = info.value.message
    out = tmp_path / "u"
    assert "differs from the IR interpreter" in msg
    # which entries the cut forwarding loses depends on the pipeline's depth; the message
    # names the call that last changed the first wrong entry it lists
    first = re.search(r"first: \[(\d+)\]", msg).group(1)
    assert msg.endswith(f"(the last unit call that changed d[{first}]): {out}/fail-call1.vcd"), msg
    names, last, changes = read_vcd(str(out / "fail-call1.vcd"))
    assert PORTS <= names and sum(1 for _, v in changes["edges__valid"] if v == "1") >= 1
    assert (out / "indeg.v").is_file() and (out / "trace.txt").is_file()
    assert (out / "indeg.vcd").is_file() == vcd


@pytest.mark.slow  # ~50 s cold: a traced model and the blade program compiled
def test_simulate_fpga_vcd_writes_each_units_waveform(tmp_path, capsys):
    """``simulate --fpga --vcd DIR``: every blade with a unit (pair.yaml: both) writes its
    Verilator model's waveform; the files parse and hold the unit's ports."""
    waves = tmp_path / "waves"
    with pytest.raises(SystemExit) as exc:
        main(["simulate", os.path.join(EXAMPLES, "cc.py") + ":cc", "--manifest",
              os.path.join(ROOT, "manifests", "pair.yaml"), "--graph", "kron:5", "--fpga",
              "--blades", "2", "--vcd", str(waves)])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    files = sorted(p.name for p in waves.glob("*.vcd"))
    assert files == ["unit.rank0.vcd", "unit.rank1.vcd"]
    assert f"waveforms: {waves / 'unit.rank0.vcd'}" in out
    names, last, changes = read_vcd(str(waves / "unit.rank0.vcd"))
    assert set(TOP_PORTS) - {"edges_weight", "rst"} <= names
    assert any(v for _, v in changes["edges_valid"])
