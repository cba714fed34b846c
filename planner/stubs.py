"""Stub insertion: a plan becomes the program every blade runs, and runs.

``project(variant_ir)`` applies the data projection (``frontend.rewrite.projection``):
local loops over the blade's own vertex range, reductions into other blades' entries
combined and sent at an ``exchange``, mirrors ``refresh``ed once per superstep, global
scalars combined by ``allreduce`` (a reduction tree), each collective a barrier.  A
kernel with nothing to distribute gets the shard parameters only and runs replicated.
The planner stores the result in the plan (``Plan.program``); ``blade_program(kernel,
variant_name)`` makes the same program from the kernel as written, for callers without
a plan.  ``per_blade_programs`` instantiates a plan's program for each blade (its range
as constants), for inspection.

``run_plan`` executes the plan's blade program on its shard map, one interpreter per
blade over the in-process network, and returns the gathered results with the traffic.
"""

from __future__ import annotations

from dataclasses import replace

from cosynth.dtypes import i64
from cosynth.frontend.rewrite import projection, variant
from cosynth.ir.blades import BladeRun, run_blades
from cosynth.ir.nodes import Const, Kernel, Param, Var
from cosynth.ir.walk import map_kernel_exprs

from .plan import Plan, PlanError

__all__ = ["project", "blade_program", "plan_program", "per_blade_programs", "run_plan"]


def blade_program(k: Kernel, variant_name: str) -> Kernel:
    """The blade program of ``k`` (as written) under the rewrite variant ``variant_name``."""
    return project(variant(k, variant_name)[0])


def project(kv: Kernel, fpga: bool = False) -> Kernel:
    """The blade program of the rewritten kernel ``kv`` (``fpga``: a blade of the plan runs
    an FPGA unit, which reads every entry of its full-size tables: all refreshes kept)."""
    r = projection.apply(kv, fpga=fpga)
    if r.applied:
        return r.kernel
    return replace(kv, params=tuple(kv.params) + (Param("shard_lo", "shard", i64),
                                                  Param("shard_hi", "shard", i64)))


def per_blade_programs(plan: Plan) -> list[Kernel]:
    """The plan's blade program with each blade's range bound as constants."""
    prog = plan_program(plan)
    out = []
    for b in plan.blades:
        consts = {"shard_lo": Const(b.lo, i64, True), "shard_hi": Const(b.hi, i64, True)}

        def bind(e, consts=consts):
            return consts.get(e.name, e) if isinstance(e, Var) else e
        kb = map_kernel_exprs(prog, bind)
        out.append(replace(kb, name=f"{plan.kernel}_blade{b.blade}",
                           params=tuple(p for p in kb.params if p.kind != "shard")))
    return out


def run_plan(kfn, plan: Plan, graph, args: dict | None = None, *,
             while_limit: int | None = None) -> BladeRun:
    """Run the plan's blade program on its shard map (in-process blades)."""
    bound = kfn.bind(graph, **(args if args is not None else plan.args))
    return run_blades(plan_program(plan), graph, bound, plan.shards,
                      while_limit=while_limit)


def plan_program(plan: Plan) -> Kernel:
    """The blade program a plan carries (PlanError for a plan saved without one)."""
    if plan.program is None:
        raise PlanError(f"the plan for '{plan.kernel}' carries no blade program (made by an "
                        "older cosynth)", hint="re-plan: 'cosynth plan ... -o plan.yaml'")
    return plan.program
