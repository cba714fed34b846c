"""The ``cosynth`` command line.

Every user mistake ends as one paragraph on stderr (file:line: what is wrong, and the fix)
and exit status 2 (an output that cannot be written is one: the message names the path
and, for a finished result, where it was saved instead); a result that disagrees with its
reference ends with status 3; a tool or blade that failed (the compiler, mpirun,
Verilator, yosys/nextpnr, a crashed or hung blade: ``ToolError``) with status 4.  SIGINT
(Ctrl-C) and SIGTERM stop every child process (``cosynth.procs``), remove the temporary
folders and end with one line and status 130 or 143.  Every ``-o`` path is checked before
the work starts; directory outputs follow ``cosynth.outputs``' marker rule.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import tempfile
import time
import traceback

import click
import numpy as np

from cosynth.backends.rtl.bitstream import write_bitstream
from cosynth.backends.rtl.emit import write_rtl
from cosynth.backends.rtl.formal import prove_kernel
from cosynth.backends.rtl.interval_costs import fpga_profile
from cosynth.frontend.rewrite import VARIANTS, Policy, variant
from cosynth.frontend.rewrite.explain import format_report, report_data
from cosynth.planner import load_manifest, load_plan, make_plan

from . import htmlreport, procs, report
from .calibrate import DEFAULT_GRAPHS, DEFAULT_WS_GRAPH
from .calibrate import calibrate as do_calibrate
from .check import compare_results
from .errors import ArgumentError, CosynthError, MismatchError, OutputError, ToolError, bug_hint
from .fixed import parse_fixed
from .graphio import parse_graph_spec
from .ir.interp import interpret as run_ir
from .ir.printer import print_kernel
from .loader import load_kernels, resolve_kernel, split_spec
from .nxref import NoReference, engine
from .outputs import OutputDir, check_dir, check_file, io_hint, save_or_fallback, write_file
from .pipeline import build as do_build
from .pipeline import build_from_plan
from .pipeline import simulate as do_simulate
from .progress import Progress
from .resources import example_path, manifest_path
from .results import convert_results

EXIT_USER = 2
EXIT_MISMATCH = 3
EXIT_TOOL = 4
EXIT_INTERRUPT = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM
EXIT_INTERNAL = 1  # an exception nobody expected: a cosynth bug, traceback saved

#: OSErrors of the filesystem (full, read-only, forbidden) reported as one paragraph
_STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                   errno.EFBIG}


def main(argv=None) -> None:
    previous = procs.install_signal_handlers()
    try:
        _main(argv)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _main(argv) -> None:
    try:
        cli.main(args=argv, prog_name="cosynth", standalone_mode=False)
    except (KeyboardInterrupt, procs.Interrupted) as exc:
        _interrupted(exc)
    except click.exceptions.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):  # click's Ctrl-C
            _interrupted(exc.__context__)
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except MismatchError as exc:
        click.echo(exc.format(), err=True)
        sys.exit(EXIT_MISMATCH)
    except ToolError as exc:
        click.echo(exc.format(), err=True)
        sys.exit(EXIT_TOOL)
    except CosynthError as exc:
        click.echo(exc.format(), err=True)
        sys.exit(EXIT_USER)
    except OSError as exc:
        if exc.errno not in _STORAGE_ERRNOS:
            raise
        where = f" ('{exc.filename}')" if isinstance(exc.filename, str) else ""
        click.echo(OutputError(f"{exc.strerror or exc}{where}", hint=io_hint(exc)).format(),
                   err=True)
        sys.exit(EXIT_USER)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a bug, reported
        if os.environ.get("COSYNTH_TRACEBACK"):
            raise
        _internal_error(exc)
    sys.exit(0)


def _internal_error(exc: Exception) -> None:
    """An exception that no stage expected: one paragraph that blames cosynth, says how to
    report it and where the traceback is (a new file in the temporary folder; on stderr
    when none can be written), then exit 1.  ``COSYNTH_TRACEBACK=1`` lets it propagate."""
    text = "".join(traceback.format_exception(exc))
    log = None
    try:
        fd, log = tempfile.mkstemp(prefix="cosynth-crash-", suffix=".txt")
        with os.fdopen(fd, "w") as f:
            f.write(f"cosynth {' '.join(sys.argv[1:])}\n\n{text}")
    except OSError:
        log = None
    first = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    click.echo(f"error: internal error ({first})", err=True)
    click.echo(f"  fix: {bug_hint(log)}", err=True)
    if log is None:
        click.echo(text, err=True)
    sys.exit(EXIT_INTERNAL)


def _interrupted(exc: BaseException) -> None:
    """Stop what is still running, say so in one line, exit 128 + the signal number.
    The temporaries are gone by now: the exception ran every ``finally`` on its way."""
    procs.stop_all()
    status = procs.exit_status(exc)
    what = "terminated (SIGTERM)" if status == 128 + signal.SIGTERM else "interrupted (SIGINT)"
    print(f"cosynth: {what}; child processes stopped and temporary files removed",
          file=sys.stderr, flush=True)
    sys.stdout.flush()
    sys.exit(status)


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
                     help="kron:SCALE[:EF], uniform:N:M, or a .el/.wel/.txt/.mtx file "
                          "(compact:FILE renumbers its vertex ids densely).")(f)
    return f


def _force_option(f):
    return click.option("--force", is_flag=True,
                        help="When -o names something cosynth did not make (no "
                             ".cosynth-output file in it), move it aside to NAME.bak-N "
                             "instead of refusing; nothing is ever deleted.")(f)


def _report_option(f):
    return click.option("--report", "report_path", type=click.Path(dir_okay=False),
                        metavar="OUT.html",
                        help="Also write a self-contained HTML report (figures inline, "
                             "no network needed) to open in a browser.")(f)


def _write_report(path: str, plan, man, g, *, note=click.echo, **kw) -> None:
    save_or_fallback(path, lambda dest: htmlreport.write_report(dest, plan, man, g, **kw),
                     what="report")
    note(f"report written to {path}")


def _json_target(ctx, param, value):
    """``--json`` took the kernel as its FILE (``--json FILE.py:KERNEL``): say how to
    write it (before click reports the kernel as missing)."""
    if value not in (None, "-") and (value.endswith(".py") or ".py:" in value):
        raise click.BadParameter(f"'{value}' is a kernel, not a JSON file: write --json "
                                 "after the kernel, or --json=FILE", param=param)
    return value


def _json_option(f):
    return click.option("--json", "json_out", is_flag=False, flag_value="-", default=None,
                        metavar="[FILE]", callback=_json_target,
                        help="Print the result as JSON on stdout instead of the text "
                             "report (progress and notices go to stderr); --json=FILE "
                             "writes it to FILE and keeps the text report.")(f)


class _Session:
    """One command's output: the text report on stdout, progress lines (``Progress``) and
    notices, and the ``--json`` result.  With ``--json`` (to stdout) stdout carries the
    JSON document and nothing else: the text report is not printed and progress and
    notices go to stderr.  ``--json=FILE`` is checked before the work starts."""

    def __init__(self, json_out: str | None = None):
        if json_out is not None and json_out != "-":
            check_file(json_out, option="--json", what="JSON result")
        self.json_out = json_out
        self.quiet = json_out == "-"
        self.progress = Progress(sys.stderr if self.quiet else sys.stdout)
        self.seconds: dict[str, float] = {}  # steps the command timed itself (the graph)

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc) -> None:
        self.progress.close()

    def echo(self, lines, indent: str = "") -> None:
        """The text report (not printed under ``--json`` to stdout)."""
        self.progress.close()
        if not self.quiet:
            _echo(lines, indent)

    def note(self, text: str) -> None:
        """A notice: on stdout with the report, on stderr under ``--json``."""
        if self.progress.fancy:
            self.progress.note(text)
        else:
            click.echo(text, err=self.quiet)

    def result(self, data: dict) -> None:
        """The ``--json`` document, when asked for."""
        self.progress.close()
        if self.json_out is None:
            return
        text = report.to_json(data)
        if self.quiet:
            sys.stdout.write(text)
            sys.stdout.flush()
            return
        save_or_fallback(self.json_out, lambda path: write_file(path, text,
                                                                what="JSON result"),
                         what="JSON result")
        click.echo(f"JSON written to {self.json_out}")


def _load_graph(spec: str, seed: int, undirected: bool, session: _Session | None = None):
    """The graph of ``spec``.  With a session, generating or reading it is a progress step
    (a large graph takes seconds: a live step on a terminal, a line afterwards in plain
    mode when it took 2 s or more) and its time is ``session.seconds["graph"]``."""
    t0 = time.perf_counter()
    if session is not None and session.progress.fancy:
        session.progress(f"graph {spec}")
    g = parse_graph_spec(spec, seed=seed, directed=not undirected)
    dt = time.perf_counter() - t0
    if session is not None:
        session.seconds["graph"] = dt
        if dt >= 2.0 and not session.progress.fancy:
            session.progress(f"graph {spec}: {g.n} vertices, {g.m} edges in {dt:.1f} s")
    return g


@cli.command()
@click.argument("spec", metavar="FILE.py[:KERNEL]")
@click.option("--locs", is_flag=True, help="Show the source line of each statement.")
def trace(spec: str, locs: bool):
    """Print the IR of a kernel (of every kernel in FILE.py when none is named)."""
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
    k = resolve_kernel(spec)
    if output:
        check_result_path(output, len(k.ir.returns))
    g = _load_graph(graph_spec, seed, undirected)
    bound = k.bind(g, **parse_cli_args(k.ir, args, g, note=click.echo))
    _echo(report.run_header(k, g, graph_spec, bound))
    t0 = time.perf_counter()
    out = run_ir(k.ir, g, bound)
    dt = time.perf_counter() - t0
    names = report.result_names(k.ir)
    _echo(report.interpreted(dt, names, out))
    if check:
        _check_reference(k, g, bound, out, names, "interpreter")
    if output:
        save_results(output, names, out)
        click.echo(f"  saved to {output}")


@cli.command()
@click.argument("spec", metavar="FILE.py:KERNEL")
@click.option("--variant", "variant_name", metavar="NAME",
              help="Print the IR of a variant instead: seq, par, async, bsp, pull, edges, "
                   "hybrid.")
@_json_option
@click.option("--no-reassociate", is_flag=True,
              help="Refuse to reorder float sums (IEEE addition is not associative).")
def rewrite(spec, variant_name, json_out, no_reassociate):
    """List, per loop, each rewrite rule, whether it applies, and why (with the laws Z3
    proved or refuted)."""
    s = _Session(json_out)
    k = resolve_kernel(spec)
    policy = Policy(reassociate_float_sums=not no_reassociate)
    if variant_name:
        if variant_name not in VARIANTS:
            raise ArgumentError(f"unknown variant '{variant_name}'",
                                hint=f"choose one of {', '.join(VARIANTS)}")
        kv, steps = variant(k.ir, variant_name, policy)
        s.echo([f"# {r.rule}: {r.reason}" for r in steps])
        s.echo(print_kernel(kv).splitlines())
        s.result({"kernel": k.name, "variant": variant_name,
                  "rewrites": [{"rule": r.rule, "reason": r.reason} for r in steps],
                  "ir": print_kernel(kv)})
        return
    s.echo(format_report(k.ir, policy).splitlines())
    s.result(report_data(k.ir, policy))


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
@_report_option
@_json_option
def plan(spec, manifest_path, graph_spec, seed, undirected, args, blades, solver, time_limit,
         output, report_path, json_out):
    """Partition a kernel over a blade manifest: where data lives, where each loop runs,
    which variant, and why (with what the best alternative would cost)."""
    s = _Session(json_out)
    if output:
        check_file(output, what="plan")
        if not output.endswith((".yaml", ".yml", ".json")):
            raise ArgumentError(f"-o {output}: plans are saved as .yaml or .json")
    if report_path:
        htmlreport.check_report_path(report_path)
    k = resolve_kernel(spec)
    man = load_manifest(manifest_path)
    if blades is not None:
        man = man.first(blades)
    with s:
        g = _load_graph(graph_spec, seed, undirected, s)
        cli_args = parse_cli_args(k.ir, args, g, note=s.note)
        if s.progress.fancy:
            s.progress(f"planning with {solver} (at most {time_limit:g} s per solve)")
        p = make_plan(k, man, g, cli_args, solver=solver, time_limit=time_limit,
                      graph_name=graph_spec, fpga=fpga_profile)
    s.echo(p.format().splitlines())
    if output:
        save_or_fallback(output, p.save, what="plan")
        s.note(f"plan written to {output}")
    s.result(report.plan_data(p))
    if report_path:
        _write_report(report_path, p, man, g, kernel=k, args=cli_args, command="plan",
                      note=s.note)


def _fixed_option(f):
    return click.option(
        "--fixed", "fixed", metavar="Qm.n,atol=X[,rtol=Y]",
        help="Fixed-point policy for float loops on FPGA units (overrides the kernel's "
             "@cs.kernel(fixed=...)): floats enter the unit as Qm.n words and its results "
             "must lie within the stated tolerance of the float kernel, e.g. "
             "Q16.47,atol=1e-9.")(f)


def _with_fixed(k, fixed):
    """The kernel under the ``--fixed`` policy, if one is given."""
    return k.with_fixed(parse_fixed(fixed)) if fixed else k


def _pipeline_options(f):
    f = _fixed_option(f)
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
@_force_option
def build(spec, manifest_path, graph_spec, seed, undirected, args, blades, solver,
          time_limit, fixed, output, fpga, plan_path, force):
    """Write a self-contained build directory: the blade program (C++, OpenMP + MPI), its
    runtime, a Makefile, the plan, the graph shards, a README and a run script (local or
    hostfile)."""
    check_dir(output, force=force)
    s = _Session()
    if plan_path:
        plan = load_plan(plan_path)
        with s:
            build_from_plan(plan, _load_graph(graph_spec, seed, undirected, s), output,
                            progress=s.progress, force=force)
    elif spec is None:
        raise click.UsageError("give FILE.py:KERNEL, or --plan PLAN.yaml")
    else:
        k = _with_fixed(resolve_kernel(spec), fixed)
        man = load_manifest(manifest_path)
        with s:
            g = _load_graph(graph_spec, seed, undirected, s)
            plan, bundle = do_build(k, man, g, parse_cli_args(k.ir, args, g, note=s.note),
                                    output, blades=blades, solver=solver,
                                    time_limit=time_limit, graph_name=graph_spec,
                                    progress=s.progress, fpga=fpga, force=force)
    s.echo(report.build_dir(plan, output))


@cli.command()
@click.argument("spec", metavar="FILE.py:KERNEL")
@_pipeline_options
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Save the gathered result (.npy for one array, .npz for several).")
@click.option("--timeout", type=float, default=600.0, show_default=True,
              help="Seconds before hung blades are stopped.")
@click.option("--stall-timeout", type=float, metavar="SECONDS",
              help="Seconds without progress after which a hung blade is named and the "
                   "job stopped (default: $COSYNTH_STALL_TIMEOUT, else from the plan's "
                   "prediction, at least 30).")
@click.option("--keep", type=click.Path(file_okay=False),
              help="Keep the build and run directory here.")
@click.option("--fpga/--no-fpga", default=None,
              help="Force the kernel's edge loops onto the blades' FPGAs (simulated with "
                   "Verilator), or keep them on the CPUs (default: the planner decides).")
@click.option("--check", "check", type=click.Choice(["interp", "reference", "all"]),
              default="all", show_default=True,
              help="Check the blades' result against the IR interpreter, the kernel's "
                   "networkx reference, or both.")
@click.option("--no-check", is_flag=True,
              help="Check nothing (at scale the checks can take longer than the run).")
@click.option("--vcd", "vcd", metavar="DIR", type=click.Path(file_okay=False),
              help="Write the waveform of each blade's FPGA unit (Verilator --trace) as "
                   "DIR/unit.rank<r>.vcd; kept when the check fails.  Without it, a "
                   "failing check re-runs the blades traced and writes the unit call the "
                   "first wrong vertex points at as fail-call<N>.vcd (in --keep DIR, the "
                   "folder of -o, or the current one).")
@_report_option
@_json_option
def simulate(spec, manifest_path, graph_spec, seed, undirected, args, blades, solver,
             time_limit, fixed, output, timeout, stall_timeout, keep, fpga, check, no_check, vcd,
             report_path, json_out):
    """Plan, build and run the kernel's blades locally with mpirun, gather the result,
    check it against the IR interpreter and networkx, and report times and traffic."""
    s = _Session(json_out)
    checks = _checks(check, no_check)
    k = _with_fixed(resolve_kernel(spec), fixed)
    if output:
        check_result_path(output, len(k.ir.returns))
    if keep:
        _check_keep(keep)
    if report_path:
        htmlreport.check_report_path(report_path)
    if vcd:  # before the graph is made (OutputDir below checks it again as it stages)
        check_dir(vcd, option="--vcd", what="waveform directory", parents=True,
                  force_flag=None)  # simulate has no --force
    man = load_manifest(manifest_path)
    with s:
        g = _load_graph(graph_spec, seed, undirected, s)
        s.note(f"kernel {k.name} on {g!r} ({graph_spec}), manifest {man.name}")
        cli_args = parse_cli_args(k.ir, args, g, note=s.note)
        waves = OutputDir(vcd, what="waveform directory", made_by="cosynth simulate --vcd",
                          option="--vcd", parents=True, force_flag=None) if vcd else None
        try:
            sim = do_simulate(k, man, g, cli_args, blades=blades, solver=solver,
                              time_limit=time_limit, timeout=timeout, graph_name=graph_spec,
                              workdir=os.path.abspath(keep) if keep else None,
                              progress=s.progress, fpga=fpga,
                              stall_timeout=stall_timeout, check=checks,
                              vcd=waves and waves.path, fail_dir=_fail_dir(keep, output))
        except MismatchError as exc:
            if waves is None:
                raise
            waves.commit()  # the waveforms of the failing run, which the message names
            raise MismatchError(f"{exc.message}; the FPGA units' waveforms of this run: "
                                f"{vcd}/unit.rank*.vcd", loc=exc.loc, hint=exc.hint) from None
        except BaseException:
            if waves is not None:
                waves.discard()
            raise
    if waves is not None:
        waves.commit()
        names = sorted(n for n in os.listdir(vcd) if n.endswith(".vcd"))
        s.note(f"  waveforms: {', '.join(os.path.join(vcd, n) for n in names) or 'none'}"
               + ("" if names else " (no blade ran an FPGA unit)"))
    sim.seconds = {"graph": s.seconds.get("graph", 0.0), **sim.seconds}
    s.echo(report.simulation(sim))
    if output:
        save_results(output, sim.names, sim.results)
        s.note(f"  saved to {output}")
    if report_path:
        _write_report(report_path, sim.plan, man, g, kernel=k, args=cli_args, sim=sim,
                      command="simulate", note=s.note)
    s.result(report.simulation_data(sim, graph_spec, output))


def _fail_dir(keep: str | None, output: str | None) -> str:
    """Where a failing check of FPGA blades writes ``fail-call<N>.vcd``: the ``--keep``
    folder, else the folder of ``-o``, else the current one."""
    if keep:
        return os.path.abspath(keep)
    return os.path.abspath(os.path.dirname(output) if output else os.curdir)


def _checks(check: str, no_check: bool) -> str:
    """``--check`` and ``--no-check`` as one of none, interp, reference, all."""
    if no_check:
        source = click.get_current_context().get_parameter_source("check")
        if source is not None and source.name == "COMMANDLINE":
            raise click.UsageError("give --check or --no-check, not both")
        return "none"
    return check


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
@click.option("--repeat", type=click.IntRange(min=1), default=3, show_default=True,
              help="Runs per measurement; each nest keeps its fastest time.")
@click.option("--ws-graph", default=DEFAULT_WS_GRAPH, show_default=True, metavar="SPEC",
              help="A graph beyond the caches for the nests' working-set laws ('none': "
                   "skip; the probe's miss term prices them).")
@_json_option
def calibrate(manifest_path, output, kernel_specs, graph_specs, seed, threads, fpga, repeat,
              ws_graph, json_out):
    """Measure this machine (generated C++ per core, FPGA units in simulation) and the
    kernels' work, and write the calibrated fields into a copy of the manifest."""
    s = _Session(json_out)
    if output is None:
        stem = os.path.splitext(os.path.basename(manifest_path))[0]
        output = f"{stem}.calibrated.yaml"
    check_file(output, what="calibrated manifest")
    kernels = [resolve_kernel(spec) for spec in kernel_specs] or None
    with s:
        cal = do_calibrate(manifest_path, output, kernels=kernels,
                           graphs=graph_specs or DEFAULT_GRAPHS, threads=threads, fpga=fpga,
                           progress=s.progress, seed=seed, repeat=repeat,
                           ws_graph=None if ws_graph.lower() == "none" else ws_graph)
    s.echo(report.calibration(cal, output))
    s.result(report.calibration_data(cal, output))


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
@click.option("--vcd", is_flag=True,
              help="Also write OUTPUT/<unit>.vcd: the waveform of the sample run in "
                   "Amaranth's simulator.")
