"""The RTL backend: which kernels go to hardware, the generated units in Amaranth's
simulator against the interpreter and networkx, one edge per clock, hazards forwarded
(never a wrong sum), the register map, the Verilog with its lint and Verilator test bench,
and ``cosynth rtl``."""

from __future__ import annotations

import json
import os
import textwrap

import numpy as np
import pytest
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

import cosynth as cs
from cosynth import ops
from cosynth.backends.rtl.build import build_unit, eligibility, unit_for
from cosynth.backends.rtl.datapath import shape_of
from cosynth.backends.rtl.host import UnitHost
from cosynth.backends.rtl.kernel import REDUCE_HW, NotEligible
from cosynth.backends.rtl.regmap import RegisterMap
from cosynth.backends.rtl.sim import AmaranthDevice, run_kernel
from cosynth.backends.rtl.unit import _reduce
from cosynth.check import ATOL, RTOL, compare_results, fixed_tolerance
from cosynth.cli import main
from cosynth.dtypes import boolean, f64, i32, i64
from cosynth.errors import MismatchError
from cosynth.fixed import FixedRangeError
from cosynth.frontend.rewrite.laws import operator_law
from cosynth.ir.interp import interpret
from cosynth.loader import load_kernels
from cosynth.nxref import NoReference
from tests.helpers import EXAMPLES, example, kernel_from_source, random_graphs, same

#: the example kernels that can go to an FPGA, with their arguments
ELIGIBLE = {
    "bfs": ("bfs", {"source": 0}),
    "sssp_int": ("sssp", {"source": 0}),
    "cc": ("cc", {}),
    "kcore": ("kcore", {}),  # use_in_edges on directed graphs (as networkx counts)
}


def kernel(name: str):
    file, _ = ELIGIBLE.get(name, (name, {}))
    return load_kernels(os.path.join(EXAMPLES, f"{file}.py"))[name]


@pytest.mark.parametrize("name", sorted(ELIGIBLE))
def test_unit_computes_what_the_interpreter_computes(name):
    kf = kernel(name)
    graphs = list(random_graphs(5, seed=21, max_n=18, int_weights=True,
                                self_loops=name != "kcore"))
    graphs.append((99, cs.Graph.kronecker(5, seed=4)))
    checked_nx = 0
    for i, g in graphs:
        args = dict(ELIGIBLE[name][1])
        if name == "kcore":
            args["use_in_edges"] = g.directed
        bound = kf.bind(g, **args)
        want = interpret(kf.ir, g, bound)
        run = run_kernel(kf, g, args)
        assert same(run.results, want), (name, i)
        if g.m:
            assert run.stats.edges > 0 and run.stats.cycles >= run.stats.edges
        try:
            ref = kf.expected(g, bound)
        except NoReference:
            continue
        assert same(run.results, ref), (name, i, "networkx")
        checked_nx += 1
    assert checked_nx >= 2


def test_cycle_counts_and_edges_per_clock_are_reported():
    run = run_kernel(kernel("cc"), cs.Graph.kronecker(5, seed=1), {})
    st = run.stats
    assert st.runs >= 2 and st.cycles > st.edges * 0.9
    assert 0.5 < st.edges_per_cycle <= 1.0
    assert st.load_entries >= 32 and st.readback_entries > 0
    assert run.sim_cycles >= st.total_cycles


def _device_run(name: str, depth: int, init: dict, src, dst, w=None, rule=0):
    """Load the unit's memories with ``init`` and run one rule over the given edges."""
    kf = kernel(name)
    unit, spec = build_unit(kf, depth=depth)
    rm = unit.regmap
    with AmaranthDevice(unit) as dev:
        for table, values in init.items():
            mem = rm.mem(table)
            dev.load(np.full(depth, mem.id), np.arange(depth), np.asarray(values))
        res = dev.run(rule, src, dst, w)
        mem = rm.mem(spec.rules[rule].target, "live")
        out = dev.readback(np.full(depth, mem.id), np.arange(depth))
    return res, np.asarray(out)


