"""The MILP solver: the one module that runs CBC or HiGHS.

Models are built with PuLP's modelling objects (re-exported here); ``solve`` runs

* ``cbc`` (default): PuLP's bundled CBC, reading the *real* outcome from CBC's log: PuLP
  reports "Optimal" even when CBC stopped at its time limit with a gap, so the status,
  the objective, the lower bound and the gap come from the log lines
  ``Result - ...``, ``Objective value:``, ``Lower bound:``, ``Gap:``;
* ``highs``: HiGHS through ``highspy`` on the model written as MPS, reading its model
  status, objective, dual bound and MIP gap from ``Highs.getInfo()``.

Both honour a time limit and return the best solution found with its gap.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import pulp
from pulp import LpBinary, LpContinuous, LpMinimize, LpProblem, LpVariable, lpSum

from cosynth import procs, scratch
from cosynth.errors import ToolError

__all__ = ["Solve", "solve", "LpProblem", "LpVariable", "lpSum", "LpMinimize", "LpBinary",
           "LpContinuous", "SOLVERS"]

SOLVERS = ("cbc", "highs")
REL_GAP = 1e-6  # "optimal" means within this relative gap (the solvers' defaults are 1e-4)


@dataclass
class Solve:
    solver: str
    status: str  # optimal | time_limit | infeasible | unbounded | error
    objective: float | None
    bound: float | None
    seconds: float
    values: dict[str, float]

    @property
    def gap(self) -> float | None:
        if self.objective is None or self.bound is None:
            return None
        if self.status == "optimal":
            return 0.0
        denom = max(abs(self.objective), 1e-12)
        return max(0.0, (self.objective - self.bound) / denom)

    @property
    def has_solution(self) -> bool:
        return self.status in ("optimal", "time_limit") and self.objective is not None


def solve(prob: LpProblem, solver: str = "cbc", time_limit: float = 10.0) -> Solve:
    if solver == "cbc":
        return _cbc(prob, time_limit)
    if solver == "highs":
        return _highs(prob, time_limit)
    raise ToolError(f"unknown MILP solver '{solver}'", hint=f"use one of {', '.join(SOLVERS)}")


def _cbc(prob: LpProblem, time_limit: float) -> Solve:
    """CBC on the model written as MPS, run through ``cosynth.procs`` (its own session,
    stopped with cosynth on an interrupt; PuLP's own ``solve`` would start it where a
    SIGTERM to cosynth leaves it running), its solution read back with PuLP's reader."""
    try:
        cmd = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, gapRel=REL_GAP)
    except Exception as exc:  # noqa: BLE001 - a missing binary is reported to the user
        raise ToolError(f"CBC is not available: {exc}",
                        hint="install PuLP with its bundled CBC: pip install pulp") from None
    if not cmd.available():
        raise ToolError("PuLP's bundled CBC binary cannot run on this machine",
                        hint="pip install --force-reinstall pulp, or use --solver highs")
    folder = scratch.make("cosynth-cbc-")
    try:
        mps, sol = os.path.join(folder, "model.mps"), os.path.join(folder, "model.sol")
        vs, var_names, con_names, _ = prob.writeMPS(mps, rename=1)
        args = [cmd.path, mps, *(["-max"] if prob.sense == pulp.LpMaximize else []),
                "-sec", str(time_limit), "-ratio", str(REL_GAP), "-timeMode", "elapsed", "-solve",
                "-printingOptions", "all", "-solution", sol]
        t0 = time.perf_counter()
        try:
            run = procs.run(args, timeout=time_limit + 60)
        except subprocess.TimeoutExpired:
            raise ToolError(f"CBC did not stop at its {time_limit:g} s limit and was ended",
                            hint="try --solver highs") from None
        dt = time.perf_counter() - t0
        text = run.stdout + run.stderr
        if run.returncode != 0 or not os.path.exists(sol):
            tail = " | ".join(text.strip().splitlines()[-3:])
            raise ToolError(f"CBC failed (exit status {run.returncode}): {tail}",
                            hint="try --solver highs")
        status, values, *_rest, sol_status = cmd.readsol_MPS(sol, prob, vs, var_names,
                                                            con_names)
        prob.assignVarsVals(values)
        prob.assignStatus(status, sol_status)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result = _match(r"Result - (.*)", text) or ""
    obj = _number(r"Objective value:\s*(\S+)", text)
    bound = _number(r"Lower bound:\s*(\S+)", text)
    if "Optimal" in result:
        status, bound = "optimal", obj if bound is None else bound
    elif "time" in result.lower() or "Stopped" in result:
        status = "time_limit" if obj is not None else "error"
    elif "infeasible" in result.lower() or prob.status == pulp.LpStatusInfeasible:
        status = "infeasible"
    elif "unbounded" in result.lower():
        status = "unbounded"
    else:
        status = {pulp.LpStatusOptimal: "optimal", pulp.LpStatusInfeasible: "infeasible",
                  pulp.LpStatusUnbounded: "unbounded"}.get(prob.status, "error")
    values = {v.name: (v.varValue if v.varValue is not None else 0.0)
              for v in prob.variables()} if status in ("optimal", "time_limit") else {}
    if status in ("optimal", "time_limit"):
        exact = pulp.value(prob.objective)  # the log rounds to a few digits
        if exact is not None:
            if status == "optimal" or bound is None:
                bound = exact if status == "optimal" else bound
            obj = exact
    return Solve("cbc", status, obj, bound, dt, values)


def _highs(prob: LpProblem, time_limit: float) -> Solve:
    try:
        import highspy  # lazy and optional: only the HiGHS solver choice needs it
    except ImportError:
        raise ToolError("HiGHS is not installed", hint="pip install highspy") from None
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.mps")
        prob.writeMPS(path, rename=0)
        h = _silent_highs(highspy)
        h.setOptionValue("time_limit", float(time_limit))
        h.setOptionValue("mip_rel_gap", REL_GAP)
        h.readModel(path)
        t0 = time.perf_counter()
        h.run()
        dt = time.perf_counter() - t0
    ms = h.getModelStatus()
    info = h.getInfo()
    name = h.modelStatusToString(ms).lower()
    if ms == highspy.HighsModelStatus.kOptimal:
        status = "optimal"
    elif "time" in name:
        status = "time_limit"
    elif "infeasible" in name:
        status = "infeasible"
    elif "unbounded" in name:
        status = "unbounded"
    else:
        status = "error"
    values = {}
    obj = bound = None
    if status in ("optimal", "time_limit") and info.primal_solution_status:
        lp = h.getLp()
        sol = h.getSolution().col_value
        values = dict(zip(lp.col_names_, sol))
        obj = info.objective_function_value + (prob.objective.constant or 0.0)
        bound = info.mip_dual_bound + (prob.objective.constant or 0.0)
    elif status == "time_limit":
        status = "error"
    return Solve("highs", status, obj, bound, dt, values)


def _silent_highs(highspy):
    """A ``highspy.Highs`` that prints nothing: its C++ constructor prints a banner on the
    process's standard output (file descriptor 1, before any option can be set), so the
    descriptor points at the null device while it runs; ``output_flag`` silences the rest."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    h.setOptionValue("output_flag", False)
    return h


def _match(rx: str, text: str):
    m = re.search(rx, text)
    return m.group(1).strip() if m else None


def _number(rx: str, text: str):
    m = _match(rx, text)
    try:
        return float(m) if m is not None else None
    except ValueError:
        return None