@click.option("--prove", is_flag=True,
              help="Also prove the pipeline (forwarding, bubbles) equal to one edge at a "
                   "time by k-induction with SymbiYosys, for 8 vertices and 4-bit values; "
                   "the job goes to OUTPUT/formal.")
@_fixed_option
@_force_option
@_json_option
def rtl(spec, output, variant_name, depth, graph_spec, seed, undirected, args, verilator,
        vcd, prove, fixed, force, json_out):
    """Write a kernel's FPGA edge unit: Verilog (Amaranth), its register map, and a test
    bench replaying a recorded run; checks it against the interpreter, the lint and
    Verilator."""
    s = _Session(json_out)
    check_dir(output, force=force, parents=True)
    k = _with_fixed(resolve_kernel(spec), fixed)
    g = _load_graph(graph_spec, seed, undirected)
    cli_args = _sample_args(k, parse_cli_args(k.ir, args, g, default_auto=False))
    if depth is not None and depth < 1:
        raise ArgumentError(f"--depth {depth}: a unit holds at least one vertex")
    with s:
        r = write_rtl(k, output, g, cli_args, variant=variant_name, depth=depth,
                      verilator=verilator, progress=s.progress, force=force, vcd=vcd)
        proof = None
        if prove:
            proof = prove_kernel(k, os.path.join(output, "formal"), variant=variant_name,
                                 progress=s.progress)
    s.echo(report.rtl_unit(r, output))
    if vcd:  # the Amaranth run, and its Verilator replay when the bench ran
        waves = [os.path.join(output, r.unit + ext) for ext in (".vcd", ".verilator.vcd")]
        s.note("  waveform: " + ", ".join(w for w in waves if os.path.isfile(w)))
    data = report.rtl_data(r, output)
    if proof is not None:
        s.note(f"  proof: {proof.status} in {proof.seconds:.1f} s (k-induction depth "
               f"{proof.depth}, {proof.vertices} vertices, {proof.bits}-bit values, write "
               f"history {proof.history}): {os.path.join(output, 'formal')}")
        data["proof"] = {"status": proof.status, "seconds": proof.seconds,
                         "depth": proof.depth, "vertices": proof.vertices,
                         "bits": proof.bits, "history": proof.history}
    s.result(data)


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
@_force_option
@_json_option
def bitstream(spec, family, output, device, variant_name, depth, seed, force, json_out):
    """Synthesize, place and route a kernel's FPGA unit (YoWASP yosys + nextpnr from
    PyPI) and write the bitstream with a report: LUTs, FFs, BRAM, Fmax, edges/s."""
    s = _Session(json_out)
    check_dir(output, force=force, parents=True)
    k = resolve_kernel(spec)
    if depth is not None and depth < 1:
        raise ArgumentError(f"--depth {depth}: a unit holds at least one vertex")
    with s:
        r = write_bitstream(k, output, family, variant=variant_name, depth=depth,
                            device=device, seed=seed, progress=s.progress, force=force)
    s.echo(report.bitstream(r, output))
    s.result(report.bitstream_data(r, output))


