"""Issue 5 benchmark: the generated C++ against igraph and SuiteSparse:GraphBLAS.

    python bench/bench_cpp.py [--scales 16 18] [--repeat 3] [--out bench/results/cpp.json]

BFS, SSSP, PageRank, CC and TC on Kronecker graphs.  cosynth: the blade program on one
blade with both cores (OpenMP), kernel time as the program measures it (graph loading
excluded), for every planning variant (the planner's choice is marked); then the same on
2 and 4 blades.  igraph (python-igraph, C) and SuiteSparse:GraphBLAS (python-graphblas;
graphblas-algorithms for BFS, SSSP, PageRank and triangles; CC as GraphBLAS min-label
propagation, the textbook formulation, since graphblas-algorithms has none) on the same
graph, built before timing, with 2 threads.  Every result is checked against cosynth's.
Targets: faster than igraph on every kernel; no slower than 1.5x GraphBLAS on BFS, SSSP,
PageRank and CC.  Ratios are reported: other / cosynth (> 1 means cosynth is faster).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from common import ROOT, best_of, machine, write_json

import cosynth as cs
from cosynth.backends.rtl.costs import fpga_profile
from cosynth.check import compare_results
from cosynth.loader import load_kernels
from cosynth.pipeline import simulate
from cosynth.planner import PLAN_VARIANTS, load_manifest

ALGOS = ("bfs", "sssp", "pagerank", "cc", "tc")


def igraph_runs(g: cs.Graph, src: int):
    import igraph as ig
    und = g.edge_src < g.out_dst  # each undirected edge once
    G = ig.Graph(n=g.n, edges=np.stack([g.edge_src[und], g.out_dst[und]], 1).tolist(),
                 directed=False)
    G.es["weight"] = g.weight[und].tolist()

    def bfs():
        vids, layers, _ = G.bfs(src)
        depth = np.full(g.n, np.iinfo(np.int64).max, dtype=np.int64)
        for d in range(len(layers) - 1):
            depth[vids[layers[d]:layers[d + 1]]] = d
        return depth

    def sssp():
        return np.array(G.distances(src, weights="weight", algorithm="dijkstra")[0])

    def cc():
        memb = np.array(G.connected_components().membership)
        first = np.full(memb.max() + 1, g.n)
        np.minimum.at(first, memb, np.arange(g.n))
        return first[memb]

    return {"bfs": bfs, "sssp": sssp, "pagerank": lambda: np.array(G.pagerank(weights=None)),
            "cc": cc, "tc": lambda: len(G.list_triangles())}


def graphblas_runs(g: cs.Graph, src: int):
    import graphblas as gb
    import graphblas_algorithms as ga
    gb.ss.config["nthreads"] = 2
    A = gb.Matrix.from_csr(g.out_indptr, g.out_dst, g.weights_or_ones(), nrows=g.n,
                           ncols=g.n)
    G = ga.Graph(A)
    Gu = ga.Graph(gb.Matrix.from_csr(g.out_indptr, g.out_dst, np.ones(g.m), nrows=g.n,
                                     ncols=g.n))
    alg = ga.algorithms

    def bfs():
        v = alg.single_source_shortest_path_length(Gu, src)
        out = np.full(g.n, np.iinfo(np.int64).max, dtype=np.int64)
        idx, vals = v.to_coo()
        out[idx] = vals
        return out

    def sssp():
        v = alg.single_source_bellman_ford_path_length(G, src)
        out = np.full(g.n, np.inf)
        idx, vals = v.to_coo()
        out[idx] = vals
        return out

    def pagerank():
        return alg.pagerank(Gu).to_dense(fill_value=0.0)

    B = gb.Matrix.from_csr(g.out_indptr, g.out_dst, np.ones(g.m, dtype=np.int64), nrows=g.n,
                           ncols=g.n)

    def cc():  # min-label propagation: labels = min(labels, min over neighbours)
        lab = gb.Vector.from_dense(np.arange(g.n, dtype=np.int64))
        while True:
            nxt = gb.Vector(gb.dtypes.INT64, g.n)
            nxt << B.mxv(lab, gb.semiring.min_second)
            nxt << gb.binary.min(nxt | lab)
            if nxt.isequal(lab):
                return lab.to_dense()
            lab = nxt

    return {"bfs": bfs, "sssp": sssp, "pagerank": pagerank, "cc": cc,
            "tc": lambda: alg.total_triangles(Gu)}


def cosynth_time(k, man, g, args, variant, blades, repeat, threads):
    best, sim = float("inf"), None
    for _ in range(repeat):
        sim = simulate(k, man, g, args, blades=blades, variant=variant, check=False,
                       threads=threads, timeout=1800)
        best = min(best, max(s["total"] for s in sim.stats))
    return best, sim


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=int, nargs="+", default=[16, 18])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--algorithms", nargs="+", default=list(ALGOS))
    ap.add_argument("--out", default=f"{ROOT}/bench/results/cpp.json")
    a = ap.parse_args()
    single = load_manifest(f"{ROOT}/manifests/single.yaml")
    rack = load_manifest(f"{ROOT}/manifests/rack16.yaml")
    # the planner's choice with the defaults, and with a model calibrated on this machine
    # (kron-11..13: smaller graphs than the benchmark's)
    import tempfile

    from cosynth.calibrate import calibrate
    cal_path = os.path.join(tempfile.mkdtemp(prefix="cosynth-bench-"), "single.cal.yaml")
    kernels = [load_kernels(f"{ROOT}/examples/{n}.py")[n] for n in a.algorithms]
    t0 = time.perf_counter()
    calibrate(f"{ROOT}/manifests/single.yaml", cal_path, kernels=kernels, fpga=False)
    print(f"calibrated in {time.perf_counter() - t0:.1f} s", flush=True)
    calibrated = load_manifest(cal_path)
    rows = []
    for scale in a.scales:
        g = cs.Graph.kronecker(scale, seed=0)
        src = int(g.out_degrees().argmax())
        print(f"kron-{scale}: {g!r}", flush=True)
        igr, gbr = igraph_runs(g, src), graphblas_runs(g, src)
        for name in a.algorithms:
            k = load_kernels(f"{ROOT}/examples/{name}.py")[name]
            args = {"source": src} if name in ("bfs", "sssp") else {}
            from cosynth.planner import make_plan
            chosen = make_plan(k, single, g, args, fpga=fpga_profile).variant
            chosen_cal = make_plan(k, calibrated, g, args, fpga=fpga_profile).variant
            t_ig, r_ig = best_of(igr[name], a.repeat)
            t_gb, r_gb = best_of(gbr[name], a.repeat)
            times = {}
            for v in PLAN_VARIANTS:  # every variant's result is checked, not only the first
                t, sim = cosynth_time(k, single, g, args, v, 1, a.repeat, os.cpu_count())
                times[v] = t
                _check(name, sim.results, r_ig, r_gb)
            best_v = min(times, key=times.get)
            multi = {}
            for P in (2, 4):
                t, _ = cosynth_time(k, rack, g, args, best_v, P, 1, 1)
                multi[P] = t
            row = {"algorithm": name, "graph": f"kron-{scale}", "n": g.n, "m": g.m,
                   "cosynth_variants_s": times, "planner_variant": chosen,
                   "best_variant": best_v, "cosynth_s": times[best_v],
                   "cosynth_planner_choice_s": times[chosen],
                   "planner_variant_calibrated": chosen_cal,
                   "cosynth_calibrated_choice_s": times[chosen_cal], "igraph_s": t_ig,
                   "graphblas_s": t_gb, "igraph_over_cosynth": t_ig / times[best_v],
                   "graphblas_over_cosynth": t_gb / times[best_v],
                   "blades_s": {"1": times[best_v], "2": multi[2], "4": multi[4]}}
            rows.append(row)
            print(f"kron-{scale} {name:8s} cosynth {times[best_v] * 1e3:9.2f} ms ({best_v}; "
                  f"planner: {chosen} {times[chosen] * 1e3:.2f} ms, calibrated planner: "
                  f"{chosen_cal} {times[chosen_cal] * 1e3:.2f} ms)  igraph "
                  f"{t_ig * 1e3:9.2f} ms ({t_ig / times[best_v]:5.2f}x)  graphblas "
                  f"{t_gb * 1e3:9.2f} ms ({t_gb / times[best_v]:5.2f}x)  2 blades "
                  f"{multi[2] * 1e3:.2f} ms  4 blades {multi[4] * 1e3:.2f} ms", flush=True)
    write_json(a.out, {"benchmark": "cpp", "when": time.strftime("%Y-%m-%d %H:%M"),
                       "machine": machine(), "runs": rows})
    print(f"wrote {a.out}")


def _check(name, ours, r_ig, r_gb):
    ours0 = ours[0]
    if name == "tc":
        assert int(ours0) == int(r_ig) == int(r_gb), (ours0, r_ig, r_gb)
        return
    if name == "pagerank":
        # igraph (PRPACK) solves exactly; the power iteration stops when its L1 change is
        # below n * tol (networkx's rule), which bounds its L1 error by that / (1 - alpha)
        n = len(ours0)
        bound = n * 1e-6 / (1 - 0.85)
        l1 = float(np.abs(ours0 - r_ig).sum())
        assert l1 <= bound, f"PageRank differs from igraph by {l1} (L1) > {bound}"
        compare_results(ours0, r_gb, rtol=1e-4, atol=1e-9, against="GraphBLAS")
        return
    compare_results(ours0, r_ig, against="igraph")
    compare_results(ours0, r_gb, against="GraphBLAS")


if __name__ == "__main__":
    main()
