"""``cosynth calibrate``: measure this machine and the kernels, write a calibrated copy of
a manifest.

For every kernel (by default the examples) and every distinct program among its planning
variants, the generated C++ runs on one blade with all of this machine's cores on each
calibration graph (by default Kronecker graphs of scales 11, 12 and 13); the program measures
each loop nest's runs, edges, vertices and seconds (with one thread, ``--threads 1``,
its CPU seconds: what it takes on a core of its own however loaded the machine is).
From those:

* every blade kind's CPU fields (``planner.calibration.fit_machine``): this machine's
  one-core edge and vertex rates and per-run overhead -- the calibrated copy describes
  the machine the measurement ran on, so use it to plan for machines like this one;
* each variant's work laws and cost factors (``planner.calibration.fit_law``), in the
  copy's ``workloads:`` section, fitted on each nest's time less its guards' flips
  (``cost.guard_flip_seconds``) at the misprediction cost the branch probe measures
  (``branch_cost``, ``cpu_seconds_per_flip``: ~1 s more);
* for blade kinds with an FPGA and kernels the edge unit runs, the unit's cycles per
  edge, measured on the Verilator model of its Verilog on the largest calibration graph,
  and the clock: the lower of the manifest's and the Fmax ``cosynth bitstream``
  measured for the unit on the kind's part, when it has been measured;
* the memory a blade process holds whatever its data (``blade_fixed_bytes``: MPI,
  OpenMP, libc, code), the largest peak RSS the blades report of a 2-blade run on a
  16-vertex graph (``fixed_memory``).

The copy is written to a temporary file and renamed; the user's manifest is never
written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

import numpy as np
import yaml

from cosynth.backends.cpp import layout
from cosynth.backends.cpp.memprobe import (
    fit_cache,
    flip_probe,
    probe,
    probe_rows,
    probe_stream,
    row_line_cost,
)
from cosynth.backends.rtl.costs import fpga_profile
from cosynth.frontend.rewrite import variant as make_variant
from cosynth.planner import PLAN_VARIANTS, load_manifest
from cosynth.planner.calibration import fit_law, fit_machine, nest_time, workload_key
from cosynth.planner.cost import (
    DEFAULT_CACHE_BYTES,
    DEFAULT_L2_BYTES,
    miss_fraction,
    predict_nests,
)
from cosynth.planner.manifest import _read_xml, _read_yaml
from cosynth.planner.stats import GraphStats
from cosynth.planner.workload import at_blades, profile

from .errors import ArgumentError
from .graphio import parse_graph_spec
from .ir.printer import print_kernel
from .loader import load_kernels
from .outputs import write_file
from .pipeline import simulate
from .progress import counted
from .resources import example_path

__all__ = ["calibrate", "Calibration", "DEFAULT_GRAPHS", "DEFAULT_WS_GRAPH", "default_kernels",
           "fixed_memory", "line_laws", "working_set_laws"]

DEFAULT_GRAPHS = ("kron:11", "kron:12", "kron:13")
#: the graph the working-set laws are measured on (``working_set_laws``), and the most a
#: program's predicted run there may take for it to be measured (bc's all-source
#: Brandes takes a minute at kron-13)
DEFAULT_WS_GRAPH = "kron:17"
WS_BUDGET = 5.0
FIXED_GRAPH = "kron:4"  # 16 vertices: a blade's data is a few hundred bytes
EXAMPLES = ("bfs", "sssp", "sssp_int", "pagerank", "cc", "kcore", "tc", "bc")


@dataclass
class Calibration:
    path: str
    machine: dict  # calibrated CPU fields (the same for every kind: this machine)
    fpga: dict = field(default_factory=dict)  # kind -> fields
    workloads: dict = field(default_factory=dict)
    runs: list[dict] = field(default_factory=list)  # what was measured, for the report
    notes: list[str] = field(default_factory=list)


def default_kernels() -> list:
    out = []
    for name in EXAMPLES:
        path = example_path(("sssp" if name == "sssp_int" else name) + ".py")
        out.append(load_kernels(path)[name])
    return out


def _sample_args(kfn, graph) -> dict:
    args = {}
    for p in kfn.ir.params:
        if p.kind == "scalar" and p.node and not p.has_default:
            args[p.name] = int(np.argmax(graph.out_degrees())) if graph.n else 0
    return args


def calibrate(manifest_path: str, out_path: str, *, kernels=None, graphs=DEFAULT_GRAPHS,
              threads: int | None = None, fpga: bool = True, progress=None,
              timeout: float = 900.0, seed: int = 0, repeat: int = 3,
              ws_graph: str | None = None) -> Calibration:
    """Measure, fit, and write the calibrated copy of ``manifest_path`` to ``out_path``.
    Each run is repeated ``repeat`` times and each nest keeps its fastest time (a shared
    machine's interference only ever adds time).  ``progress`` (a ``progress(msg)``
    callable, or a ``cosynth.progress.Progress``) counts the measurements, with the
    elapsed time and an estimate of the time left.  ``ws_graph`` (the CLI's default
    ``DEFAULT_WS_GRAPH``): a graph whose data leave the caches, on which every program
    the fitted model says takes at most ``WS_BUDGET`` seconds runs once more, for its
    nests' working-set laws (``working_set_laws``)."""
    say = progress or (lambda msg: None)
    if os.path.abspath(out_path) == os.path.abspath(manifest_path):
        raise ArgumentError(f"-o {out_path} is the manifest itself: calibrate writes a copy",
                            hint="give another file, e.g. -o calibrated.yaml")
    if not out_path.endswith((".yaml", ".yml")):
        raise ArgumentError(f"-o {out_path}: the calibrated copy is written as YAML",
                            hint="name it .yaml")
    folder = os.path.dirname(os.path.abspath(out_path))
    if not os.path.isdir(folder):
        raise ArgumentError(f"-o {out_path}: folder '{folder}' does not exist")
    man = load_manifest(manifest_path)
    kernels = list(kernels) if kernels else default_kernels()
    T = threads or os.cpu_count() or 1
    one = replace(man, kinds=(replace(man.kinds[0], count=1, calibration={}),),
                  workloads={})
    loaded = []
    for spec in graphs:
        g = parse_graph_spec(spec, seed=seed)
        loaded.append((g, spec, GraphStats.of(g, spec)))
    loaded.sort(key=lambda x: x[2].m)
    cal = Calibration(out_path, {})
    measured: dict[str, dict] = {}  # key -> {"static": [(stats, workload)], "runs": [...]}
    programs = _programs(kernels)
    fpga_kind = next((k for k in man.kinds if k.fpga is not None), None) if fpga else None
    on_fpga = [key for key, (_, v, kv) in programs.items()
               if fpga_kind is not None and fpga_profile(kv, v).eligible]
    total = len(programs) * len(loaded) + len(on_fpga) + 1
    runs = max(1, repeat)
    with counted(progress, "calibration", total) as count:
        for key, (kfn, v, kv) in programs.items():
            entry = measured.setdefault(key, {"kernel": kfn, "variant": v, "kv": kv,
                                              "samples": []})
            for g, gname, st in loaded:
                count.start(f"{kfn.name} ({v}) on {gname}: {g.n} vertices, {g.m} edges"
                            + (f", {runs} runs" if runs > 1 else ""))
                nests, sim = _best_nests(kfn, one, g, v, T, runs, gname, timeout)
                # the static estimate of the run made: its arguments bound (a loop under
                # ``if use_in_edges:`` walks nothing when the run passed False), as
                # ``pipeline.compare`` estimates the runs it checks
                bound = kfn.bind(g, **_sample_args(kfn, g))
                w = profile(kv, v, st, bound, fpga=fpga_profile)
                w.order = _order(sim)
                entry["samples"].append((st, w, nests))
                cal.runs.append({"kernel": kfn.name, "variant": v, "graph": gname,
                                 "compute_s": sim.stats[0]["compute"],
                                 "total_s": sim.stats[0]["total"]})
        if fpga_kind is not None:
            _calibrate_fpga(man, measured, on_fpga, loaded[-1], cal, T, count.start, timeout)
        count.start(f"a blade's memory without data: {kernels[0].name} on {FIXED_GRAPH}, "
                    "2 blades")
        fixed = fixed_memory(kernels[0], man, blades=2, threads=T, timeout=timeout,
                             seed=seed)
    # ---- the machine: one core's rates over every measured parallel nest
    rows = []
    cache = machine_cache_bytes()
    for entry in measured.values():
        for _st, w, nests in entry["samples"]:
            for n in w.nests:
                rec = nests.get(n.line)
                if rec and not rec["fpga"] and rec["runs"] > 0:
                    # the working set: random vertex references that miss the cache
                    miss = miss_fraction(n.random_bytes * _st.n, cache)
                    rows.append({**rec, "threads": T,
                                 "misses": rec["edges"] * n.random_refs * miss})
    cal.machine = fit_machine(rows)
    cal.machine["cache_bytes"] = float(cache)
    say(f"last-level cache: {cache / 2**20:.0f} MiB reported by the system")
    cal.machine.update(cache_levels(cache, timeout, say))
    cal.machine.update(branch_cost(timeout, say))
    cal.machine["blade_fixed_bytes"] = float(max(fixed))
    say(f"a blade process without data: {max(fixed) / 2**20:.1f} MiB (blade_fixed_bytes)")
    say("this machine, one core: {:.3g} edges/s, {:.3g} vertices/s, {:.3g} us per nest run"
        .format(cal.machine["cpu_edges_per_second_per_core"],
                cal.machine["cpu_vertices_per_second_per_core"],
                cal.machine["cpu_seconds_per_run"] * 1e6))
    # ---- the kernels: work laws and cost factors per nest
    for key, entry in measured.items():
        laws = line_laws(entry["samples"], T, cal.machine)
        cal.workloads[key] = {"nests": laws, "graphs": [s[0].name for s in entry["samples"]]}
        if "fpga_cycles_per_edge" in entry:
            cal.workloads[key]["fpga_cycles_per_edge"] = entry["fpga_cycles_per_edge"]
    # ---- the working set: each program's growth per unit of work beyond the caches
    if ws_graph:
        working_set_laws(man, measured, cal, ws_graph, loaded[-1][2], T, runs, say,
                         timeout, seed)
    # ---- FPGAs: the clock of every kind with one (the units' cycles per edge are above)
    if fpga:
        _fpga_clocks(man, measured, cal)
    _write_copy(manifest_path, out_path, man, cal)
    load_manifest(out_path)  # the copy must read back
    return cal


