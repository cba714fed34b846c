"""The ``cosynth`` command line.

Every user mistake ends as one paragraph on stderr (file:line: what is wrong, and the fix)
and exit status 2; a result that disagrees with its reference ends with status 3.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

import click
import numpy as np

from .errors import ArgumentError, CosynthError, MismatchError
from .resources import example_path, manifest_path

EXIT_USER = 2
EXIT_MISMATCH = 3


def main(argv=None) -> None:
    try:
        cli.main(args=argv, prog_name="cosynth", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except MismatchError as exc:
        click.echo(exc.format(), err=True)
        sys.exit(EXIT_MISMATCH)
    except CosynthError as exc:
        click.echo(exc.format(), err=True)
        sys.exit(EXIT_USER)
    sys.exit(0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cosynth")
def cli():
    """cosynth: co-synthesis of graph algorithms written in plain Python."""


def _graph_options(f):
    f = click.option("--undirected", is_flag=True,
                     help="Read an edge-list file as undirected.")(f)
    f = click.option("--seed", type=int, default=0, show_default=True,
                     help="Seed of the graph generators.")(f)
    f = click.option("--graph", "graph_spec", required=True, metavar="SPEC",
                     help="kron:SCALE[:EF], uniform:N:M, or a .el/.wel/.txt/.mtx file.")(f)
    return f


def _load_graph(spec: str, seed: int, undirected: bool):
    from .graphio import parse_graph_spec
    return parse_graph_spec(spec, seed=seed, directed=not undirected)


@cli.command()
@click.argument("spec", metavar="FILE.py[:KERNEL]")
@click.option("--locs", is_flag=True, help="Show the source line of each statement.")
def trace(spec: str, locs: bool):
    """Print the IR of a kernel (of every kernel in FILE.py when none is named)."""
    from .ir.printer import print_kernel
    from .loader import load_kernels, resolve_kernel, split_spec
    path, name = split_spec(spec)
    if name is None:
        kernels = load_kernels(path)
        if not kernels:
            raise CosynthError("defines no @cs.kernel function", path=path,
                               hint="decorate the kernel with @cs.kernel")
        texts = [print_kernel(k.ir, locs=locs) for _, k in sorted(kernels.items())]
        click.echo("\n".join(texts), nl=False)
        return
    click.echo(print_kernel(resolve_kernel(spec).ir, locs=locs), nl=False)


@cli.command()
@click.argument("spec", metavar="FILE.py:KERNEL")
@_graph_options
@click.option("--arg", "args", multiple=True, metavar="NAME=VALUE",
              help="A kernel argument (repeatable); node arrays as NAME=file.npy.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Save the result (.npy for one array, .npz for several).")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Compare with the kernel's networkx reference, when it has one.")
def interpret(spec, graph_spec, seed, undirected, args, output, check):
    """Run a kernel's IR in the interpreter and summarise the result."""
    from .loader import resolve_kernel
    k = resolve_kernel(spec)
    g = _load_graph(graph_spec, seed, undirected)
    bound = k.bind(g, **parse_cli_args(k.ir, args, g))
    click.echo(f"kernel {k.name} on {g!r} ({graph_spec})")
    if bound:
        click.echo("  arguments: " + ", ".join(f"{n}={_short(v)}" for n, v in bound.items()))
    from .ir.interp import interpret as run_ir
    t0 = time.perf_counter()
    out = run_ir(k.ir, g, bound)
    dt = time.perf_counter() - t0
    click.echo(f"  interpreter: {dt:.3f} s")
    names = result_names(k.ir)
    for name, value in zip(names, out):
        click.echo("  " + summarise(name, value))
    if check:
        _check_reference(k, g, bound, out, names, "interpreter")
    if output:
        save_results(output, names, out)
        click.echo(f"  saved to {output}")


@cli.command()
@click.argument("spec", metavar="FILE.py:KERNEL")
@click.option("--variant", "variant_name", metavar="NAME",
              help="Print the IR of a variant instead: seq, par, async, bsp, pull, edges.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False),
              help="Also write the report, with every law, as JSON.")
@click.option("--no-reassociate", is_flag=True,
              help="Refuse to reorder float sums (IEEE addition is not associative).")