def test_one_edge_per_clock_when_consecutive_edges_do_not_collide():
    rng = np.random.default_rng(3)
    n, m = 256, 1500
    src = rng.integers(0, 128, m)  # sources and destinations apart: reads are stable
    dst = 128 + rng.integers(0, 128, m)
    for i in range(1, m):
        while dst[i] == dst[i - 1]:
            dst[i] = 128 + rng.integers(0, 128)
    w = rng.integers(1, 50, m)
    dist = np.full(n, np.iinfo(np.int64).max)
    dist[:128] = rng.integers(0, 1000, 128)
    res, out = _device_run("sssp_int", n, {"dist": dist}, src, dst, w)
    want = dist.copy()
    for s, d, x in zip(src, dst, w):
        want[d] = min(want[d], dist[s] + x)
    assert np.array_equal(out, want)
    assert res["done"] and res["edges"] == m and res["changed"]
    assert m / res["cycles"] >= 0.9, res  # one edge per clock, start and drain included


@pytest.mark.parametrize("period", [1, 2, 4, 5, 7])
def test_colliding_edges_are_forwarded_not_lost(period):
    """An add-reduction is not idempotent: every lost or doubled update shows.  Period 1
    hits the same vertex with every edge (the unit keeps them a cycle apart, then forwards
    from its write history), periods 2, 4 and 5 forward without a stall (the history
    holds the last four writes: the read is two registers from the block RAM), 7 goes
    through the memory."""
    n, m = 16, 600
    dst = np.arange(m) % period
    src = np.full(m, 15)
    deg = np.full(n, 1000)
    # rule 0 of k-core's peel round: if v_frontier[e.src]: deg[e.dst] add= -1
    res, out = _device_run("kcore", n, {"deg": deg, "v_frontier": np.ones(n, dtype=np.int64)},
                           src, dst)
    want = deg.copy()
    np.subtract.at(want, dst, 1)
    assert np.array_equal(out, want)
    assert res["updates"] == m
    assert res["hazards"] == (m - period if period <= 5 else 0)  # 7: from memory
    assert res["stalls"] == (m - 1 if period == 1 else 0)
    assert m / res["cycles"] >= (0.49 if period == 1 else 0.9)


def test_a_read_of_the_other_endpoint_in_the_cycle_its_entry_is_written_sees_the_write():
    """The memories are marked ``no_rw_check`` (yosys maps them without a bypass LUT after
    the block RAM), so the unit itself gives a read of a written table at the other
    endpoint (not corrected by the write history) the value written in its own cycle.
    Edge 0 sets dist[1] = 1; edge 1 (after k fillers) reads dist[1]: it reads at
    H + 1 cycles after edge 0's read, the cycle edge 0's write is made, when k = H --
    the old value (100) before, the new one (1) from there on, through the unit's bypass
    at k = H (the memory itself, without it, answers the old value in that cycle)."""
    depth, big = 16, 1000
    dist = np.full(depth, big)
    dist[0], dist[1] = 0, 100
    got, kf = {}, kernel("sssp_int")
    for k in range(0, 14):
        unit, _ = build_unit(kf, depth=depth)
        mem = unit.regmap.mem("dist", "live")
        with AmaranthDevice(unit) as dev:
            dev.load(np.full(depth, mem.id), np.arange(depth), dist)
            res = dev.run(0, [0] + [3] * k + [1], [1] + [8 + j % 8 for j in range(k)] + [2],
                          [1] * (k + 2))
            out = dev.readback(np.full(depth, mem.id), np.arange(depth))
        assert res["stalls"] == 0 and out[1] == 1
        got[k] = int(out[2])
    h = unit.history
    assert set(got.values()) == {101, 2}, got
    assert [k for k, v in got.items() if v == 2] == list(range(h, 14)), (h, got)