def line_laws(samples: list, threads: int, machine: dict) -> dict:
    """Per source line, the work laws (``fit_law``) and the cost factor and overhead
    (``nest_time``) of one program from its ``samples``: (graph statistics, static
    workload, measured nests by line) on each calibration graph.  The program measures
    by source line (``nest_done`` sums the nests of one line: the pull form's share loop
    and gather, the hybrid's count, pull and push), so a law is of the line's totals
    against the sum of its nests' static estimates (taking the first nest's alone gave
    PageRank's gather the share loop's 0 edges, and a law without growth)."""
    laws: dict = {}
    _, w_ref, _ = samples[-1]
    lines: dict[int, list] = {}
    for n in (*w_ref.nests, *w_ref.seq_nests):
        lines.setdefault(n.line, []).append(n)
    for line, group in lines.items():
        fit = {q: [] for q in ("runs", "edges", "nodes")}
        guessed = any(x.runs_guessed for x in group)
        for st, w, nests in samples:
            ests = [x for x in (*w.nests, *w.seq_nests) if x.line == line]
            rec = nests.get(line) or {"runs": 0, "edges": 0, "nodes": 0}
            runs = sum(x.runs for x in ests)
            edges = sum(x.runs * x.edges for x in ests)
            nodes = sum(x.runs * x.nodes for x in ests)
            if guessed:
                # a convergence loop's count is no static estimate: fit it (a ``log``
                # law, ``fit_law``); its work per run still comes from the model
                k = rec["runs"] / runs if runs > 0 else 0.0
                runs, edges, nodes = 0.0, edges * k, nodes * k
            fit["runs"].append((st.m, rec["runs"], runs))
            # work: totals over all runs against the static totals
            fit["edges"].append((st.m, rec["edges"], edges))
            fit["nodes"].append((st.m, rec["nodes"], nodes))
        sequential = any(any(n is x for x in w_ref.seq_nests) for n in group)
        # the law prices the nest's work; its guards' changes along the scan are the
        # flip term's (``cost.guard_flip_seconds``): fitted on the time less that term
        recs = [_less_flips(nests[line], [x for x in w.nests if x.line == line], w.order,
                            machine, threads)
                for _, w, nests in samples if line in nests]
        cost, overhead = nest_time(recs, threads, machine, sequential)
        laws[line] = {q: fit_law(f, log=guessed and q == "runs") for q, f in fit.items()}
        labels = list(dict.fromkeys(n.label for n in group))
        laws[line].update(cost=cost, overhead=overhead, label=" + ".join(labels))
    return laws


