"""Issue 4 benchmark: ILP solve time and gap, and predicted makespan against baselines.

    python bench/bench_planner.py [--scale 16] [--solver cbc] [--out bench/results/planner.json]

For the seven example algorithms on the 1-, 2-, 16- and 64-blade manifests (single, pair,
rack16, cluster64) with the statistics of a Kronecker graph: the MILP's status, gap and
solve time, the plan's predicted makespan, and the same cost model's prediction for three
baselines (everything on one blade's CPU; all blades, equal vertex ranges; all blades,
equal edge shares).  Targets: every 64-blade plan in under 10 s with a gap under 1%, and
never worse than a baseline.

``--tight`` (also run by default; ``--only-tight`` alone): the 64-blade manifest with its
DRAM cut to a sixteenth of what the algorithm's data needs on one blade (plus the blade
process's own memory), so that the ILP's ghost-based DRAM constraint binds and the plan
must spread the data over many blades: solve time, blades used, the largest per-blade
DRAM of the plan against the capacity.  Written under ``tight`` in the same file.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

from common import ROOT, machine, write_json

import cosynth as cs
from cosynth.backends.rtl.costs import fpga_profile
from cosynth.loader import load_kernels
from cosynth.planner import (
    _workloads,  # noqa: PLC2701 - the same profiling make_plan does
    baselines,
    load_manifest,
)
from cosynth.planner.cost import blade_fixed
from cosynth.planner.partition import Problem
from cosynth.planner.stats import GraphStats

_SHORT = {"one blade, CPU": "1-blade", "all blades, equal vertices": "eq-vertex",
          "all blades, equal edges": "eq-edge"}
ALGOS = ("bfs", "sssp", "pagerank", "cc", "bc", "tc", "kcore")
MANIFESTS = ("single", "pair", "rack16", "cluster64")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=16)
    ap.add_argument("--solver", default="cbc", choices=("cbc", "highs"))
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--out", default=f"{ROOT}/bench/results/planner.json")
    ap.add_argument("--only-tight", action="store_true",
                    help="only the 64-blade plans whose DRAM binds; keep the other rows")
    a = ap.parse_args()
    g = cs.Graph.kronecker(a.scale, seed=0)
    stats = GraphStats.of(g, f"kron-{a.scale}")
    print(f"kron-{a.scale}: {stats.as_dict()}", flush=True)
    tight_rows = tight(stats, a)
    if a.only_tight:
        with open(a.out) as f:
            doc = json.load(f)
        doc["tight"] = tight_rows
        write_json(a.out, doc)
        print(f"wrote {a.out}")
        return
    rows = []
    for mf in MANIFESTS:
        man = load_manifest(f"{ROOT}/manifests/{mf}.yaml")
        for name in ALGOS:
            k = load_kernels(f"{ROOT}/examples/{name}.py")[name]
            work, _ = _workloads(k.ir, stats, fpga=fpga_profile)
            p = Problem(man, stats, work)
            t0 = time.perf_counter()
            out = p.solve(a.solver, a.time_limit)
            wall = time.perf_counter() - t0
            base = baselines(p)
            est = out.estimate
            worst = min(base.values()) / est.makespan if base else float("nan")
            row = {"manifest": mf, "blades": man.blades, "algorithm": name,
                   "status": out.solve.status, "gap": out.solve.gap,
                   "solve_s": out.solve.seconds, "wall_s": wall,
                   "variant": out.config.variant, "blades_used": sum(out.config.counts),
                   "fpga": any(out.config.fpga), "streamed": out.config.streamed,
                   "makespan_s": est.makespan, "baselines_s": base,
                   "best_baseline_over_plan": worst}
            rows.append(row)
            print(f"{mf:9s} {name:8s} {out.solve.status:8s} gap {100 * out.solve.gap:5.2f}% "
                  f"solve {out.solve.seconds:5.2f}s  plan {est.makespan * 1e3:9.3f} ms "
                  f"({row['variant']}, {row['blades_used']} blades)  "
                  + "  ".join(f"{_SHORT.get(b, b)} {t / est.makespan:5.2f}x"
                              for b, t in base.items()), flush=True)
    ok64 = all(r["solve_s"] < 10 and (r["gap"] or 0) < 0.01
               for r in rows if r["blades"] == 64)
    never_worse = all(r["best_baseline_over_plan"] >= 0.9999 for r in rows)
    print(f"64-blade plans under 10 s with gap < 1%: {ok64}; never worse than a baseline: "
          f"{never_worse}")
    write_json(a.out, {"benchmark": "planner", "when": time.strftime("%Y-%m-%d %H:%M"),
                       "machine": machine(), "graph": stats.as_dict(), "solver": a.solver,
                       "runs": rows, "targets": {"64_blade_under_10s_gap_under_1pct": ok64,
                                                 "never_worse_than_baselines": never_worse},
                       "tight": tight_rows})
    print(f"wrote {a.out}")


def tight(stats: GraphStats, a) -> list[dict]:
    """cluster64 with each kind's DRAM = the blade process's fixed memory + 1/16 of the
    data the algorithm's smallest variant holds on one blade: the DRAM constraint (owned
    vertices, a ghost bound per blade count, edges, the fixed memory) binds."""
    man0 = load_manifest(f"{ROOT}/manifests/cluster64.yaml")
    rows = []
    for name in ALGOS:
        k = load_kernels(f"{ROOT}/examples/{name}.py")[name]
        work, _ = _workloads(k.ir, stats, fpga=fpga_profile)
        one = min(w.blade_dram(stats.n, stats.m, stats.n, 0, 1.0) for w in work.values())
        man = replace(man0, kinds=tuple(replace(kd, dram_bytes=blade_fixed(kd) + one / 16)
                                        for kd in man0.kinds))
        p = Problem(man, stats, work)
        t0 = time.perf_counter()
        out = p.solve(a.solver, a.time_limit)
        wall = time.perf_counter() - t0
        row = {"manifest": "cluster64-tight", "algorithm": name, "status": out.solve.status,
               "solve_s": out.solve.seconds, "wall_s": wall,
               "dram_per_blade": man.kinds[0].dram_bytes, "one_blade_data": one}
        if out.estimate is not None:
            est = out.estimate
            row.update(gap=out.solve.gap, variant=out.config.variant,
                       blades_used=sum(out.config.counts), streamed=out.config.streamed,
                       makespan_s=est.makespan, violations=est.violations,
                       max_dram=max(b["dram"] for b in est.per_blade))
            print(f"tight {name:8s} {out.solve.status:8s} solve {out.solve.seconds:5.2f}s "
                  f"({row['variant']}, {row['blades_used']} blades, streamed "
                  f"{row['streamed']}) max DRAM {row['max_dram'] / 2**20:.1f} of "
                  f"{row['dram_per_blade'] / 2**20:.1f} MiB, violations "
                  f"{len(est.violations)}", flush=True)
        else:
            row["why"] = out.violations
            print(f"tight {name:8s} {out.solve.status:8s} {wall:5.2f}s: {out.violations}",
                  flush=True)
        rows.append(row)
    return rows


if __name__ == "__main__":
    main()
