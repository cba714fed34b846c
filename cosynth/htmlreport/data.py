"""What the HTML report shows, as plain data, from what planning and a run produced.

``collect(plan, manifest, graph, ...)`` reads the plan (``planner.plan.Plan``), the
manifest it was made on, the graph, and -- after ``cosynth simulate`` -- the run
(``pipeline.SimResult``); it returns a dict of lists, numbers and strings only, so the
figures and the page are drawn from one deterministic description and a test can check
it without a browser.  Nothing here is invented: every number is the planner's, the cost
model's (``planner.cost.predict_nests``), the graph's, or one a blade recorded.

Invariants: blades are listed in plan order (blade i owns vertices ``lo..hi``);
``timeline.predicted`` and ``timeline.measured`` hold one entry per blade; a measured
entry exists only with a run; every seconds value is a float >= 0.
"""

from __future__ import annotations

import numpy as np

from cosynth.backends.rtl import costs
from cosynth.planner.cost import predict_nests
from cosynth.planner.parts import lookup as part_lookup
from cosynth.planner.stats import GraphStats
from cosynth.planner.workload import at_blades, profile

__all__ = ["collect", "cut_matrix", "MAX_STEPS"]

#: supersteps drawn one by one in the timeline; later ones are summed into one segment
MAX_STEPS = 64


def collect(plan, man, graph, *, kernel=None, args: dict | None = None, sim=None,
            command: str = "plan") -> dict:
    """The report's data (see the module's invariants).  ``kernel`` (a ``cs.kernel``) and
    ``args`` let the cost model predict each loop nest for the plan report; a run (``sim``)
    brings its own comparison (``sim.predicted``)."""
    P = len(plan.blades)
    kinds = {k.name: k for k in man.kinds}
    clocks = _clocks(plan, man, sim)
    nests = _nests(plan, man, graph, kernel, args, sim, clocks)
    d = {
        "command": command,
        "kernel": plan.kernel,
        "source": plan.source,
        "variant": plan.variant,
        "manifest": plan.manifest,
        "priority": man.priority,
        "graph": dict(plan.graph),
        "predicted": dict(plan.predicted),
        "solver": dict(plan.solver),
        "blades": [_blade(b, kinds[b.kind], plan.graph["m"], clocks[i])
                   for i, b in enumerate(plan.blades)],
        "tables": [{"name": name, **lay} for name, lay in plan.layouts.items()],
        "rewrites": [dict(r) for r in plan.rewrites],
        "choices": _choices(plan),
        "baselines": [{"name": name, "seconds": t,
                       "ratio": t / plan.makespan if plan.makespan else None}
                      for name, t in plan.baselines.items()],
        "fpga": _fpga(plan, man, clocks),
        "nests": nests,
        "traffic": {"cut_edges": cut_matrix(graph, plan.shards).tolist(),
                    "measured_bytes": None},
        "timeline": {"predicted": _predicted_timeline(plan, nests, clocks),
                     "measured": None},
        "run": None,
        "checks": [],
    }
    if sim is not None:
        d["timeline"]["measured"] = [_measured_steps(st) for st in sim.stats]
        d["traffic"]["measured_bytes"] = _measured_traffic(sim.stats, P)
        d["run"] = {"seconds": {k: float(v) for k, v in sim.seconds.items()},
                    "threads": sim.threads, "cached_build": bool(sim.cached_build),
                    "blades": [_run_blade(st) for st in sim.stats],
                    "makespan_s": max((float(st["total"]) for st in sim.stats),
                                      default=0.0)}
        d["checks"] = list(sim.checks)
    return d


def cut_matrix(graph, shards) -> np.ndarray:
    """``C[i, j]``: edges from a vertex of blade i to a vertex of blade j (i != j), the
    edges whose updates cross the interconnect; the diagonal holds each blade's own."""
    lo = np.array([a for a, _ in shards], dtype=np.int64)
    owner = np.searchsorted(lo, np.arange(graph.n), side="right") - 1 if len(lo) else \
        np.zeros(graph.n, dtype=np.int64)
    P = len(shards)
    src = owner[graph.edge_src] if graph.m else np.zeros(0, dtype=np.int64)
    dst = owner[graph.out_dst] if graph.m else np.zeros(0, dtype=np.int64)
    return np.bincount(src * P + dst, minlength=P * P).reshape(P, P).astype(np.int64)


# ---------------------------------------------------------------------- pieces