@cli.command()
@click.argument("build_dir", metavar="OUT/", type=click.Path(file_okay=False))
@click.option("-o", "--output", type=click.Path(file_okay=False), metavar="DIR",
              help="Where to write the .npy files (default: OUT/results/).")
@_force_option
@_json_option
def results(build_dir, output, force, json_out):
    """Turn a run build directory's binary results (OUT/out/result<i>.rank<R>.bin) into
    one .npy per result and print a summary of each."""
    s = _Session(json_out)
    got = convert_results(build_dir, output, force=force)
    s.echo(report.results_summary(got))
    s.result(report.results_data(got))


def _sample_args(k, given: dict) -> dict:
    """Arguments for a sample run: vertex parameters without a value default to 0."""
    out = dict(given)
    for p in k.ir.params:
        if p.name not in out and not p.has_default and p.kind == "scalar" and p.node:
            out[p.name] = 0
    return out


def _echo(lines, indent: str = "") -> None:
    for line in lines:
        click.echo(indent + line if line else "")


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
    k = resolve_kernel(spec)
    click.echo(f"[1/6] tracing {k.name} from {k.source_file}")
    click.echo(print_kernel(k.ir), nl=False)
    t0 = time.perf_counter()
    g = _load_graph(graph_spec, seed, False)
    t_graph = time.perf_counter() - t0
    click.echo(f"[2/6] graph {graph_spec}: {g!r}")
    cli_args = parse_cli_args(k.ir, args, g, note=lambda text: click.echo("      " + text))
    bound = k.bind(g, **cli_args)
    if bound:
        click.echo("      arguments: " + report.arguments(bound))
    t0 = time.perf_counter()
    plain = k(g, **cli_args)
    t_plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = run_ir(k.ir, g, bound)
    t_ir = time.perf_counter() - t0
    names = report.result_names(k.ir)
    click.echo(f"[3/6] plain Python {t_plain:.3f} s, IR interpreter {t_ir:.3f} s")
    compare_results(out, plain, what="interpreter result", against="the plain Python run",
                    names=names)
    _echo((report.summarise(name, value) for name, value in zip(names, out)), "      ")

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

    man = load_manifest(manifest_path)
    click.echo(f"[5/6] plan, build and run on manifest {man.name} "
               f"({man.blades} blade{'s' * (man.blades != 1)}): "
               "C++ with OpenMP inside each blade, MPI between blades")
    with Progress(indent="      ") as progress:
        sim = do_simulate(k, man, g, cli_args, blades=man.blades, graph_name=graph_spec,
                          progress=progress)
    sim.seconds = {"graph": t_graph, **sim.seconds}
    checks, sim.checks = sim.checks, []  # listed once, under [6/6]
    _echo(report.simulation(sim), "    ")
    click.echo("[6/6] checks")
    click.echo("      interpreter == plain Python: ok")
    click.echo("      rewritten variant == interpreter: ok")
    for c in checks:
        click.echo(f"      {c}")
    _check_reference(k, g, bound, out, names, "interpreter", indent="      ")


