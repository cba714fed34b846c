"""The pipeline driver: plan, build and run a kernel on blades, and check the result.

``build`` writes the self-contained directory ``backends.cpp.bundle`` describes;
``simulate`` also compiles it (cached by content), runs every blade locally with
``mpirun``, gathers the result and compares it with the IR interpreter and, where the
kernel has one, its networkx reference.  A mismatch raises ``MismatchError`` naming the
first differing vertices; a failed or hung blade raises ``ToolError`` naming it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field

from .check import compare_results
from .errors import ArgumentError

__all__ = ["build", "simulate", "SimResult"]


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

    @property
    def blades(self) -> int:
        return len(self.stats)


def _plan(kfn, man, graph, args, blades, solver, time_limit, graph_name, variant):
    from planner import make_plan
    if blades is not None:
        if not 1 <= blades <= man.blades:
            raise ArgumentError(f"--blades {blades}: the manifest has {man.blades} blades")
        man = man.first(blades)
    fixed = {}
    if blades is not None:
        fixed["blades"] = blades
    if variant is not None:
        fixed["variant"] = variant
    return make_plan(kfn, man, graph, args, solver=solver, time_limit=time_limit,
                     graph_name=graph_name, fixed=fixed)


def build(kfn, man, graph, args: dict, out_dir: str, *, blades: int | None = None,
          solver: str = "cbc", time_limit: float = 10.0, graph_name: str = "",
          variant: str | None = None, progress=None):
    """Plan the kernel and write its build directory; returns (plan, bundle)."""
    from backends.cpp.bundle import write_bundle
    from planner.stubs import blade_program
    say = progress or (lambda msg: None)
    say("planning")
    plan = _plan(kfn, man, graph, args, blades, solver, time_limit, graph_name, variant)
    say(f"plan: variant {plan.variant} on {len(plan.blades)} blade(s); writing {out_dir}")
    program = blade_program(kfn.ir, plan.variant)
    bound = kfn.bind(graph, **args)
    bundle = write_bundle(out_dir, program, graph, bound, plan.shards,
                          source_name=kfn.source_file, plan=plan,
                          weight_int=kfn.weight_dtype.is_int)
    return plan, bundle


def simulate(kfn, man, graph, args: dict, *, blades: int | None = None, solver: str = "cbc",
             time_limit: float = 10.0, timeout: float = 600.0, graph_name: str = "",
             variant: str | None = None, workdir: str | None = None, progress=None,
             check: bool = True, threads: int | None = None) -> SimResult:
    """Plan, build, compile and run the kernel on local blades; check the result."""
    from backends.cpp.bundle import gather, read_stats
    from backends.cpp.toolchain import compile_program, mpirun
    say = progress or (lambda msg: None)
    own_dir = workdir is None
    base = tempfile.mkdtemp(prefix="cosynth-sim-") if own_dir else workdir
    try:
        t0 = time.perf_counter()
        plan, bundle = build(kfn, man, graph, args, os.path.join(base, "build"), blades=blades,
                             solver=solver, time_limit=time_limit, graph_name=graph_name,
                             variant=variant, progress=say)
        t_plan = time.perf_counter() - t0
        say("compiling (g++ -O3 -fopenmp via mpicxx; cached by content)")
        t0 = time.perf_counter()
        binary, cached = compile_program(bundle.source, defines=bundle.defines)
        t_compile = time.perf_counter() - t0
        say("compiled" + (" (from the cache)" if cached else f" in {t_compile:.1f} s"))
        shutil.copy(binary, os.path.join(bundle.path, "blade"))
        P = len(plan.blades)
        nthreads = threads or max(1, (os.cpu_count() or 1) // P)
        say(f"running {P} blade(s) with mpirun, {nthreads} OpenMP thread(s) each")
        run = mpirun(os.path.join(bundle.path, "blade"), "run.cfg", P, threads=nthreads,
                     timeout=timeout, workdir=bundle.path)
        results = gather(bundle, graph)
        stats = read_stats(bundle)
        names = _names(kfn.ir)
        sim = SimResult(results, names, plan, stats,
                        {"plan": t_plan, "compile": t_compile, "run": run.seconds},
                        path=bundle.path if not own_dir else "", cached_build=cached)
        if check:
            say("checking against the IR interpreter and networkx")
            _check(kfn, graph, args, sim)
        return sim
    finally:
        if own_dir:
            shutil.rmtree(base, ignore_errors=True)


def _names(k) -> list[str]:
    from .ir.printer import print_expr
    return [print_expr(r) for r in k.returns]


def _check(kfn, graph, args, sim: SimResult) -> None:
    from frontend.rewrite import variant

    from .ir.interp import interpret
    from .nxref import NoReference
    bound = kfn.bind(graph, **args)
    kv, _ = variant(kfn.ir, sim.plan.variant)
    want = interpret(kv, graph, bound)
    compare_results(sim.results, want, what="blade result", against="the IR interpreter",
                    names=sim.names)
    sim.checks.append("blades == IR interpreter: ok")
    try:
        ref = kfn.expected(graph, bound)
    except NoReference as exc:
        sim.checks.append(f"networkx: no reference ({exc})")
        return
    compare_results(sim.results, ref, what="blade result", against="networkx",
                    names=sim.names)
    sim.checks.append("blades == networkx: ok")