def working_set_laws(man, measured: dict, cal: Calibration, spec: str, ref: GraphStats,
                     T: int, runs: int, say, timeout: float, seed: int = 0) -> None:
    """Each program's working-set law per parallel nest (``Nest.ws_slope``, ``ws_ref``),
    from one more run on the graph ``spec`` (default kron-17: 131 K vertices, 3.7 M
    edges; its vertex tables reach the second-level cache and its edge arrays are ten
    times it, where the calibration graphs' all fit) of every program whose fitted
    model (``cal.workloads``, the machine's rates) predicts at most ``WS_BUDGET``
    seconds there: the nest's measured seconds against what its laws give for the work it
    measured there (runs x overhead + cost x (edges / edge rate + vertices / vertex
    rate)), the excess over the work's time per doubling of the vertices beyond the
    largest calibration graph's (``ref``).  What it measures is every miss the run
    took -- random vertex references, the rows a frontier visits out of order, the
    streams -- at the cost the kernel's own instruction mix gives them, which no count
    of the probe's (independent, overlapped references) reproduces: a kernel whose
    loaded value decides a branch (a min-relaxation) pays near the latency.  A program
    over the budget (or a nest it does not run there) keeps the probe's miss term."""
    g = parse_graph_spec(spec, seed=seed)
    st = GraphStats.of(g, spec)
    if st.n <= ref.n:
        return
    grow = np.log2(st.n / ref.n)
    kind = replace(man.kinds[0], count=1, cpu_cores=T, calibration=dict(cal.machine))
    one = replace(man, kinds=(replace(man.kinds[0], count=1, calibration={}),),
                  workloads={})
    e_one = cal.machine["cpu_edges_per_second_per_core"]
    v_one = cal.machine["cpu_vertices_per_second_per_core"]
    for key, entry in measured.items():
        kfn, v, kv = entry["kernel"], entry["variant"], entry["kv"]
        laws = cal.workloads.get(key, {}).get("nests", {})
        w = profile(kv, v, st, kfn.bind(g, **_sample_args(kfn, g)),
                    laws={key: cal.workloads[key]}, fpga=fpga_profile)
        w = at_blades(w, st, [(0, st.n)])
        guess = sum(r["seconds"] for r in
                    predict_nests(w, kind, T, 1.0, 1.0, 0.0, (st.n, st.m)).values())
        if guess > WS_BUDGET:
            say(f"{kfn.name} ({v}) on {spec}: {guess:.3g} s predicted, over the "
                f"{WS_BUDGET:g} s budget; its nests keep the probe's miss term")
            continue
        say(f"{kfn.name} ({v}) on {spec}: {g.n} vertices, {g.m} edges (the working set)")
        nests, sim = _best_nests(kfn, one, g, v, T, runs, spec, timeout)
        order = _order(sim)
        par = {n.line for n in w.nests}
        for line, law in laws.items():
            rec = nests.get(int(line))
            if law["runs"]["base"] == "log" and rec:
                # a convergence loop's count: this graph, four scales beyond the others,
                # joins the fit (kron-11..13 alone: PageRank's 6, 6, 5 iterations gave
                # 3.72 / 2.77 / 1.83 at kron-16 / 18 / 20 against 3 / 2 / 1 measured)
                pts = [(s.m, n[int(line)]["runs"], 0.0) for s, _, n in entry["samples"]
                       if int(line) in n] + [(st.m, rec["runs"], 0.0)]
                law["runs"] = fit_law(pts, log=True)
            rec = nests.get(int(line))
            if int(line) not in par or not rec or rec["fpga"] or rec["seconds"] <= 0:
                continue
            work = law["cost"] * (rec["edges"] / e_one + rec["nodes"] / v_one) / T
            if work <= 0 or work < 0.05 * rec["seconds"]:
                continue  # a nest of overheads: no work to grow
            flips = _flip_seconds([x for x in w.nests if x.line == int(line)], order,
                                  cal.machine, T)
            excess = rec["seconds"] - rec["runs"] * law["overhead"] - work - flips
            law["ws"] = {"slope": float(excess / work / grow), "ref_n": float(ref.n),
                         "graph": spec, "n": float(st.n)}


