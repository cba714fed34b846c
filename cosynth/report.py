"""Every table and summary the command line prints, as text.

The commands (``cosynth.cli``) compute; this module formats.  Each function takes what a
command computed and returns the lines to print (no trailing newlines, no I/O), so a
report reads the same whichever command shows it and can be tested without a terminal.
"""

from __future__ import annotations

import os

import numpy as np

from .ir.printer import print_expr

__all__ = ["summarise", "short", "result_names", "arguments", "run_header", "interpreted",
           "simulation",
           "prediction", "calibration", "build_dir", "rtl_unit", "bitstream"]


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
    lines.append(f"  plan {sim.seconds['plan']:.2f} s, compile {sim.seconds['compile']:.2f} s"
                 f"{' (cached)' if sim.cached_build else ''}, run {sim.seconds['run']:.2f} s "
                 "(mpirun, start-up included)")
    lines.append("  blade  kind        device  vertices             kernel     compute   "
                 "comm       messages        bytes")
    for b, st in zip(sim.plan.blades, sim.stats):
        lines.append(f"  {b.blade:5d}  {b.kind:10s}  {b.device:6s}  {b.lo:>8d}..{b.hi:<9d}"
                     f"{st['total'] * 1e3:9.3f}ms {st['compute'] * 1e3:8.3f}ms "
                     f"{st['comm'] * 1e3:8.3f}ms {st['messages']:>10d} {st['bytes']:>12d}")
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


def prediction(sim) -> list[str]:
    """Predicted vs measured per loop nest (the kernels a plan places) and per blade, with
    the threads each local blade had."""
    if not sim.predicted:
        return []
    cal = any(r["calibrated"] for b in sim.predicted for r in b["nests"])
    lines = [f"  predicted vs measured here ({sim.threads} thread(s) per blade; "
             + ("calibrated model" if cal else "uncalibrated defaults: run cosynth "
                "calibrate for a model of this machine") + "):",
             "  blade  nest                                      device  predicted   "
             "measured   error"]
    for b in sim.predicted:
        for r in b["nests"]:
            label = r["label"] + (" [replicated]" if r["replicated"] else "")
            lines.append(f"  {b['blade']:5d}  {label[:40]:40s}  {r['device']:6s} "
                         f"{r['predicted_s'] * 1e3:9.3f}ms {r['measured_s'] * 1e3:9.3f}ms  "
                         f"{_error(r['predicted_s'], r['measured_s'])}")
        lines.append(f"  {b['blade']:5d}  {'all nests of the blade':40s}  {b['device']:6s} "
                     f"{b['predicted_s'] * 1e3:9.3f}ms {b['measured_s'] * 1e3:9.3f}ms  "
                     f"{_error(b['predicted_s'], b['measured_s'])}")
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
    lines.append("kernel variant                      nest                          "
                 "cost  cycles/edge")
    for key, entry in cal.workloads.items():
        cpe = entry.get("fpga_cycles_per_edge")
        for law in entry["nests"].values():
            lines.append(f"{key:34s}  {law['label'][:28]:28s}  {law['cost']:5.2f}  "
                         + (f"{cpe:.3f}" if cpe else "-"))
    lines += [f"note: {note}" for note in cal.notes]
    lines.append(f"wrote {output} (plan with --manifest {output})")
    return lines


def build_dir(plan, output: str) -> list[str]:
    """``cosynth build``: what was written and how to run it."""
    return [f"wrote {output}/: blade.cpp, cosynth_rt.hpp, Makefile, run.sh, run.cfg, "
            f"plan.yaml, {len(plan.blades)} graph shard(s)",
            f"run it with: {output}/run.sh   (on a cluster: HOSTFILE=hosts "
            f"{output}/run.sh)"]


def rtl_unit(r, output: str) -> list[str]:
    """``cosynth rtl``: the register map, the sample run, the checks, the files."""
    return [r.regmap.describe(),
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


def _error(pred: float, meas: float) -> str:
    if meas <= 0:
        return "   -" if pred <= 0 else "  (not run)"
    return f"{100 * (pred - meas) / meas:+6.0f}%"
