"""The pipeline driver: plan, build and run a kernel on blades, and check the result.

``build`` writes the self-contained directory ``backends.cpp.bundle`` describes;
``simulate`` also compiles it (cached by content), runs every blade locally with
``mpirun``, gathers the result and compares it with the IR interpreter running the
kernel *as written* (``cosynth.check.oracle``: exactly, unless a rewrite's law was only
assumed by the float-sum policy) and, where the kernel has one, its networkx reference.
A mismatch raises ``MismatchError`` naming the first differing vertices; a failed or hung
blade raises ``ToolError`` naming it.

Mixed plans: when the plan puts blades on their FPGAs, the kernel's edge unit
(``backends.rtl``) is generated for the blade program, its Verilog verilated (Verilator,
``backends.rtl.verilator``) and the model linked into the blade program, whose FPGA blades
call the unit's host stub where the CPU blades run the loop; the simulated FPGA cycles
are reported beside the CPU times.  The driver composes the two backends: it hands the
C++ emitter the unit's host glue (``backends.rtl.offload.FpgaOffload``, an
``Offload``) and the planner the RTL cost table (``backends.rtl.interval_costs.fpga_profile``:
``costs.fpga_profile`` with the interval unit's sizing for graphs larger than the chip).
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field

from cosynth.backends.cpp import layout
from cosynth.backends.cpp.bundle import gather, read_stats, write_bundle
from cosynth.backends.cpp.launch import STALL_FACTOR, STALL_FLOOR, stall_seconds
from cosynth.backends.rtl import costs, interval_costs, verilator, waves
from cosynth.backends.rtl.build import unit_for
from cosynth.backends.rtl.interval import interval_verilog
from cosynth.backends.rtl.interval_sim import make_unit
from cosynth.backends.rtl.kernel import unit_spec
from cosynth.backends.rtl.offload import RUNTIME as RTL_RUNTIME
from cosynth.backends.rtl.offload import FpgaOffload
from cosynth.backends.rtl.unit import EdgeUnit, unit_verilog
from cosynth.backends.rtl.waves import legal_names
from cosynth.backends.toolchain import compile_program, mpirun
from cosynth.frontend.rewrite import bounds
from cosynth.planner import ManifestError, make_plan
from cosynth.planner.cost import predict_nests
from cosynth.planner.stats import GraphStats
from cosynth.planner.stubs import plan_program
from cosynth.planner.workload import at_blades, profile

from . import scratch
from .check import ATOL, RTOL, compare_results, fixed_tolerance, oracle, tolerance
from .errors import ArgumentError, MismatchError, ToolError
from .ir.printer import print_expr
from .lang import bind_args
from .nxref import NoReference, engine
from .outputs import check_dir, os_error
from .progress import ticker

__all__ = ["build", "build_from_plan", "simulate", "SimResult", "stall_deadline",
           "stall_option", "STALL_FLOOR", "STALL_FACTOR"]

#: A blade is hung when no blade advances (finishes a loop nest or enters a collective)
#: for ``launch.stall_seconds(plan.makespan)`` seconds (the same default the blades of a
#: build directory apply themselves, from run.cfg's ``stall``).
#: How much slower than the part a Verilator model of an FPGA unit runs here (a unit at
#: 100 MHz simulates at about 1-3 M cycles/s on a shared core): a plan with FPGA blades
#: waits this much longer before calling a blade hung (kron-18 SSSP's first unit call
#: is ~10 M cycles).
FPGA_SIM_SLOWDOWN = 100.0


@dataclass
class SimResult:
    results: tuple
    names: list[str]
    plan: object
    stats: list[dict]
    seconds: dict = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)
    path: str = ""
    cached_build: bool = False
    fpga_clock_hz: list = field(default_factory=list)  # per blade: its FPGA's clock, or 0
    threads: int = 1  # OpenMP threads each blade ran with
    predicted: list = field(default_factory=list)  # per blade: comparison (see compare)

    @property
    def blades(self) -> int:
        return len(self.stats)


def _plan(kfn, man, graph, args, blades, solver, time_limit, graph_name, variant,
          fpga=None):
    if blades is not None:
        if not 1 <= blades <= man.blades:
            raise ArgumentError(f"--blades {blades}: " + ("a plan needs at least one blade"
                                if blades < 1 else f"the manifest has {man.blades} "
                                f"blade{'s' * (man.blades != 1)}"))
        man = man.first(blades)
    fixed = {}
    if blades is not None:
        fixed["blades"] = blades
    if variant is not None:
        fixed["variant"] = variant
    if fpga is not None:
        fixed["fpga"] = bool(fpga)
    return make_plan(kfn, man, graph, args, solver=solver, time_limit=time_limit,
                     graph_name=graph_name, fixed=fixed, fpga=interval_costs.fpga_profile)


def build(kfn, man, graph, args: dict, out_dir: str, *, blades: int | None = None,
          solver: str = "cbc", time_limit: float = 10.0, graph_name: str = "",
          variant: str | None = None, progress=None, fpga: bool | None = None,
          force: bool = False):
    """Plan the kernel and write its build directory; returns (plan, bundle).
    ``fpga`` True forces the kernel's edge loops onto the FPGAs (False keeps them on the
    CPUs; None lets the planner choose).  ``out_dir`` follows the marker rule of
    ``cosynth.outputs`` (checked before planning); ``force`` moves a directory cosynth did
    not make aside instead of refusing."""
    check_dir(out_dir, force=force)
    say = progress or (lambda msg: None)
    if fpga:
        if not any(k.fpga for k in (man.first(blades) if blades else man).kinds):
            raise ManifestError("has no blade with an FPGA" + (f" among the first {blades}"
                                                               if blades else ""),
                                path=man.path, hint="drop --fpga, or use a manifest "
                                "whose blades have one (manifests/pair.yaml)")
        unit_for(kfn.ir, variant)  # NotEligible, with the reason, if it cannot go there
    say("planning")
    plan = _plan(kfn, man, graph, args, blades, solver, time_limit, graph_name, variant,
                 fpga)
    return plan, _write(plan, graph, kfn.bind(graph, **args), out_dir, say, force)


def build_from_plan(plan, graph, out_dir: str, *, progress=None, force: bool = False):
    """Write the build directory of a saved plan: its blade program, arguments and shard
    map, on ``graph`` (which must have the planned size).  The kernel's source file is not
    needed; when it exists and differs from the one planned, PlanError says to re-plan.
    Returns the bundle."""
    say = progress or (lambda msg: None)
    check_dir(out_dir, force=force)
    plan.check_source()
    program = plan_program(plan)
    if (graph.n, graph.m) != (plan.graph["n"], plan.graph["m"]):
        raise ArgumentError(f"the graph has {graph.n} vertices and {graph.m} edges; the plan "
                            f"was made for {plan.graph['n']} and {plan.graph['m']}",
                            hint="give the graph the plan was made for "
                                 f"({plan.graph.get('name') or 'see the plan'}), or re-plan")
    bound = bind_args(plan.variant_ir or program, graph, (), dict(plan.args))
    return _write(plan, graph, bound, out_dir, say, force)


def _write(plan, graph, bound: dict, out_dir: str, say, force: bool = False):
    """The build directory of ``plan``'s blade program with arguments ``bound``
    (refused when the graph breaks a value bound the plan's rewrites were proved under)."""
    limit = bounds.bound_for(plan.rewrites, plan.variant_ir or plan_program(plan), graph)
    if limit is not None:
        say(f"value-bound assumption: path sums up to {limit} on this graph, within range")
    program = plan_program(plan)
    on_fpga = [b.device == "fpga" for b in plan.blades]
    say(f"plan: variant {plan.variant} on {_n(len(plan.blades), 'blade')}"
        + (f", {sum(on_fpga)} with its FPGA" if any(on_fpga) else "") + f"; writing {out_dir}")
    hw = None
    if any(on_fpga):
        use = next(b.fpga_use for b in plan.blades if b.device == "fpga")
        hw = fpga_unit(program, plan.variant, graph.n, progress=say,
                       interval=use.get("unit"))
    bundle = write_bundle(out_dir, program, graph, bound, plan.shards,
                          source_name=plan.source_file, plan=plan,
                          weight_int=program.weight_dtype.is_int, hw=hw,
                          fpga_blades=on_fpga, force=force)
    if bundle.weights is not None and bundle.weights.name != "f64":
        say(f"edge weights stored as {bundle.weights.name}: {bundle.weights.reason}")
    if bundle.state is not None:
        say(f"state table stored as {bundle.state[0]}: {bundle.state[1]}")
    if bundle.moved_aside:
        say(f"moved the directory that was at {out_dir} (not cosynth's) aside to "
            f"{bundle.moved_aside}")
    return bundle


def fpga_unit(program, variant: str, n: int, progress=None, interval: dict | None = None):
    """The edge unit running ``program``'s hardware loops for a graph of ``n`` vertices,
    as the blade program's offload device (with its Verilog): every vertex on chip, or,
    with ``interval`` (the plan's ``fpga_use["unit"]``: the graph does not fit on the
    part), an interval unit of that interval, FIFO and PEs over its external memory."""
    spec = unit_spec(program, variant, name=f"unit_{program.name}")
    rules = len(spec.rules)
    what = f"FPGA unit {spec.name}: {rules} rule{'s' * (rules != 1)}, "
    if interval:
        unit = make_unit(spec, int(interval["interval"]), int(interval["fifo_depth"]),
                         int(interval.get("pes", 1)),
                         max(8, int(interval["memory"]["burst_words"])),
                         int(interval["memory"].get("ports", 1)))
        what += (f"intervals of {unit.interval} of {n} vertices in external memory "
                 f"({interval.get('memory_source', 'memory model')})")
        verilog = interval_verilog(unit, spec.name)
    else:
        unit = EdgeUnit(spec, max(2, n))
        what += f"{unit.depth} vertices"
        verilog = unit_verilog(unit, spec.name)
    if progress:
        progress(what + "; it runs " + ", ".join(s.label for s in spec.sites))
    return FpgaOffload(spec, unit.regmap, spec.name, verilog, interval=interval)


def simulate(kfn, man, graph, args: dict, *, blades: int | None = None, solver: str = "cbc",
             time_limit: float = 10.0, timeout: float = 600.0, graph_name: str = "",
             variant: str | None = None, workdir: str | None = None, progress=None,
             check: bool | str = True, threads: int | None = None,
             fpga: bool | None = None, stall_timeout: float | None = None,
             vcd: str | None = None, fail_dir: str | None = None) -> SimResult:
    """Plan, build, compile and run the kernel on local blades; check the result.

    ``check``: "all" (or True) compares the result with the IR interpreter and the
    kernel's networkx reference, "interp" or "reference" with one of them, "none" (or
    False) with neither; each check's time is in ``seconds`` ("check interpreter",
    "check reference": networkx, or scipy on large graphs).  ``vcd`` (an existing
    folder): the FPGA unit's model is built with Verilator's ``--trace`` and each blade
    with a unit writes ``unit.rank<r>.vcd`` there.  Without ``vcd``, a failing check of a
    run with FPGA units runs the blades once more with the units traced and writes the
    waveform of the unit call the first wrong vertex points at (``backends.rtl.waves``) as
    ``fail-call<N>.vcd`` into ``fail_dir`` (default: ``workdir``; neither: not traced);
    the MismatchError names it.
    ``timeout`` bounds the whole run; ``stall_timeout`` (default:
    ``stall_deadline``) the time without progress after which the blade left behind is
    named and every blade stopped.  The temporary ``cosynth-sim-*`` folder (when
    ``workdir`` is None) is removed however this ends, an interrupt included, after every
    child process has been stopped (``cosynth.procs``)."""
    say = progress or (lambda msg: None)
    stall_timeout = stall_option(stall_timeout)  # a bad value fails before the work
    own_dir = workdir is None
    base = None
    try:
        if own_dir:
            base = scratch.make("cosynth-sim-")
        else:
            base = workdir
            try:
                os.makedirs(base, exist_ok=True)
            except OSError as exc:
                raise os_error(exc, base, "work directory") from None
        t0 = time.perf_counter()
        plan, bundle = build(kfn, man, graph, args, os.path.join(base, "build"), blades=blades,
                             solver=solver, time_limit=time_limit, graph_name=graph_name,
                             variant=variant, progress=say, fpga=fpga)
        t_plan = time.perf_counter() - t0
        t0 = time.perf_counter()
        binary, cached = _blade_binary(bundle, vcd is not None, say)
        t_compile = time.perf_counter() - t0
        say("compiled" + (" (from the cache)" if cached else f" in {t_compile:.1f} s"))
        shutil.copy(binary, os.path.join(bundle.path, "blade"))
        P = len(plan.blades)
        nthreads = threads or max(1, (os.cpu_count() or 1) // P)
        say(f"running {_n(P, 'blade')} with mpirun, {_n(nthreads, 'OpenMP thread')}"
            + (" each" if P > 1 else ""))
        run = mpirun(os.path.join(bundle.path, "blade"), "run.cfg", P, threads=nthreads,
                     timeout=timeout, workdir=bundle.path,
                     stall=stall_deadline(plan, stall_timeout, fpga=bundle.hw is not None),
                     env_vars={"COSYNTH_FPGA_VCD": os.path.abspath(vcd)} if vcd else None,
                     on_tick=ticker(progress, "blades running", P) if progress else None)
        if vcd is not None:
            for name in sorted(os.listdir(vcd)):
                if name.endswith(".vcd"):
                    legal_names(os.path.join(vcd, name))
        t0 = time.perf_counter()
        results = gather(bundle, graph)
        stats = read_stats(bundle)
        names = _names(kfn.ir)
        limit = bounds.bound_for(plan.rewrites, plan.variant_ir or kfn.ir, graph)
        if limit is not None:  # the result must stay within the bound the proofs assumed
            bounds.check_result(plan.variant_ir or kfn.ir, dict(zip(names, results)), limit)
        sim = SimResult(results, names, plan, stats,
                        {"plan": t_plan, "compile": t_compile, "run": run.seconds,
                         "gather": time.perf_counter() - t0},
                        path=bundle.path if not own_dir else "", cached_build=cached,
                        fpga_clock_hz=_fpga_clocks(man, plan, bundle), threads=nthreads)
        t0 = time.perf_counter()
        sim.predicted = compare(kfn, man, graph, args, sim, graph_name)
        sim.seconds["compare"] = time.perf_counter() - t0
        try:
            _check(kfn, graph, args, sim, _which(check), say)
        except MismatchError as exc:
            where = fail_dir if fail_dir is not None else workdir
            if bundle.hw is None or vcd is not None or where is None:
                raise
            note = _trace_failure(exc, bundle, where, P, nthreads, timeout,
                                  stall_deadline(plan, stall_timeout, fpga=True), say)
            raise MismatchError(f"{exc.message}; {note}", loc=exc.loc, hint=exc.hint) \
                from None
        return sim
    finally:
        if own_dir and base is not None:
            shutil.rmtree(base, ignore_errors=True)


def _blade_binary(bundle, trace: bool, say) -> tuple[str, bool]:
    """The compiled blade program of ``bundle`` (with its FPGA unit's Verilator model,
    built with ``--trace`` when ``trace``): (path, from the cache)."""
    extra = {}
    if bundle.hw is not None:
        say("verilating the FPGA unit (Verilator" + (" --trace" if trace else "")
            + "; cached by content)")
        model = verilator.build_model(bundle.hw.verilog, bundle.hw.top, progress=say,
                                      trace=trace)
        extra = {"includes": (*model.include_dirs, RTL_RUNTIME),
                 "libraries": tuple(model.libraries), "ldflags": tuple(model.ldflags),
                 "headers": tuple(os.path.join(RTL_RUNTIME, h) for h in
                                  bundle.hw.headers)}
        defines = bundle.defines + tuple(c[2:] for c in model.cflags if c.startswith("-D"))
    else:
        defines = bundle.defines
    say("compiling (g++ -O3 -fopenmp via mpicxx; cached by content)")
    return compile_program(bundle.source, defines=defines, **extra)


def _trace_failure(exc: MismatchError, bundle, dest: str, P: int, threads: int,
                   timeout: float, stall: float, say) -> str:
    """Run the failed build again with the FPGA units traced, each FPGA blade watching the
    first wrong vertex; write the waveform of the call it points at to
    ``dest/fail-call<N>.vcd`` and return the sentence naming it (or saying why there is
    none).  Neither a failure here nor a missing file hides the mismatch itself."""
    first = getattr(exc, "first_wrong", None)
    name, vertex = first if first is not None else (None, None)
    what = f"{name}[{vertex}]" if vertex is not None else (name or "the result")
    say(f"the check failed: running the blades again with the FPGA units traced, "
        f"watching {what}")
    folder = os.path.join(bundle.path, "fail-waves")
    try:
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        binary, _ = _blade_binary(bundle, True, say)
        shutil.copy(binary, os.path.join(bundle.path, "blade.traced"))
        mpirun(os.path.join(bundle.path, "blade.traced"), "run.cfg", P, threads=threads,
               timeout=timeout, workdir=bundle.path, stall=stall,
               env_vars={"COSYNTH_FPGA_VCD": os.path.abspath(folder),
                         "COSYNTH_FPGA_WATCH": str(-1 if vertex is None else vertex)})
        owner = next((r for r, (lo, hi) in enumerate(bundle.shards)
                      if vertex is not None and lo <= vertex < hi), None)
        fc = waves.failing_call(waves.read_logs(folder, list(range(P))), owner, what)
        if fc is None:
            return "no FPGA unit call ran, so no waveform was written"
        os.makedirs(dest, exist_ok=True)
        path = waves.cut(os.path.join(folder, f"unit.rank{fc.blade}.vcd"), fc, dest)
    except (ToolError, OSError) as err:
        return f"the traced re-run for its waveform failed too ({err})"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return (f"the waveform of blade {fc.blade}'s FPGA unit during its call {fc.call} of "
            f"{fc.calls} ({fc.why}): {path}")


def stall_deadline(plan, given: float | None = None, fpga: bool = False) -> float:
    """Seconds without progress that make a blade hung: ``given``, else
    ``$COSYNTH_STALL_TIMEOUT``, else max(STALL_FLOOR, STALL_FACTOR x predicted makespan),
    the makespan stretched by ``FPGA_SIM_SLOWDOWN`` when FPGA units run in Verilator."""
    given = stall_option(given)
    if given is not None:
        return given
    slow = FPGA_SIM_SLOWDOWN if fpga else 1.0
    return stall_seconds(slow * float(plan.makespan or 0.0))


def stall_option(given: float | None) -> float | None:
    """The stall timeout asked for (``given``, else ``$COSYNTH_STALL_TIMEOUT``) checked,
    or None; ArgumentError for a value that is not a positive number of seconds."""
    if given is None and os.environ.get("COSYNTH_STALL_TIMEOUT"):
        text = os.environ["COSYNTH_STALL_TIMEOUT"]
        try:
            given = float(text)
        except ValueError:
            raise ArgumentError(f"COSYNTH_STALL_TIMEOUT={text}: expected seconds") from None
    if given is not None:
        if not given > 0:
            raise ArgumentError(f"a stall timeout of {given:g} s: give a positive number of "
                                "seconds")
        return float(given)
    return None


def compare(kfn, man, graph, args, sim: SimResult, graph_name: str = "") -> list[dict]:
    """Per blade, what the (calibrated, when the manifest is) cost model predicts its
    nests take, with the threads this run gave each blade, beside what they measured:
    ``{"blade", "nests": [{line, label, device, predicted, measured, runs, ...}],
    "predicted_s", "measured_s"}``.  An FPGA nest's measured time is its simulated unit
    cycles at the blade's FPGA clock; a CPU nest's its seconds."""
    plan = sim.plan
    kv = plan.variant_ir
    stats = GraphStats.of(graph, graph_name)
    w = profile(kv, plan.variant, stats, kfn.bind(graph, **args), laws=man.workloads,
                fpga=interval_costs.fpga_profile)
    w = at_blades(w, stats, [(b.lo, b.hi) for b in plan.blades], _sweeps(plan))
    if layout.chosen(plan):  # the blades ran in degree order: the working set's lines
        w.order = "degree"
    out = []
    for b, st, clock in zip(plan.blades, sim.stats, sim.fpga_clock_hz or
                            [0.0] * len(plan.blades)):
        kind = man.kind(b.kind)
        share = stats.edges_in(b.lo, b.hi) / stats.m if stats.m else 1.0
        vshare = (b.hi - b.lo) / stats.n if stats.n else 1.0
        pred = predict_nests(w, kind, sim.threads, share, vshare,
                             clock if b.device == "fpga" else 0.0, (stats.n, stats.m),
                             vertices=stats.n)
        got = {int(line): rec for line, rec in st.get("nests", {}).items()}
        rows = []
        for line, p in pred.items():
            rec = got.get(line)
            if rec is None:
                meas = 0.0
            elif rec["fpga"] and clock:
                meas = rec["cycles"] / clock
            else:
                meas = rec["seconds"]
            rows.append({"line": line, "label": p["label"], "device": p["device"],
                         "calibrated": p["calibrated"], "predicted_s": p["seconds"],
                         "measured_s": meas, "predicted_runs": p["runs"],
                         "measured_runs": rec["runs"] if rec else 0,
                         "predicted_edges": p["edges"],
                         "measured_edges": rec["edges"] if rec else 0,
                         "predicted_nodes": p["nodes"],
                         "measured_nodes": rec["nodes"] if rec else 0,
                         "replicated": p.get("replicated", False)})
        out.append({"blade": b.blade, "kind": b.kind, "device": b.device, "nests": rows,
                    "predicted_s": sum(r["predicted_s"] for r in rows),
                    "measured_s": sum(r["measured_s"] for r in rows)})
    return out


def _sweeps(plan) -> tuple[int, ...]:
    """How each blade runs a relaxed loop (``GraphStats.supersteps``): from a frontier
    (0) on a CPU-only program; with an FPGA unit in the program, one in-place pass a run
    (the unit's interval on its blades, vertex order on the CPUs' worklist)."""
    units = [b for b in plan.blades if b.device == "fpga"]
    return tuple(int((b.fpga_use.get("unit") or {}).get("interval") or 1)
                 if b.device == "fpga" else (1 if units else 0) for b in plan.blades)


def _fpga_clocks(man, plan, bundle) -> list[float]:
    """Each blade's FPGA clock: the manifest's (or calibrated) one, lowered to the Fmax
    ``cosynth bitstream`` measured for this unit on the part; 0 for CPU blades."""
    out = []
    for b in plan.blades:
        if b.device != "fpga" or bundle.hw is None:
            out.append(0.0)
            continue
        kind = man.kind(b.kind)
        clock = kind.cal("fpga_clock_hz", kind.fpga.clock_hz)
        got = costs.lookup(bundle.hw.spec, kind.fpga.part)
        if got and got.get("fmax_mhz"):
            clock = min(clock, got["fmax_mhz"] * 1e6)
        out.append(clock)
    return out


def _n(count: int, noun: str) -> str:
    """``1 blade``, ``2 blades``."""
    return f"{count} {noun}{'s' * (count != 1)}"


def _names(k) -> list[str]:
    return [print_expr(r) for r in k.returns]


CHECKS = ("none", "interp", "reference", "all")


def _which(check) -> str:
    """``simulate``'s ``check`` as one of ``CHECKS``."""
    if check is True:
        return "all"
    if check is False or check is None:
        return "none"
    if check not in CHECKS:
        raise ArgumentError(f"check '{check}': choose one of {', '.join(CHECKS)}")
    return check


def _fixed_in_use(kfn, sim: SimResult):
    """The kernel's fixed-point policy when some blade ran its loops on an FPGA (its
    float results then carry the policy's rounding), else None."""
    fx = getattr(kfn.ir, "fixed", None)
    if fx is None or not any(b.device == "fpga" for b in sim.plan.blades):
        return None
    return fx


def _check(kfn, graph, args, sim: SimResult, which: str = "all", say=None) -> None:
    """The checks ``which`` asks for, each timed into ``sim.seconds``: the blades against
    the interpreter of the kernel as written (the proved variant's, vectorised, past
    ``cosynth.check.SEQ_BUDGET``), then against networkx."""
    say = say or (lambda msg: None)
    if which == "none":
        return
    bound = kfn.bind(graph, **args)
    if which in ("interp", "all"):
        say("checking against the IR interpreter")
        want = oracle(kfn.ir, sim.plan.variant_ir, sim.plan.variant, graph, bound)
        tol = tolerance(sim.plan.rewrites)
        sim.seconds["check interpreter"] = want.seconds
        fx = _fixed_in_use(kfn, sim)
        if fx is not None:
            tol = fixed_tolerance(tol, fx)
        try:
            compare_results(sim.results, want.results, what="blade result",
                            against=f"the IR interpreter of {want.source}"
                            + (f" (FPGA floats in {fx.describe()})" if fx else ""),
                            names=sim.names, **tol)
        except MismatchError as exc:
            exc.first_wrong = waves.first_wrong(sim.names, sim.results, want.results,
                                                    **tol)
            raise
        how = "exactly" if tol["rtol"] == tol["atol"] == 0 else \
            f"within the stated tolerance of {fx.describe()}" if fx else \
            f"within rtol {tol['rtol']:g} (a float sum reassociated by policy)"
        sim.checks.append(f"blades == IR interpreter: ok ({want.source}; compared {how}; "
                          f"{want.seconds:.1f} s)")
    if which in ("reference", "all"):
        say("checking against the reference")
        t0 = time.perf_counter()
        try:
            ref = kfn.expected(graph, bound)
        except NoReference as exc:
            sim.checks.append(f"networkx: no reference ({exc})")
            return
        who = engine(kfn.reference, graph)  # networkx, or scipy on large graphs
        fx = _fixed_in_use(kfn, sim)
        rtol_atol = fixed_tolerance({"rtol": RTOL, "atol": ATOL}, fx) if fx else \
            {"rtol": RTOL, "atol": ATOL}
        try:
            compare_results(sim.results, ref, what="blade result", against=who,
                            names=sim.names, **rtol_atol)
        except MismatchError as exc:
            exc.first_wrong = waves.first_wrong(sim.names, sim.results, ref,
                                                rtol_atol["rtol"], rtol_atol["atol"])
            raise
        sim.seconds["check reference"] = time.perf_counter() - t0
        sim.checks.append(f"blades == {who}: ok")