def _order(sim) -> str:
    """The vertex numbering a run's blade used: ``"degree"`` when its plan chose the
    degree-ordered layout, else ``"id"``."""
    return "degree" if layout.chosen(getattr(sim, "plan", None)) else "id"


def _flip_seconds(nests: list, order: str, machine: dict, threads: int) -> float:
    """The flip term (``cost.guard_flip_seconds``) of ``nests`` over all their runs, on
    ``threads`` cores, at the machine's ``cpu_seconds_per_flip``."""
    c = machine.get("cpu_seconds_per_flip", 0.0)
    return c * sum(n.runs * n.flips.get(order, 0.0) for n in nests) / max(threads, 1)


def _less_flips(rec: dict, nests: list, order: str, machine: dict, threads: int) -> dict:
    """A nest's measured record less its flip term (at least ``FLIP_KEEP`` of its time:
    a probe that over-prices a change must not leave the law nothing to fit)."""
    flips = _flip_seconds(nests, order, machine, threads)
    if flips <= 0 or rec["seconds"] <= 0:
        return rec
    return {**rec, "seconds": max(rec["seconds"] - flips, FLIP_KEEP * rec["seconds"])}


#: the least share of a nest's measured time the flip term may take away before its law
#: is fitted (``_less_flips``)
FLIP_KEEP = 0.05