def test_refusals_say_why():
    cases = {"pagerank": "f64", "sssp": "f64", "tc": "loop inside the edge loop",
             "bc": "f64"}
    for name, why in cases.items():
        ok, reason = eligibility(example(name).ir)
        assert not ok and why in reason, (name, reason)
        with pytest.raises(NotEligible, match="cannot go to an FPGA") as exc:
            unit_for(example(name).ir)
        assert exc.value.loc is not None and exc.value.loc.line > 0
    ok, sites = eligibility(example("bfs").ir)
    assert ok and "nodes()" in sites


def test_refusals_of_constructs(tmp_path):
    div, _ = kernel_from_source(tmp_path, '''
        @cs.kernel
        def halve(g: cs.Graph) -> cs.NodeArray[cs.i64]:
            d = g.node_array(cs.i64, 100)
            changed = True
            while changed:
                changed = False
                for v in g.nodes():
                    for e in g.out_edges(v):
                        nd = d[v] // 2
                        if nd < d[e.dst]:
                            d[e.dst] = nd
                            changed = True
            return d
    ''')
    with pytest.raises(NotEligible, match="'//' has no single-cycle hardware unit"):
        unit_for(div.ir)
    last, _ = kernel_from_source(tmp_path, '''
        @cs.kernel
        def copy(g: cs.Graph) -> cs.NodeArray[cs.i64]:
            d = g.node_array(cs.i64, 0)
            for v in g.nodes():
                for e in g.out_edges(v):
                    d[e.dst] = d[v]
            return d
    ''')
    with pytest.raises(NotEligible):
        unit_for(last.ir)
    deg, _ = kernel_from_source(tmp_path, '''
        @cs.kernel
        def weird(g: cs.Graph) -> cs.NodeArray[cs.i64]:
            d = g.node_array(cs.i64, 0)
            for v in g.nodes():
                for e in g.out_edges(v):
                    d[e.dst] += g.out_degree(e.dst)
            return d
    ''')
    with pytest.raises(NotEligible, match="out_degree"):
        unit_for(deg.ir)


def test_a_user_kernel_with_max_and_or_reductions(tmp_path):
    """Not an example: widest paths (a relaxed max of mins, in i32) and a bounded
    reachability (an or into a bool table, one vertex's edges at a time)."""
    kf, _ = kernel_from_source(tmp_path, '''
        @cs.kernel(weight=cs.i64)
        def widest(g: cs.Graph, source: int, hops: int = 3) -> tuple:
            cap = g.node_array(cs.i32, 0)
            seen = g.node_array(cs.boolean, False)
            cap[source] = 1000
            seen[source] = True
            changed = True
            while changed:
                changed = False
                for v in g.nodes():
                    for e in g.out_edges(v):
                        c = min(cap[v], cs.i32(e.weight))
                        if c > cap[e.dst]:
                            cap[e.dst] = c
                            changed = True
            for i in range(hops):
                for v in g.nodes():
                    for e in g.out_edges(v):
                        seen[e.dst] |= seen[v]
            return cap, seen
    ''')
    spec = unit_for(kf.ir)
    assert {r.op for r in spec.rules} == {"max", "or"}
    assert sorted(s.form for s in spec.sites) == ["nest", "vertex"]
    for i, g in random_graphs(4, seed=5, max_n=16, weighted=True, int_weights=True):
        bound = kf.bind(g, source=0)
        run = run_kernel(kf, g, {"source": 0})
        assert same(run.results, interpret(kf.ir, g, bound)), i


