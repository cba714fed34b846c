"""The stream term (``cost.stream_miss_seconds``): the lines of CSR / CSC rows a sweep
reads in vertex order beyond the last-level cache, at the stream probe's price -- the
part of a gather's growth a relabelled layout does not remove."""

from __future__ import annotations

import os
from dataclasses import replace

import cosynth as cs
from cosynth.backends.cpp.memprobe import probe_stream, row_line_cost
from cosynth.planner import GraphStats, load_manifest
from cosynth.planner.cost import nest_miss_seconds, predict_nests, stream_miss_seconds
from cosynth.planner.workload import Workload
from tests.helpers import ROOT
from tests.planner.test_working_set import _heavy

SINGLE = os.path.join(ROOT, "manifests", "single.yaml")


def _kind(per_line: float):
    kind = load_manifest(SINGLE).kinds[0]
    return replace(kind, calibration={**kind.calibration, "cache_bytes": 2.0**20,
                                      "cpu_seconds_per_stream_line": per_line})


def test_only_sweeps_of_every_row_stream_their_rows():
    """PageRank's gather (pull) and scatter (par) read every edge's id once a run in
    vertex order: 4 bytes an edge; a frontier's, a worklist's or a merge's edge loop
    (BFS, SSSP, CC, k-core, TC) is not a sweep.  Fails when the sweep is not recognised
    or a partial walk is taken for one."""
    st = GraphStats.of(cs.Graph.kronecker(10, seed=0))
    for name, v in (("pagerank", "pull"), ("pagerank", "par")):
        _, n = _heavy(name, v, st)
        assert n.rows_in_order and not n.rows_out_of_order
        assert n.row_bytes == 4 and n.row_array == 4 * st.m and n.row_n == st.n
    for name, v in (("bfs", "hybrid"), ("sssp", "async"), ("cc", "async"),
                    ("kcore", "par"), ("tc", "edges")):
        w, _ = _heavy(name, v, st)
        assert not any(n.rows_in_order for n in w.nests), name


def test_a_sweeps_rows_beyond_the_cache_cost_the_stream_line():
    """0 while the rows fit the cache and uncalibrated; edges x 4 / 64 x 7/8 x cost at
    8x the cache; with a law measured at 4x the cache, (7/8 - 3/4) of it;
    ``predict_nests`` adds it to the run.  Fails when the term is ignored, charged within
    the cache, or without subtracting the law's share."""
    st = GraphStats.of(cs.Graph.kronecker(10, seed=0))
    w, pull = _heavy("pagerank", "pull", st)
    cost = 6e-9
    assert stream_miss_seconds(pull, _kind(cost), pull.row_n * 2.0**20 / pull.row_array) == 0
    assert stream_miss_seconds(pull, _kind(0.0), 2**30) == 0
    v8 = 8 * 2.0**20 / pull.row_array * pull.row_n
    want = pull.edges * 4 / 64 * (7 / 8) * cost
    got = stream_miss_seconds(pull, _kind(cost), v8)
    assert abs(got - want) < 1e-9 * want
    assert abs(nest_miss_seconds(pull, _kind(cost), v8) -
               nest_miss_seconds(pull, _kind(0.0), v8) - want) < 1e-9 * want
    law = replace(pull, ws_slope=0.1, ws_ref=v8 / 64, ws_n=v8 / 2)
    got = stream_miss_seconds(law, _kind(cost), v8)
    assert abs(got - pull.edges * 4 / 64 * (7 / 8 - 3 / 4) * cost) < 1e-9 * want
    w1 = Workload(**{**w.__dict__, "nests": [pull]})
    on = predict_nests(w1, _kind(cost), 1, 1.0, 1.0, vertices=v8)[pull.line]["seconds"]
    off = predict_nests(w1, _kind(0.0), 1, 1.0, 1.0, vertices=v8)[pull.line]["seconds"]
    assert abs(on - off - pull.runs * want) < 1e-9 * on


def test_the_stream_probe_prices_lines_beyond_the_cache():
    """The stream probe reports a time per line for each size, and ``row_line_cost`` of
    its samples is the excess over the share beyond the cache (here a 1 MiB "cache" and
    a 16 MiB array: 15/16).  Fails when the probe does not run or misreports sizes."""
    got = probe_stream([2**16, 2**24], entries=1 << 22)
    assert [b for b, _ in got] == [2**16, 2**24] and all(t > 0 for _, t in got)
    assert abs(row_line_cost([(2**16, 4e-9), (2**24, 1e-8)], 2**20) - 6.4e-9) < 1e-15