def fixed_memory(kfn, man, *, blades: int = 2, threads: int = 1, timeout: float = 300.0,
                 seed: int = 0) -> list[int]:
    """Each blade's peak RSS (bytes, the blade's own ``getrusage``) in a ``blades``-blade
    run of ``kfn`` on a 16-vertex graph on blades of ``man``'s first kind: what a blade
    process holds whatever its data (MPI and its shared-memory segments, OpenMP's
    ``threads`` stacks, libc, code) -- the data is a few hundred bytes."""
    g = parse_graph_spec(FIXED_GRAPH, seed=seed)
    some = replace(man, kinds=(replace(man.kinds[0], count=blades, calibration={}),),
                   workloads={})
    sim = simulate(kfn, some, g, _sample_args(kfn, g), blades=blades, fpga=False,
                   threads=threads, check=False, graph_name=FIXED_GRAPH, timeout=timeout)
    return [int(s["peak_rss"]) for s in sim.stats]


def _best_nests(kfn, one, g, v: str, T: int, runs: int, gname: str,
                timeout: float) -> tuple[dict, object]:
    """Run variant ``v`` of ``kfn`` on ``g`` ``runs`` times on one blade: per nest (its
    line) the record of its fastest run, and the last run.  At one thread a nest's
    seconds are its CPU seconds (its time on a core of its own: the wall clock adds what
    others took of it), the wall clock kept as ``wall_seconds``."""
    nests: dict[int, dict] = {}
    sim = None
    for _ in range(runs):
        sim = simulate(kfn, one, g, _sample_args(kfn, g), blades=1, variant=v, fpga=False,
                       threads=T, check=False, graph_name=gname, timeout=timeout)
        for line, rec in sim.stats[0]["nests"].items():
            if T == 1 and rec.get("cpu_seconds", -1) >= 0:
                rec = {**rec, "wall_seconds": rec["seconds"], "seconds": rec["cpu_seconds"]}
            old = nests.get(int(line))
            if old is None or rec["seconds"] < old["seconds"]:
                nests[int(line)] = rec
    return nests, sim


