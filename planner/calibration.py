"""The cost model calibrated by measurement: fitting it, applying it, checking it.

Two kinds of figures come from runs of the generated programs (``cosynth calibrate``
makes the runs, ``cosynth.calibrate``):

* the machine's, per blade kind (``manifest.CALIBRATABLE``): one core's edge and vertex
  rates and the seconds a parallel nest's execution costs beyond its work (fork, join,
  bookkeeping), fitted by non-negative least squares over every measured nest
  (``fit_machine``), relative errors weighted alike; the FPGA's cycles per edge from the
  Verilator model;
* each kernel variant's, in the manifest's ``workloads:`` section keyed by
  ``workload_key`` (the variant's name and a hash of its IR, so an edited kernel is not
  matched with old figures): per loop nest (by source line), how its runs and its total
  edges and vertices compare with the static estimate of ``planner.workload``
  (``fit_law``),
  and a cost factor: the nest's measured seconds over what the machine's rates give for
  its measured work (atomics, floating point and random access make some nests dearer
  per edge than others).

``apply_laws`` puts a variant's laws into its ``Workload``; ``cost.predict_nests`` is
what the model says a blade's nests take, which ``cosynth simulate`` prints beside what
the run measured.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from cosynth.ir.printer import print_kernel

__all__ = ["workload_key", "fit_law", "law_at", "apply_laws", "fit_machine",
           "check_workloads"]

QUANTITIES = ("runs", "edges", "nodes")
EXPONENT_RANGE = (-1.0, 2.0)  # a fitted growth law beyond this is noise, not a trend


def workload_key(k, variant: str) -> str:
    """``bfs/par/1a2b3c4d5e``: the variant's name and a hash of its IR text."""
    digest = hashlib.sha256(print_kernel(k).encode()).hexdigest()[:10]
    return f"{k.name}/{variant}/{digest}"


def fit_law(samples: list[tuple[float, float, float]], log: bool = False) -> dict:
    """A law from (m, measured, estimated) samples.  When the static model has an
    estimate, it carries the growth with the graph (levels, degrees, sizes), so the law
    is a constant ratio, ``measured = r * estimated`` (``base: model``, the geometric
    mean over the samples weighted by their edge counts; fitting a trend to a ratio that
    wobbles with scheduling only extrapolates the wobble).  When it has none,
    ``measured = r * (m / ref_m) ** b`` (``base: m``), fitted.  ``ref_m`` is the largest
    calibration graph.

    ``log``: the runs of a convergence loop (a ``while`` that stops when a computed
    error falls below a threshold, e.g. PageRank's ``err < n * tol``): ``measured = r + b
    * ln(m / ref_m)`` (``base: log``), least squares.  Legality of the form: when the
    error shrinks by a roughly constant factor rho per iteration (a contraction: the
    power iteration's error shrinks by at most the damping factor, in practice much
    faster) from a first change e1, the loop runs 1 + ceil(ln(threshold / e1) / ln rho)
    times; a threshold or first change that grows or shrinks as a power of the graph's
    size (n * tol) makes that count linear in ln m, which the calibration graphs fit (the
    damping bound ln(tol) / ln(d) alone is a loose upper bound: 20+ iterations where
    kron graphs converge in 3)."""
    samples = sorted(samples)
    ref_m = samples[-1][0] if samples else 0.0
    if log:
        pts = [(m, meas) for m, meas, _ in samples if m > 0]
        if not pts:
            return {"base": "log", "r": 0.0, "b": 0.0, "ref_m": ref_m}
        x = np.log([m / ref_m for m, _ in pts])
        y = np.array([v for _, v in pts], dtype=float)
        if len(pts) >= 2 and np.ptp(x) > 0:
            b, a = np.polyfit(x, y, 1)
        else:
            b, a = 0.0, float(y[-1])
        return {"base": "log", "r": float(a), "b": float(b), "ref_m": float(ref_m)}
    base = "model" if all(est > 0 for _, _, est in samples) else "m"
    pts = [(m, meas / est if base == "model" else meas) for m, meas, est in samples
           if m > 0 and meas > 0]
    if not pts:
        return {"base": base, "r": 0.0, "b": 0.0, "ref_m": ref_m}
    x = np.log([m / ref_m for m, _ in pts])
    y = np.log([v for _, v in pts])
    if base == "model":  # weighted by size: the larger graphs resemble the planned ones
        wts = np.array([m for m, _ in pts], dtype=float)
        return {"base": base, "r": float(math.exp(np.average(y, weights=wts))), "b": 0.0,
                "ref_m": ref_m}
    if len(pts) >= 2 and np.ptp(x) > 0:
        b, a = np.polyfit(x, y, 1)
        b = float(min(max(b, EXPONENT_RANGE[0]), EXPONENT_RANGE[1]))
        a = float(np.mean(y - b * x))
    else:
        b, a = 0.0, float(y[-1])
    return {"base": base, "r": float(math.exp(a)), "b": b, "ref_m": float(ref_m)}


