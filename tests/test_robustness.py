"""Regressions for robustness defects: hostile graph files, parallel edges in the SSSP
reference, reserved names, deep expressions, odd source paths, and small text defects
(plurals, run cost, the HiGHS banner, a repeated --arg)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

import cosynth as cs
from cosynth import nxref
from cosynth.backends.cpp.emit import emit_program
from cosynth.backends.toolchain import compile_program
from cosynth.cli import main, parse_cli_args
from cosynth.errors import ArgumentError, GraphError, KernelError
from cosynth.frontend.rewrite.explain import format_report
from cosynth.graphio import load_graph, parse_graph_spec
from cosynth.planner import load_manifest
from tests.helpers import EXAMPLES, ROOT, example, kernel_from_source

MANIFESTS = os.path.join(ROOT, "manifests")


# --------------------------------------------------------------------------- graph files
def test_a_huge_vertex_id_is_refused_before_allocating(tmp_path):
    path = tmp_path / "big.el"
    path.write_text("# two edges\n0 1\n1000000000 2\n")
    with pytest.raises(GraphError) as exc:
        load_graph(path)
    msg = str(exc.value)
    assert f"{path}:3" in msg and "1000000000" in msg and "compact:" in msg


def test_compacted_ids_keep_the_file_ids_as_labels(tmp_path):
    path = tmp_path / "big.wel"
    path.write_text("0 1000000000 2.5\n1000000000 7 1.0\n")
    for g in (load_graph(path, compact_ids=True), parse_graph_spec(f"compact:{path}")):
        assert g.n == 3 and g.labels == [0, 7, 1000000000]
        assert sorted(zip(g.edge_src.tolist(), g.out_dst.tolist(), g.weight.tolist())) == \
            [(0, 2, 2.5), (2, 1, 1.0)]


def test_isolated_vertices_within_reason_are_kept(tmp_path):
    path = tmp_path / "sparse.el"
    path.write_text("0 1\n5000 2\n")
    assert load_graph(path).n == 5001


def test_a_huge_matrix_market_size_is_refused(tmp_path):
    path = tmp_path / "big.mtx"
    path.write_text("%%MatrixMarket matrix coordinate pattern general\n% c\n"
                    "1000000000 1000000000 1\n1 1000000000\n")
    with pytest.raises(GraphError) as exc:
        load_graph(path)
    assert f"{path}:3" in str(exc.value)
    g = load_graph(path, compact_ids=True)
    assert g.n == 2 and g.labels == [0, 999999999]


# --------------------------------------------------------------------------- references
@pytest.mark.parametrize("order", [(1.0, 5.0), (5.0, 1.0)])
def test_sssp_reference_takes_the_lightest_parallel_edge(order):
    g = cs.Graph.from_edges([0, 0, 1], [1, 1, 2], weight=[*order, 1.0])
    kf = example("sssp")
    bound = kf.bind(g, 0)
    (want,) = kf.expected(g, bound)
    np.testing.assert_array_equal(want, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(kf.interpret(g, 0), want)
    np.testing.assert_array_equal(nxref.sssp_int(g, 0), [0, 1, 2])


def test_sssp_reference_of_an_undirected_multigraph():
    g = cs.Graph.from_edges([0, 1, 1], [1, 0, 2], weight=[4.0, 1.5, 2.0], directed=False)
    np.testing.assert_array_equal(nxref.sssp(g, 0), [0.0, 1.5, 3.5])
    np.testing.assert_array_equal(example("sssp").interpret(g, 0), [0.0, 1.5, 3.5])


# --------------------------------------------------------------------------- reserved names
@pytest.mark.parametrize("body, name, line", [
    ("    shard_lo = 1.0\n    d[0] = shard_lo\n", "shard_lo", 5),
    ("    for shard_hi in g.nodes():\n        d[shard_hi] = 1.0\n", "shard_hi", 5),
    ("    for v in g.nodes():\n        for e in g.out_edges(v):\n"
     "            weight = e.weight\n            d[v] = weight\n", "weight", 7),
    ("    s__part = 5.0\n    d[0] = s__part\n", "s__part", 5),
], ids=["shard_lo", "shard_hi", "weight", "double_underscore"])
def test_reserved_names_are_refused_with_their_line(tmp_path, body, name, line):
    src = ("import cosynth as cs\n@cs.kernel\ndef k(g: cs.Graph) -> cs.NodeArray:\n"
           "    d = g.node_array(cs.f64, 0.0)\n" + body + "    return d\n")
    kf, path = kernel_from_source(tmp_path, src, "k")
    with pytest.raises(KernelError) as exc:
        _ = kf.ir
    assert f"{path}:{line}:" in str(exc.value) and f"'{name}'" in str(exc.value)


def test_a_reserved_parameter_name_is_refused(tmp_path):
    kf, path = kernel_from_source(tmp_path, """
        import cosynth as cs
        @cs.kernel
        def k(g: cs.Graph, shard_hi: int) -> cs.NodeArray:
            d = g.node_array(cs.i64, shard_hi)
            return d
        """, "k")
    with pytest.raises(KernelError, match="'shard_hi' is reserved"):
        _ = kf.ir


# --------------------------------------------------------------------------- deep expressions
@pytest.fixture
def default_recursion_limit():
    """Run at Python's default limit (another test may have raised it) and restore."""
    saved = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    yield
    sys.setrecursionlimit(saved)