def _check_reference(k, g, bound, out, names, what, indent="  "):
    try:
        t0 = time.perf_counter()
        want = k.expected(g, bound)
        dt = time.perf_counter() - t0
    except NoReference as exc:
        click.echo(f"{indent}networkx: no reference ({exc})")
        return
    who = engine(k.reference, g)  # networkx, or scipy on large graphs
    compare_results(out, want, what=f"{what} result", against=who, names=names)
    click.echo(f"{indent}{what} == {who}: ok ({who} took {dt:.3f} s)")


def parse_cli_args(k, items, g, *, note=None, default_auto: bool = True) -> dict:
    """``["source=3", "alpha=0.9"]`` -> typed values for the kernel's parameters.

    A vertex parameter (one the kernel uses as a vertex id, like ``source: int``) given
    as ``auto`` is the highest-degree vertex (``auto_vertex``); with ``default_auto`` one
    without a default that is not given is ``auto`` too, and ``note`` (when given) is told
    which vertex that is."""
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
        if name in out:
            raise ArgumentError(f"--arg {name} is given twice",
                                hint=f"give each parameter once: keep one --arg {name}=...")
        if text.strip() == "auto" and p.kind == "scalar" and p.node:
            out[name] = auto_vertex(g)
        else:
            out[name] = _parse_value(p, text.strip())
    if default_auto:
        for p in k.params:
            if p.kind == "scalar" and p.node and not p.has_default and p.name not in out \
                    and g.n > 0:
                out[p.name] = v = auto_vertex(g)
                if note is not None:
                    note(f"note: no --arg {p.name}: using vertex {v}, the highest-degree "
                         f"one (out-degree {int(g.out_degrees()[v])}); "
                         f"give --arg {p.name}=N to choose")
    return out