def rewrite(spec, variant_name, json_out, no_reassociate):
    """List, per loop, each rewrite rule, whether it applies, and why (with the laws Z3
    proved or refuted)."""
    from cosynth.frontend.rewrite import VARIANTS, Policy, variant
    from cosynth.frontend.rewrite.explain import format_report, report_data

    from .ir.printer import print_kernel
    from .loader import resolve_kernel
    k = resolve_kernel(spec)
    policy = Policy(reassociate_float_sums=not no_reassociate)
    if variant_name:
        if variant_name not in VARIANTS:
            raise ArgumentError(f"unknown variant '{variant_name}'",
                                hint=f"choose one of {', '.join(VARIANTS)}")
        kv, steps = variant(k.ir, variant_name, policy)
        for r in steps:
            click.echo(f"# {r.rule}: {r.reason}")
        click.echo(print_kernel(kv), nl=False)
        return
    click.echo(format_report(k.ir, policy), nl=False)
    if json_out:
        import json
        text = json.dumps(report_data(k.ir, policy), indent=2, default=str)
        _write_text(json_out, text + "\n")
        click.echo(f"report written to {json_out}")


@cli.command()
@click.argument("spec", metavar="FILE.py:KERNEL")
@click.option("--manifest", "manifest_path", required=True, metavar="M.yaml|M.xml",
              help="The blades available (see manifests/).")
@_graph_options
@click.option("--arg", "args", multiple=True, metavar="NAME=VALUE")
@click.option("--blades", type=int, help="Use only the first N blades of the manifest.")
@click.option("--solver", type=click.Choice(["cbc", "highs"]), default="cbc",
              show_default=True)
@click.option("--time-limit", type=float, default=10.0, show_default=True,
              help="Seconds the ILP solver may take (the best plan found is kept).")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Save the plan as .yaml or .json.")
def plan(spec, manifest_path, graph_spec, seed, undirected, args, blades, solver, time_limit,
         output):
    """Partition a kernel over a blade manifest: where data lives, where each loop runs,
    which variant, and why (with what the best alternative would cost)."""
    from cosynth.planner import load_manifest, make_plan

    from .loader import resolve_kernel
    k = resolve_kernel(spec)
    man = load_manifest(manifest_path)
    if blades is not None:
        man = man.first(blades)
    g = _load_graph(graph_spec, seed, undirected)
    p = make_plan(k, man, g, parse_cli_args(k.ir, args, g), solver=solver,
                  time_limit=time_limit, graph_name=graph_spec)
    click.echo(p.format(), nl=False)
    if output:
        p.save(output)
        click.echo(f"plan written to {output}")


def _pipeline_options(f):
    f = click.option("--time-limit", type=float, default=10.0, show_default=True,
                     help="Seconds the ILP solver may take.")(f)
    f = click.option("--solver", type=click.Choice(["cbc", "highs"]), default="cbc",
                     show_default=True)(f)
    f = click.option("--blades", type=int,
                     help="Use exactly the first N blades of the manifest.")(f)
    f = click.option("--arg", "args", multiple=True, metavar="NAME=VALUE")(f)
    f = _graph_options(f)
    f = click.option("--manifest", "manifest_path", metavar="M.yaml|M.xml",
                     default=manifest_path("pair.yaml"), show_default=False,
                     help="The blades available (default: manifests/pair.yaml).")(f)
    return f


@cli.command()
@click.argument("spec", metavar="FILE.py:KERNEL", required=False)
@_pipeline_options
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="The directory to write.")
@click.option("--fpga/--no-fpga", default=None,
              help="Force the kernel's edge loops onto the blades' FPGAs, or keep them on "
                   "the CPUs (default: the planner decides).")
@click.option("--plan", "plan_path", type=click.Path(dir_okay=False), metavar="PLAN.yaml",
              help="Build this saved plan ('cosynth plan -o') instead of planning: its "
                   "programs need no kernel source (a changed one is refused).")
