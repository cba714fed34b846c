"""Issue 3 benchmark: rewritten variants interpreted (vectorised) against networkx.

    python bench/bench_rewrite.py [--scale 16] [--repeat 3] [--out bench/results/rewrite.json]

For BFS, SSSP, CC and PageRank on a Kronecker graph: every standard variant
(``par async bsp pull edges``) in the IR interpreter, and networkx on the same graph
(converted beforehand: kernel time only on both sides), best of ``--repeat`` runs.
Every result is checked against networkx.  The figure of merit is
``networkx time / best variant time`` (>= 1: at least as fast as networkx).
"""

from __future__ import annotations

import argparse
import time

import networkx as nx
from common import ROOT, best_of, machine, write_json

import cosynth as cs
from cosynth.check import compare_results
from cosynth.frontend.rewrite import variant
from cosynth.ir.interp import interpret
from cosynth.loader import load_kernels

VARIANTS = ("par", "async", "bsp", "pull", "edges")


def networkx_runs(G, src):
    return {
        "bfs": lambda: nx.single_source_shortest_path_length(G, src),
        "sssp": lambda: nx.single_source_dijkstra_path_length(G, src, weight="weight"),
        "cc": lambda: list(nx.connected_components(G)),
        "pagerank": lambda: nx.pagerank(G, weight=None),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=f"{ROOT}/bench/results/rewrite.json")
    a = ap.parse_args()
    g = cs.Graph.kronecker(a.scale, seed=0)
    src = int(g.out_degrees().argmax())
    G = g.to_networkx()
    print(f"kron-{a.scale}: {g!r}", flush=True)
    nxr = networkx_runs(G, src)
    rows = []
    for name in ("bfs", "sssp", "cc", "pagerank"):
        kf = load_kernels(f"{ROOT}/examples/{name}.py")[name]
        args = {"source": src} if name in ("bfs", "sssp") else {}
        bound = kf.bind(g, **args)
        t_nx, _ = best_of(nxr[name], a.repeat)
        want = kf.expected(g, bound)
        times = {}
        for v in VARIANTS:
            kv, steps = variant(kf.ir, v)
            t, got = best_of(lambda: interpret(kv, g, bound), a.repeat)
            compare_results(got, want, against="networkx", what=f"{name} {v}")
            times[v] = t
        best = min(times, key=times.get)
        row = {"algorithm": name, "graph": f"kron-{a.scale}", "n": g.n, "m": g.m,
               "networkx_s": t_nx, "variants_s": times, "best_variant": best,
               "best_s": times[best], "speedup_vs_networkx": t_nx / times[best]}
        rows.append(row)
        print(f"{name:9s} networkx {t_nx:7.3f}s  " + "  ".join(
            f"{v} {t:6.3f}" for v, t in times.items()) +
            f"   best {best}: {t_nx / times[best]:5.1f}x networkx", flush=True)
    write_json(a.out, {"benchmark": "rewrite", "when": time.strftime("%Y-%m-%d %H:%M"),
                       "machine": machine(), "runs": rows})
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
