"""The guard term: a vertex scan that branches on a flag a peel sets (k-core's ``if not
removed[v]``) pays a misprediction at about every change of the flag along its scan
(``workload.peel_guard_flips``, ``cost.guard_flip_seconds``), counted exactly from the
peel in the blade's numbering, priced by the calibrated ``cpu_seconds_per_flip``."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import yaml

import cosynth as cs
from cosynth.backends.cpp.layout import degree_order
from cosynth.calibrate import _less_flips, line_laws
from cosynth.frontend.rewrite import variant
from cosynth.planner import GraphStats, load_manifest
from cosynth.planner.cost import guard_flip_seconds, predict_nests
from cosynth.planner.workload import no_fpga, profile
from tests.helpers import ROOT, example

SINGLE = f"{ROOT}/manifests/single.yaml"


def _kcore(scale: int):
    g = cs.Graph.kronecker(scale, seed=0)
    st = GraphStats.of(g)
    kf = example("kcore")
    kv, _ = variant(kf.ir, "par")
    return g, st, kv, profile(kv, "par", st, kf.bind(g), fpga=no_fpga)


def _scan_changes(g, perm: np.ndarray) -> tuple[int, int]:
    """(changes at the level scans, at the select sweeps) of ``removed`` along the scan
    ``perm`` (scan position -> user id), by running the rewritten k-core's schedule in
    numpy: per level a scan (``if not removed[v]``), then sweeps (select ``not
    removed[v] and deg[v] <= k``, expand) until a sweep selects nothing."""
    deg = g.out_degrees().astype(np.int64)
    removed = np.zeros(g.n, bool)

    def changes() -> int:
        x = removed[perm]
        return int(np.count_nonzero(x[1:] != x[:-1]))
    at_levels = at_sweeps = 0
    while not removed.all():
        at_levels += changes()
        k = deg[~removed].min()
        while True:
            at_sweeps += changes()
            sel = ~removed & (deg <= k)
            if not sel.any():
                break
            removed |= sel
            for v in np.flatnonzero(sel):
                np.subtract.at(deg, g.out_dst[g.out_indptr[v]:g.out_indptr[v + 1]], 1)
    return at_levels, at_sweeps


def test_the_flips_are_the_changes_of_the_flag_along_each_scan():
    """The count equals a direct count of the changes of ``removed`` along every scan of
    the level loop (line 27) and of the select loop (line 34), as numbered and in the
    degree-ordered layout the bundle writes; only those two nests count any (the expand
    loop branches on the frontier table, not on the peel's flag).  Fails when a scan is
    missed, the runs are mixed up (level vs sweep), or the numbering is not the layout's."""
    g, st, _, w = _kcore(10)
    flipped = [n for n in w.nests if n.flips]
    assert sorted(n.line for n in flipped) == [27, 34]
    level, select = sorted(flipped, key=lambda n: n.line)
    p = degree_order(g)
    perm_deg = np.empty(g.n, dtype=np.int64)
    perm_deg[p] = np.arange(g.n)
    for order, perm in (("id", np.arange(g.n)), ("degree", perm_deg)):
        at_levels, at_sweeps = _scan_changes(g, perm)
        assert abs(level.runs * level.flips[order] - at_levels) < 1e-6 * at_levels
        assert abs(select.runs * select.flips[order] - at_sweeps) < 1e-6 * at_sweeps
    assert level.flips["degree"] < level.flips["id"] / 5


def test_two_numberings_predict_different_scan_times():
    """Calibrated, the same k-core nests predict less time in the degree-ordered layout
    (the flag changes rarely along it) than as numbered, by exactly the changes saved at
    ``cpu_seconds_per_flip``; uncalibrated the term is off.  Fails when the flips are
    ignored (both numberings then predict the same)."""
    _, st, _, w = _kcore(10)
    kind = load_manifest(SINGLE).kinds[0]
    assert guard_flip_seconds(w.nests[1], kind) == 0.0  # uncalibrated: no term
    cal = replace(kind, calibration={**kind.calibration, "cpu_seconds_per_flip": 5e-9})
    got = {}
    for order in ("id", "degree"):
        w.order = order
        got[order] = predict_nests(w, cal, 1, 1.0, 1.0, graph=(st.n, st.m))
    for n in (n for n in w.nests if n.flips):
        saved = n.runs * (n.flips["id"] - n.flips["degree"]) * 5e-9
        assert saved > 0
        diff = got["id"][n.line]["seconds"] - got["degree"][n.line]["seconds"]
        assert abs(diff - saved) < 1e-9 * got["id"][n.line]["seconds"]


def test_the_law_is_fitted_on_the_time_less_the_flips(tmp_path):
    """``line_laws`` fits a nest's cost factor on its measured time less the flip term, so
    a scan whose time is (work at cost c) + (its changes x the flip cost) gets back c, not
    c inflated by the changes of the calibration graphs (which a larger graph, or a
    degree order, does not have); ``cpu_seconds_per_flip`` passes the manifest's schema.
    Fails when the term is not taken off (the factor then carries the changes)."""
    kind = load_manifest(SINGLE).kinds[0]
    c_flip, cost = 6e-9, 2.0
    machine = {"cpu_edges_per_second_per_core": 1e9, "cpu_vertices_per_second_per_core": 8e9,
               "cpu_seconds_per_run": 1e-6, "cpu_seconds_per_flip": c_flip}
    samples = []
    for scale in (8, 9, 10):
        _, st, _, w = _kcore(scale)
        nests = {}
        for line in (27,):
            ns = [n for n in w.nests if n.line == line]
            runs = sum(n.runs for n in ns)
            nodes = sum(n.runs * n.nodes for n in ns)
            flips = sum(n.runs * n.flips["id"] for n in ns)
            nests[line] = {"runs": runs, "edges": 0.0, "nodes": nodes, "fpga": False,
                           "seconds": cost * nodes / 8e9 + flips * c_flip}
        samples.append((st, w, nests))
    law = line_laws(samples, 1, machine)[27]
    assert abs(law["cost"] - cost) < 1e-3 * cost
    off = line_laws(samples, 1, {**machine, "cpu_seconds_per_flip": 0.0})[27]
    assert off["cost"] > 3 * cost  # the changes dominate these small scans
    rec = {"runs": 1, "seconds": 1e-3}
    assert _less_flips(rec, [], "id", machine, 1) == rec
    tree = yaml.safe_load(open(SINGLE).read())
    tree["calibration"] = {kind.name: {"cpu_seconds_per_flip": c_flip}}
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(tree))
    assert load_manifest(str(path)).kinds[0].cal("cpu_seconds_per_flip", 0.0) == c_flip