def build(spec, manifest_path, graph_spec, seed, undirected, args, blades, solver,
          time_limit, output, fpga, plan_path):
    """Write a self-contained build directory: the blade program (C++, OpenMP + MPI), its
    runtime, a Makefile, the plan, the graph shards and a run script (local or hostfile)."""
    from cosynth.planner import load_manifest, load_plan

    from .loader import resolve_kernel
    from .pipeline import build as do_build
    from .pipeline import build_from_plan
    if plan_path:
        plan = load_plan(plan_path)
        build_from_plan(plan, _load_graph(graph_spec, seed, undirected), output,
                        progress=_progress)
    elif spec is None:
        raise click.UsageError("give FILE.py:KERNEL, or --plan PLAN.yaml")
    else:
        k = resolve_kernel(spec)
        man = load_manifest(manifest_path)
        g = _load_graph(graph_spec, seed, undirected)
        plan, bundle = do_build(k, man, g, parse_cli_args(k.ir, args, g), output,
                                blades=blades, solver=solver, time_limit=time_limit,
                                graph_name=graph_spec, progress=_progress, fpga=fpga)
    click.echo(f"wrote {output}/: blade.cpp, cosynth_rt.hpp, Makefile, run.sh, run.cfg, "
               f"plan.yaml, {len(plan.blades)} graph shard(s)")
    click.echo(f"run it with: {output}/run.sh   (on a cluster: HOSTFILE=hosts "
               f"{output}/run.sh)")


@cli.command()
@click.argument("spec", metavar="FILE.py:KERNEL")
@_pipeline_options
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Save the gathered result (.npy for one array, .npz for several).")
@click.option("--timeout", type=float, default=600.0, show_default=True,
              help="Seconds before hung blades are stopped.")
@click.option("--keep", type=click.Path(file_okay=False),
              help="Keep the build and run directory here.")
@click.option("--fpga/--no-fpga", default=None,
              help="Force the kernel's edge loops onto the blades' FPGAs (simulated with "
                   "Verilator), or keep them on the CPUs (default: the planner decides).")
def simulate(spec, manifest_path, graph_spec, seed, undirected, args, blades, solver,
             time_limit, output, timeout, keep, fpga):
    """Plan, build and run the kernel's blades locally with mpirun, gather the result,
    check it against the IR interpreter and networkx, and report times and traffic."""
    from cosynth.planner import load_manifest

    from .loader import resolve_kernel
    from .pipeline import simulate as do_simulate
    k = resolve_kernel(spec)
    man = load_manifest(manifest_path)
    g = _load_graph(graph_spec, seed, undirected)
    click.echo(f"kernel {k.name} on {g!r} ({graph_spec}), manifest {man.name}")
    sim = do_simulate(k, man, g, parse_cli_args(k.ir, args, g), blades=blades, solver=solver,
                      time_limit=time_limit, timeout=timeout, graph_name=graph_spec,
                      workdir=keep, progress=_progress, fpga=fpga)
    report_simulation(sim)
    if output:
        save_results(output, sim.names, sim.results)
        click.echo(f"  saved to {output}")


@cli.command()
@click.option("--manifest", "manifest_path", required=True, metavar="MANIFEST",
              help="The manifest to calibrate (it is read, never written).")
@click.option("-o", "--output", metavar="COPY.yaml",
              help="Where to write the calibrated copy (default: NAME.calibrated.yaml in "
                   "the current folder).")
@click.option("--kernel", "kernel_specs", multiple=True, metavar="FILE.py:KERNEL",
              help="Kernels to measure (repeatable; default: the seven examples and "
                   "sssp_int).")
@click.option("--graph", "graph_specs", multiple=True, metavar="SPEC",
              help="Calibration graphs (repeatable; default: kron:11, kron:12, kron:13).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--threads", type=int, help="Cores to measure with (default: all).")
@click.option("--fpga/--no-fpga", default=True, show_default=True,
              help="Also measure the FPGA units' cycles per edge (Verilator).")
