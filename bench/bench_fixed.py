"""Issue 14 item 3: PageRank under fixed-point policies, in co-simulation, against networkx.

    python bench/bench_fixed.py [--scale 8] [--formats Q16.47 Q16.31 Q16.23 Q16.15]
                                [--out bench/results/fixed.json]

For each format, ``cosynth simulate --fpga --fixed <format>,atol=1e-9`` of
examples/pagerank.py on two FPGA blades of ``manifests/pair.yaml`` (the edge loop runs on
Verilator models of the unit's Verilog behind the C++ host stubs); the result's largest
absolute error against networkx and against the float interpreter of the kernel as
written, and whether the run's own check (the policy's stated atol 1e-9) accepted it.
The same plan with the FPGAs off (floats on the CPUs) is the side-by-side baseline.
Nothing is timed here beyond the wall time of each run (reported, not compared).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from common import ROOT, machine, write_json

import cosynth as cs
from cosynth.check import ATOL as ATOL_F
from cosynth.check import RTOL, compare_results, fixed_tolerance
from cosynth.errors import MismatchError
from cosynth.ir.interp import interpret
from cosynth.loader import load_kernels
from cosynth.pipeline import simulate
from cosynth.planner import load_manifest

ATOL = 1e-9


def run(scale: int, formats: list[str]) -> dict:
    man = load_manifest(os.path.join(ROOT, "manifests", "pair.yaml"))
    kf = load_kernels(os.path.join(ROOT, "examples", "pagerank.py"))["pagerank"]
    g = cs.Graph.kronecker(scale, seed=1)
    bound = kf.bind(g)
    ref = kf.expected(g, bound)[0]
    want = interpret(kf.ir, g, bound)[0]
    rows = []
    for fmt in [None] + formats:
        k = kf if fmt is None else kf.with_fixed(f"{fmt},atol={ATOL}")
        t0 = time.perf_counter()
        sim = simulate(k, man, g, {}, blades=2, fpga=fmt is not None, check="none",
                       timeout=900)
        wall = time.perf_counter() - t0
        got = sim.results[0]
        tol = {"rtol": RTOL, "atol": ATOL_F} if fmt is None else \
            fixed_tolerance({"rtol": RTOL, "atol": ATOL_F}, k.fixed)
        try:  # the check simulate makes against the kernel as written (the policy's)
            compare_results((got,), (want,), against="the IR interpreter", **tol)
            verdict = "accepted"
        except MismatchError as exc:
            verdict = "refused: " + exc.message.split(";")[0][:160]
        rows.append({
            "policy": fmt or "none (floats on the CPUs)", "graph": f"kron:{scale}",
            "n": g.n, "m": g.m,
            "devices": [b.device for b in sim.plan.blades],
            "fpga_edges": sum(st.get("fpga", {}).get("edges", 0) for st in sim.stats),
            "max_abs_err_vs_networkx": float(np.max(np.abs(got - ref))),
            "max_abs_err_vs_interpreter": float(np.max(np.abs(got - want))),
            "check": verdict, "tolerance": tol, "wall_s": wall})
        print(rows[-1])
    return {"machine": machine(), "atol": ATOL, "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=8)
    ap.add_argument("--formats", nargs="+", default=["Q16.47", "Q16.31", "Q16.23",
                                                     "Q16.15"])
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "fixed.json"))
    a = ap.parse_args()
    write_json(a.out, run(a.scale, a.formats))
    print("wrote", a.out)


if __name__ == "__main__":
    main()