def _blade(b, kind, m: int, clock: float) -> dict:
    return {"blade": b.blade, "kind": b.kind, "device": b.device, "lo": b.lo, "hi": b.hi,
            "vertices": b.hi - b.lo, "edges": b.edges,
            "edge_share": b.edges / m if m else 0.0,
            "compute_s": b.compute_s, "comm_s": b.comm_s, "stream_s": b.stream_s,
            "total_s": b.total_s, "dram_bytes": b.dram_bytes,
            "dram_total": kind.dram_bytes, "cores": kind.cpu_cores,
            "cpu_clock_hz": kind.cpu_clock_hz, "cost_per_hour": kind.cost_per_hour,
            "fpga_part": kind.fpga.part if kind.fpga else "", "fpga_clock_hz": clock}


def _clocks(plan, man, sim) -> list[float]:
    """Each blade's FPGA clock (0 for CPU blades): the run's, else the manifest's (or
    calibrated) clock lowered to a measured Fmax of this unit on the part."""
    if sim is not None and sim.fpga_clock_hz:
        return [float(c) for c in sim.fpga_clock_hz]
    spec = _unit_spec(plan)
    out = []
    for b in plan.blades:
        kind = man.kind(b.kind)
        if b.device != "fpga" or kind.fpga is None:
            out.append(0.0)
            continue
        clock = kind.cal("fpga_clock_hz", kind.fpga.clock_hz)
        got = costs.lookup(spec, kind.fpga.part) if spec is not None else None
        if got and got.get("fmax_mhz"):
            clock = min(clock, got["fmax_mhz"] * 1e6)
        out.append(float(clock))
    return out


def _unit_spec(plan):
    if plan.variant_ir is None or not any(b.device == "fpga" for b in plan.blades):
        return None
    prof = costs.fpga_profile(plan.variant_ir, plan.variant)
    return prof.spec if prof.eligible else None


def _nests(plan, man, graph, kernel, args, sim, clocks) -> list[dict]:
    """Per blade and loop nest: predicted seconds (on the manifest's machine for a plan,
    with the run's threads for a run) and measured ones (None without a run)."""
    if sim is not None:
        rows = []
        for b in sim.predicted:
            for r in b["nests"]:
                rows.append({"blade": b["blade"], "label": r["label"], "line": r["line"],
                             "device": r["device"], "predicted_s": r["predicted_s"],
                             "measured_s": r["measured_s"], "runs": r["predicted_runs"],
                             "replicated": r["replicated"]})
        return rows
    if kernel is None or plan.variant_ir is None:
        return []
    stats = GraphStats.of(graph, plan.graph.get("name") or "")
    w = profile(plan.variant_ir, plan.variant, stats, kernel.bind(graph, **(args or {})),
                laws=man.workloads, fpga=costs.fpga_profile)
    if not any(b.device == "fpga" for b in plan.blades):
        # relaxed loops' exact runs on the plan's blades where no walk of the fixed
        # point is needed, as the planner's own estimate (``cost.evaluate``) takes them
        w = at_blades(w, stats, [(b.lo, b.hi) for b in plan.blades], walk=False)
    rows = []
    for b, clock in zip(plan.blades, clocks):
        kind = man.kind(b.kind)
        share = stats.edges_in(b.lo, b.hi) / stats.m if stats.m else 1.0
        vshare = (b.hi - b.lo) / stats.n if stats.n else 1.0
        pred = predict_nests(w, kind, kind.cpu_cores, share, vshare,
                             clock if b.device == "fpga" else 0.0)
        for line, p in pred.items():
            rows.append({"blade": b.blade, "label": p["label"], "line": line,
                         "device": p["device"], "predicted_s": p["seconds"],
                         "measured_s": None, "runs": p["runs"],
                         "replicated": p.get("replicated", False)})
    return rows


def _predicted_timeline(plan, nests, clocks) -> list[dict]:
    """The plan's per-superstep time of each blade: its compute, communication and
    streaming spread evenly over the predicted supersteps, and the FPGA cycles of the
    nests the cost model puts on its unit."""
    steps = max(1, int(round(plan.predicted.get("supersteps") or 1)))
    out = []
    for b, clock in zip(plan.blades, clocks):
        fpga_s = sum(r["predicted_s"] for r in nests
                     if r["blade"] == b.blade and r["device"] == "fpga")
        out.append({"steps": steps, "compute_s": b.compute_s / steps,
                    "comm_s": (b.comm_s + b.stream_s) / steps,
                    "fpga_cycles": fpga_s * clock / steps if clock else 0.0})
    return out