def calibrate(manifest_path, output, kernel_specs, graph_specs, seed, threads, fpga):
    """Measure this machine (generated C++ per core, FPGA units in simulation) and the
    kernels' work, and write the calibrated fields into a copy of the manifest."""
    from .calibrate import DEFAULT_GRAPHS
    from .calibrate import calibrate as do_calibrate
    from .loader import resolve_kernel
    if output is None:
        stem = os.path.splitext(os.path.basename(manifest_path))[0]
        output = f"{stem}.calibrated.yaml"
    kernels = [resolve_kernel(s) for s in kernel_specs] or None
    cal = do_calibrate(manifest_path, output, kernels=kernels,
                       graphs=graph_specs or DEFAULT_GRAPHS, threads=threads, fpga=fpga,
                       progress=_progress, seed=seed)
    m = cal.machine
    click.echo(f"this machine, one core: {m['cpu_edges_per_second_per_core'] / 1e6:.1f} M "
               f"edges/s, {m['cpu_vertices_per_second_per_core'] / 1e6:.1f} M vertices/s, "
               f"{m['cpu_seconds_per_run'] * 1e6:.2f} us per parallel nest run")
    for kind, fields in cal.fpga.items():
        if fields:
            click.echo(f"{kind}: FPGA clock {fields['fpga_clock_hz'] / 1e6:.1f} MHz "
                       "(measured Fmax)")
    click.echo("kernel variant                      nest                          "
               "cost  cycles/edge")
    for key, entry in cal.workloads.items():
        cpe = entry.get("fpga_cycles_per_edge")
        for law in entry["nests"].values():
            click.echo(f"{key:34s}  {law['label'][:28]:28s}  {law['cost']:5.2f}  "
                       + (f"{cpe:.3f}" if cpe else "-"))
    for note in cal.notes:
        click.echo(f"note: {note}")
    click.echo(f"wrote {output} (plan with --manifest {output})")


@cli.command()
@click.argument("spec", metavar="FILE.py:KERNEL")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="The directory to write.")
@click.option("--variant", "variant_name", metavar="NAME",
              help="Rewrite variant to build from (default: the first that can go to "
                   "hardware of async, par, edges, pull).")
@click.option("--depth", type=int, help="Vertices the unit holds on chip (default: 1024, "
                                        "or the sample graph's size if larger).")
@click.option("--graph", "graph_spec", default="kron:4", show_default=True, metavar="SPEC",
              help="The sample graph of the recorded trace and test bench.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--undirected", is_flag=True, help="Read an edge-list file as undirected.")
@click.option("--arg", "args", multiple=True, metavar="NAME=VALUE",
              help="Kernel arguments for the sample run (vertex parameters default to 0).")
@click.option("--verilator/--no-verilator", default=True, show_default=True,
              help="Build and run the test bench under Verilator.")
def rtl(spec, output, variant_name, depth, graph_spec, seed, undirected, args, verilator):
    """Write a kernel's FPGA edge unit: Verilog (Amaranth), its register map, and a test
    bench replaying a recorded run; checks it against the interpreter, the lint and
    Verilator."""
    from cosynth.backends.rtl.emit import write_rtl

    from .loader import resolve_kernel
    k = resolve_kernel(spec)
    g = _load_graph(graph_spec, seed, undirected)
    cli_args = _sample_args(k, parse_cli_args(k.ir, args, g))
    if depth is not None and depth < 1:
        raise ArgumentError(f"--depth {depth}: a unit holds at least one vertex")
    r = write_rtl(k, output, g, cli_args, variant=variant_name, depth=depth,
                  verilator=verilator, progress=_progress)
    click.echo(r.regmap.describe())
    click.echo(f"  sample run: {r.edges} edges in {r.cycles} cycles "
               f"({r.edges_per_cycle:.3f} edges per clock, run overheads included)")
    for c in r.checks:
        click.echo(f"  {c}")
    click.echo(f"wrote {output}/: {r.unit}.v ({r.verilog_lines} lines), regmap.json, "
               "regmap.txt, trace.txt, unit_tb.cpp, cosynth_unit.hpp, Makefile, lint.txt, "
               "report.json")


@cli.command()
@click.argument("spec", metavar="FILE.py:KERNEL")
@click.option("--family", required=True, type=click.Choice(["ice40", "ecp5"]),
              help="FPGA family: iCE40 HX8K or ECP5-25F by default.")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="The directory to write.")
@click.option("--device", help="Another part of the family: hx8k, up5k, hx1k; 25k, 45k, 85k.")
@click.option("--variant", "variant_name", metavar="NAME",
              help="Rewrite variant to build from (default: the first that can go to "
                   "hardware).")
@click.option("--depth", type=int,
              help="Vertices on chip (default: as many as ~60% of the block RAM holds).")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Placement seed of nextpnr.")
