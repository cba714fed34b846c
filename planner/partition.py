"""The ILP partitioner: which blades take part, on which device, with which share of the
graph, running which kernel variant, with the edge lists in DRAM or streamed.

The model (identical blades aggregated into kinds, as the design notes require to keep
the ILP small; shards are contiguous vertex ranges, so a kind's blades are symmetric and
the first ``a`` blades of a kind are the ones used):

=================  ==========================================================
``y[k,a]``         kind ``k`` uses ``a`` blades (``a`` from a small candidate set)
``w[P]``           the plan uses ``P`` blades in all (``sum P w = sum a y``)
``x[v]``           kernel variant ``v``
``d[k]``           kind ``k`` runs the parallel edge loops on its FPGA
``u``              edge lists streamed from the fileserver instead of held in DRAM
``s[k]``           edge share of one blade of kind ``k`` (``sum a s y = 1``, linearised)
``T[k]``           a blade's time; ``M >= T[k]`` for used kinds: the max, linearised
=================  ==========================================================

``T[k] >= cpu_time(v,k) s_cpu + fpga_time(v,k) s_fpga + sum_P comm(v,P) s[k] w[P]
+ fixed(v,P) w[P] + replicated(v,k) + stream(v) u`` for the chosen ``v`` (big-M on
``x``); products of a share with a binary are McCormick-linearised.  Limits: DRAM per
blade (node tables are mirrored everywhere; the edge shard unless streamed), FPGA LUTs
and BRAM (the shard's vertex state on chip), the budget.  Objective: the run's makespan,
plus the hourly cost weighted by the manifest's priority.

Coefficients come from ``cost`` (the same model that evaluates any plan, baselines
included); the plan's reported figures are ``cost.evaluate`` of the decoded solution
with its exact shard map.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .cost import (
    FPGA_BYTES_PER_EDGE,
    Config,
    Estimate,
    _fpga_use,
    blade_fixed,
    comm_terms,
    cpu_fixed,
    edge_rate,
    evaluate,
    host_terms,
    node_rate,
)
from .ilp import LpBinary, LpMinimize, LpProblem, LpVariable, Solve, lpSum, solve
from .manifest import Manifest
from .memory import id_bytes
from .stats import GraphStats
from .units import format_quantity
from .workload import Workload

__all__ = ["Problem", "Outcome", "count_options"]


def count_options(count: int, allow_zero: bool) -> list[int]:
    opts = {1, count}
    a = 2
    while a < count:
        opts.add(a)
        a *= 2
    if allow_zero:
        opts.add(0)
    return sorted(opts)


@dataclass
class Outcome:
    config: Config | None
    estimate: Estimate | None
    solve: Solve
    violations: list[str] = field(default_factory=list)  # when infeasible: what and by how much


class Problem:
    """One planning problem: a kernel's variants on a manifest, for a graph."""

    def __init__(self, man: Manifest, stats: GraphStats, workloads: dict[str, Workload],
                 time_weight: float | None = None):
        self.man = man
        self.stats = stats
        self.work = workloads
        kinds = man.kinds
        self.options = {i: count_options(k.count, len(kinds) > 1) for i, k in enumerate(kinds)}
        totals = {0}
        for i in range(len(kinds)):
            totals = {t + a for t in totals for a in self.options[i]}
        self.totals = sorted(t for t in totals if t > 0)
        self.cut = {P: stats.cut_fraction(P) for P in self.totals}
        self._excess: dict = {}
        self._margin: dict[int, float] = {}  # per kind: bytes the ILP leaves (``solve``)
        # the priority: seconds of makespan worth one currency unit per hour
        self.hourly_weight = 1e-6 if man.priority == "time" else 1e6

    # ------------------------------------------------------------------ model
    def build(self, fixed: dict | None = None, elastic: bool = False):
        fixed = fixed or {}
        man, st = self.man, self.stats
        kinds = man.kinds
        K = range(len(kinds))
        V = list(self.work)
        prob = LpProblem("cosynth_plan", LpMinimize)
        y = {(k, a): LpVariable(f"y_{k}_{a}", cat=LpBinary) for k in K for a in self.options[k]}
        w = {P: LpVariable(f"w_{P}", cat=LpBinary) for P in self.totals}
        x = {v: LpVariable(f"x_{v}", cat=LpBinary) for v in V}
        d = {k: LpVariable(f"d_{k}", cat=LpBinary) for k in K}
        u = LpVariable("u_stream", cat=LpBinary)
        s = {k: LpVariable(f"s_{k}", 0, 1) for k in K}
        sf = {k: LpVariable(f"sf_{k}", 0, 1) for k in K}
        sc = {k: LpVariable(f"sc_{k}", 0, 1) for k in K}
        z = {(k, a): LpVariable(f"z_{k}_{a}", 0, 1) for (k, a) in y}
        zp = {(k, P): LpVariable(f"zp_{k}_{P}", 0, 1) for k in K for P in self.totals}
        q = {k: LpVariable(f"q_{k}", 0, 1) for k in K}  # s[k] * u: the streamed share
        T = {k: LpVariable(f"T_{k}", 0) for k in K}
        M = LpVariable("makespan", 0)
        self.vars = {"y": y, "w": w, "x": x, "d": d, "u": u, "s": s, "sf": sf, "z": z}
        for k in K:
            prob += lpSum(y[k, a] for a in self.options[k]) == 1, f"one_count_{k}"
            for a in self.options[k]:  # z = s * y
                prob += z[k, a] <= y[k, a]
                prob += z[k, a] <= s[k]
                prob += z[k, a] >= s[k] - (1 - y[k, a])
            prob += s[k] == sf[k] + sc[k]
            prob += sf[k] <= d[k]
            prob += sc[k] <= 1 - d[k]
            for P in self.totals:  # zp = s * w
                prob += zp[k, P] <= w[P]
                prob += zp[k, P] <= s[k]
                prob += zp[k, P] >= s[k] - (1 - w[P])
            prob += q[k] <= s[k]
            prob += q[k] <= u
            prob += q[k] >= s[k] - (1 - u)
            if kinds[k].fpga is None:
                prob += d[k] == 0
            if (k, 0) in y:  # a kind runs on its FPGAs only when some of its blades run
                prob += d[k] <= 1 - y[k, 0], f"fpga_used_{k}"
            prob += d[k] <= lpSum(x[v] for v in V if self.work[v].fpga_ok), f"fpga_ok_{k}"
        prob += lpSum(w.values()) == 1, "one_total"
        prob += lpSum(P * w[P] for P in w) == lpSum(a * y[k, a] for (k, a) in y), "total"
        prob += lpSum(a * z[k, a] for (k, a) in z) == 1, "coverage"
        prob += lpSum(x.values()) == 1, "one_variant"
        # Times are in units of t_ref (the best variant on one blade of the first kind):
        # the model stays well scaled whatever the graph, and every big-M below is the
        # bound of its own constraint, not a global constant.
        t_ref = self.t_ref = self._t_ref()
        bound_k = {}
        for k in K:
            kind = kinds[k]
            cpu = edge_rate(kind, "cpu")
            bound_k[k] = 0.0
            for v in V:
                wl = self.work[v]
                fpga = edge_rate(kind, "fpga", wl) if kind.fpga else cpu
                node = wl.cpu_nodes / node_rate(kind) / t_ref
                rep = cpu_fixed(kind, wl) / t_ref
                stream = wl.parallel_edges * FPGA_BYTES_PER_EDGE / man.fileserver_bandwidth \
                    / t_ref
                comm = {P: tuple(c / t_ref for c in comm_terms(wl, st, man, P, self.cut[P]))
                        for P in self.totals}
                c_cpu = wl.cpu_edges / cpu / t_ref + node
                h_share, h_fixed = host_terms(kind, wl, st.n)  # the host link's time
                c_fpga = (wl.parallel_edges / fpga + h_share) / t_ref + node
                # replicated edge loops the unit runs: on the FPGA when the kind uses it
                # (less the unit calls' fixed host transfers, paid when it does)
                rf = wl.replicated_fpga_edges if wl.fpga_ok else 0.0
                rep_gain = (rf / cpu - rf / fpga - h_fixed) / t_ref
                ub = max(c_cpu, c_fpga) + max(a + b for a, b in comm.values()) + rep + \
                    stream + max(0.0, -rep_gain)
                bound_k[k] = max(bound_k[k], ub)
                prob += (T[k] >= c_cpu * sc[k] + c_fpga * sf[k] +
                         lpSum(comm[P][0] * zp[k, P] + comm[P][1] * w[P] for P in w) +
                         rep - rep_gain * d[k] + stream * u - ub * (1 - x[v]),
                         f"time_{k}_{v}")
            prob += M >= T[k] - bound_k[k] * (y[k, 0] if (k, 0) in y else 0), f"max_{k}"
        # ---- limits (with slack when explaining infeasibility)
        slack = {}

        def limit(name, lhs, cap, scale):
            if elastic:
                sl = LpVariable(f"slack_{name}", 0)
                slack[name] = (sl, scale)
                prob.__iadd__((lhs <= cap + sl, name))
            else:
                prob.__iadd__((lhs <= cap, name))
        for k in K:
            kind = kinds[k]
            used = 1 - y[k, 0] if (k, 0) in y else 1
            for v in V:
                wl = self.work[v]
                gib = 2.0 ** 30
                edges = big_bytes(st, wl)  # the whole edge list; a shard is s[k] of it
                fp = wl.memory  # the program's arrays (planner.memory), when known
                if fp is not None:  # every vertex's arrays (the edges: by share, below)
                    rep = fp.blade_bytes(st.n, st.m, st.n, 0, 0.0, sharded=False) - edges
                else:
                    rep = st.n * (wl.node_bytes + 8) + (st.m * wl.edge_bytes
                                                       if wl.replicated_edges else 0)
                if wl.sharded:
                    # its vertices and edges by its share and, at P blades, what the
                    # fullest of P edge-balanced blades holds beyond its 1/P of them
                    # (``excess``: its ghosts, and the vertices and edges its range has
                    # over 1/P, as the plan's memory model counts them) scaled by the
                    # share against 1/P (zp = s w: exact at equal shares; a kind with a
                    # larger share has more ghosts); nothing when the kind is unused
                    # (s = 0); a blade using its FPGA unit holds every vertex besides (an
                    # upper bound: linear)
                    # per-thread copies beyond thread 0's, of the owned entries (one
                    # OpenMP thread per core; ``memory.Footprint.private``)
                    own = self._own(wl) + (st.n * fp.private * max(kind.cpu_cores - 1, 0)
                                           if fp is not None else 0.0)
                    gh = {P: P * self.excess(wl, P) for P in self.totals}
                    ghmax = max(gh.values(), default=0.0)
                    mem = own * s[k] + lpSum(gh[P] * zp[k, P] for P in w)
                    if kind.fpga is not None:
                        mem += rep * d[k]
                    big = own + ghmax + edges + (rep if kind.fpga is not None else 0.0)
                else:
                    mem, big = rep * used, rep + edges
                fixed_mem = blade_fixed(kind)  # the process without data, when used
                mem, big = mem + fixed_mem * used, big + fixed_mem
                # streaming frees the shard's edges only; another variant frees it all
                limit(f"dram_{k}_{v}", (mem + edges * (s[k] - q[k]) - big * (1 - x[v])) / gib,
                      (kind.dram_bytes - self._margin.get(k, 0.0)) / gib, 1.0)
            if kind.fpga is not None:
                for v in V:
                    wl = self.work[v]
                    use = _fpga_use(kind, wl, st.n)
                    kl = 1000.0  # thousands of LUTs
                    limit(f"luts_{k}_{v}", (use["luts"] * d[k] - use["luts"] * (1 - x[v])) / kl,
                          kind.fpga.luts / kl, 1.0)
                    mb = 2.0 ** 20  # Mbit
                    # the unit holds every vertex (its tables are the blade program's
                    # full-size tables, mirrors included), whatever the blade's share
                    limit(f"bram_{k}_{v}", (use["bram_bits"] * (d[k] - (1 - x[v]))) / mb,
                          kind.fpga.bram_bits / mb, 1.0)
        hourly = lpSum(a * kinds[k].cost_per_hour * y[k, a] for (k, a) in y)
        if man.budget_per_hour is not None:
            limit("budget", hourly, man.budget_per_hour, 1.0)
        # ---- fixed choices (alternatives and baselines)
        for key, val in fixed.items():
            if key == "variant":
                prob += x[val] == 1
            elif key == "not_variant":
                prob += x[val] == 0
            elif key == "streamed":
                prob += u == int(val)
            elif key == "fpga":
                for k in K:
                    prob += d[k] == (int(val) if kinds[k].fpga else 0) if val is False else \
                        d[k] >= 0
                if val is True:
                    prob += lpSum(d.values()) >= 1
            elif key == "blades":
                prob += lpSum(P * w[P] for P in w) == val
            elif key == "max_blades":
                prob += lpSum(P * w[P] for P in w) <= val
            elif key == "min_blades":
                prob += lpSum(P * w[P] for P in w) >= val
            else:
                raise ValueError(key)
        # ties broken the same way by every solver: the earlier variant, edges in DRAM
        eps = 1e-7
        objective = M + self.hourly_weight / t_ref * hourly + eps * u + \
            lpSum(i * eps * x[v] for i, v in enumerate(V))
        if elastic:
            objective = objective + 1e6 * lpSum(sl / sc_ for sl, sc_ in slack.values())
        prob += objective
        self.slack = slack
        return prob

    def _t_ref(self) -> float:
        """The best variant's time on one blade of the first kind (the model's time unit)."""
        kind = self.man.kinds[0]
        cpu = edge_rate(kind, "cpu")
        best = min(wl.cpu_edges / cpu + wl.cpu_nodes / node_rate(kind) + cpu_fixed(kind, wl)
                   for wl in self.work.values())
        return max(best, 1e-9)

    def _own(self, wl: Workload) -> float:
        """The bytes of every vertex's owned arrays (a blade holds its share of them)."""
        st, fp = self.stats, wl.memory
        return st.n * (fp.per_owned(st.n, st.m, 0.0) if fp is not None else
                       wl.local_vertex_bytes() + wl.mirror_bytes)

    def excess(self, wl: Workload, P: int) -> float:
        """What the fullest of ``P`` edge-balanced blades holds beyond 1/P of every
        vertex's and edge's bytes (the ILP's linear terms): its ghosts (counted on the
        graph, ``GraphStats.ghosts_of``; one pass over the edges per P, shared with the
        cut ``cut_fraction`` measures) at the bytes a ghost costs at P blades (one peer's
        share of a superstep's messages held at a time), and the vertices and edges its
        range has over 1/P -- ``Workload.blade_dram`` of each range, the plan's figure.
        The ILP's DRAM term is then the plan's largest blade for one kind's blades at
        equal shares.  It replaces the cut-edge bound (``ghost_bound``) at a 2-blade
        message, which overstated a blade's ghosts (kron-22, 8 blades: 3.67 M against
        the 1.12 M a blade has) and their bytes, and refused plans that fit."""
        if P <= 1 or not wl.sharded:
            return 0.0
        st = self.stats
        key = (id(wl), P)
        if key not in self._excess:
            ranges = st.ranges([1.0 / P] * P)
            ghosts = st.ghosts_of(ranges, wl.ghost_out, wl.ghost_in) \
                if wl.ghost_out or wl.ghost_in else [0] * P
            full = max(wl.blade_dram(st.n, st.m, hi - lo, g,
                                     st.edges_in(lo, hi) / st.m if st.m else 1.0 / P,
                                     False, P)
                       for (lo, hi), g in zip(ranges, ghosts))
            self._excess[key] = max(full - (self._own(wl) + big_bytes(st, wl)) / P, 0.0)
        return self._excess[key]

    # ------------------------------------------------------------------ solving
    def solve(self, solver: str = "cbc", time_limit: float = 10.0,
              fixed: dict | None = None) -> Outcome:
        for _ in range(1 + self.RETRIES):
            prob = self.build(fixed)
            res = solve(prob, solver, time_limit)
            if not res.has_solution:
                return Outcome(None, None, res, self.explain(solver, time_limit, fixed)
                               if res.status == "infeasible" else [])
            res.objective = res.objective * self.t_ref if res.objective is not None else None
            res.bound = res.bound * self.t_ref if res.bound is not None else None
            cfg = self.decode(res)
            est = evaluate(cfg, self.work[cfg.variant], self.stats, self.man)
            short = self._dram_short(prob, res, cfg, est)
            if not short:
                break
            for k, b in short.items():  # the plan's ranges hold more: ask the ILP for less
                self._margin[k] = max(self._margin.get(k, 0.0), b)
        return Outcome(cfg, est, res)

    #: re-solves when the plan's exact ranges need more DRAM than the ILP's linear terms
    RETRIES = 3

    def _dram_short(self, prob, res: Solve, cfg: Config, est: Estimate) -> dict[int, float]:
        """Per kind index whose fullest blade in the plan needs more than its DRAM: by
        how much the ILP's DRAM figure for it (its constraint at the solution) fell
        short of that blade.  The ILP counts a blade at equal shares' ranges
        (``excess``); a plan whose kinds take unequal shares has other ranges, whose
        fullest blade may hold a little more (kron-16 on cluster64 at its DRAM limit:
        0.05-0.6 %)."""
        index = {k.name: i for i, k in enumerate(self.man.kinds)}
        need: dict[int, float] = {}
        for b in est.per_blade:
            i = index[b["kind"]]
            if b["dram"] > self.man.kinds[i].dram_bytes:
                need[i] = max(need.get(i, 0.0), b["dram"])
        short = {}
        for i, dram in need.items():
            c = prob.constraints[f"dram_{i}_{cfg.variant}"]
            lhs = sum(coef * res.values.get(var.name, 0.0) for var, coef in c.items()) + \
                c.constant  # lhs - cap, in GiB
            ilp = (lhs * 2**30) + self.man.kinds[i].dram_bytes - self._margin.get(i, 0.0)
            short[i] = (dram - ilp) * 1.0001 + 1.0
        return short

    def decode(self, res: Solve) -> Config:
        kinds = self.man.kinds
        val = res.values
        variant = max(self.work, key=lambda v: val.get(f"x_{v}", 0))
        counts, fpga, shares = [], [], []
        for k in range(len(kinds)):
            a = max(self.options[k], key=lambda a: val.get(f"y_{k}_{a}", 0))
            counts.append(a)
            fpga.append(val.get(f"d_{k}", 0) > 0.5 and a > 0)
            shares.append(max(val.get(f"s_{k}", 0.0), 0.0) if a else 0.0)
        total = sum(c * s for c, s in zip(counts, shares)) or 1.0
        shares = [s / total for s in shares]
        return Config(variant, tuple(counts), tuple(fpga), tuple(shares),
                      val.get("u_stream", 0) > 0.5)

    def explain(self, solver: str, time_limit: float, fixed: dict | None) -> list[str]:
        """Which limits make the problem infeasible, where, and by how much: the model
        with every limit given a penalised slack, solved for the least violation."""
        prob = self.build(fixed, elastic=True)
        res = solve(prob, solver, time_limit)
        if not res.has_solution:
            return ["no plan exists even with every limit relaxed (the fixed choices "
                    "contradict each other)"]
        out = []
        kinds = self.man.kinds
        chosen = max(self.work, key=lambda v: res.values.get(f"x_{v}", 0))
        for name, (var, scale) in self.slack.items():
            amount = res.values.get(var.name, 0.0)
            if amount <= 1e-7 * scale:  # the solver's feasibility tolerance
                continue
            parts = name.split("_")
            if parts[0] == "dram" and parts[2] == chosen:
                k = kinds[int(parts[1])]
                out.append(f"DRAM on each {k.name} blade: short by "  # the limit is in GiB
                           f"{format_quantity(amount * 2**30, 'size')} "
                           f"(has {format_quantity(k.dram_bytes, 'size')})")
            elif parts[0] in ("luts", "bram") and parts[2] == chosen:
                k = kinds[int(parts[1])]
                unit = "LUTs" if parts[0] == "luts" else "BRAM bits"
                cap = k.fpga.luts if parts[0] == "luts" else k.fpga.bram_bits
                out.append(f"FPGA {unit} on {k.name} ({k.fpga.part}): short by "
                           f"{amount:,.0f} (has {cap:,})" + _no_unit(self.work[chosen], k,
                                                                  self.stats.n))
            elif parts[0] == "budget":
                out.append(f"budget: over by {amount:.2f} per hour "
                           f"(budget {self.man.budget_per_hour:.2f})")
        return out or ["the limits conflict with the fixed choices"]


def _no_unit(w: Workload, k, n: int) -> str:
    """Why no unit of ``w`` fits ``k``'s part for ``n`` vertices (an interval unit
    refused, e.g. a reduction it does not take), as a clause; '' when one fits."""
    hw = getattr(w, "hw", None)
    if hw is None or not getattr(hw, "eligible", False) or not hasattr(hw, "unit_use"):
        return ""
    use = hw.unit_use(k.fpga.part, int(n), k.fpga.memory,
                      k.cal("fpga_clock_hz", k.fpga.clock_hz))
    return f": {use['why']}" if use.get("kind") == "none" and use.get("why") else ""


def big_bytes(st: GraphStats, wl: Workload) -> float:
    """The bytes of the whole edge list as the blades hold it (a shard: its share)."""
    if wl.memory is not None:
        return float(st.m * sum(wl.memory.edge_bytes(id_bytes(st.n, st.m, False))))
    return float(st.m * wl.edge_bytes)
