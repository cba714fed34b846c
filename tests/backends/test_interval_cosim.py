"""Interval units inside the blade program: ``cosynth simulate --fpga`` on graphs that do
not fit on the part's block RAM.

The planner sizes the interval unit from the part (``fpga_use["unit"]``), the driver emits
its Verilog, the blade program drives the Verilator model through
``runtime/cosynth_interval.hpp`` over the C++ DRAM model; results equal to the interpreter
and networkx (``simulate`` checks both), and the C++ device walks exactly the blocks the
Python host (``interval_host``) walks: the same cycles.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

import cosynth as cs
from cosynth.backends.rtl.dram import DramConfig
from cosynth.backends.rtl.interval import ENGINE_REGS, FLAG_LOAD_A, FLAG_LOAD_B, FLAG_WRITEBACK
from cosynth.backends.rtl.interval_verilator import run_interval_verilator
from cosynth.backends.rtl.multi import PE_BUSY, PE_SEL
from cosynth.backends.rtl.offload import RUNTIME
from cosynth.loader import load_kernels
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest
from tests.helpers import EXAMPLES, ROOT

PAIR = load_manifest(os.path.join(ROOT, "manifests", "pair.yaml"))  # 2 x ECP5-85F
FILES = {"bfs": "bfs", "sssp_int": "sssp", "cc": "cc"}

HX8K = """manifest: hx8k-pair
blades:
  - kind: cpu-hx8k
    count: 2
    cpu: {cores: 2, clock: 2.0 GHz}
    dram: {size: 8 GiB, bandwidth: 10 GB/s}
    fpga: {part: iCE40HX8K, clock: 50 MHz,
           memory: {kind: sdram, bandwidth: 200 MB/s, latency: 70 ns, burst: 16 B}}
    cost: 0.2
interconnect:
  link: {bandwidth: 1 Gb/s, latency: 10 us}
fileserver: {bandwidth: 100 MB/s}
priority: time
"""


def _kernel(name):
    return load_kernels(os.path.join(EXAMPLES, f"{FILES[name]}.py"))[name]


def _args(name, g):
    return {} if name == "cc" else {"source": int(np.argmax(g.out_degrees()))}


def test_the_cpp_device_keeps_the_engine_register_map():
    """cosynth_interval.hpp spells interval.py's and multi.py's registers and flags."""
    with open(os.path.join(RUNTIME, "cosynth_interval.hpp")) as f:
        text = f.read()
    want = {f"BLK_{k[4:]}" if k.startswith("BLK_") else f"BLK_{k}": v
            for k, v in ENGINE_REGS.items()}
    want.update(PE_BUSY=PE_BUSY, PE_SEL=PE_SEL, FLAG_LOAD_A=FLAG_LOAD_A,
                FLAG_LOAD_B=FLAG_LOAD_B, FLAG_WRITEBACK=FLAG_WRITEBACK)
    for name, value in want.items():
        got = re.search(rf"\b{name} = (\d+)", text)
        assert got and int(got.group(1)) == value, name


def test_a_graph_larger_than_the_part_runs_through_an_interval_unit_on_two_blades(tmp_path):
    """kron-10 (1,024 vertices) on an iCE40 HX8K (512 at most on chip): the plan sizes an
    interval unit on the manifest's SDRAM, both blades run their loops on it, the result
    equals the interpreter and networkx; one blade's run on the same unit takes exactly
    the cycles the Python host's walk of the same edges takes."""
    path = tmp_path / "hx8k.yaml"
    path.write_text(HX8K)
    man = load_manifest(str(path))
    kf = _kernel("cc")
    g = cs.Graph.kronecker(10, edge_factor=4, seed=4)
    sim = simulate(kf, man, g, {}, blades=2, fpga=True)
    assert [b.device for b in sim.plan.blades] == ["fpga", "fpga"]
    unit = sim.plan.blades[0].fpga_use["unit"]
    assert unit["kind"] == "interval" and 2 <= unit["interval"] < g.n
    assert unit["memory_source"].startswith("manifest (sdram)")
    assert sim.checks[0].startswith("blades == IR interpreter: ok")
    assert any("networkx" in c for c in sim.checks)
    for st in sim.stats:
        f = st["fpga"]
        assert f["calls"] > 0 and f["device_cycles"] >= f["run_cycles"] > f["edges"] > 0

    one = simulate(kf, man, g, {}, blades=1, fpga=True)
    mem = one.plan.blades[0].fpga_use["unit"]
    cfg = DramConfig(**mem["memory"])
    py = run_interval_verilator(kf, g, {}, interval=mem["interval"], dram=cfg,
                                fifo_depth=mem["fifo_depth"])
    assert np.array_equal(py.results[0], one.results[0])
    f = one.stats[0]["fpga"]
    assert (f["runs"], f["edges"], f["run_cycles"]) == \
        (py.stats.runs, py.stats.edges, py.stats.cycles)


@pytest.mark.slow  # 20-60 s each: a kron-16 graph on two ECP5 blades through Verilator
@pytest.mark.parametrize("name", sorted(FILES))
def test_kron16_through_the_fpga_path_on_two_blades(name):
    kf = _kernel(name)
    g = cs.Graph.kronecker(16, seed=1)  # 65,536 vertices: the ECP5-85F holds 8,192
    sim = simulate(kf, PAIR, g, _args(name, g), blades=2, fpga=True)
    assert all(b.fpga_use["unit"]["interval"] < g.n for b in sim.plan.blades)
    assert sim.checks[0].startswith("blades == IR interpreter: ok")
    assert sim.checks[1].startswith("blades == ") and sim.checks[1].endswith(": ok")
    assert sum(st["fpga"]["edges"] for st in sim.stats) >= g.m