def bitstream(spec, family, output, device, variant_name, depth, seed):
    """Synthesize, place and route a kernel's FPGA unit (YoWASP yosys + nextpnr from
    PyPI) and write the bitstream with a report: LUTs, FFs, BRAM, Fmax, edges/s."""
    from cosynth.backends.rtl.bitstream import write_bitstream

    from .loader import resolve_kernel
    k = resolve_kernel(spec)
    if depth is not None and depth < 1:
        raise ArgumentError(f"--depth {depth}: a unit holds at least one vertex")
    r = write_bitstream(k, output, family, variant=variant_name, depth=depth,
                        device=device, seed=seed, progress=_progress)
    rep = r.report
    met = "met" if rep["timing_met"] else "NOT met"
    click.echo(f"unit {rep['unit']} (variant {rep['variant']}, {r.depth} vertices) on "
               f"{rep['device']} {rep['package']}")
    click.echo(f"  Fmax {rep['fmax_mhz']:.1f} MHz (target {rep['target_mhz']:g} MHz: {met})"
               f"  -> {rep['edges_per_second'] / 1e6:.1f} M edges/s at one edge per clock")
    click.echo(f"  LUTs {rep['luts']}/{rep['luts_total']}, FFs {rep['ffs']}/"
               f"{rep['ffs_total']}, BRAM {rep['bram']}/{rep['bram_total']}, DSP {rep['dsp']}")
    click.echo(f"wrote {output}/: {os.path.basename(r.bitstream)}, bitstream.json, "
               "report.json, top.v, logs (synth.log, pnr.log, pack.log)")


def _sample_args(k, given: dict) -> dict:
    """Arguments for a sample run: vertex parameters without a value default to 0."""
    out = dict(given)
    for p in k.ir.params:
        if p.name not in out and not p.has_default and p.kind == "scalar" and p.node:
            out[p.name] = 0
    return out


def _progress(msg: str) -> None:
    click.echo(f"  .. {msg}")


def report_simulation(sim) -> None:
    for name, value in zip(sim.names, sim.results):
        click.echo("  " + summarise(name, value))
    click.echo(f"  plan {sim.seconds['plan']:.2f} s, compile {sim.seconds['compile']:.2f} s"
               f"{' (cached)' if sim.cached_build else ''}, run {sim.seconds['run']:.2f} s "
               "(mpirun, start-up included)")
    click.echo("  blade  kind        device  vertices             kernel     compute   comm  "
               "     messages        bytes")
    for b, st in zip(sim.plan.blades, sim.stats):
        click.echo(f"  {b.blade:5d}  {b.kind:10s}  {b.device:6s}  {b.lo:>8d}..{b.hi:<9d}"
                   f"{st['total'] * 1e3:9.3f}ms {st['compute'] * 1e3:8.3f}ms "
                   f"{st['comm'] * 1e3:8.3f}ms {st['messages']:>10d} {st['bytes']:>12d}")
    steps = [s for s in sim.stats[0]["supersteps"]]
    if steps:
        shown = ", ".join(f"{1e3 * max(st['supersteps'][i] for st in sim.stats):.3f}"
                          for i in range(min(len(steps), 12)))
        more = f", ... ({len(steps)} in all)" if len(steps) > 12 else ""
        click.echo(f"  supersteps (slowest blade, ms): {shown}{more}")
    fpga = [(b, st["fpga"], clk) for b, st, clk in
            zip(sim.plan.blades, sim.stats, sim.fpga_clock_hz or [0] * len(sim.stats))
            if st.get("fpga", {}).get("fpga")]
    if fpga:
        click.echo("  FPGA units (Verilator models of the unit's Verilog):")
        for b, f, clk in fpga:
            at = f" = {f['device_cycles'] / clk * 1e3:.3f} ms at {clk / 1e6:g} MHz" \
                if clk else ""
            click.echo(f"  {b.blade:5d}  {f['calls']} calls, {f['runs']} runs, "
                       f"{f['edges']} edges: {f['device_cycles']} cycles ({f['run_cycles']} "
                       f"streaming, {f['transfer_entries']} loads/readbacks, {f['stalls']} "
                       f"stalls){at}; host + simulation {f['seconds'] * 1e3:.3f} ms")
    pred = sim.plan.predicted["makespan_s"]
    meas = max(st["total"] for st in sim.stats)
    click.echo(f"  plan's prediction {pred * 1e3:.3f} ms on the manifest's machines; measured "
               f"{meas * 1e3:.3f} ms here (kernel time, slowest blade)")
    report_prediction(sim)
    for c in sim.checks:
        click.echo(f"  {c}")