def _programs(kernels) -> dict:
    """workload key -> (kernel, variant, variant IR): every distinct program among the
    kernels' planning variants, in kernel then variant order."""
    out = {}
    for kfn in kernels:
        seen = set()
        for v in PLAN_VARIANTS:
            kv, _ = make_variant(kfn.ir, v)
            text = print_kernel(kv)
            if text in seen:
                continue
            seen.add(text)
            out.setdefault(workload_key(kv, v), (kfn, v, kv))
    return out


def _calibrate_fpga(man, measured, keys, graph, cal: Calibration, T: int, say,
                    timeout) -> None:
    """The unit's cycles per edge of each program of ``keys`` (Verilator model of the
    first kind with an FPGA) on the largest calibration graph."""
    g, gname, _ = graph
    kind = next(k for k in man.kinds if k.fpga is not None)
    one = replace(man, kinds=(replace(kind, count=1, calibration={}),), workloads={})
    for key in keys:
        entry = measured[key]
        kfn, v = entry["kernel"], entry["variant"]
        say(f"{kfn.name} ({v}) on the FPGA unit (Verilator) on {gname}")
        sim = simulate(kfn, one, g, _sample_args(kfn, g), blades=1, variant=v, fpga=True,
                       threads=T, check=False, graph_name=gname, timeout=timeout)
        recs = [r for r in sim.stats[0]["nests"].values() if r["fpga"]]
        edges = sum(r["edges"] for r in recs)
        if edges:
            entry["fpga_cycles_per_edge"] = sum(r["cycles"] for r in recs) / edges


def _fpga_clocks(man, measured, cal: Calibration) -> None:
    """Each FPGA kind's clock: the lower of the manifest's and the measured Fmax."""
    for kind in (k for k in man.kinds if k.fpga is not None):
        fields = {}
        fmax = [fig["fmax_hz"] for e in measured.values()
                if (fig := fpga_profile(e["kv"], e["variant"]).figures(kind.fpga.part))
                and fig.get("fmax_hz")]
        if fmax:
            fields["fpga_clock_hz"] = min(kind.fpga.clock_hz, min(fmax))
        else:
            cal.notes.append(f"{kind.name}: no Fmax measured for {kind.fpga.part} "
                             "(cosynth bitstream); its clock stays the manifest's")
        cal.fpga[kind.name] = fields


