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
from cosynth.backends.rtl.interval import (
    ENGINE_REGS,
    FLAG_DENSE,
    FLAG_DST_B,
    FLAG_GATHER_B,
    FLAG_LOAD_A,
    FLAG_LOAD_B,
    FLAG_PACKED,
    FLAG_SRC_B,
    FLAG_WRITEBACK,
)
from cosynth.backends.rtl.interval_verilator import run_interval_verilator
from cosynth.backends.rtl.multi import PE_BUSY, PE_SEL
from cosynth.backends.rtl.offload import RUNTIME
from cosynth.loader import load_kernels
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest
from tests.helpers import EXAMPLES, ROOT, example

PAIR = load_manifest(os.path.join(ROOT, "manifests", "pair.yaml"))  # 2 x ECP5-85F
FILES = {"bfs": "bfs", "sssp_int": "sssp", "cc": "cc"}

# the smallest part an interval unit's logic fits on (an iCE40 HX8K's 7,680 logic cells
# hold no PE: ``interval_costs.LOGIC_PER_PE``), with an x16 SDRAM
SMALL = """manifest: small-pair
blades:
  - kind: cpu-25f
    count: 2
    cpu: {cores: 2, clock: 2.0 GHz}
    dram: {size: 8 GiB, bandwidth: 10 GB/s}
    fpga: {part: ECP5-25F, clock: 50 MHz,
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
                FLAG_LOAD_B=FLAG_LOAD_B, FLAG_WRITEBACK=FLAG_WRITEBACK,
                FLAG_PACKED=FLAG_PACKED, FLAG_GATHER_B=FLAG_GATHER_B,
                FLAG_DENSE=FLAG_DENSE, FLAG_SRC_B=FLAG_SRC_B, FLAG_DST_B=FLAG_DST_B)
    for name, value in want.items():
        got = re.search(rf"\b{name} = (\d+)", text)
        assert got and int(got.group(1)) == value, name


# sssp_int's case is slow (25 s of the cold CI run): bfs keeps the two-blade interval
# path in the default suite; test_interval covers sssp_int's unit against the interpreter
@pytest.mark.parametrize("name", [pytest.param("sssp_int", marks=pytest.mark.slow), "bfs"])
def test_a_graph_larger_than_the_part_runs_through_an_interval_unit_on_two_blades(tmp_path, name):
    """kron-13 (8,192 vertices) on an ECP5-25F (4,096 at most on chip): the plan sizes an
    interval unit on the manifest's SDRAM, both blades run their loops on it, the result
    equals the interpreter and networkx; one blade's run on the same unit takes exactly
    the cycles the Python host's walk of the same edges takes."""
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    man = load_manifest(str(path))
    kf = _kernel(name)  # packed: a weighted edge one word, unweighted edges two a word
    g = cs.Graph.kronecker(13, edge_factor=4, seed=4)
    args = _args(name, g)
    sim = simulate(kf, man, g, args, blades=2, fpga=True)
    assert [b.device for b in sim.plan.blades] == ["fpga", "fpga"]
    unit = sim.plan.blades[0].fpga_use["unit"]
    assert unit["kind"] == "interval" and 2 <= unit["interval"] < g.n
    assert unit["memory_source"].startswith("manifest (sdram)")
    assert sim.checks[0].startswith("blades == IR interpreter: ok")
    assert any("networkx" in c for c in sim.checks)
    for st in sim.stats:
        f = st["fpga"]
        assert f["calls"] > 0 and f["device_cycles"] >= f["run_cycles"] > f["edges"] > 0

    one = simulate(kf, man, g, args, blades=1, fpga=True)
    mem = one.plan.blades[0].fpga_use["unit"]
    cfg = DramConfig(**mem["memory"])
    py = run_interval_verilator(kf, g, args, interval=mem["interval"], dram=cfg,
                                fifo_depth=mem["fifo_depth"], variant=one.plan.variant)
    assert all(py_packed for py_packed in py.packed)
    assert np.array_equal(py.results[0], one.results[0])
    f = one.stats[0]["fpga"]
    assert (f["runs"], f["edges"], f["run_cycles"]) == \
        (py.stats.runs, py.stats.edges, py.stats.cycles)