def report_prediction(sim) -> None:
    """Predicted vs measured per loop nest (the kernels a plan places) and per blade, with
    the threads each local blade had."""
    if not sim.predicted:
        return
    cal = any(r["calibrated"] for b in sim.predicted for r in b["nests"])
    click.echo(f"  predicted vs measured here ({sim.threads} thread(s) per blade; "
               + ("calibrated model" if cal else "uncalibrated defaults: run cosynth "
                  "calibrate for a model of this machine") + "):")
    click.echo("  blade  nest                                      device  predicted   "
               "measured   error")
    for b in sim.predicted:
        for r in b["nests"]:
            label = r["label"] + (" [replicated]" if r["replicated"] else "")
            click.echo(f"  {b['blade']:5d}  {label[:40]:40s}  {r['device']:6s} "
                       f"{r['predicted_s'] * 1e3:9.3f}ms {r['measured_s'] * 1e3:9.3f}ms  "
                       f"{_error(r['predicted_s'], r['measured_s'])}")
        click.echo(f"  {b['blade']:5d}  {'all nests of the blade':40s}  {b['device']:6s} "
                   f"{b['predicted_s'] * 1e3:9.3f}ms {b['measured_s'] * 1e3:9.3f}ms  "
                   f"{_error(b['predicted_s'], b['measured_s'])}")


def _error(pred: float, meas: float) -> str:
    if meas <= 0:
        return "   -" if pred <= 0 else "  (not run)"
    return f"{100 * (pred - meas) / meas:+6.0f}%"