def auto_vertex(g) -> int:
    """The vertex of highest out-degree, the lowest id among equals (0 for no vertex):
    a source that reaches something, where vertex 0 may be isolated (kron graphs)."""
    if g.n == 0:
        return 0
    return int(np.argmax(g.out_degrees()))  # argmax: the first maximum, deterministic


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


def check_result_path(path: str, count: int) -> None:
    """Before a run: ``path`` can hold ``count`` results (.npy for one, .npz for any) and
    its folder takes a new file."""
    if path.endswith(".npy"):
        if count != 1:
            raise ArgumentError(f"the kernel returns {count} values; '{path}' holds one",
                                hint="save to a .npz file instead")
    elif not path.endswith(".npz"):
        raise ArgumentError(f"'{path}': results are saved as .npy (one array) or .npz")
    check_file(path, what="result")


def save_results(path: str, names: list[str], values) -> None:
    """Write results atomically (``cosynth.outputs.write_file``); when ``path`` cannot be
    written after all, save them elsewhere and say where (``save_or_fallback``)."""
    check_result_path(path, len(values))

    def write(f):
        if path.endswith(".npy"):
            np.save(f, np.asarray(values[0]))
        else:
            np.savez(f, **{_key(n, i): np.asarray(v) for i, (n, v) in
                           enumerate(zip(names, values))})

    save_or_fallback(path, lambda dest: write_file(dest, write, what="result"))


def _check_keep(keep: str) -> None:
    """``simulate --keep DIR``: DIR is made if missing; ``DIR/build`` follows the marker
    rule (there is no --force: choose another folder)."""
    if os.path.isdir(keep) and not os.path.islink(keep):
        check_dir(os.path.join(keep, "build"), option="--keep", force_flag=None,
                  what="build directory")
    else:
        check_dir(keep, option="--keep", force_flag=None, parents=True,
                  what="work directory")


def _key(name: str, i: int) -> str:
    return name if name.isidentifier() else f"result{i}"


if __name__ == "__main__":  # pragma: no cover
    main()
