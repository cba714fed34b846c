"""The cost model's per-edge terms read off the IR (divisions, shared float additions,
random vertex references) and its working-set term (vertex data against the cache)."""

from __future__ import annotations

import os
from dataclasses import replace

import numpy as np

import cosynth as cs
from cosynth.backends.cpp.memprobe import fit_cache, fit_levels
from cosynth.frontend.rewrite import variant
from cosynth.planner import GraphStats, load_manifest, make_plan
from cosynth.planner.calibration import fit_machine
from cosynth.planner.cost import (
    cache_bytes,
    evaluate,
    line_miss,
    miss_fraction,
    nest_miss_seconds,
    nest_misses,
)
from cosynth.planner.workload import no_fpga, profile
from tests.helpers import ROOT, example

SINGLE = os.path.join(ROOT, "manifests", "single.yaml")


def _heavy(name, v, stats):
    kv, _ = variant(example(name).ir, v)
    w = profile(kv, v, stats, fpga=no_fpga)
    return w, max(w.nests, key=lambda n: n.edges)


def test_pagerank_nests_per_edge_work():
    st = GraphStats.of(cs.Graph.kronecker(8, seed=0))
    _, edges = _heavy("pagerank", "edges", st)
    _, push = _heavy("pagerank", "par", st)
    _, pull = _heavy("pagerank", "pull", st)
    assert (edges.divisions, edges.atomic_float_adds) == (1, 1)  # share per edge
    assert (push.divisions, push.atomic_float_adds) == (0, 1)  # share per vertex
    assert (pull.divisions, pull.atomic_float_adds) == (0, 0)  # gathers into its own entry
    assert pull.random_refs == push.random_refs == edges.random_refs == 1
    assert edges.cost > push.cost > pull.cost == 1.0


def test_misses_grow_once_the_tables_leave_the_cache():
    assert miss_fraction(1.0, 2.0) == 0.0
    assert miss_fraction(4.0, 2.0) == 0.5 < miss_fraction(8.0, 2.0)
    man = load_manifest(SINGLE)
    kind = man.kinds[0]
    st = GraphStats.of(cs.Graph.kronecker(8, seed=0))
    _, pull = _heavy("pagerank", "pull", st)
    small = nest_misses(pull, kind, cache_bytes(kind) / pull.random_bytes / 2)
    big = nest_misses(pull, kind, 8 * cache_bytes(kind) / pull.random_bytes)
    assert small == 0.0 and big == pull.edges * 7 / 8


def test_working_set_term_raises_the_prediction_on_a_small_cache():
    man = load_manifest(SINGLE)
    st = GraphStats.of(cs.Graph.kronecker(12, seed=0))
    w, _ = _heavy("pagerank", "pull", st)
    from cosynth.planner.cost import Config
    cfg = Config("pull", (1,), (False,), (1.0,))
    big = evaluate(cfg, w, st, man).makespan
    kind = man.kinds[0]
    tiny = replace(man, kinds=(replace(kind, calibration={**kind.calibration,
                                                          "cache_bytes": 1024.0}),))
    assert evaluate(cfg, w, st, tiny).makespan > big


def test_planner_picks_the_pull_pagerank():
    g = cs.Graph.kronecker(12, seed=0)
    assert make_plan(example("pagerank"), load_manifest(SINGLE), g, fpga=no_fpga).variant \
        == "pull"


def test_fit_machine_recovers_the_miss_cost():
    c_run, c_e, c_v, c_miss = 5e-6, 8e-9, 2e-9, 12e-9
    rows = []
    for i, (e, v, miss) in enumerate([(1e6, 1e5, 0), (4e6, 2e5, 1e6), (2e6, 3e5, 5e5),
                                      (8e6, 1e5, 6e6), (3e6, 4e5, 0)]):
        runs = 1 + i
        rows.append({"runs": runs, "edges": e, "nodes": v, "misses": miss, "threads": 1,
                     "seconds": runs * c_run + e * c_e + v * c_v + miss * c_miss})
    got = fit_machine(rows)
    assert abs(got["cpu_seconds_per_miss"] - c_miss) / c_miss < 1e-6
    assert abs(1 / got["cpu_edges_per_second_per_core"] - c_e) / c_e < 1e-6
    assert "cpu_seconds_per_miss" not in fit_machine([{**r, "misses": 0} for r in rows])


