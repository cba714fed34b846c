"""The row term (``cost.row_miss_seconds``): the lines of CSR rows a bucketed or binned
frontier visits out of vertex order that miss the last-level cache."""

from __future__ import annotations

import os
from dataclasses import replace

import cosynth as cs
from cosynth.backends.cpp.memprobe import row_line_cost
from cosynth.planner import GraphStats, load_manifest
from cosynth.planner.calibration import ws_vertices
from cosynth.planner.cost import cache_bytes, nest_miss_seconds, predict_nests, row_miss_seconds
from tests.helpers import ROOT
from tests.planner.test_working_set import _heavy

SINGLE = os.path.join(ROOT, "manifests", "single.yaml")


def test_bucketed_relaxations_read_their_rows_out_of_order():
    """SSSP's bucketed relaxation reads a 4-byte destination and its weight per edge
    (float weights stored in 4 bytes on a Kronecker graph), CC's binned label
    relaxation the destination only; PageRank's pull gather walks its rows in vertex
    order.  Fails when the frontier's order is not recorded or the row's tables are
    miscounted."""
    st = GraphStats.of(cs.Graph.kronecker(10, seed=0))
    w, sssp = _heavy("sssp", "async", st)
    assert w.delta is not None and sssp.rows_out_of_order
    assert sssp.row_tables == ("weight",) and sssp.row_bytes == 4 + w.memory.weight_bytes
    assert sssp.row_array == sssp.row_bytes * st.m and sssp.row_n == st.n
    w, cc = _heavy("cc", "async", st)
    assert w.delta is not None and cc.rows_out_of_order and cc.row_bytes == 4
    _, pull = _heavy("pagerank", "pull", st)
    assert not pull.rows_out_of_order and row_miss_seconds(pull, _kind(1e-7), 2**30) == 0


def _kind(per_line: float):
    kind = load_manifest(SINGLE).kinds[0]
    return replace(kind, calibration={**kind.calibration, "cache_bytes": 2.0**20,
                                      "cpu_seconds_per_row_line": per_line})


def test_row_lines_beyond_the_cache_cost_the_calibrated_line():
    """Nothing while the rows' arrays fit the cache, or uncalibrated; beyond it, the
    edges' row bytes in lines times the share the cache cannot hold times the measured
    cost of a line; with a working-set law only the share beyond the law's graph.  Fails
    when the term is ignored, charged within the cache or charged twice under a law."""
    st = GraphStats.of(cs.Graph.kronecker(10, seed=0))
    _, nest = _heavy("sssp", "async", st)
    k = _kind(5e-8)
    fits = st.n * cache_bytes(k) / nest.row_array / 2  # the rows' arrays: half the cache
    assert row_miss_seconds(nest, k, fits) == 0.0
    assert row_miss_seconds(nest, _kind(0.0), 64 * st.n) == 0.0
    big = 8 * st.n * cache_bytes(k) / nest.row_array  # eight times the cache
    want = nest.edges * nest.row_bytes / 64 * (7 / 8) * 5e-8
    assert abs(row_miss_seconds(nest, k, big) - want) < 1e-9 * want
    assert abs(nest_miss_seconds(nest, k, big) - row_miss_seconds(nest, k, big)) < \
        1e-3 * want + nest_miss_seconds(replace(nest, rows_out_of_order=False), k, big)
    law = replace(nest, ws_slope=0.0, ws_ref=8.0, ws_n=big / 2)  # the law's graph: 4x
    assert abs(row_miss_seconds(law, k, big) - nest.edges * nest.row_bytes / 64 *
               (7 / 8 - 3 / 4) * 5e-8) < 1e-9 * want
    # the blade's prediction carries it
    w, _ = _heavy("sssp", "async", st)
    on = sum(r["seconds"] for r in predict_nests(w, k, 1, 1.0, 1.0, vertices=big).values())
    off = sum(r["seconds"] for r in predict_nests(w, _kind(0.0), 1, 1.0, 1.0,
                                                  vertices=big).values())
    assert on - off > 0.5 * want * nest.runs


def test_row_line_cost_and_the_law_graph():
    # 4 ns a line cached, 49 ns at an array 16 times the cache: 45 ns / (15/16) a miss
    assert abs(row_line_cost([(2**20, 4e-9), (2**28, 49e-9)], 2**24) - 48e-9) < 1e-15
    assert row_line_cost([(2**20, 4e-9), (2**23, 9e-9)], 2**24) == 0.0
    assert ws_vertices({"graph": "kron:17"}) == 2**17
    assert ws_vertices({"graph": "kron:17", "n": 1000.0}) == 1000.0
    assert ws_vertices({"graph": "uniform:300:900"}) == 300
    assert ws_vertices({"graph": "file.el"}) == 0.0