def test_a_loop_counter_enters_the_unit_as_a_register_written_per_call():
    """k-hop: the node loop inside ``for level in range(k)`` reads ``level``; the unit
    takes it as a register the host writes before every call (three calls, three
    values), and the result is the interpreter's and networkx's."""
    kf = load_kernels(os.path.join(EXAMPLES, "more", "khop.py"))["khop"]
    spec = unit_for(kf.ir)
    assert "level" in spec.params and spec.params["level"] == i64
    assert [p.name for p in RegisterMap.of(spec, 40).params] == ["level"]
    checked = 0
    for i, g in list(random_graphs(3, seed=8, max_n=16)) + [(9, cs.Graph.kronecker(5, seed=3))]:
        bound = kf.bind(g, source=0, k=3)
        run = run_kernel(kf, g, {"source": 0, "k": 3})
        assert same(run.results, interpret(kf.ir, g, bound)), i
        assert same(run.results, kf.expected(g, bound)), (i, "networkx")
        assert run.stats.calls == 3  # one per level, each with its own register value
        checked += g.m > 0
    assert checked >= 2


def test_float_kernels_go_to_hardware_only_under_a_declared_fixed_point_policy():
    """PageRank is refused as it is written; under Q16.47 its edge loop goes to the unit,
    and the laws its sums rely on are proved again on the words (wrapping 64-bit addition
    is associative; IEEE addition is not, which the float proofs only assume)."""
    pr = example("pagerank")
    with pytest.raises(NotEligible, match="fixed-point policy"):
        unit_for(pr.ir)
    spec = unit_for(pr.with_fixed("Q16.47,atol=1e-9").ir)
    assert spec.fixed.name == "Q16.47" and spec.tables["contrib"].is_float
    laws = {(law.name, law.status) for law in spec.fixed_laws}
    assert laws == {("commutative", "proved"), ("associative", "proved")}
    assert all("bit-vectors" in law.detail for law in spec.fixed_laws)
    assert operator_law("associative", "add", f64).status == "assumed"
    # SSSP's distances start at inf, which no word represents: refused as it is declared
    with pytest.raises(NotEligible, match="'dist' starts at inf"):
        unit_for(example("sssp").with_fixed("Q16.47,atol=1e-9").ir)

def test_fixed_point_refuses_products_and_conversions_to_integers(tmp_path):
    kf, _ = kernel_from_source(tmp_path, '''
        @cs.kernel(fixed="Q16.47,atol=1e-9")
        def scaled(g: cs.Graph, x: cs.NodeArray[cs.f64]) -> cs.NodeArray:
            s = g.node_array(cs.f64, 0.0)
            for v in g.nodes():
                for e in g.out_edges(v):
                    s[e.dst] += x[v] * x[v]
            return s
    ''')
    with pytest.raises(NotEligible, match="'\\*' on fixed-point \\(Q16.47\\) values"):
        unit_for(kf.ir)


def _max_err(got, want) -> float:
    return max(float(np.max(np.abs(np.asarray(a) - np.asarray(b)), initial=0.0))
               for a, b in zip(got, want))


def test_fixed_point_pagerank_on_the_unit_against_the_interpreter_and_networkx():
    """The unit computes PageRank's sums on Q16.47 words (Amaranth simulation): within
    the stated 1e-9 of the float kernel and of networkx on every graph; a coarse Q16.8
    is off by far more, which the tolerance check turns into a mismatch."""
    pr = example("pagerank")
    fine = pr.with_fixed("Q16.47,atol=1e-9")
    graphs = list(random_graphs(2, seed=31, max_n=14)) + [(9, cs.Graph.kronecker(4, seed=4))]
    for i, g in graphs:
        bound = fine.bind(g)
        run = run_kernel(fine, g, {})
        want = interpret(pr.ir, g, bound)
        assert _max_err(run.results, want) <= 1e-9, i
        assert _max_err(run.results, pr.expected(g, bound)) <= 1e-9, (i, "networkx")
        assert run.stats.edges >= g.m or g.m == 0
    g = cs.Graph.kronecker(4, seed=4)
    coarse = pr.with_fixed("Q16.8,atol=1e-9")
    run = run_kernel(coarse, g, {})
    want = interpret(pr.ir, g, coarse.bind(g))
    assert _max_err(run.results, want) > 1e-6
    with pytest.raises(MismatchError):
        compare_results(run.results, want, **fixed_tolerance({"rtol": RTOL, "atol": ATOL},
                                                             coarse.fixed))