def _sum_kernel(tmp_path, terms: int):
    expr = " + ".join("d[v]" if i % 2 else "0.5" for i in range(terms))
    return kernel_from_source(tmp_path, f"""
        import cosynth as cs
        @cs.kernel
        def deep(g: cs.Graph) -> cs.NodeArray:
            d = g.node_array(cs.f64, 1.0)
            for v in g.nodes():
                d[v] = {expr}
            return d
        """, "deep")


def test_a_1000_term_sum_traces_runs_and_emits(tmp_path, default_recursion_limit):
    kf, path = _sum_kernel(tmp_path, 1000)
    g = cs.Graph.from_edges([0, 1], [1, 2])
    np.testing.assert_array_equal(kf.interpret(g), kf(g))
    assert kf(g)[0] == 750.0
    assert emit_program(kf.ir, path).count("u_d[(u_v - G.glo)]") >= 500  # owned: local id


def test_an_expression_deeper_than_cosynth_handles_is_refused(tmp_path,
                                                             default_recursion_limit):
    sys.setrecursionlimit(3000)  # so that Python compiles the file at all
    kf, path = _sum_kernel(tmp_path, 5000)
    with pytest.raises(KernelError) as exc:
        _ = kf.ir
    assert f"{path}:6:" in str(exc.value) and "nested" in str(exc.value)


# --------------------------------------------------------------------------- source paths
def test_a_source_path_with_newline_quote_and_backslash_compiles():
    path = 'dir\nwith "quote" and \\ back\\/k.py\x01 2'
    src = emit_program(example("bfs").ir, path)
    first, second = src.splitlines()[:2]
    assert first.startswith("// generated by cosynth from dir\\012with") and \
        second == '#include "cosynth_rt.hpp"'
    literal = re.search(r'g_source = "((?:[^"\\]|\\.)*)";', src).group(1)
    decoded = re.sub(r"\\([0-7]{3}|.)",
                     lambda m: chr(int(m[1], 8)) if len(m[1]) == 3 else m[1], literal)
    assert decoded == path
    compile_program(src)


# --------------------------------------------------------------------------- text defects
def test_one_blade_and_one_rewrite_are_singular(tmp_path):
    assert "single: 1 blade," in load_manifest(os.path.join(MANIFESTS, "single.yaml")
                                               ).describe()
    kf, _ = kernel_from_source(tmp_path, """
        import cosynth as cs
        @cs.kernel
        def k(g: cs.Graph) -> cs.NodeArray:
            d = g.node_array(cs.f64, 0.0)
            for v in g.nodes():
                d[v] += 1.0
            return d
        """, "k")  # += reads the fill: one rewrite (parallelize), no deadfill
    report = format_report(kf.ir)
    assert "(1 rewrite:" in report and "1 rewrites" not in report


def test_a_cheap_run_does_not_cost_zero(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["plan", os.path.join(EXAMPLES, "bfs.py") + ":bfs", "--manifest",
              os.path.join(MANIFESTS, "pair.yaml"), "--graph", "kron:5", "--arg", "source=0"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "0.000000" not in text
    cost = re.search(r"per hour, (\S+) for the run", text).group(1)
    assert float(cost) > 0


def test_highs_prints_no_banner_on_stdout():
    code = ("from cosynth.planner.ilp import LpProblem, LpVariable, LpMinimize, solve\n"
            "p = LpProblem('t', LpMinimize)\nx = LpVariable('x', lowBound=1)\np += x\n"
            "s = solve(p, 'highs')\nassert s.status == 'optimal', s\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""


def test_the_fpga_unit_progress_line_names_its_loops_once(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["build", os.path.join(EXAMPLES, "cc.py") + ":cc", "--manifest",
              os.path.join(MANIFESTS, "pair.yaml"), "--graph", "kron:5", "--fpga",
              "--blades", "2", "-o", str(tmp_path / "b")])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "FPGA unit unit_cc: 2 rules" in out and "for for" not in out


def test_a_repeated_arg_is_refused():
    with pytest.raises(ArgumentError, match="--arg source is given twice"):
        parse_cli_args(example("bfs").ir, ["source=0", "source=1"], None)
