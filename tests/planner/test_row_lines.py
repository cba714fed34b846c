"""The row term (``cost.row_miss_seconds``): the lines of CSR rows a bucketed or binned
frontier visits out of vertex order that miss the last-level cache."""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np

import cosynth as cs
from cosynth.backends.cpp.memprobe import row_line_cost
from cosynth.calibrate import row_l2_bytes
from cosynth.planner import GraphStats, load_manifest
from cosynth.planner.calibration import ws_vertices
from cosynth.planner.cost import cache_bytes, nest_miss_seconds, predict_nests, row_miss_seconds
from cosynth.planner.stats import _merge_walks, row_miss_share
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


def test_ordered_intersection_reads_rows_at_an_index_an_edge_loaded():
    """TC's merges read, per edge u < v, part of v's row: the nest is marked, its line
    references come from the walks the blade counts (``merge_walk``), one line per 16
    entries of a walk plus its first (and the row's first line, walking down), and a
    row's lines are read at most once per walk into it.  Fails when the intersection
    is not marked, or the rates do not follow the walks."""
    g = cs.Graph.kronecker(10, seed=0)
    st = GraphStats.of(g)
    _, tc = _heavy("tc", "edges", st)
    assert tc.rows_out_of_order and tc.row_rates and tc.row_bytes == 4
    order = min(("id", "degree"), key=st.merge_work)
    for down in (True, False):
        v, walk, deg = _merge_walks(g, st.n, order, down)
        if down:
            assert walk.sum() == st.merge_walk(order, True)
        rates = st.row_line_rates(order, down)
        refs = sum(r * c for r, c in rates)
        lines, row = 1 + (walk - 1) // 16, 1 + (np.maximum(deg[v], 1) - 1) // 16
        # walking down, the merge reads its row's first line too (the walk's sentinel)
        assert refs == lines.sum() + (down and (lines < row).sum())
        assert max(r for r, _ in rates) <= np.bincount(v).max()  # once per walk into v
        assert sum(c for _, c in rates) <= (1 + (np.maximum(deg, 1) - 1) // 16).sum()
    refs = sum(r * c for r, c in tc.row_rates)
    assert abs(tc.row_lines * tc.edges - refs) < 1e-6 * refs
    # a frontier's rows keep the uniform rule: no rates
    _, sssp = _heavy("sssp", "async", st)
    assert sssp.row_rates == () and sssp.row_lines == 0.0


def test_row_miss_share_keeps_the_hot_lines():
    """Che's share: lines read equally often miss as the uniform share (1 - cache /
    lines); lines read at skewed rates miss less (the hot ones stay); none when all fit.
    Fails when the rates are ignored."""
    assert row_miss_share(((3.0, 1000.0),), 2000.0) == 0.0
    assert abs(row_miss_share(((3.0, 1000.0),), 250.0) - 0.75) < 1e-6
    skew = ((100.0, 100.0), (1.0, 900.0))  # 100 hot lines take 10000 of 10900 reads
    assert row_miss_share(skew, 250.0) < 0.1 < 1 - 250 / 1000
    assert row_miss_share((), 10.0) == 0.0


def _kind2(per_line: float, per_l2: float):
    kind = load_manifest(SINGLE).kinds[0]
    return replace(kind, calibration={**kind.calibration, "cache_bytes": 2.0**20,
                                      "l2_bytes": 2.0**17,
                                      "cpu_seconds_per_row_line": per_line,
                                      "cpu_seconds_per_row_l2_line": per_l2})


def test_row_lines_missing_l2_only_cost_the_l2_line():
    """A line of a row missing L2 but not the last level costs the calibrated L2 line;
    one missing the last level its own cost (which holds the L2 step); under a law, a
    line moving from missing L2 to missing the last level pays the difference.  TC's
    merges are charged by their rates (far less than uniform rows).  Fails when the L2
    term or the rates are ignored."""
    st = GraphStats.of(cs.Graph.kronecker(10, seed=0))
    _, nest = _heavy("sssp", "async", st)
    k = _kind2(5e-8, 1e-8)
    mid = 4 * st.n * 2.0**17 / nest.row_array  # rows 4x L2, an eighth of the LLC
    want = nest.edges * nest.row_bytes / 64 * (3 / 4) * 1e-8
    assert abs(row_miss_seconds(nest, k, mid) - want) < 1e-9 * want
    assert row_miss_seconds(nest, _kind2(5e-8, 0.0), mid) == 0.0
    big = 8 * st.n * cache_bytes(k) / nest.row_array  # 8x the LLC, 64x L2
    want = nest.edges * nest.row_bytes / 64 * (7 / 8 * 5e-8 + (63 / 64 - 7 / 8) * 1e-8)
    assert abs(row_miss_seconds(nest, k, big) - want) < 1e-9 * want
    law = replace(nest, ws_slope=0.0, ws_ref=8.0, ws_n=big / 2)  # law's graph: 4x LLC
    was = 3 / 4 * 5e-8 + (31 / 32 - 3 / 4) * 1e-8
    assert abs(row_miss_seconds(law, k, big) - (want - nest.edges * nest.row_bytes / 64
                                                * was)) < 1e-9 * want
    # TC: by the rates, at a graph whose touched lines are 4x L2 and fit the LLC
    _, tc = _heavy("tc", "edges", st)
    lines = sum(c for _, c in tc.row_rates)
    v = 4 * st.n * 2.0**17 / 64 / lines
    got = row_miss_seconds(tc, k, v)
    share = row_miss_share(tc.row_rates, 2.0**17 / 64 * st.n / v)
    assert 0 < share < 3 / 4
    assert abs(got - tc.edges * tc.row_lines * share * 1e-8) < 1e-9 * got
    assert row_miss_seconds(replace(tc, row_rates=()), k, v) > got


def test_row_probe_between_the_caches():
    assert row_l2_bytes(23726600.0, 2.0**21) == 8 * 2**20  # four L2s
    assert row_l2_bytes(8.0 * 2**20, 2.0**21) == 4 * 2**20  # at most half the LLC
    assert row_l2_bytes(3.0 * 2**20, 2.0**21) == 0  # no room beyond L2
    # 4.5 ns a line within L2, 11 ns at 8 MiB (3/4 beyond a 2 MiB L2): 8.7 ns a line
    assert abs(row_line_cost([(2**20, 4.5e-9), (2**23, 11e-9)], 2**21) - 6.5e-9 / 0.75) \
        < 1e-15
