"""Blade manifests, the cost model, the ILP partitioner, plans and communication stubs.

``make_plan(kernel, manifest, graph, args, fpga=...)`` is the whole planning step: profile
each rewrite variant of the kernel, solve the partitioning ILP, explain every choice
against its best alternative, and evaluate the baselines with the same cost model.
``fpga`` answers what an FPGA unit costs (``workload.FpgaFn``): the driver passes the RTL
backend's cost table, ``workload.no_fpga`` plans for CPUs only.  The plan carries the
chosen variant's rewritten kernel and its blade program: the only rewrites after planning
are the ones made here.
``planner.stubs`` turns a plan into the blade program and runs it.
"""

from __future__ import annotations

import os

from cosynth.frontend.rewrite import bounds
from cosynth.frontend.rewrite import variant as make_variant
from cosynth.frontend.rewrite.projection import ghost_reads, will_distribute
from cosynth.ir.nodes import Loop, Store
from cosynth.ir.printer import print_kernel
from cosynth.ir.walk import iter_stmts

from .cost import Config, evaluate, layout_choice, relabel_choice
from .manifest import Manifest, ManifestError, load_manifest
from .narrow import state_choice, weight_choice
from .partition import Problem
from .plan import BladePlan, Choice, Plan, PlanError, _s, ir_sha256, load_plan, source_sha256
from .stats import GraphStats
from .stubs import project
from .workload import FpgaFn, no_fpga, profile

__all__ = ["make_plan", "load_manifest", "load_plan", "Manifest", "ManifestError", "Plan",
           "PlanError", "GraphStats", "PLAN_VARIANTS", "baselines", "no_fpga"]

PLAN_VARIANTS = ("par", "async", "pull", "edges", "hybrid")


def _workloads(kir, stats: GraphStats, variants=PLAN_VARIANTS, alias: dict | None = None,
               laws: dict | None = None, programs: dict | None = None, *, fpga: FpgaFn,
               args: dict | None = None):
    """Profiles of the distinct variants; ``alias`` (if given) maps every variant name to
    the one that stands for its program, ``programs`` (if given) receives each distinct
    variant's rewritten kernel; ``args`` are the run's bound arguments (a bool argument
    that guards an edge loop decides which loop the run walks)."""
    out, steps, seen = {}, {}, {}
    for v in variants:
        kv, st = make_variant(kir, v)
        key = print_kernel(kv)
        if key in seen:  # the same program under another name: plan it once
            if alias is not None:
                alias[v] = seen[key]
            continue
        seen[key] = v
        if alias is not None:
            alias[v] = v
        out[v] = profile(kv, v, stats, args, laws=laws, fpga=fpga)
        steps[v] = st
        if programs is not None:
            programs[v] = kv
    return out, steps


def baselines(problem: Problem) -> dict[str, float]:
    """Makespans of simple plans under the same cost model (each with its best variant):
    everything on one blade's CPU; all blades' CPUs with equal vertex ranges; all blades'
    CPUs with equal edge shares."""
    man, st = problem.man, problem.stats
    kinds = man.kinds
    out = {}
    one = [1 if i == 0 else 0 for i in range(len(kinds))]
    all_ = [k.count for k in kinds]
    nofpga = tuple(False for _ in kinds)
    P = sum(all_)
    equal_v = [(round(i * st.n / P), round((i + 1) * st.n / P)) for i in range(P)]
    equal_e = st.ranges([1.0 / P] * P)
    for name, counts, ranges in (("one blade, CPU", one, [(0, st.n)]),
                                 ("all blades, equal vertices", all_, equal_v),
                                 ("all blades, equal edges", all_, equal_e)):
        best = None
        for v, w in problem.work.items():
            shares = tuple(1.0 if c else 0.0 for c in counts)
            est = evaluate(Config(v, tuple(counts), nofpga, shares, False, tuple(ranges)),
                           w, st, man)
            if est.feasible and (best is None or est.makespan < best):
                best = est.makespan
        if best is not None:
            out[name] = best
    return out