def _measured_steps(st: dict) -> dict:
    """One blade's recorded supersteps: compute seconds of each distributed nest run,
    the communication until the next one, and the unit's cycles in it."""
    comp = [float(x) for x in st.get("supersteps", [])]
    comm = [float(x) for x in st.get("superstep_comm", [])]
    cyc = [int(x) for x in st.get("superstep_cycles", [])]
    n = len(comp)
    recorded = len(comm) == n
    # communication before the first superstep (initial refreshes, reductions)
    before = max(0.0, float(st.get("comm", 0.0)) - sum(comm)) if recorded and n else 0.0
    return {"compute_s": comp, "comm_s": (comm + [0.0] * n)[:n], "comm_before_s": before,
            "fpga_cycles": (cyc + [0] * n)[:n], "comm_recorded": recorded}


def _measured_traffic(stats: list[dict], P: int) -> list[list[int]] | None:
    """``B[i][j]``: bytes blade i sent to blade j, when the blades recorded it."""
    if not all("sent_to" in st for st in stats):
        return None
    out = []
    for st in stats:
        row = [int(x) for x in st["sent_to"]][:P]
        out.append(row + [0] * (P - len(row)))
    return out


def _run_blade(st: dict) -> dict:
    f = st.get("fpga") or {}
    return {"total_s": float(st["total"]), "compute_s": float(st["compute"]),
            "comm_s": float(st["comm"]), "messages": int(st["messages"]),
            "bytes": int(st["bytes"]),
            "fpga": {k: f[k] for k in ("calls", "runs", "edges", "device_cycles",
                                       "run_cycles", "stalls") if k in f}
            if f.get("fpga") else None}


def _choices(plan) -> list[dict]:
    """Each choice with its best alternative and what decided against it: ``time`` when
    the alternative is slower, ``cost per hour`` when it is faster but dearer."""
    cph = plan.predicted.get("cost_per_hour")
    fixed = set(plan.solver.get("fixed") or ())
    out = []
    for c in plan.choices:
        alt_t, alt_c = c.alternative_makespan_s, getattr(c, "alternative_cost_per_hour", None)
        lost = ""
        if c.alternative and alt_t is not None:
            if c.what in _FIXED and _FIXED[c.what][0] in fixed:
                lost = f"fixed by {_FIXED[c.what][1]}"
            elif alt_t >= plan.makespan:
                lost = "time"
            elif alt_c is not None and cph is not None and alt_c > cph:
                lost = "cost per hour"
            else:
                lost = "the solver's objective"
        out.append({"what": c.what, "chosen": c.chosen, "reason": c.reason,
                    "alternative": c.alternative, "alternative_s": alt_t,
                    "alternative_cost_per_hour": alt_c,
                    "diff": (alt_t / plan.makespan - 1) if alt_t is not None and
                    plan.makespan else None, "lost_on": lost})
    return out


#: a choice -> the key of ``make_plan(fixed=...)`` that takes it out of the ILP's hands,
#: and the option that sets it
_FIXED = {"variant": ("variant", "the variant asked for"), "blades": ("blades", "--blades"),
          "device": ("fpga", "--fpga/--no-fpga")}


def _fpga(plan, man, clocks) -> list[dict]:
    """One row per FPGA blade kind the plan uses: its unit's LUTs and block RAM against
    the part, measured flip-flops/DSPs/Fmax when ``cosynth bitstream`` built it for the
    part, and the clock used against the manifest's and the part's ceiling."""
    spec = _unit_spec(plan)
    rows, seen = [], set()
    for b, clock in zip(plan.blades, clocks):
        kind = man.kind(b.kind)
        if b.device != "fpga" or kind.fpga is None or b.kind in seen:
            continue
        seen.add(b.kind)
        f = kind.fpga
        try:
            ceiling = part_lookup(f.part).max_clock_hz
        except KeyError:
            ceiling = None
        got = costs.lookup(spec, f.part) if spec is not None else None
        use = b.fpga_use or {}
        rows.append({"kind": b.kind, "blades": [x.blade for x in plan.blades
                                                if x.kind == b.kind and x.device == "fpga"],
                     "part": f.part, "family": f.family,
                     "luts": use.get("luts"), "luts_total": f.luts,
                     "bram_bits": use.get("bram_bits"), "bram_bits_total": f.bram_bits,
                     "ffs": got["ffs"] if got else None, "ffs_total": f.ffs,
                     "dsps": got["dsp"] if got else None, "dsps_total": f.dsps,
                     "fmax_hz": (got["fmax_mhz"] or 0) * 1e6 if got else None,
                     "clock_hz": clock, "manifest_clock_hz": f.clock_hz,
                     "part_ceiling_hz": ceiling,
                     "source": use.get("fpga_figures") or ("measured" if got else
                                                           "defaults")})
    return rows