@pytest.mark.slow  # builds two Verilator models and a blade program (~1-2 min cold)
def test_a_memory_of_two_ports_gets_two_pes_and_the_blade_walks_as_the_python_host():
    """``memory.ports: 2``: the planner gives BFS (min, repeated: several PEs are safe) a
    PE per port; the blade program's C++ device drives both ports of the model (their
    pins found at build time) and takes exactly the Python host's cycles."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "small2.yaml")
        with open(path, "w") as f:
            f.write(SMALL.replace("burst: 16 B}", "burst: 16 B, ports: 2}"))
        man = load_manifest(path)
    kf = _kernel("bfs")
    g = cs.Graph.kronecker(13, edge_factor=4, seed=4)  # 8,192: the 25F holds 4,096
    args = _args("bfs", g)
    one = simulate(kf, man, g, args, blades=1, fpga=True)
    unit = one.plan.blades[0].fpga_use["unit"]
    assert unit["pes"] == 2 and unit["memory"]["ports"] == 2
    assert one.checks[0].startswith("blades == IR interpreter: ok")
    cfg = DramConfig(**unit["memory"])
    py = run_interval_verilator(kf, g, args, interval=unit["interval"], dram=cfg,
                                fifo_depth=unit["fifo_depth"], variant=one.plan.variant,
                                pes=2)
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


def test_weighted_edges_pack_one_word_each_when_they_fit():
    """layout.encode_run: 16-bit local addresses and a 32-bit weight in one word; a
    weight beyond 32 bits (or an interval past 2^15) keeps two words per edge."""
    from cosynth.backends.rtl.layout import MemoryLayout, encode_run
    from cosynth.backends.rtl.regmap import Mem, RegisterMap
    rm = RegisterMap("u", "k", "v", 32, 5, 64, [], [], [Mem(0, "d", "live", "i64", 64)], [])
    lay = MemoryLayout.of(rm, 40, 16)
    assert lay.edge_words == 2
    src, dst = np.array([1, 20, 39]), np.array([30, 2, 39])
    w = np.array([-7, 2**31 - 1, 5])
    words, blocks, packed = encode_run(lay, "dst", src, dst, w)
    # the two blocks off the diagonal read one entry of window B each: they gather it,
    # after a one-word map (an interval of 16: 16 bits)
    assert packed and sum(b[3] for b in blocks) == 3
    assert [b[4] for b in blocks if b[0] != b[1]] == [1, 1]
    assert words.size == 3 + 2
    got = set()
    for d, s, first, count, _g in blocks:
        for x in words[first - lay.edge_base:first - lay.edge_base + count].tolist():
            sl, dl, wt = x & 0xFFFF, (x >> 16) & 0xFFFF, np.int64(np.uint64(x)) >> 32
            u = sl - lay.interval + s * lay.interval if s != d else sl + d * lay.interval
            got.add((int(u), int(dl + d * lay.interval), int(wt)))
    assert got == {(1, 30, -7), (20, 2, 2**31 - 1), (39, 39, 5)}
    words, blocks, packed = encode_run(lay, "dst", src, dst, np.array([1, 2**31, 3]),
                                       gather=False)
    assert not packed and words.size == 6
    assert blocks[-1][2] - lay.edge_base == 2 * (3 - blocks[-1][3])
    big = MemoryLayout.of(rm, 1 << 17, 1 << 16)
    assert not encode_run(big, "dst", src, dst, w)[2]


def test_a_plan_with_fpga_units_waits_longer_before_calling_a_blade_hung():
    from types import SimpleNamespace

    from cosynth import pipeline
    plan = SimpleNamespace(makespan=10.0)  # 200 s for CPUs: above the floor
    cpu = pipeline.stall_deadline(plan)
    assert pipeline.stall_deadline(plan, fpga=True) == cpu * pipeline.FPGA_SIM_SLOWDOWN
    assert pipeline.stall_deadline(plan, 2.5, fpga=True) == 2.5  # asked for: kept


def test_a_block_gathers_only_the_window_b_entries_its_edges_read():
    """layout.encode_run: a block off the diagonal whose edges read few entries of
    window B is preceded by its gather map (bit j of word w: entry 64 w + j), and
    gathers (``gathered`` = the set bits) when that costs fewer cycles than the whole
    window (``layout.gathers``); a block reading most of the window loads it whole."""
    from cosynth.backends.rtl.layout import MemoryLayout, encode_run, gathers, map_words
    from cosynth.backends.rtl.regmap import Mem, RegisterMap
    rm = RegisterMap("u", "k", "v", 32, 5, 0, [], [], [Mem(0, "d", "live", "i64", 64)], [])
    lay = MemoryLayout.of(rm, 1024, 256)  # 4 intervals of 256: maps of 4 words
    assert map_words(lay) == 4 and gathers(lay, 100) and not gathers(lay, 250)
    rng = np.random.default_rng(5)
    few = rng.choice(256, 40, replace=False) + 256  # interval 1 -> interval 0: 40 sources
    many = np.arange(512, 768)  # interval 2 -> interval 0: every source
    src = np.concatenate([few, few, many])
    dst = rng.integers(0, 256, src.size)
    words, blocks, _ = encode_run(lay, "dst", src, dst, None, pack=False)
    by = {(b[0], b[1]): b for b in blocks}
    _, _, first, count, gathered = by[(0, 1)]
    assert count == 80 and gathered == 40
    bits = words[first - lay.edge_base - 4:first - lay.edge_base]
    entries = {64 * w + j for w in range(4) for j in range(64) if int(bits[w]) >> j & 1}
    assert entries == set((few - 256).tolist())
    assert by[(0, 2)][4] == 0  # 256 of 256 entries: the whole window
    assert words.size == src.size + 4
    # never gathering: no maps
    assert encode_run(lay, "dst", src, dst, None, pack=False, gather=False)[0].size == src.size


@pytest.mark.slow
def test_kcore_add_reduction_through_an_interval_unit(tmp_path):
    """k-core's ``deg add= -1`` on interval units over SDRAM (kron-13 on two ECP5-25F
    blades, every round a unit call): equal to the interpreter and networkx.  Its rule
    raises no change flag, so the unit's STATUS.changed stays clear; the engine once took
    that bit as 'window A is dirty', never wrote a window back, and 956 of 4,096 core
    numbers came out wrong.  It now writes back on STATUS.wrote (any changed entry)."""
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    man = load_manifest(str(path))
    kf = example("kcore")
    g = cs.Graph.kronecker(13, edge_factor=4, seed=4)  # kron-12's k-core fits on chip
    sim = simulate(kf, man, g, {}, blades=2, fpga=True)
    assert all(b.device == "fpga" and b.fpga_use["unit"]["kind"] == "interval"
               for b in sim.plan.blades)
    assert sim.checks[0].startswith("blades == IR interpreter: ok")
    assert sim.checks[1] == "blades == networkx: ok"