def test_a_value_outside_the_fixed_point_format_is_refused_by_name():
    """Weighted degrees under Q4.20: a weight of 100 does not fit (|x| < 2**4)."""
    kf = load_kernels(os.path.join(EXAMPLES, "more", "wdegree.py"))["wdegree"]
    g = cs.Graph.from_edges([0, 1], [1, 2], [1.5, 100.0], num_nodes=3)
    with pytest.raises(FixedRangeError, match=r"edge weight\[1\] = 100.0 does not fit"):
        run_kernel(kf.with_fixed("Q4.20,atol=1e-3"), g, {})
    run = run_kernel(kf.with_fixed("Q8.20,atol=1e-3"), g, {})
    assert np.allclose(run.results[0], [1.5, 100.0, 0.0])


MULTI = '''
    @cs.kernel
    def degrees(g: cs.Graph) -> tuple:
        ind = g.node_array(cs.i64, 0)
        outd = g.node_array(cs.i32, 0)
        for v in g.nodes():
            for e in g.out_edges(v):
                ind[e.dst] += 1
                outd[v] += 1
        return ind, outd

    @cs.kernel
    def label_range(g: cs.Graph) -> tuple:
        lo = g.node_array(cs.i64, 0)
        hi = g.node_array(cs.i64, 0)
        for v in g.nodes():
            lo[v] = v
            hi[v] = v
        changed = True
        while changed:
            changed = False
            for v in g.nodes():
                for e in g.out_edges(v):
                    if lo[v] < lo[e.dst]:
                        lo[e.dst] = lo[v]
                        changed = True
                    if hi[v] > hi[e.dst]:
                        hi[e.dst] = hi[v]
                        changed = True
        return lo, hi
'''


def test_a_rule_may_reduce_into_several_tables_per_edge(tmp_path):
    """Two reductions per edge into different tables, at different endpoints (degree
    counts: the edges of one source collide on outd[src]) and under one change flag
    (min- and max-label propagation in one loop): each table gets its own
    read-modify-write path, and the unit agrees with the interpreter."""
    path = tmp_path / "multi.py"
    path.write_text("import cosynth as cs\n" + textwrap.dedent(MULTI))
    ks = load_kernels(str(path))
    deg = unit_for(ks["degrees"].ir)
    (r,) = deg.rules
    assert [(u.target, u.target_end, u.op) for u in r.ups] == [("ind", "dst", "add"),
                                                               ("outd", "src", "add")]
    rm = RegisterMap.of(deg, 32)
    assert rm.rules[0].updates()[1][:3] == ("outd", "src", "add")
    assert "ind[e.dst] add=; outd[e.src] add=" in rm.describe()
    lr = unit_for(ks["label_range"].ir)
    assert {(u.target, u.op, u.flag) for r in lr.rules for u in r.ups} == {
        ("lo", "min", "changed"), ("hi", "max", "changed")}
    for name in ("degrees", "label_range"):
        kf = ks[name]
        for i, g in list(random_graphs(3, seed=12, max_n=15)) + \
                [(9, cs.Graph.kronecker(5, seed=6))]:
            run = run_kernel(kf, g, {})
            assert same(run.results, interpret(kf.ir, g, kf.bind(g))), (name, i)
            if g.m:
                assert run.stats.edges >= g.m
    # the same table twice, or two change flags, in one edge loop are refused
    bad, _ = kernel_from_source(tmp_path, '''
        @cs.kernel
        def twice(g: cs.Graph) -> cs.NodeArray[cs.i64]:
            d = g.node_array(cs.i64, 0)
            for v in g.nodes():
                for e in g.out_edges(v):
                    d[e.dst] += 1
                    d[v] += 1
            return d
    ''')
    with pytest.raises(NotEligible, match="two reductions into 'd' per edge"):
        unit_for(bad.ir, "par")