def make_plan(kfn, man: Manifest, graph, args: dict | None = None, *, solver: str = "cbc",
              time_limit: float = 10.0, graph_name: str = "", fixed: dict | None = None,
              variants=PLAN_VARIANTS, fpga: FpgaFn) -> Plan:
    """Plan ``kfn`` (a ``cs.kernel``) on ``man`` for ``graph``; raises PlanError (with the
    violated limits) when no plan fits."""
    args = kfn.bind(graph, **(args or {}))
    stats = GraphStats.of(graph, graph_name)
    alias: dict = {}
    programs: dict = {}
    if fixed and fixed.get("variant") not in (None, *variants):
        variants = tuple(variants) + (fixed["variant"],)
    work, steps = _workloads(kfn.ir, stats, variants, alias, man.workloads, programs,
                             fpga=fpga, args=args)
    if fixed and "variant" in fixed:
        fixed = {**fixed, "variant": alias[fixed["variant"]]}
    problem = Problem(man, stats, work)
    out = problem.solve(solver, time_limit, fixed)
    if out.config is None:
        if out.solve.status == "infeasible":
            raise PlanError("no plan fits the manifest: " + "; ".join(out.violations),
                            path=man.path, hint="use more or larger blades, stream the "
                            "edges, or raise the budget")
        raise PlanError(f"the {solver} solver gave no plan ({out.solve.status}) within "
                        f"{time_limit:g} s", path=man.path, hint="raise --time-limit")
    est = out.estimate
    cfg = out.config
    kv = programs[cfg.variant]
    src = kfn.source_file
    plan = Plan(
        kernel=kfn.name, source=f"{kfn.source_file}:{kfn.name}", variant=cfg.variant,
        rewrites=[{"rule": r.rule, "reason": r.reason, "exact": r.exact,
                   "laws": [_law_text(law) for law in r.laws]}
                  for r in steps[cfg.variant]],
        manifest=man.name, manifest_path=man.path, graph=stats.as_dict(),
        args={k: (v.tolist() if hasattr(v, "tolist") else v) for k, v in args.items()},
        blades=[_blade(b, stats) for b in est.per_blade],
        layouts=_layouts(kv, cfg, est),
        predicted={"makespan_s": est.makespan, "supersteps": est.supersteps,
                   "per_superstep_s": est.per_superstep, "cost_per_hour": est.cost_per_hour,
                   "cost": est.cost, "streamed": est.config.streamed,
                   **({"delta": work[cfg.variant].delta, "keyed": work[cfg.variant].keyed,
                       "logkeys": work[cfg.variant].logkeys}
                      if work[cfg.variant].delta is not None else {})},
        solver={"name": out.solve.solver, "status": out.solve.status, "gap": out.solve.gap,
                "seconds": out.solve.seconds, "objective": out.solve.objective,
                "bound": out.solve.bound, "time_limit": time_limit,
                "fixed": sorted(fixed or {})},  # choices the caller made, not the ILP
        variant_ir=kv, program=project(kv, any(b["device"] == "fpga" for b in est.per_blade)),
        source_sha256=source_sha256(src) if os.path.isfile(src) else "",
        ir_sha256=ir_sha256(kfn.ir),
    )
    plan.choices = _choices(problem, cfg, est, solver, time_limit, fixed or {})
    rl = relabel_choice(kv, stats, len(est.per_blade))
    if rl is not None:  # vertex numbering (the relabel rule, for ordered intersections)
        plan.choices.append(Choice("relabel", rl[0], rl[1]))
    kind = {k.name: k for k in man.kinds}[est.per_blade[0]["kind"]] if est.per_blade \
        else man.kinds[0]
    lc = layout_choice(kv, work[cfg.variant], stats, len(est.per_blade), kind)
    if lc is not None:  # the shards' vertex numbering (the relabel rule, whole graph)
        plan.choices.append(Choice("layout", lc[0], lc[1]))
    ws = weight_choice(kv, graph)
    if ws is not None:  # the edge weights' stored width (planner/narrow.py, on the data)
        plan.choices.append(Choice("weight storage", ws[0], ws[1]))
    ss = state_choice(kv, graph)
    if ss is not None:  # a relaxation's state table's stored width (narrow.py, on the data)
        plan.choices.append(Choice("state storage", ss[0], ss[1]))
    plan.baselines = baselines(problem)
    return plan


def _blade(b: dict, stats: GraphStats) -> BladePlan:
    lo, hi = b["range"]
    use = {k: b[k] for k in ("luts", "bram_bits", "fpga_figures", "unit") if k in b}
    return BladePlan(b["blade"], b["kind"], b["device"], int(lo), int(hi),
                     stats.edges_in(lo, hi), b["compute"], b["comm"], b["stream"], b["total"],
                     b["dram"], use)