def law_at(law: dict, m: float, estimate: float) -> float:
    if law["base"] == "log":
        return law["r"] + law["b"] * math.log(m / law["ref_m"]) if law["ref_m"] > 0 and \
            m > 0 else law["r"]
    scale = law["r"] * (m / law["ref_m"]) ** law["b"] if law["ref_m"] > 0 else law["r"]
    return scale * estimate if law["base"] == "model" else scale


def apply_laws(w, k, laws: dict, stats) -> bool:
    """Replace the static estimates of ``w``'s nests with the calibrated laws of its
    variant, when the manifest has them; True when it did.  A law is of a source line's
    totals (the program measures by line): the line's nests share what it gives in
    proportion to their static estimates (evenly when none has one)."""
    entry = laws.get(workload_key(k, w.variant))
    if not entry:
        return False
    nests = entry.get("nests", {})
    lines: dict[int, list] = {}
    for nest in (*w.nests, *w.seq_nests):
        lines.setdefault(nest.line, []).append(nest)
    for line, group in lines.items():
        got = nests.get(line) or nests.get(str(line))
        if not got:
            continue
        runs0 = [x.runs for x in group]
        edges0 = [x.runs * x.edges for x in group]
        nodes0 = [x.runs * x.nodes for x in group]
        runs = law_at(got["runs"], stats.m, sum(runs0))
        if got["runs"]["base"] == "log" and not any(x.runs_guessed for x in group):
            # the loop was counted on this graph (``planner.converge``): the count is
            # exact where the law, fitted to whole numbers, is not
            runs = sum(runs0)
        elif got["runs"]["base"] == "log":
            # a convergence loop: at least one iteration, each nest of the line once;
            # its work per run from the static model (the law's ratio is per run)
            runs = max(runs, float(len(group)))
            k_runs = runs / sum(runs0) if sum(runs0) > 0 else 0.0
            edges0 = [e * k_runs for e in edges0]
            nodes0 = [v * k_runs for v in nodes0]
        # edges and vertices are laws of the totals over all runs: how a fixed point
        # splits its work into runs wobbles, the work itself much less
        edges = law_at(got["edges"], stats.m, sum(edges0))
        nodes = law_at(got["nodes"], stats.m, sum(nodes0))
        for i, nest in enumerate(group):
            nest.runs = runs * _part(runs0, i)
            e, v = edges * _part(edges0, i), nodes * _part(nodes0, i)
            nest.edges = e / nest.runs if nest.runs > 0 else 0.0
            nest.nodes = v / nest.runs if nest.runs > 0 else 0.0
            nest.cost = float(got.get("cost", 1.0))
            if "overhead" in got:
                nest.overhead = float(got["overhead"])
            ws = got.get("ws")
            if isinstance(ws, dict) and ws.get("ref_n", 0) > 0:
                nest.ws_slope, nest.ws_ref = float(ws["slope"]), float(ws["ref_n"])
                nest.ws_n = ws_vertices(ws)
            nest.calibrated = True
    if w.seq_nests:
        w.replicated_edges = sum(n.runs * n.edges for n in w.seq_nests)
        w.replicated_nodes = sum(n.runs * n.nodes for n in w.seq_nests)
    if entry.get("fpga_cycles_per_edge"):
        w.fpga_cpe = float(entry["fpga_cycles_per_edge"])
    w.notes.append(f"calibrated workload {workload_key(k, w.variant)}")
    return True


def _part(estimates: list[float], i: int) -> float:
    """Nest ``i``'s share of its line's total: its part of the static estimates, or an
    even share when they are all 0."""
    total = sum(estimates)
    return estimates[i] / total if total > 0 else 1.0 / len(estimates)


def fit_machine(rows: list[dict]) -> dict:
    """One core's rates from measured parallel nests (``runs``, ``edges``, ``nodes``,
    ``seconds``, ``threads``, optionally ``misses``): seconds = runs * c_run + (edges *
    c_e + nodes * c_v + misses * c_miss) / threads, non-negative, each row weighted by
    1 / its seconds (relative error); ``misses`` are the cache misses the working-set
    term counts (``cost.nest_misses``), ``c_miss`` fitted only when some row has any.
    Returns the calibrated fields."""
    from scipy.optimize import nnls  # lazy: SciPy is slow to import, only fitting needs it
    rows = [r for r in rows if r["seconds"] > 0 and r["runs"] > 0]
    if not rows:
        raise ValueError("no measured nests to fit")
    misses = any(r.get("misses", 0) > 0 for r in rows)
    A = np.array([[r["runs"], r["edges"] / r["threads"], r["nodes"] / r["threads"]] +
                  ([r.get("misses", 0.0) / r["threads"]] if misses else [])
                  for r in rows], dtype=float)
    t = np.array([r["seconds"] for r in rows])
    wgt = 1.0 / t
    coef, _ = nnls(A * wgt[:, None], t * wgt)
    c_run, c_e, c_v = (float(c) for c in coef[:3])
    c_miss = float(coef[3]) if misses else 0.0
    edges = A[:, 1].sum()
    if c_e <= 0:  # no edge term survived: the plain average time of an edge
        c_e = max(float((t - A[:, 0] * c_run).clip(min=0).sum()) / max(edges, 1.0), 1e-12)
    if c_v <= 0:
        c_v = c_e / 4
    out = {"cpu_edges_per_second_per_core": 1.0 / c_e,
           "cpu_vertices_per_second_per_core": 1.0 / c_v,
           "cpu_seconds_per_run": c_run}
    if c_miss > 0:  # the working set's misses (rows with ``misses``: see cost.nest_misses)
        out["cpu_seconds_per_miss"] = c_miss
    return out