def test_register_map_is_data():
    unit, spec = build_unit(kernel("cc"), depth=100)
    rm = unit.regmap
    again = RegisterMap.from_dict(json.loads(rm.to_json()))
    assert again == rm
    assert rm.addr_bits == 7 and rm.reg("EDGE_COUNT") == 4
    assert [r.kind for r in rm.rules] == ["out_edges", "in_edges"]
    text = rm.describe()
    for needle in ("CTRL", "STATUS", "CYCLES", "label", "CSC order"):
        assert needle in text
    # the host checks the device identifies itself
    with AmaranthDevice(unit) as dev:
        UnitHost(spec, rm, dev, cs.Graph.kronecker(4))
        assert dev.read_regs([rm.reg("DEPTH")]) == [100]


@pytest.mark.slow  # 60 s cold; test_verilator keeps the model against the interpreter
def test_rtl_writes_verilog_that_verilator_agrees_with(tmp_path):
    from cosynth.backends.rtl.emit import run_testbench, write_rtl
    out = tmp_path / "bfs_rtl"
    kf = example("bfs")
    r = write_rtl(kf, str(out), cs.Graph.kronecker(4, seed=2), {"source": 0}, depth=32)
    for f in ("bfs.v", "regmap.json", "regmap.txt", "trace.txt", "unit_tb.cpp",
              "cosynth_unit.hpp", "Makefile", "lint.txt", "report.json"):
        assert (out / f).stat().st_size > 0, f
    assert r.lint.ok and len(r.lint.waived) == 3
    assert "all agree" in r.testbench
    report = json.loads((out / "report.json").read_text())
    assert report["device"]["edges"] == r.edges > 0
    # the bench can fail: change one expected answer of the trace
    lines = (out / "trace.txt").read_text().splitlines()
    i = next(i for i, ln in enumerate(lines) if ln.startswith("B "))
    mem, addr, val = lines[i + 1].split()
    lines[i + 1] = f"{mem} {addr} {int(val) - 1}"
    (out / "bad.txt").write_text("\n".join(lines) + "\n")
    with pytest.raises(MismatchError, match="disagrees"):
        run_testbench(str(out), "bfs", (out / "bfs.v").read_text(), False, trace="bad.txt")


