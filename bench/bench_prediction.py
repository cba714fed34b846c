"""Issue 17 item 6: the calibrated cost model's prediction error, every example kernel, on
Kronecker graphs of the scales given (one blade, the planner's variant, one thread).

    python bench/bench_prediction.py --manifest single.calibrated.yaml [--scales 16 18 20]
        [--kernels bfs sssp ...] [--repeat 2] [--out bench/results/prediction.json]
    python bench/bench_prediction.py --manifest M --replay RUNS.json [...] [--out X]

``--replay`` runs no kernel: it re-predicts the runs saved in earlier outputs of this
benchmark with manifest M and the model of this checkout, each with the variant and the
vertex layout it ran with (forced, whatever the model would choose now), against the saved
measured seconds (per run and per nest, the CPU clock).  So a model change is judged on
quiet measurements whatever the machine runs meanwhile.

The manifest should be a ``cosynth calibrate`` copy (the default calibration graphs are
kron-11..13: every table fits the second-level cache there, so the figures at 16..20 are
extrapolations, the working-set term's job).  Per run: the kernel's measured time (the
sum of its nests' own clocks, best of ``--repeat`` runs by the CPU clock; every run's
CPU seconds are kept as ``measured_cpu_repeats_s`` to show the spread) by the wall clock and by the
timing thread's CPU clock (``nest_done``: at one thread the CPU seconds are the run's time
on a core of its own, whatever else the machine runs; the wall clock adds the time others
took), and what the model predicts for it, with the two-level working-set term and with
the L2 term off (the one-level model of the previous round); error = predicted /
measured - 1, against both clocks; the target is |error| < 25% (on a quiet machine, where
the two clocks agree).  Per nest the same figures are kept in the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace

from common import ROOT, machine, write_json

import cosynth as cs
from cosynth.backends.cpp import layout
from cosynth.calibrate import _sample_args
from cosynth.loader import load_kernels
from cosynth.pipeline import SimResult, _plan, compare, simulate
from cosynth.planner import load_manifest
from cosynth.planner.plan import Choice

KERNELS = ("bfs", "sssp", "pagerank", "cc", "kcore", "tc", "bc")
TARGET = 0.25


def one_level(man):
    """``man`` with the L2 term off (``cpu_seconds_per_l2_miss`` = 0)."""
    kinds = tuple(replace(k, calibration={**k.calibration, "cpu_seconds_per_l2_miss": 0.0})
                  for k in man.kinds)
    return replace(man, kinds=kinds)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--scales", type=int, nargs="+", default=[16, 18, 20])
    ap.add_argument("--kernels", nargs="+", default=list(KERNELS), choices=KERNELS)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", default=f"{ROOT}/bench/results/prediction.json")
    ap.add_argument("--replay", nargs="+", metavar="RUNS.json",
                    help="re-predict the runs saved in these outputs; run no kernel")
    a = ap.parse_args()
    man = load_manifest(a.manifest)
    if a.replay:
        return replay(a, man)
    man1 = one_level(man)
    rows = []
    for scale in a.scales:
        g = cs.Graph.kronecker(scale, seed=0)
        for name in a.kernels:
            k = load_kernels(f"{ROOT}/examples/{name}.py")[name]
            args = _sample_args(k, g)
            best, cpus = None, []
            for _ in range(a.repeat):
                sim = simulate(k, man, g, args, blades=1, check=False, threads=1,
                               timeout=3600)
                wall, cpu = measured(sim)
                cpus.append(cpu)
                key = cpu if cpu is not None else wall  # best by the CPU clock
                if best is None or key < best[0]:
                    best = (key, wall, cpu, sim)
            _, wall, cpu, sim = best
            pred2 = sim.predicted[0]
            pred1 = compare(k, man1, g, args, sim)[0]
            p2, p1 = pred2["predicted_s"], pred1["predicted_s"]
            nests = [{**r, "measured_cpu_s": _cpu(sim, r["line"])} for r in pred2["nests"]]
            row = {"graph": f"kron-{scale}", "kernel": name, "variant": sim.plan.variant,
                   "measured_s": wall, "measured_cpu_s": cpu, "predicted_s": p2,
                   "measured_cpu_repeats_s": cpus,
                   "error": _err(p2, wall), "error_cpu": _err(p2, cpu),
                   "predicted_one_level_s": p1,
                   "error_one_level": _err(p1, wall), "error_one_level_cpu": _err(p1, cpu),
                   "layout": _layout(sim.plan),
                   "calibrated": all(r["calibrated"] for r in pred2["nests"]),
                   "nests": nests, "load": os.getloadavg()[0]}
            rows.append(row)
            print(f"kron-{scale} {name:9s} {sim.plan.variant:8s} predicted {p2 * 1e3:10.1f} ms"
                  f" | cpu {cpu * 1e3:10.1f} ms ({_pct(row['error_cpu'])})"
                  f" | wall {wall * 1e3:10.1f} ms ({_pct(row['error'])})"
                  f" | one-level {p1 * 1e3:10.1f} ms (cpu {_pct(row['error_one_level_cpu'])})"
                  f"  load {row['load']:.1f}", flush=True)
            _write(a, rows)
    _write(a, rows)
    for clock, key in (("cpu", "error_cpu"), ("wall", "error")):
        ok = sum(r[key] is not None and abs(r[key]) < TARGET for r in rows)
        print(f"within {TARGET:.0%} by the {clock} clock: {ok} of {len(rows)}")
    print(f"wrote {a.out}")


def replay(a, man) -> None:
    """Re-predict saved runs (see the module's docstring)."""
    saved = []
    for path in a.replay:
        with open(path) as f:
            doc = json.load(f)
        saved += [(doc.get("manifest", ""), r) for r in doc["runs"]]
    rows, graphs, older = [], {}, {}
    for measured_with, r in saved:
        scale = int(r["graph"].split("-")[1])
        if scale not in graphs:
            graphs.clear()  # one graph at a time: kron-20's tables are large
            graphs[scale] = cs.Graph.kronecker(scale, seed=0)
        g = graphs[scale]
        k = load_kernels(f"{ROOT}/examples/{r['kernel']}.py")[r["kernel"]]
        args = _sample_args(k, g)
        lay = r.get("layout")
        if lay is None:  # an output older than the field: the layout the run's own
            # manifest chose (its plan is deterministic)
            if measured_with not in older:
                older[measured_with] = load_manifest(measured_with)
            lay = _layout(_plan(k, older[measured_with], g, args, 1, "cbc", 10.0, "",
                                r["variant"]))
        plan = _plan(k, man, g, args, 1, "cbc", 10.0, "", r["variant"])
        plan.choices = [c for c in plan.choices if c.what != "layout"]
        if lay != "as given":
            plan.choices.append(Choice("layout", lay, "as the saved run was laid out"))
        nests = {str(n["line"]): {"fpga": False, "cycles": 0, "runs": n["measured_runs"],
                                  "seconds": n["measured_cpu_s"] or 0.0,
                                  "edges": n["measured_edges"], "nodes": n["measured_nodes"]}
                 for n in r["nests"]}
        sim = SimResult(results=(), names=[], plan=plan, stats=[{"nests": nests}],
                        threads=1)
        pred = compare(k, man, g, args, sim)[0]
        p, cpu = pred["predicted_s"], r["measured_cpu_s"]
        row = {"graph": r["graph"], "kernel": r["kernel"], "variant": r["variant"],
               "layout": lay, "predicted_s": p, "measured_cpu_s": cpu,
               "error_cpu": _err(p, cpu), "saved_error_cpu": r.get("error_cpu"),
               "nests": [{**n, "measured_cpu_s": n["measured_s"]} for n in pred["nests"]]}
        rows.append(row)
        print(f"{r['graph']:8s} {r['kernel']:9s} {r['variant']:8s} {lay:12s} predicted "
              f"{p * 1e3:10.1f} ms | cpu {cpu * 1e3:10.1f} ms ({_pct(row['error_cpu'])}; "
              f"saved {_pct(row['saved_error_cpu'])})", flush=True)
        for n in row["nests"]:
            print(f"    line {n['line']:3d} predicted {n['predicted_s'] * 1e3:9.2f} ms "
                  f"{n['predicted_runs']:8.2f} runs {n['predicted_edges']:10.4g} edges | "
                  f"measured {n['measured_s'] * 1e3:9.2f} ms {n['measured_runs']:6d} runs "
                  f"{n['measured_edges']:10.4g} edges")
    ok = sum(r["error_cpu"] is not None and abs(r["error_cpu"]) < TARGET for r in rows)
    print(f"within {TARGET:.0%} by the cpu clock: {ok} of {len(rows)}")
    write_json(a.out, {"benchmark": "prediction replay", "when": time.strftime("%Y-%m-%d %H:%M"),
                       "manifest": os.path.abspath(a.manifest), "replayed": a.replay,
                       "machine": machine(), "target": TARGET, "runs": rows})
    print(f"wrote {a.out}")


def _layout(plan) -> str:
    return "degree order" if layout.chosen(plan) else "as given"


def _cpu(sim, line: int) -> float | None:
    rec = sim.stats[0].get("nests", {}).get(str(line))
    if rec is None:
        return 0.0
    c = rec.get("cpu_seconds", -1)
    return c if c >= 0 else None


def measured(sim) -> tuple[float, float | None]:
    """The run's kernel time by the wall clock and by the CPU clock (None when some
    nest's CPU seconds are unknown): the sums over the nests the model predicts."""
    rows = sim.predicted[0]["nests"]
    wall = sum(r["measured_s"] for r in rows)
    cpus = [_cpu(sim, r["line"]) for r in rows]
    return wall, (None if any(c is None for c in cpus) else sum(cpus))


def _err(pred: float, meas: float | None) -> float | None:
    return pred / meas - 1 if meas else None


def _pct(e: float | None) -> str:
    return "   n/a" if e is None else f"{e:+5.0%}"


def _write(a, rows) -> None:
    write_json(a.out, {"benchmark": "prediction", "when": time.strftime("%Y-%m-%d %H:%M"),
                       "manifest": os.path.abspath(a.manifest), "machine": machine(),
                       "load_average": os.getloadavg(), "target": TARGET, "runs": rows})


if __name__ == "__main__":
    main()