def _write_text(path: str, text: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ArgumentError(f"cannot write '{path}': folder '{folder}' does not exist")
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


@cli.command()
@click.option("--kernel", "spec", default=example_path("sssp.py") + ":sssp",
              show_default=False, metavar="FILE.py:KERNEL",
              help="Kernel to run (default: the SSSP example).")
@click.option("--graph", "graph_spec", default="kron:10", show_default=True, metavar="SPEC")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--arg", "args", multiple=True, metavar="NAME=VALUE")
@click.option("--manifest", "manifest_path", default=manifest_path("pair.yaml"),
              metavar="M.yaml|M.xml", help="Blades to plan for (default: manifests/pair.yaml).")
def demo(spec, graph_spec, seed, args, manifest_path):
    """The main job on built-in defaults: trace an example kernel, run it as plain Python
    and in the IR interpreter on a generated graph, rewrite it into its proven parallel
    variant, plan it onto the blades of a manifest, build the C++/OpenMP/MPI blade
    program, run it with mpirun, and check everything against networkx."""
    from .check import compare_results
    from .ir.interp import interpret as run_ir
    from .ir.printer import print_kernel
    from .loader import resolve_kernel
    k = resolve_kernel(spec)
    click.echo(f"[1/6] tracing {k.name} from {k.source_file}")
    click.echo(print_kernel(k.ir), nl=False)
    g = _load_graph(graph_spec, seed, False)
    click.echo(f"[2/6] graph {graph_spec}: {g!r}")
    cli_args = parse_cli_args(k.ir, args, g)
    if "source" in {p.name for p in k.ir.params} and "source" not in cli_args:
        cli_args["source"] = int(np.argmax(g.out_degrees()))
    bound = k.bind(g, **cli_args)
    if bound:
        click.echo("      arguments: " + ", ".join(f"{n}={_short(v)}" for n, v in bound.items()))
    t0 = time.perf_counter()
    plain = k(g, **cli_args)
    t_plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = run_ir(k.ir, g, bound)
    t_ir = time.perf_counter() - t0
    names = result_names(k.ir)
    click.echo(f"[3/6] plain Python {t_plain:.3f} s, IR interpreter {t_ir:.3f} s")
    compare_results(out, plain, what="interpreter result", against="the plain Python run",
                    names=names)
    for name, value in zip(names, out):
        click.echo("      " + summarise(name, value))
    from cosynth.frontend.rewrite import variant

    kv, steps = variant(k.ir, "async")
    click.echo(f"[4/6] rewrites ({len(steps)} applied, each with its Z3 certificate):")
    for r in steps:
        click.echo(f"      {r.rule}: {r.reason}")
    t0 = time.perf_counter()
    fast = run_ir(kv, g, bound)
    t_fast = time.perf_counter() - t0
    click.echo(f"      parallel variant, vectorised: {t_fast:.3f} s")
    compare_results(fast, out, what="rewritten result", against="the interpreter",
                    names=names)
    from cosynth.planner import load_manifest

    from .pipeline import simulate as do_simulate
    man = load_manifest(manifest_path)
    click.echo(f"[5/6] plan, build and run on manifest {man.name} ({man.blades} blades): "
               "C++ with OpenMP inside each blade, MPI between blades")
    sim = do_simulate(k, man, g, cli_args, blades=man.blades, graph_name=graph_spec,
                      progress=lambda msg: click.echo(f"      .. {msg}"))
    report_simulation(sim)
    click.echo("[6/6] checks")
    click.echo("      interpreter == plain Python: ok")
    click.echo("      rewritten variant == interpreter: ok")
    for c in sim.checks:
        click.echo(f"      {c}")
    _check_reference(k, g, bound, out, names, "interpreter", indent="      ")


def _check_reference(k, g, bound, out, names, what, indent="  "):
    from .check import compare_results
    from .nxref import NoReference
    try:
        t0 = time.perf_counter()
        want = k.expected(g, bound)
        dt = time.perf_counter() - t0
    except NoReference as exc:
        click.echo(f"{indent}networkx: no reference ({exc})")
        return
    compare_results(out, want, what=f"{what} result", against="networkx", names=names)
    click.echo(f"{indent}{what} == networkx: ok (networkx took {dt:.3f} s)")


def result_names(k) -> list[str]:
    from .ir.printer import print_expr
    return [print_expr(r) for r in k.returns]


def parse_cli_args(k, items, g) -> dict:
    """``["source=3", "alpha=0.9"]`` -> typed values for the kernel's parameters."""
    params = {p.name: p for p in k.params}
    out = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ArgumentError(f"--arg '{item}' is not NAME=VALUE",
                                hint="write e.g. --arg source=0")
        p = params.get(name)
        if p is None:
            have = ", ".join(params) or "none"
            raise ArgumentError(f"kernel '{k.name}' has no parameter '{name}' "
                                f"(its parameters: {have})")
        out[name] = _parse_value(p, text.strip())
    return out


def _parse_value(p, text: str):
    if p.kind == "array":
        if not os.path.isfile(text):
            raise ArgumentError(f"--arg {p.name}: no such file '{text}'",
                                hint="node arrays are passed as .npy files")
        try:
            return np.load(text, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise ArgumentError(f"--arg {p.name}: cannot read '{text}' as .npy: {exc}") \
                from None
    d = p.dtype
    try:
        if d.is_bool:
            low = text.lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if d.is_int:
            return int(text)
        return float(text)
    except ValueError:
        want = "true or false" if d.is_bool else ("an integer" if d.is_int else "a number")
        raise ArgumentError(f"--arg {p.name}={text}: expected {want}") from None


def summarise(name: str, value) -> str:
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
    head = ", ".join(_short(x) for x in a[:6])
    return text + f"  [{head}{', ...' if a.size > 6 else ''}]"


def _short(v) -> str:
    if isinstance(v, np.ndarray):
        return f"<{v.dtype}[{v.size}]>"
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return f"{v:.6g}"
    return repr(v)


def save_results(path: str, names: list[str], values) -> None:
    """Write results atomically: a temporary file in the same folder, then a rename."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ArgumentError(f"cannot write '{path}': folder '{folder}' does not exist")
    if path.endswith(".npy"):
        if len(values) != 1:
            raise ArgumentError(f"the kernel returns {len(values)} values; '{path}' holds one",
                                hint="save to a .npz file instead")
    elif not path.endswith(".npz"):
        raise ArgumentError(f"'{path}': results are saved as .npy (one array) or .npz")
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if path.endswith(".npy"):
                np.save(f, np.asarray(values[0]))
            else:
                np.savez(f, **{_key(n, i): np.asarray(v) for i, (n, v) in
                               enumerate(zip(names, values))})
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _key(name: str, i: int) -> str:
    return name if name.isidentifier() else f"result{i}"


if __name__ == "__main__":  # pragma: no cover
    main()