def test_cosynth_rtl_command(tmp_path, capsys):
    out = tmp_path / "cc"
    with pytest.raises(SystemExit) as exc:
        main(["rtl", os.path.join(EXAMPLES, "cc.py") + ":cc", "-o", str(out), "--depth", "64",
              "--no-verilator"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "  rules\n" in text and "edges per clock" in text and (out / "cc.v").exists()
    with pytest.raises(SystemExit) as exc:
        main(["rtl", os.path.join(EXAMPLES, "pagerank.py") + ":pagerank", "-o",
              str(tmp_path / "pr")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "cannot go to an FPGA" in err and "pagerank.py:" in err and "fix:" in err
    assert not (tmp_path / "pr").exists()
    with pytest.raises(SystemExit) as exc:
        main(["rtl", os.path.join(EXAMPLES, "bfs.py") + ":bfs", "-o", str(tmp_path / "b"),
              "--depth", "8", "--graph", "kron:5"])
    assert exc.value.code == 2
    assert "raise --depth" in capsys.readouterr().err


def test_the_real_board_device_compiles():
    """The XDMA device (memory-mapped registers, DMA streams) is compile-only here: the
    same host stub code drives it, so it must at least build against the interface."""
    import os

    from cosynth.backends.rtl.emit import RUNTIME
    from cosynth.backends.toolchain import compile_program
    source = ('#include "cosynth_unit.hpp"\n#include <mpi.h>\n'
              "int main(int argc, char** argv) {\n"
              "  MPI_Init(&argc, &argv);\n"
              "  uint64_t regs[64] = {};\n"
              "  cosynth_unit::XdmaDevice dev(regs, -1, -1);\n"
              "  cosynth_unit::Device* d = &dev;\n"
              "  d->write_reg(cosynth_unit::REG_RULE, 0);\n"
              "  int rc = d->read_reg(cosynth_unit::REG_RULE) == 0 ? 0 : 1;\n"
              "  MPI_Finalize();\n  return rc;\n}\n")
    binary, _ = compile_program(source, name="xdma_compile", defines=("COSYNTH_UNIT_XDMA_IMPL",),
                                includes=(RUNTIME,),
                                headers=(os.path.join(RUNTIME, "cosynth_unit.hpp"),))
    assert os.path.exists(binary)


def test_the_units_reductions_are_the_operator_tables():
    """The read-modify-write stage reduces ``old op val`` with the table's meaning (for
    every reduction the unit applies, on every table type it admits), and refuses the
    others with the reason."""
    assert REDUCE_HW == tuple(ops.REDUCTIONS)  # every reduction has a hardware unit
    m = Module()
    cases = []  # (op, dtype, old, val, out)
    for op in REDUCE_HW:
        for d in (i32, i64, boolean):
            if not ops.reduction(op).admits(d):
                with pytest.raises(NotEligible, match="reduction into"):
                    _reduce(op, Signal(shape_of(d)), Signal(shape_of(d)), d)
                continue
            old, val, out = (Signal(shape_of(d)) for _ in range(3))
            m.d.comb += out.eq(_reduce(op, old, val, d))
            cases.append((op, d, old, val, out))
    assert len(cases) == 8
    values = {d: [d.min, d.min + 1, -1, 0, 1, 7, d.max - 1, d.max] for d in (i32, i64)}
    values[boolean] = [False, True]
    checked = []

    async def bench(ctx):
        for op, d, old, val, out in cases:
            for a in values[d]:
                for b in values[d]:
                    ctx.set(old, int(a))
                    ctx.set(val, int(b))
                    want = ops.reduction(op).scalar_fn(d)(a, b)
                    assert ctx.get(out) == int(want), (op, d, a, b)
                    checked.append(op)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert len(checked) == 3 * 2 * 64 + 2 * 4  # min/max/add on two ints, or/and on bool


def test_cosynth_rtl_with_a_fixed_point_policy(tmp_path, capsys):
    """``--fixed`` on ``cosynth rtl``: the register map states the format, the check
    states the tolerance and the laws proved on the words."""
    out = tmp_path / "pr"
    with pytest.raises(SystemExit) as exc:
        main(["rtl", os.path.join(EXAMPLES, "pagerank.py") + ":pagerank", "-o", str(out),
              "--no-verilator", "--fixed", "Q16.47,atol=1e-9"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "within the stated tolerance of fixed point Q16.47" in text
    assert "on its Q16.47 words: associative of add on i64: proved" in text
    assert "f64 as Q16.47" in (out / "regmap.txt").read_text()
    assert json.loads((out / "regmap.json").read_text())["fixed"] == "Q16.47,atol=1e-09"


def test_interval_units_refuse_several_reductions_and_fixed_point(tmp_path):
    """A graph too large for a whole-graph unit goes to an interval unit, which moves
    integer words of one reduction per rule: a rule with two reductions (and a
    fixed-point unit) is refused there with the reason, not run wrong; the whole-graph
    unit still takes it on a graph that fits."""
    from cosynth.backends.rtl.interval_costs import NoIntervalFits, unit_use

    path = tmp_path / "multi.py"
    path.write_text("import cosynth as cs\n" + textwrap.dedent(MULTI))
    deg = unit_for(load_kernels(str(path))["degrees"].ir)
    assert unit_use(deg, "ECP5-85F", 64)["kind"] == "whole"
    with pytest.raises(NoIntervalFits, match="several reductions per edge"):
        unit_use(deg, "ECP5-85F", 1 << 22)