def nest_time(samples: list[dict], threads: int, cal: dict, sequential: bool
              ) -> tuple[float, float]:
    """A nest's (cost factor, seconds per run) from its measured runs on the calibration
    graphs: seconds = runs * overhead + cost * (the machine's time for its measured
    work), non-negative least squares, each sample weighted by 1/sqrt(its seconds) so
    that the larger graphs, nearer the ones planned for, count more.  The overhead is what
    a run costs whatever its work (forking, joining, scanning a worklist); the factor is
    how much dearer than the machine's average its edges and vertices are (atomics,
    floating point, random access)."""
    from scipy.optimize import nnls  # lazy: SciPy is slow to import, only fitting needs it
    cores = 1 if sequential else threads
    rows, t = [], []
    for rec in samples:
        if rec["seconds"] <= 0 or rec["runs"] <= 0:
            continue
        work = rec["edges"] / (cal["cpu_edges_per_second_per_core"] * cores) + \
            rec["nodes"] / (cal["cpu_vertices_per_second_per_core"] * cores)
        rows.append((rec["runs"], work))
        t.append(rec["seconds"])
    if not rows:
        return 1.0, cal["cpu_seconds_per_run"]
    A, t = np.array(rows, dtype=float), np.array(t)
    if len(rows) >= 2 and A[:, 1].max() > 0:
        wgt = 1.0 / np.sqrt(t)  # between absolute and relative: the largest graphs,
        (over, cost), _ = nnls(A * wgt[:, None], t * wgt)  # nearest a target, count more
        if cost > 0:
            return float(cost), float(over)
    # one graph, or no work term: the default overhead, the rest is work
    over = cal["cpu_seconds_per_run"]
    i = int(np.argmax(t))
    work = A[i, 1]
    if work <= 0:
        return 1.0, float(t[i] / A[i, 0])
    return float(max(t[i] - A[i, 0] * over, 0.05 * t[i]) / work), float(over)


def check_workloads(tree, fail) -> dict:
    """Validate a manifest's ``workloads:`` section; ``fail(path, what)`` raises."""
    if tree is None:
        return {}
    if not isinstance(tree, dict):
        fail("workloads", "must map kernel variants (name/variant/hash) to measured laws")
    out = {}
    for key, entry in tree.items():
        p = f"workloads.{key}"
        if not isinstance(entry, dict) or not isinstance(entry.get("nests", {}), dict):
            fail(p, "must be a mapping with 'nests:' (source line -> laws)")
        nests = {}
        for line, laws in entry.get("nests", {}).items():
            q = f"{p}.nests.{line}"
            try:
                line = int(line)
            except (TypeError, ValueError):
                fail(q, "nests are keyed by source line numbers")
            if not isinstance(laws, dict):
                fail(q, "must map runs/edges/nodes to laws and give a cost")
            for name in QUANTITIES:
                law = laws.get(name)
                if not isinstance(law, dict) or law.get("base") not in ("model", "m", "log") or \
                        not all(isinstance(law.get(x), (int, float)) for x in ("r", "b",
                                                                               "ref_m")):
                    fail(f"{q}.{name}", "a law is {base: model|m|log, r: number, b: number, "
                         "ref_m: number}")
            if not isinstance(laws.get("cost", 1.0), (int, float)) or laws.get("cost", 1) <= 0:
                fail(f"{q}.cost", "a cost factor is a positive number")
            over = laws.get("overhead", 0.0)
            if not isinstance(over, (int, float)) or over < 0:
                fail(f"{q}.overhead", "seconds per run: a number, zero or more")
            nests[line] = laws
        out[str(key)] = {**entry, "nests": nests}
    return out


def ws_vertices(ws: dict) -> float:
    """The vertices of the graph a working-set law was measured on: its ``n``, else read
    off its graph spec (``kron:SCALE`` has 2**SCALE, ``uniform:N:M`` N); 0 unknown."""
    if ws.get("n"):
        return float(ws["n"])
    spec = str(ws.get("graph", ""))
    parts = spec.split(":")
    try:
        if parts[0] == "kron" and len(parts) >= 2:
            return float(2 ** int(parts[1]))
        if parts[0] == "uniform" and len(parts) >= 3:
            return float(int(parts[1]))
    except ValueError:
        return 0.0
    return 0.0