def _write_copy(src: str, out: str, man, cal: Calibration) -> None:
    tree, _ = (_read_xml if src.lower().endswith(".xml") else _read_yaml)(src)
    tree = dict(tree)
    calib = {}
    for k in man.kinds:
        fields = {**cal.machine, **cal.fpga.get(k.name, {})}
        calib[k.name] = {name: float(f"{v:.6g}") for name, v in fields.items()}
    tree["calibration"] = calib
    tree["workloads"] = _plain(cal.workloads)
    head = (f"# {os.path.basename(src)} calibrated by `cosynth calibrate` on this machine "
            f"({os.cpu_count()} cores)\n# graphs: "
            + ", ".join(sorted({g for e in cal.workloads.values() for g in e["graphs"]}))
            + "\n")
    write_file(out, head + yaml.safe_dump(tree, sort_keys=False, width=100),
               what="calibrated manifest")


def _plain(x):
    if isinstance(x, dict):
        return {(k if isinstance(k, (str, int)) else str(k)): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, float):
        return float(f"{x:.6g}")
    if isinstance(x, np.generic):
        return _plain(x.item())
    return x


def machine_cache_bytes(level: int | None = None) -> int:
    """This machine's largest CPU cache (the last level), or its cache of ``level``, from
    sysfs; the cost model's default when the system does not say."""
    best = 0
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for d in os.listdir(base):
            try:
                with open(os.path.join(base, d, "size")) as f:
                    text = f.read().strip().upper()
                with open(os.path.join(base, d, "level")) as f:
                    lvl = int(f.read().strip() or 0)
            except (OSError, ValueError):
                continue
            if level is not None and lvl != level:
                continue
            mult = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
            digits = text[:-1] if text[-1:] in "KMG" else text
            if digits.isdigit():
                best = max(best, int(digits) * mult)
    except OSError:
        pass
    if level is not None:
        return best or DEFAULT_L2_BYTES
    return best or DEFAULT_CACHE_BYTES


def branch_cost(timeout: float, say) -> dict:
    """The guard term's machine figure (``cpu_seconds_per_flip``): what a change of a
    branch's outcome along a scan costs one core, by the branch probe
    (``backends.cpp.memprobe.flip_probe``: random against sorted flags, CPU clock, median
    of its repeats)."""
    c, each = flip_probe(timeout=timeout)
    say(f"a branch whose outcome changed (a misprediction): {c * 1e9:.2f} ns (the branch "
        "probe, CPU clock: " + ", ".join(f"{x * 1e9:.2f}" for x in each) + " ns)")
    return {"cpu_seconds_per_flip": c} if c > 0 else {}