def test_tc_merge_work_is_the_ordered_count_not_every_wedge():
    g = cs.Graph.kronecker(10, seed=0)
    st = GraphStats.of(g)
    w, heavy = _heavy("tc", "edges", st)
    order = min(("id", "degree"), key=st.merge_work)
    want = st.m + st.merge_walk(order, down=True)  # TC's merge runs from the rows' ends
    assert abs(heavy.edges - want) / want < 1e-9
    assert heavy.edges < st.m * st.head_degree  # fewer than all wedges
    # tri[v], tri[w] are updated per triangle found, not per entry merged: not charged
    # as random references of every edge
    assert heavy.random_refs == 0


def test_two_level_term_charges_l2_misses_then_llc_misses_on_top():
    man = load_manifest(SINGLE)
    kind = man.kinds[0]
    st = GraphStats.of(cs.Graph.kronecker(8, seed=0))
    _, pull = _heavy("pagerank", "pull", st)
    l2, llc, c_l2, c_llc = 2.0**20, 2.0**25, 9e-9, 25e-9
    k2 = replace(kind, calibration={**kind.calibration, "l2_bytes": l2, "cache_bytes": llc,
                                    "cpu_seconds_per_l2_miss": c_l2,
                                    "cpu_seconds_per_miss": c_llc})
    per_vertex = pull.random_bytes
    inside = nest_miss_seconds(pull, k2, l2 / per_vertex / 2)
    between = nest_miss_seconds(pull, k2, 4 * l2 / per_vertex)  # 3/4 miss L2, none the LLC
    beyond = nest_miss_seconds(pull, k2, 4 * llc / per_vertex)
    assert inside == 0.0
    assert abs(between - pull.edges * 0.75 * c_l2) < 1e-12 * pull.edges
    want = pull.edges * ((1 - l2 / (4 * llc)) * c_l2 + 0.75 * c_llc)
    assert abs(beyond - want) < 1e-9 * want
    # uncalibrated, the L2 term is off: the LLC term alone, as before
    assert nest_miss_seconds(pull, kind, 4 * l2 / per_vertex) == 0.0