def _layouts(kv, cfg, est) -> dict:
    P = sum(cfg.counts)
    par_written, reduced_scalars = set(), set()
    for s, path in iter_stmts(kv.body):
        if isinstance(s, Store) and any(lp.is_data_loop and lp.schedule != "seq"
                                        for lp in path):
            (reduced_scalars if kv.table_map[s.table].space == "scalar" else
             par_written).add(s.table)
            if s.flag:
                reduced_scalars.add(s.flag)
    out = {}
    ghosts = ghost_reads(kv, will_distribute)
    fpga = any(b["device"] == "fpga" for b in est.per_blade)
    for t in kv.tables:
        if P == 1:
            lay, detail = "solo_home", f"blade 0 ({est.per_blade[0]['kind']})"
        elif t.space == "edge":
            lay = "streamed" if cfg.streamed else "sharded"
            detail = "edges of each blade's vertices" + (", read from the fileserver each "
                                                         "superstep" if cfg.streamed else "")
        elif t.space == "node" and t.name in par_written:
            lay, detail = "sharded+mirrored", f"{P} vertex ranges; mirrors refreshed " \
                                              "after each superstep"
            if t.name not in ghosts and not fpga:  # ghost_reads: not refreshed
                detail = f"{P} vertex ranges; read at owned vertices only: no mirrors, " \
                         "not refreshed"
        elif t.space == "node":
            lay, detail = "mirrored", "every blade holds and computes the same copy"
        elif t.name in reduced_scalars:
            lay, detail = "assoc_reduction_tree", f"combined across {P} blades"
        else:
            lay, detail = "mirrored", "replicated scalar"
        out[t.name] = {"layout": lay, "detail": detail, "space": t.space,
                       "dtype": t.dtype.name}
    locals_ = sorted({n for s, _ in iter_stmts(kv.body) if isinstance(s, Loop)
                      for n, _ in s.locals})
    for n in locals_:
        out[n] = {"layout": "local_private", "detail": "one per loop iteration",
                  "space": "private", "dtype": ""}
    return out


def _choices(problem: Problem, cfg, est, solver, time_limit, fixed) -> list[Choice]:
    out = []

    def alt(extra: dict):
        o = problem.solve(solver, time_limit, {**fixed, **extra})
        return o.estimate if o.estimate is not None and o.estimate.feasible else None

    def hourly(a):
        return a.cost_per_hour if a else None

    # variant
    if len(problem.work) > 1 and "variant" not in fixed:
        a = alt({"not_variant": cfg.variant})
        out.append(Choice("variant", cfg.variant, f"predicted {_fmt(est.makespan)}",
                          a.config.variant if a else "", a.makespan if a else None,
                          hourly(a)))
    # blades
    P = sum(cfg.counts)
    total = problem.man.blades
    comp = max(b["compute"] for b in est.per_blade)
    comm = max(b["comm"] for b in est.per_blade)
    best_alt = more = None
    for extra in ({"max_blades": P - 1} if P > 1 else None,
                  {"min_blades": P + 1} if P < total else None):
        if extra:
            a = alt(extra)
            if a and "min_blades" in extra:
                more = a
            if a and (best_alt is None or a.makespan < best_alt.makespan):
                best_alt = a
    # the claim about more blades only when the model says so (a faster larger plan
    # lost on cost per hour, which the explanation of the alternative states)
    reason = (f"compute {_fmt(comp)} and communication {_fmt(comm)} per blade"
              + (": more blades would add more traffic and latency than they save"
                 if more is not None and more.makespan >= est.makespan else ""))
    counts = ", ".join(f"{c} x {k.name}" for c, k in zip(cfg.counts, problem.man.kinds) if c)
    out.append(Choice("blades", f"{P} ({counts})", reason,
                      _blades(sum(best_alt.config.counts)) if best_alt else "",
                      best_alt.makespan if best_alt else None, hourly(best_alt)))
    # device
    has_fpga = any(k.fpga for k in problem.man.kinds)
    w = problem.work[cfg.variant]
    if any(cfg.fpga):
        a = alt({"fpga": False, "variant": cfg.variant})
        out.append(Choice("device", "FPGA for the parallel edge loops",
                          "its edge rate beats the CPU's", "CPU only" if a else "",
                          a.makespan if a else None, hourly(a)))
    elif has_fpga:
        eligible = [v for v, wl in problem.work.items() if wl.fpga_ok]
        if not eligible:
            out.append(Choice("device", "CPU", f"not FPGA-eligible: {w.fpga_why}"))
        else:
            a = alt({"fpga": True})
            out.append(Choice("device", "CPU", "the CPUs relax edges faster than the FPGA "
                              "units (or the shard does not fit on chip)",
                              f"FPGA ({a.config.variant})" if a else "",
                              a.makespan if a else None, hourly(a)))
    else:
        out.append(Choice("device", "CPU", "the manifest has no FPGA"))
    # edges
    a = alt({"streamed": not cfg.streamed})
    out.append(Choice("edge lists", "streamed from the fileserver" if cfg.streamed else
                      "held in DRAM", "they do not fit in DRAM" if cfg.streamed else
                      "they fit in DRAM, and DRAM is faster than the fileserver",
                      ("held in DRAM" if cfg.streamed else "streamed") if a else "",
                      a.makespan if a else None, hourly(a)))
    return out


def _blades(n: int) -> str:
    return f"{n} blade{'s' * (n != 1)}"


def _fmt(t: float) -> str:
    return _s(t)


def _law_text(law) -> str:
    """A law as a plan keeps it; an assumption the run must check (the value bound) is
    named, so that the driver checks it and the reader sees it."""
    text = f"{law.name} of {law.subject}: {law.status}"
    assumed = [p for p in law.policies if p.startswith(bounds.POLICY)]
    return text + (f" [policy: {', '.join(assumed)}]" if assumed else "")