def cache_levels(llc: int, timeout: float, say) -> dict:
    """The two-level working-set term's machine figures: from
    the gather probe (``backends.cpp.memprobe``) over working sets from a quarter of L2 up
    to twice the last level the system reports (doubling from twice L2, at most 256
    times L2), the two caches a core's random references can use (``memprobe.fit_cache``:
    in a virtual machine sysfs reports the host socket's whole last level) and the
    seconds a reference missing L2 and the LLC costs."""
    l2 = machine_cache_bytes(2)
    if l2 >= llc:  # one level only: keep the LLC term alone
        return {}
    sizes, b = [l2 // 4, l2 // 2, 3 * l2 // 4, l2, 3 * l2 // 2], 2 * l2
    while b <= min(2 * llc, 256 * l2):
        sizes.append(b)
        b *= 2
    samples = probe(sizes, timeout=timeout)
    l2_eff, llc_eff, c_l2, c_llc = fit_cache(samples, l2, llc)
    say(f"second-level cache: {l2_eff / 2**20:.2f} MiB measured ({l2 / 2**20:.1f} MiB "
        f"reported); a random reference missing it {c_l2 * 1e9:.1f} ns, missing the last "
        f"level ({llc_eff / 2**20:.1f} MiB measured, {llc / 2**20:.0f} MiB reported) "
        f"{c_llc * 1e9:.1f} ns more "
        "(the gather probe, CPU clock: " + ", ".join(f"{b / 2**20:g} MiB {t * 1e9:.1f} ns"
                                                    for b, t in samples) + ")")
    out = {"l2_bytes": float(l2_eff), "cpu_seconds_per_l2_miss": c_l2,
           "cache_bytes": float(llc_eff)}
    if c_llc > 0:
        out["cpu_seconds_per_miss"] = c_llc
    out.update(row_lines(llc_eff, l2, timeout, say))
    out.update(stream_lines(llc_eff, l2, timeout, say))
    return out


#: the row probe's large array, in multiples of the measured last-level cache (the share
#: it cannot hold: 94%), at most ``ROW_PROBE_MAX`` bytes
ROW_PROBE_LLCS = 16
ROW_PROBE_MAX = 2**30


def _beyond_llc_bytes(llc: float) -> int:
    """The row and stream probes' array beyond the last level: ``ROW_PROBE_LLCS`` times
    it, at most ``ROW_PROBE_MAX``, in whole MiB."""
    return int(min(ROW_PROBE_LLCS * llc, ROW_PROBE_MAX)) // 2**20 * 2**20


def row_lines(llc: float, l2: float, timeout: float, say) -> dict:
    """``cpu_seconds_per_row_line`` and ``cpu_seconds_per_row_l2_line``
    (``cost.row_miss_seconds``): the row probe (``memprobe.probe_rows``) over an array
    within half of L2, one of ``ROW_PROBE_LLCS`` times the last-level cache and one
    between the two (``row_l2_bytes``): the cost of a line of a row visited out of order
    that misses the last level, and of one that misses L2 only
    (``memprobe.row_line_cost`` with the cache each array overflows)."""
    big = _beyond_llc_bytes(llc)
    if big <= llc:
        return {}
    mid = row_l2_bytes(llc, l2)
    samples = probe_rows([int(l2 // 2), big] + ([mid] if mid else []), timeout=timeout)
    at = dict(samples)
    base, top = (int(l2 // 2), at[int(l2 // 2)]), (big, at[big])
    cost = row_line_cost([base, top], llc)
    out = {"cpu_seconds_per_row_line": cost} if cost > 0 else {}
    l2cost = row_line_cost([base, (mid, at[mid])], l2) if mid else 0.0
    if l2cost > 0:
        out["cpu_seconds_per_row_l2_line"] = l2cost
    say(f"a row visited out of order: {cost * 1e9:.1f} ns a line missing the last level, "
        f"{l2cost * 1e9:.1f} ns one missing L2 only (the row probe, CPU clock: " +
        ", ".join(f"{b / 2**20:g} MiB {t * 1e9:.1f} ns a line" for b, t in samples) + ")")
    return out


def row_l2_bytes(llc: float, l2: float) -> int:
    """The row probe's array between the caches: four L2s, at most half the last level
    (the others' work shares it), in whole MiB; 0 when that is not beyond L2."""
    mid = int(min(4 * l2, llc / 2)) // 2**20 * 2**20
    return mid if mid > l2 else 0


def stream_lines(llc: float, l2: float, timeout: float, say) -> dict:
    """``cpu_seconds_per_stream_line`` (``cost.stream_miss_seconds``): the stream probe
    (``memprobe.probe_stream``) over an array within half of L2 and one of
    ``ROW_PROBE_LLCS`` times the last-level cache: what a line of rows read in vertex
    order costs beyond the cache (``memprobe.row_line_cost`` of the two)."""
    big = _beyond_llc_bytes(llc)
    if big <= llc:
        return {}
    samples = probe_stream([int(l2 // 2), big], timeout=timeout)
    cost = row_line_cost(samples, llc)
    say(f"rows read in vertex order: {cost * 1e9:.1f} ns a line beyond the last level "
        "(the stream probe, CPU clock: " + ", ".join(f"{b / 2**20:g} MiB {t * 1e9:.2f} ns "
                                                     "a line" for b, t in samples) + ")")
    return {"cpu_seconds_per_stream_line": cost} if cost > 0 else {}