def test_fit_levels_recovers_both_miss_costs():
    l2, llc, base, c_l2, c_llc = 2**20, 2**25, 3e-9, 9e-9, 25e-9
    sizes = [l2 // 4, 2 * l2, 4 * l2, 8 * l2, 2 * llc, 4 * llc]
    samples = [(b, base + miss_fraction(b, l2) * c_l2 + miss_fraction(b, llc) * c_llc)
               for b in sizes]
    got = fit_levels(samples, l2, llc)
    assert abs(got[0] - c_l2) / c_l2 < 1e-6 and abs(got[1] - c_llc) / c_llc < 1e-6


def test_fit_cache_finds_the_caches_a_core_can_use():
    # a VM's sysfs reports the host's whole LLC (and the L2 also holds the streams): the
    # probe's curve says where each ends
    l2, l2_eff, llc, base, c_l2, c_llc = 2**21, 2**21 * 0.75, 2**24 * 1.5, 0.7e-9, 3e-9, \
        17e-9
    sizes = [l2 // 4, l2 // 2, 3 * l2 // 4, l2, 3 * l2 // 2] + [l2 * 2**i for i in range(1, 9)]
    samples = [(b, base + miss_fraction(b, l2_eff) * c_l2 + miss_fraction(b, llc) * c_llc)
               for b in sizes]
    got = fit_cache(samples, l2, 480 * 2**20)
    assert abs(got[0] - l2_eff) / l2_eff < 0.1 and abs(got[1] - llc) / llc < 0.2
    assert abs(got[2] - c_l2) / c_l2 < 0.2 and abs(got[3] - c_llc) / c_llc < 0.2
    # the sizes the system reports fit worse: a knee where there is none
    assert fit_cache(samples, l2, 4 * llc)[1] < 2 * llc


def test_the_working_set_counts_lines_in_the_blades_numbering():
    man = load_manifest(SINGLE)
    kind = man.kinds[0]
    g = cs.Graph.kronecker(12, seed=0)
    st = GraphStats.of(g)
    w, pull = _heavy("pagerank", "pull", st)
    k2 = replace(kind, calibration={**kind.calibration, "l2_bytes": 2.0**13,
                                    "cache_bytes": 2.0**30,
                                    "cpu_seconds_per_l2_miss": 3e-9})
    by_entry = nest_miss_seconds(pull, k2, st.n, w.hot)
    by_id = nest_miss_seconds(pull, k2, st.n, w.hot, w.lines, "id")
    by_degree = nest_miss_seconds(pull, k2, st.n, w.hot, w.lines, "degree")
    # a line brings 7 cold neighbours with each hot entry: more misses as numbered; in
    # degree order the hot entries share lines
    assert by_id > by_entry > 0 and by_degree < by_id
    share = line_miss(pull, 2.0**13, st.n, w.hot, w.lines, "id")
    assert abs(by_id - pull.edges * pull.random_refs * share * 3e-9) < 1e-15
    # a table that fits the cache misses nothing, whatever the numbering
    assert line_miss(pull, 2.0**30, st.n, w.hot, w.lines, "id") == 0.0


def test_narrowed_state_tables_shrink_the_random_bytes():
    # SSSP's distances are stored in 32 bits on a Kronecker graph (narrow.state_storage):
    # its relaxations read 4-byte entries
    st = GraphStats.of(cs.Graph.kronecker(10, seed=0))
    kv, _ = variant(example("sssp").ir, "async")
    w = profile(kv, "async", st, fpga=no_fpga)
    heavy = max(w.nests, key=lambda n: n.edges)
    assert heavy.random_tables == ("dist",) and heavy.random_bytes == 4


def test_a_calibrated_working_set_law_grows_the_work_beyond_the_reference():
    """``ws_law_seconds``: nothing at or below the largest calibration graph's vertices,
    ``slope`` of the nest's work per doubling beyond it, never below ``WS_FLOOR`` of it;
    ``nest_miss_seconds`` takes the law instead of the probe's term when the nest has
    one.  Fails when the law is ignored, added to the probe's term, or extrapolated
    below the reference."""
    from cosynth.planner.cost import WS_FLOOR, edge_rate, node_rate, ws_law_seconds
    man = load_manifest(SINGLE)
    kind = man.kinds[0]
    st = GraphStats.of(cs.Graph.kronecker(8, seed=0))
    _, pull = _heavy("pagerank", "pull", st)
    k2 = replace(kind, calibration={**kind.calibration, "l2_bytes": 2.0**20,
                                    "cpu_seconds_per_l2_miss": 9e-9})
    probe = nest_miss_seconds(pull, k2, 2**20)
    assert probe > 0
    work = pull.cost * (pull.edges / (edge_rate(k2, "cpu") / k2.cpu_cores) +
                        pull.nodes / (node_rate(k2) / k2.cpu_cores))
    law = replace(pull, ws_slope=0.2, ws_ref=8192.0)
    assert ws_law_seconds(law, k2, 8192) == 0.0 == nest_miss_seconds(law, k2, 4096)
    got = nest_miss_seconds(law, k2, 8192 * 2**5)
    assert abs(got - work * 0.2 * 5) < 1e-9 * got
    shrink = replace(law, ws_slope=-1.0)
    assert abs(ws_law_seconds(shrink, k2, 8192 * 2**5) - work * (WS_FLOOR - 1)) < 1e-12


def test_the_working_set_law_reads_back_from_a_calibrated_manifest(tmp_path):
    """A ``ws:`` entry of a nest's laws passes the manifest's schema and lands on the nest
    (``apply_laws``).  Fails when the schema refuses it or ``apply_laws`` drops it."""
    import yaml

    from cosynth.planner.calibration import workload_key
    st = GraphStats.of(cs.Graph.kronecker(8, seed=0))
    kv, _ = variant(example("cc").ir, "async")
    w = profile(kv, "async", st, fpga=no_fpga)
    law = {q: {"base": "model", "r": 1.0, "b": 0.0, "ref_m": float(st.m)}
           for q in ("runs", "edges", "nodes")}
    nests = {n.line: {**law, "cost": 2.0, "overhead": 1e-6,
                      "ws": {"slope": 0.3, "ref_n": 256.0, "graph": "kron:12"}}
             for n in w.nests}
    tree = yaml.safe_load(open(SINGLE).read())
    tree["workloads"] = {workload_key(kv, "async"): {"nests": nests, "graphs": ["kron:8"]}}
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(tree))
    man = load_manifest(str(path))
    w2 = profile(kv, "async", st, laws=man.workloads, fpga=no_fpga)
    assert all(n.ws_slope == 0.3 and n.ws_ref == 256.0 for n in w2.nests)


def test_the_peel_expand_walks_every_edge_once_on_the_cpu():
    """k-core's expand loop (a peel in rounds) walks each vertex's out-edges once, when
    the vertex is removed: ``m`` edges over all its runs, on the CPU as on the FPGA
    (``Nest.peel_edges``) -- counted here by peeling the graph in numpy.  Fails when the
    CPU estimate keeps the guarded loop's ``m / levels`` per run."""
    import numpy as np
    g = cs.Graph.kronecker(10, seed=0)
    st = GraphStats.of(g)
    kf = example("kcore")
    kv, _ = variant(kf.ir, "par")
    w = profile(kv, "par", st, kf.bind(g), fpga=no_fpga)  # use_in_edges=False
    expand = [n for n in w.nests if n.peel_edges > 0]
    assert expand
    walked = sum(n.runs * n.edges for n in expand)
    # the reference count: every removed vertex walks its out-edges once
    deg = g.out_degrees().astype(np.int64)
    removed = np.zeros(g.n, bool)
    total = 0
    while not removed.all():
        k = deg[~removed].min()
        while True:
            now = ~removed & (deg <= k)
            if not now.any():
                break
            for v in np.flatnonzero(now):
                removed[v] = True
                total += g.out_indptr[v + 1] - g.out_indptr[v]
                np.subtract.at(deg, g.out_dst[g.out_indptr[v]:g.out_indptr[v + 1]], 1)
    assert total == g.m
    assert abs(walked - total) < 1e-9 * total


def _walk_down(g, order: str) -> tuple[int, int]:
    """The emitted merges' counts, one edge at a time (``backends.cpp.intersect``, from
    the rows' ends down, and from their starts): the entries of ``v``'s row walked for
    every edge ``u < v`` of ``g`` renamed by ``order``."""
    deg = g.out_degrees()
    rank = np.arange(g.n) if order == "id" else \
        np.argsort(np.argsort(deg, kind="stable"), kind="stable")
    rows = [[] for _ in range(g.n)]
    for a, b in zip(rank[g.edge_src].tolist(), rank[g.out_dst].tolist()):
        rows[a].append(b)
    rows = [sorted(r) for r in rows]
    down = up = 0
    for u in range(g.n):
        for v in rows[u]:
            if v <= u:
                continue
            x, y = rows[v], rows[u]  # v's row walked by q, u's row drives
            up += sum(1 for t in x if t > v)
            stop = max(v, x[0] - 1)
            q = len(x) - 1
            for t in reversed(y):
                if t <= stop:
                    break
                while x[q] > t:
                    q -= 1
                if x[q] != t:
                    continue
                if q == 0:
                    break
                q -= 1
            down += len(x) - q
    return down, up


def test_the_merge_walk_is_the_count_the_emitted_merge_walks():
    # fails if the model counts both rows' kept parts (merge_work: 1.7-1.9x here) or
    # the kept part of v's row when the merge runs down (the walk stops at u's last head)
    g = cs.Graph.kronecker(8, seed=0)
    st = GraphStats.of(g)
    for order in ("id", "degree"):
        down, up = _walk_down(g, order)
        assert st.merge_walk(order, down=True) == down
        assert st.merge_walk(order, down=False) == up
        assert down < up < st.merge_work(order)
