"""Graphs larger than the part through ``cosynth simulate --fpga``: interval units in the
blade programs, on two blades, against the planner's FPGA time.

    python bench/bench_interval_cosim.py [--scales 16 18] [--kernels bfs sssp_int cc]
                                         [--manifest manifests/pair.yaml] [--blades 2]
                                         [--timeout 3600]

For each (kron graph, kernel): the plan (variant, the interval unit the planner sized from
the part: interval, PEs, FIFO, memory), the run checked against the interpreter and
networkx/scipy (``simulate`` raises on a mismatch), per FPGA blade its unit calls, edges
streamed, run cycles, edges per clock, and the planner's FPGA time against the
co-simulated cycles at the blade's clock:

* ``planner_error``: the planner's prediction for the FPGA nests (``predict_nests`` with
  the graph: calls from the workload model, each call's block walk from
  ``interval_costs.predict_run``) against the measured cycles;
* ``cycle_model_error``: the same block-walk model given the measured number of runs (a
  call runs each rule of its site) and edges (what is left when the workload model's
  superstep count is right).

Writes bench/results/interval_cosim.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.common import machine, write_json  # noqa: E402

KERNELS = {"bfs": "bfs", "sssp_int": "sssp", "cc": "cc"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", nargs="*", type=int, default=[16, 18])
    ap.add_argument("--kernels", nargs="*", default=list(KERNELS))
    ap.add_argument("--manifest", default=os.path.join(ROOT, "manifests", "pair.yaml"))
    ap.add_argument("--blades", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=3600.0,
                    help="seconds the blades' run may take (kron-20 SSSP/CC on a shared "
                         "machine need more than the default)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results",
                                                  "interval_cosim.json"))
    a = ap.parse_args()
    import numpy as np

    import cosynth as cs
    from cosynth.backends.rtl import interval_costs
    from cosynth.loader import load_kernels
    from cosynth.pipeline import simulate
    from cosynth.planner import load_manifest
    from cosynth.planner.stats import GraphStats
    man = load_manifest(a.manifest)
    rows = []
    for scale in a.scales:
        g = cs.Graph.kronecker(scale, seed=1)
        stats = GraphStats.of(g, f"kron-{scale}")
        for name in a.kernels:
            kf = load_kernels(os.path.join(ROOT, "examples", f"{KERNELS[name]}.py"))[name]
            args = {} if name == "cc" else {"source": int(np.argmax(g.out_degrees()))}
            t0 = time.perf_counter()
            sim = simulate(kf, man, g, args, blades=a.blades, fpga=True,
                           timeout=a.timeout)
            wall = time.perf_counter() - t0
            prof = interval_costs.fpga_profile(sim.plan.variant_ir, sim.plan.variant)
            blades = []
            for b, st, clock, pred in zip(sim.plan.blades, sim.stats, sim.fpga_clock_hz,
                                          sim.predicted):
                if b.device != "fpga":
                    continue
                f = st["fpga"]
                use = b.fpga_use.get("unit") or {"kind": "whole"}
                fn = [r for r in pred["nests"] if r["device"] == "fpga"]
                p_s = sum(r["predicted_s"] for r in fn)
                m_s = f["run_cycles"] / clock
                vshare = (b.hi - b.lo) / g.n
                per_run = f["edges"] / f["runs"] if f["runs"] else 0.0  # a rule's run
                one = prof.run_cycles(use, g.n, per_run, vshare) if f["runs"] else 0.0
                model = f["runs"] * one if one is not None else None
                blades.append({
                    "blade": b.blade, "calls": f["calls"], "runs": f["runs"], "edges": f["edges"],
                    "run_cycles": f["run_cycles"], "device_cycles": f["device_cycles"],
                    "stalls": f["stalls"], "hazards": f["hazards"],
                    "edges_per_clock": f["edges"] / f["run_cycles"] if f["run_cycles"] else 0,
                    "clock_hz": clock, "measured_fpga_s": m_s,
                    "planner_fpga_s": p_s,
                    "planner_calls": sum(r["predicted_runs"] for r in fn),
                    "planner_edges": sum(r["predicted_edges"] for r in fn),
                    "planner_error": (p_s - m_s) / m_s if m_s else None,
                    "model_cycles_at_measured_calls": model,
                    "cycle_model_error": (model - f["run_cycles"]) / f["run_cycles"]
                    if model and f["run_cycles"] else None})
            row = {"graph": f"kron-{scale}", "n": g.n, "m": g.m, "kernel": name,
                   "variant": sim.plan.variant, "blades": len(sim.plan.blades),
                   "unit": sim.plan.blades[0].fpga_use.get("unit"), "checks": sim.checks,
                   "seconds": {k: round(v, 2) for k, v in sim.seconds.items()},
                   "wall_s": round(wall, 1), "fpga_blades": blades,
                   "stats_edges_in_blade0": stats.edges_in(sim.plan.blades[0].lo,
                                                           sim.plan.blades[0].hi)}
            rows.append(row)
            print({k: row[k] for k in ("graph", "kernel", "variant", "wall_s")},
                  [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in x.items()
                    if k in ("calls", "planner_calls", "edges_per_clock", "planner_error",
                             "cycle_model_error")} for x in blades], flush=True)
            write_json(a.out, {"benchmark": "interval_cosim", "machine": machine(),
                               "manifest": a.manifest, "rows": rows})
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
