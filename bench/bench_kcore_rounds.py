"""k-core's peel on the FPGA unit, side by side in one run: rounds streaming only the
frontier's edges (now), rounds streaming every edge of the blade's range (the stream
filter and the parameter guard switched off: last stop's unit) and one unit call per
removed vertex (the rule ``rounds`` switched off).

    python bench/bench_kcore_rounds.py [--scales 7 10] [--modes frontier range per-vertex]
                                       [--manifest manifests/pair.yaml] [--blades 2]

Each run is ``simulate --fpga`` (checked against the IR interpreter and networkx
``core_number``; a mismatch raises).  Per FPGA blade: unit calls, runs, edges streamed,
unit run cycles, host transfer entries, host sync figures (entries compared, seconds),
the planner's FPGA edges and cycles (``cost.fpga_nest``; it models the host as it is, so
its figures match the ``frontier`` rows), and ``degree_sum``: the out-degrees of the
blade's vertices, which is what the frontier rounds must stream in all (each vertex's
out-edges once, in the round that removes it; the in-edge rule streams nothing without
``use_in_edges``: ``host.param_guards``).  Co-simulated cycles do not depend on the
machine's load; the seconds do.  Writes bench/results/kcore_rounds.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.common import machine, write_json  # noqa: E402

MODES = ("frontier", "range", "per-vertex")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", nargs="*", type=int, default=[7, 10])
    ap.add_argument("--modes", nargs="*", default=list(MODES), choices=MODES)
    ap.add_argument("--manifest", default=os.path.join(ROOT, "manifests", "pair.yaml"))
    ap.add_argument("--blades", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=3600.0)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results",
                                                  "kcore_rounds.json"))
    a = ap.parse_args()
    import numpy as np

    import cosynth as cs
    from cosynth.backends.rtl import interval_costs, offload
    from cosynth.frontend.rewrite import rounds
    from cosynth.loader import load_kernels
    from cosynth.pipeline import simulate
    from cosynth.planner import load_manifest
    from cosynth.planner.cost import fpga_nest
    from cosynth.planner.stats import GraphStats
    from cosynth.planner.workload import at_blades, profile
    man = load_manifest(a.manifest)
    kf = load_kernels(os.path.join(ROOT, "examples", "kcore.py"))["kcore"]
    keep_filter, keep_guards, keep_apply = offload.stream_filter, offload.param_guards, \
        rounds.apply
    rows = []
    for scale in a.scales:
        g = cs.Graph.kronecker(scale, seed=0)
        # the kernel's default use_in_edges=False: its in-edge rule streams nothing
        deg = np.asarray(g.out_degrees(), dtype=np.int64)
        for mode in a.modes:
            offload.stream_filter = keep_filter if mode == "frontier" else \
                (lambda spec, r: None)
            offload.param_guards = keep_guards if mode == "frontier" else \
                (lambda spec, r: ())
            rounds.apply = keep_apply if mode != "per-vertex" else (
                lambda k, path, policy=None: rounds.refused(rounds.NAME, path,
                                                            "off for the A/B run"))
            try:
                t0 = time.perf_counter()
                sim = simulate(kf, man, g, {}, blades=a.blades, fpga=True,
                               timeout=a.timeout)
                wall = time.perf_counter() - t0
            finally:
                offload.stream_filter, rounds.apply = keep_filter, keep_apply
                offload.param_guards = keep_guards
            # the planner's FPGA cycles of the unit's nests (``cost.fpga_nest``), on the
            # workload ``pipeline.compare`` builds: its per-line rows add the select loop's
            # CPU time to the expand loop's (both at the sweep's source line)
            stats = GraphStats.of(g, f"kron-{scale}")
            w = profile(sim.plan.variant_ir, sim.plan.variant, stats, kf.bind(g),
                        laws=man.workloads, fpga=interval_costs.fpga_profile)
            w = at_blades(w, stats, [(b.lo, b.hi) for b in sim.plan.blades])
            blades = []
            for b, st, clock, pred in zip(sim.plan.blades, sim.stats, sim.fpga_clock_hz,
                                          sim.predicted):
                if b.device != "fpga":
                    continue
                f = st["fpga"]
                fn = [r for r in pred["nests"] if r["device"] == "fpga"]
                share, vshare = stats.edges_in(b.lo, b.hi) / g.m, (b.hi - b.lo) / g.n
                got = [fpga_nest(w, x, man.kind(b.kind), (g.n, g.m), share, vshare)
                       for x in w.nests if x.fpga_ok and x.edges > 0]
                p_e, p_c = sum(x[0] for x in got), sum(x[1] for x in got)
                blades.append({
                    "blade": b.blade, "lo": b.lo, "hi": b.hi, "calls": f["calls"],
                    "runs": f["runs"], "edges": f["edges"], "run_cycles": f["run_cycles"],
                    "device_cycles": f["device_cycles"],
                    "transfer_entries": f["transfer_entries"],
                    # sync's host side: entries compared with the unit's image (every
                    # entry of every table, each call) and its seconds, of the calls'
                    "compared_entries": f.get("compared_entries"),
                    "sync_s": f.get("sync_seconds"), "host_call_s": f.get("seconds"),
                    "degree_sum": int(deg[b.lo:b.hi].sum()),
                    "planner_runs": sum(r["predicted_runs"] for r in fn),
                    "planner_edges": p_e,
                    "planner_edge_error": (p_e - f["edges"]) / f["edges"]
                    if f["edges"] else None,
                    "planner_cycles": p_c,
                    "planner_cycle_error": (p_c - f["run_cycles"]) / f["run_cycles"]
                    if f["run_cycles"] else None,
                    "planner_line_s": sum(r["predicted_s"] for r in fn),
                    "measured_fpga_s": f["run_cycles"] / clock, "clock_hz": clock})
            row = {"graph": f"kron-{scale}", "n": g.n, "m": g.m, "mode": mode,
                   "variant": sim.plan.variant, "checks": sim.checks,
                   "wall_s": round(wall, 1), "fpga_blades": blades}
            rows.append(row)
            print(row["graph"], mode, [(x["calls"], x["edges"], x["degree_sum"],
                                        x["run_cycles"], round(x["planner_cycles"]),
                                        x["transfer_entries"], round(x["planner_edges"]))
                                       for x in blades], flush=True)
            write_json(a.out, {"benchmark": "kcore_rounds", "machine": machine(),
                               "manifest": a.manifest, "rows": rows})
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
