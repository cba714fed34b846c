"""Issue 2 benchmark: trace time per algorithm; plain Python and the IR interpreter
against networkx on Kronecker graphs (kron-10 .. kron-14 by default).

    python bench/bench_foundation.py [--scales 10 11 12 13 14] [--out bench/results/foundation.json]

Times are best-of-N wall seconds on this machine; the interesting figures are the ratios
(interpreter / plain Python, interpreter / networkx).  Betweenness is O(n*m) for every
implementation and runs only up to --bc-max-scale.  Every interpreter result is checked
against the plain-Python run (exactly) and networkx (within cosynth.check's tolerance).
"""

from __future__ import annotations

import argparse
import time

from common import ROOT, best_of, machine, write_json

import cosynth as cs
from cosynth.check import compare_results
from cosynth.ir.interp import interpret
from cosynth.loader import load_kernels

ALGOS = {"bfs": {"source": None}, "sssp": {"source": None}, "pagerank": {}, "cc": {},
         "tc": {}, "kcore": {}, "bc": {"undirected": True}}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=int, nargs="+", default=[10, 11, 12, 13, 14])
    ap.add_argument("--bc-max-scale", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--algorithms", nargs="+", default=list(ALGOS))
    ap.add_argument("--out", default=f"{ROOT}/bench/results/foundation.json")
    a = ap.parse_args()
    kernels = {name: load_kernels(f"{ROOT}/examples/{name}.py")[name] for name in a.algorithms}
    rows, traces = [], {}
    for name, k in kernels.items():
        from cosynth.frontend import trace_kernel
        t, _ = best_of(lambda k=k: trace_kernel(k.fn, k.weight_dtype), repeat=5)
        traces[name] = t
        print(f"trace {name:9s} {t * 1e3:7.1f} ms", flush=True)
    for scale in a.scales:
        g = cs.Graph.kronecker(scale, seed=0)
        src = int(g.out_degrees().argmax())
        for name, k in kernels.items():
            if name == "bc" and scale > a.bc_max_scale:
                continue
            args = {n: (src if v is None else v) for n, v in ALGOS[name].items()}
            bound = k.bind(g, **args)
            t_plain, plain = best_of(lambda: k(g, **args), a.repeat)
            t_ir, got = best_of(lambda: interpret(k.ir, g, bound), a.repeat)
            t_nx, want = best_of(lambda: k.expected(g, bound), a.repeat)
            compare_results(got, plain, rtol=0, atol=0, against="plain Python")
            compare_results(got, want, against="networkx")
            row = {"algorithm": name, "graph": f"kron-{scale}", "n": g.n, "m": g.m,
                   "plain_s": t_plain, "interp_s": t_ir, "networkx_s": t_nx,
                   "interp_over_plain": t_ir / t_plain, "interp_over_networkx": t_ir / t_nx}
            rows.append(row)
            print(f"kron-{scale:2d} {name:9s} plain {t_plain:8.3f}s  interp {t_ir:8.3f}s  "
                  f"networkx {t_nx:8.3f}s  interp/plain {t_ir / t_plain:5.2f}  "
                  f"interp/nx {t_ir / t_nx:6.2f}", flush=True)
    write_json(a.out, {"benchmark": "foundation", "when": time.strftime("%Y-%m-%d %H:%M"),
                       "machine": machine(), "trace_s": traces, "runs": rows})
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
