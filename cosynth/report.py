"""Every table and summary the command line prints, as text, and its ``--json`` data.

The commands (``cosynth.cli``) compute; this module formats.  Each function takes what a
command computed and returns the lines to print (no trailing newlines, no I/O), so a
report reads the same whichever command shows it and can be tested without a terminal;
its tables go through ``cosynth.tables`` (plain text, or rich on a terminal).  The
``*_data`` functions return the same facts as plain data for ``--json`` (dicts of
strings, numbers, lists; ``jsonable`` converts what ``json`` does not know).

``--json`` documents (each a JSON object; times in seconds, sizes in bytes):

* ``plan``: the saved plan (``Plan.to_dict``: kernel, variant, rewrites, blades, layouts,
  predicted, solver, choices, baselines, programs as IR text);
* ``simulate``: kernel, graph, results (per result: name, dtype, size, min, max, sum,
  inf, head; ``value`` for a scalar; save arrays with ``-o``), seconds (graph, plan,
  compile, run, gather, compare, check interpreter, check reference), cached_build, threads, blades
  (per blade: the plan's range and device, the run's statistics), predicted (per blade
  and nest), checks, plan (its summary), output;
* ``calibrate``: output, machine, fpga, workloads, runs, notes;
* ``rtl``: output, unit, regmap, verilog_lines, sample run (edges, cycles), checks;
* ``bitstream``: output, bitstream, depth, report (the flow's report.json);
* ``results``: build_dir, output, kernel, blades, results (name, space, dtype, size,
  npy, summary);
* ``rewrite``: the rewrite report (``frontend.rewrite.explain.report_data``).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, is_dataclass

import numpy as np

from .ir.printer import print_expr
from .tables import RULE, Column, render

__all__ = ["summarise", "short", "result_names", "arguments", "run_header", "interpreted",
           "simulation", "timings", "prediction", "calibration", "build_dir", "rtl_unit",
           "bitstream", "results_summary", "to_json", "jsonable", "result_data", "plan_data",
           "simulation_data", "calibration_data", "rtl_data", "bitstream_data",
           "results_data"]


def summarise(name: str, value) -> str:
    """One result on one line: a scalar's value, or an array's type, size, range, sum and
    first entries (entries at the dtype's INF counted apart)."""
    a = np.asarray(value)
    if a.ndim == 0:
        return f"{name} = {a.item()!r}"
    kind = a.dtype.name
    text = f"{name}: {kind}[{a.size}]"
    if a.size == 0:
        return text
    if a.dtype.kind in "iuf":
        big = np.isinf(a) if a.dtype.kind == "f" else (a == np.iinfo(a.dtype).max)
        finite = a[~big]
        if finite.size:
            text += f"  min {finite.min():.6g}  max {finite.max():.6g}  sum {finite.sum():.6g}"
        if big.any():
            text += f"  ({int(big.sum())} at INF)"
    elif a.dtype.kind == "b":
        text += f"  {int(a.sum())} true"
    head = ", ".join(short(x) for x in a[:6])
    return text + f"  [{head}{', ...' if a.size > 6 else ''}]"


def short(v) -> str:
    """A value in a few characters (arrays by type and size)."""
    if isinstance(v, np.ndarray):
        return f"<{v.dtype}[{v.size}]>"
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return f"{v:.6g}"
    return repr(v)


def result_names(k) -> list[str]:
    """The names a kernel's results are shown under (its return expressions)."""
    return [print_expr(r) for r in k.returns]


def arguments(bound: dict) -> str:
    return ", ".join(f"{n}={short(v)}" for n, v in bound.items())


def run_header(k, g, graph_spec: str, bound: dict) -> list[str]:
    """``cosynth interpret``, before the run: the kernel, the graph, the arguments."""
    lines = [f"kernel {k.name} on {g!r} ({graph_spec})"]
    if bound:
        lines.append("  arguments: " + arguments(bound))
    return lines


def interpreted(seconds: float, names, out) -> list[str]:
    """``cosynth interpret``, after the run: its time and one line per result."""
    return [f"  interpreter: {seconds:.3f} s",
            *("  " + summarise(name, value) for name, value in zip(names, out))]


def simulation(sim) -> list[str]:
    """A simulated run: results, times, per-blade work and traffic, supersteps, FPGA
    units, the plan's prediction, predicted vs measured nests, and the checks."""
    lines = ["  " + summarise(name, value) for name, value in zip(sim.names, sim.results)]
    lines.append(timings(sim))
    lines += render([Column("blade", True), Column("kind"), Column("device"),
                     Column("vertices"), Column("kernel", True), Column("compute", True),
                     Column("comm", True), Column("messages", True), Column("bytes", True)],
                    [[str(b.blade), b.kind, b.device, f"{b.lo}..{b.hi}", _ms(st["total"]),
                      _ms(st["compute"]), _ms(st["comm"]), str(st["messages"]),
                      str(st["bytes"])] for b, st in zip(sim.plan.blades, sim.stats)])
    steps = [s for s in sim.stats[0]["supersteps"]]
    if steps:
        shown = ", ".join(f"{1e3 * max(st['supersteps'][i] for st in sim.stats):.3f}"
                          for i in range(min(len(steps), 12)))
        more = f", ... ({len(steps)} in all)" if len(steps) > 12 else ""
        lines.append(f"  supersteps (slowest blade, ms): {shown}{more}")
    fpga = [(b, st["fpga"], clk) for b, st, clk in
            zip(sim.plan.blades, sim.stats, sim.fpga_clock_hz or [0] * len(sim.stats))
            if st.get("fpga", {}).get("fpga")]
    if fpga:
        lines.append("  FPGA units (Verilator models of the unit's Verilog):")
        for b, f, clk in fpga:
            at = f" = {f['device_cycles'] / clk * 1e3:.3f} ms at {clk / 1e6:g} MHz" \
                if clk else ""
            lines.append(f"  {b.blade:5d}  {f['calls']} calls, {f['runs']} runs, "
                         f"{f['edges']} edges: {f['device_cycles']} cycles "
                         f"({f['run_cycles']} streaming, {f['transfer_entries']} "
                         f"loads/readbacks, {f['stalls']} stalls){at}; host + simulation "
                         f"{f['seconds'] * 1e3:.3f} ms")
    pred = sim.plan.predicted["makespan_s"]
    meas = max(st["total"] for st in sim.stats)
    lines.append(f"  plan's prediction {pred * 1e3:.3f} ms on the manifest's machines; "
                 f"measured {meas * 1e3:.3f} ms here (kernel time, slowest blade)")
    lines += prediction(sim)
    lines += [f"  {c}" for c in sim.checks]
    return lines


def timings(sim) -> str:
    """Where the time of a simulated run went: graph generation (when the command timed
    it), planning (with writing the build directory), compile, run, gathering the blades'
    results, the predicted-vs-measured comparison, and each check."""
    sec = sim.seconds
    parts = []
    for key, label in (("graph", "graph"), ("plan", "plan"), ("compile", "compile"),
                       ("run", "run"), ("gather", "gather results"),
                       ("compare", "predicted vs measured"),
                       ("check interpreter", "check interpreter"),
                       ("check reference", "check reference")):
        if key in sec:
            extra = {"compile": " (cached)" if sim.cached_build else "",
                     "run": " (mpirun, start-up included)"}.get(key, "")
            parts.append(f"{label} {sec[key]:.2f} s{extra}")
    return "  time: " + ", ".join(parts)


def prediction(sim) -> list[str]:
    """Predicted vs measured per loop nest (the kernels a plan places) and per blade, with
    the threads each local blade had."""
    if not sim.predicted:
        return []
    cal = any(r["calibrated"] for b in sim.predicted for r in b["nests"])
    threads = f"{sim.threads} thread{'s' * (sim.threads != 1)}"
    lines = [f"  predicted vs measured here ({threads} per blade; "
             + ("calibrated model" if cal else "uncalibrated defaults: run cosynth "
                "calibrate for a model of this machine") + "):"]
    rows = []
    for i, b in enumerate(sim.predicted):
        if i:
            rows.append(RULE)
        for r in b["nests"]:
            label = r["label"] + (" [replicated]" if r["replicated"] else "")
            rows.append([str(b["blade"]), label[:40], r["device"], _ms(r["predicted_s"]),
                         _ms(r["measured_s"]), _error(r["predicted_s"], r["measured_s"])])
        rows.append([str(b["blade"]), "all nests of the blade", b["device"],
                     _ms(b["predicted_s"]), _ms(b["measured_s"]),
                     _error(b["predicted_s"], b["measured_s"])])
    lines += render([Column("blade", True), Column("nest", max_width=40), Column("device"),
                     Column("predicted", True), Column("measured", True),
                     Column("error", True)], rows)
    return lines


def calibration(cal, output: str) -> list[str]:
    """``cosynth calibrate``: this machine's rates, FPGA clocks, per-nest cost factors."""
    m = cal.machine
    lines = [f"this machine, one core: {m['cpu_edges_per_second_per_core'] / 1e6:.1f} M "
             f"edges/s, {m['cpu_vertices_per_second_per_core'] / 1e6:.1f} M vertices/s, "
             f"{m['cpu_seconds_per_run'] * 1e6:.2f} us per parallel nest run"]
    for kind, fields in cal.fpga.items():
        if fields:
            lines.append(f"{kind}: FPGA clock {fields['fpga_clock_hz'] / 1e6:.1f} MHz "
                         "(measured Fmax)")
    rows = []
    for key, entry in cal.workloads.items():
        cpe = entry.get("fpga_cycles_per_edge")
        for law in entry["nests"].values():
            rows.append([key, law["label"][:28], f"{law['cost']:.2f}",
                         f"{cpe:.3f}" if cpe else "-"])
    lines += render([Column("kernel variant"), Column("nest", max_width=28),
                     Column("cost", True), Column("cycles/edge", True)], rows, indent="")
    lines += [f"note: {note}" for note in cal.notes]
    lines.append(f"wrote {output} (plan with --manifest {output})")
    return lines


def build_dir(plan, output: str) -> list[str]:
    """``cosynth build``: what was written and how to run it."""
    return [f"wrote {output}/: blade.cpp, cosynth_rt.hpp, Makefile, run.sh, run.cfg, "
            f"plan.yaml, {len(plan.blades)} graph shard{'s' * (len(plan.blades) != 1)}",
            f"run it with: {output}/run.sh   (on a cluster: HOSTFILE=hosts "
            f"{output}/run.sh)"]


def rtl_unit(r, output: str) -> list[str]:
    """``cosynth rtl``: the register map, the sample run, the checks, the files."""
    return [r.regmap.describe(fancy=None),
            f"  sample run: {r.edges} edges in {r.cycles} cycles "
            f"({r.edges_per_cycle:.3f} edges per clock, run overheads included)",
            *(f"  {c}" for c in r.checks),
            f"wrote {output}/: {r.unit}.v ({r.verilog_lines} lines), regmap.json, "
            "regmap.txt, trace.txt, unit_tb.cpp, cosynth_unit.hpp, Makefile, lint.txt, "
            "report.json"]


def bitstream(r, output: str) -> list[str]:
    """``cosynth bitstream``: the part, Fmax against the target, resources, files."""
    rep = r.report
    met = "met" if rep["timing_met"] else "NOT met"
    return [f"unit {rep['unit']} (variant {rep['variant']}, {r.depth} vertices) on "
            f"{rep['device']} {rep['package']}",
            f"  Fmax {rep['fmax_mhz']:.1f} MHz (target {rep['target_mhz']:g} MHz: {met})"
            f"  -> {rep['edges_per_second'] / 1e6:.1f} M edges/s at one edge per clock",
            f"  LUTs {rep['luts']}/{rep['luts_total']}, FFs {rep['ffs']}/"
            f"{rep['ffs_total']}, BRAM {rep['bram']}/{rep['bram_total']}, DSP {rep['dsp']}",
            f"wrote {output}/: {os.path.basename(r.bitstream)}, bitstream.json, "
            "report.json, top.v, logs (synth.log, pnr.log, pack.log)"]


def results_summary(conv) -> list[str]:
    """``cosynth results``: one line per result and the files written."""
    lines = [f"kernel {conv.kernel}: {len(conv.results)} result"
             f"{'s' * (len(conv.results) != 1)} of {conv.blades} blade"
             f"{'s' * (conv.blades != 1)} from {conv.build_dir}/out/"]
    lines += ["  " + summarise(r.name, r.value) for r in conv.results]
    lines.append(f"wrote {conv.output}/: "
                 + ", ".join(os.path.basename(r.npy) for r in conv.results)
                 + ", summary.json (load with numpy.load)")
    return lines


# ---------------------------------------------------------------------------- --json data

def to_json(data) -> str:
    """The ``--json`` text of ``data``: indented, non-finite floats as strings, NumPy
    values as plain numbers and lists (strictly valid JSON: no NaN or Infinity)."""
    return json.dumps(_clean(data), indent=2, default=jsonable, allow_nan=False) + "\n"


def jsonable(x):
    """``json.dumps``' ``default``: NumPy scalars and arrays, dataclasses, sets, paths;
    a non-finite float becomes the string "inf", "-inf" or "nan"."""
    if isinstance(x, np.ndarray):
        return [jsonable(v) if isinstance(v, float) else v for v in x.tolist()]
    if isinstance(x, np.generic):
        return _finite(x.item())
    if is_dataclass(x) and not isinstance(x, type):
        return asdict(x)
    if isinstance(x, (set, frozenset, tuple)):
        return sorted(x) if isinstance(x, (set, frozenset)) else list(x)
    if isinstance(x, float):
        return _finite(x)
    return str(x)


def _finite(v):
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def _clean(x):
    """``x`` with every non-finite float replaced (``json`` would write Infinity/NaN,
    which is not JSON)."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return _finite(float(x))
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.ndarray):
        return _clean(x.tolist())
    if is_dataclass(x) and not isinstance(x, type):
        return _clean(asdict(x))
    return x


def result_data(name: str, value) -> dict:
    """One result as data: a scalar's value; an array's dtype, size, min, max, sum (of
    the entries below INF), count at INF and first entries."""
    a = np.asarray(value)
    if a.ndim == 0:
        return _clean({"name": name, "dtype": a.dtype.name, "value": a.item()})
    out = {"name": name, "dtype": a.dtype.name, "size": int(a.size)}
    if a.size and a.dtype.kind in "iuf":
        big = np.isinf(a) if a.dtype.kind == "f" else (a == np.iinfo(a.dtype).max)
        finite = a[~big]
        if finite.size:
            out.update(min=finite.min().item(), max=finite.max().item(),
                       sum=finite.sum().item())
        out["inf"] = int(big.sum())
    elif a.size and a.dtype.kind == "b":
        out["true"] = int(a.sum())
    out["head"] = a[:6].tolist()
    return _clean(out)


def plan_data(plan) -> dict:
    """``cosynth plan --json``: the plan as it is saved."""
    return _clean(plan.to_dict())


def simulation_data(sim, graph_spec: str = "", output: str | None = None) -> dict:
    """``cosynth simulate --json``."""
    p = sim.plan
    blades = []
    for b, st in zip(p.blades, sim.stats):
        blades.append({"blade": b.blade, "kind": b.kind, "device": b.device,
                       "vertices": [b.lo, b.hi], "edges": b.edges,
                       "kernel_s": st["total"], "compute_s": st["compute"],
                       "comm_s": st["comm"], "messages": st["messages"],
                       "bytes": st["bytes"], "supersteps_s": st.get("supersteps", []),
                       "fpga": st.get("fpga") or None})
    return _clean({
        "kernel": p.kernel, "variant": p.variant,
        "graph": {"spec": graph_spec, "n": p.graph["n"], "m": p.graph["m"]},
        "args": p.args,
        "results": [result_data(n, v) for n, v in zip(sim.names, sim.results)],
        "seconds": dict(sim.seconds), "cached_build": sim.cached_build,
        "threads": sim.threads, "blades": blades,
        "predicted_makespan_s": p.predicted["makespan_s"],
        "measured_makespan_s": max(st["total"] for st in sim.stats),
        "predicted": sim.predicted, "checks": list(sim.checks), "output": output})


def calibration_data(cal, output: str) -> dict:
    """``cosynth calibrate --json``."""
    return _clean({"output": output, "machine": cal.machine, "fpga": cal.fpga,
                   "workloads": {k: {**v, "nests": {str(line): law for line, law in
                                                    v["nests"].items()}}
                                 for k, v in cal.workloads.items()},
                   "runs": cal.runs, "notes": cal.notes})


def rtl_data(r, output: str) -> dict:
    """``cosynth rtl --json``."""
    return _clean({"output": output, "unit": r.unit, "regmap": r.regmap.as_dict(),
                   "verilog_lines": r.verilog_lines,
                   "sample_run": {"edges": r.edges, "cycles": r.cycles,
                                  "edges_per_cycle": r.edges_per_cycle},
                   "testbench": r.testbench, "checks": list(r.checks)})


def bitstream_data(r, output: str) -> dict:
    """``cosynth bitstream --json``."""
    return _clean({"output": output, "bitstream": r.bitstream, "depth": r.depth,
                   "report": r.report})


def results_data(conv) -> dict:
    """``cosynth results --json``."""
    return _clean({"build_dir": conv.build_dir, "output": conv.output,
                   "kernel": conv.kernel, "blades": conv.blades,
                   "results": [{**result_data(r.name, r.value), "space": r.space,
                                "npy": r.npy} for r in conv.results]})


def _ms(t: float) -> str:
    return f"{t * 1e3:.3f} ms"


def _error(pred: float, meas: float) -> str:
    if meas <= 0:
        return "-" if pred <= 0 else "(not run)"
    return f"{100 * (pred - meas) / meas:+.0f}%"
