"""Rule ``hybrid``: choose push or pull per execution of a frontier loop (Beamer).

rewrite::

    for v in nodes() @par:                  mf = 0 ; mu = 0 ; nf = 0
      if depth[v] == level:                 for v in nodes() @par:
        for e in out_edges(v):                if depth[v] == level: mf add= out_degree(v)
          depth[e.dst] min= level + 1   ->                          nf add= 1
                                              if level + 1 < depth[v]: mu add= in_degree(v)
                                            if mf * 14 > mu and nf * 24 > num_nodes():
                                              <the pull form of the loop>   (direction rule)
                                            else:
                                              <the loop as it was>

``mf`` counts the edges the push step would visit (out-edges of the vertices whose guard
holds), ``nf`` those vertices, ``mu`` the edges the pull step may visit (in-edges of the
vertices the saturating value can still improve: the others exit before their first
edge, see ``saturation``); the pull step runs when the frontier's edges exceed 1/14 of
the unfinished vertices' (Beamer's ``alpha = 14``) and the frontier holds more than 1/24
of the vertices (his ``beta = 24``: below that the pull step's pass over every vertex
costs more than the push step; a stateless form of his switch back to push).

Legal when

* the ``direction`` rule turns the loop into its pull form by itself (it proves the
  reductions commutative and associative and the iterations independent): then each
  execution of either branch has the same effect on every table from any state, so
  choosing the branch per execution changes nothing;
* the pull form's edge loop saturates (``saturation``), so the count of its work is
  meaningful (without the early exit pull always visits every in-edge);
* the counting loop only reads (the push guard and the saturating value are pure: no
  division, no graph query, no edge attribute) and adds into two fresh integer scalars,
  so it changes no table the kernel uses and its iterations are independent.
"""

from __future__ import annotations

from dataclasses import replace

from cosynth.dtypes import boolean, i64
from cosynth.ir.nodes import Bin, Const, GraphQuery, If, Kernel, Load, Loop, Store, Table, Un, Var
from cosynth.ir.walk import iter_exprs

from . import direction
from .core import Path, applied, get, refused, replace_at, substitute_expr
from .laws import DEFAULT_POLICY, Policy
from .nests import fresh_name
from .saturation import cannot_fail, saturation

__all__ = ["NAME", "ALPHA", "BETA", "applies_to", "apply", "choice", "beta_of"]

NAME = "hybrid"
ALPHA = 14  # pull when the frontier's edges exceed the unfinished vertices' / ALPHA
BETA = 24  # ... and the frontier holds more than n / BETA vertices


def applies_to(loop) -> bool:
    return isinstance(loop, Loop) and loop.kind == "nodes"


def apply(k: Kernel, path: Path, policy: Policy = DEFAULT_POLICY):
    loop = get(k, path)
    if not applies_to(loop) or loop.schedule == "seq":
        return refused(NAME, path, "not a parallel node loop")
    if len(loop.body) != 1 or not isinstance(loop.body[0], If) or loop.body[0].orelse:
        return refused(NAME, path, "the body is not one guard around the edge loop")
    guard = loop.body[0]
    edge = guard.then[0] if len(guard.then) == 1 else None
    if not (isinstance(edge, Loop) and edge.kind == "out_edges" and isinstance(edge.of, Var)
            and edge.of.name == loop.var):
        return refused(NAME, path, "the guard does not hold one loop over the vertex's "
                       "out-edges (a push step)")
    tables = {t.name: t for t in k.tables}
    if not _pure_guard(guard.cond, loop, tables):
        return refused(NAME, path, "the guard reads other vertices' entries or may fail")
    r = direction.apply(k, path, policy, to="pull", materialize=False)
    if not r.applied:
        return refused(NAME, path, f"direction: {r.reason}", r.laws)
    pull = get(r.kernel, path)
    if not isinstance(pull, Loop) or len(pull.body) != 1:
        return refused(NAME, path, "the pull form is not one node loop", r.laws)
    sat = saturation(pull, pull.body[0], tables)
    if sat is None:
        return refused(NAME, path, "the pull form's edge loop does not saturate (no early "
                       "exit: pull would visit every in-edge)", r.laws)
    mf, mu = fresh_name(k, "push_edges"), fresh_name(k, "pull_edges")
    nf = fresh_name(k, "push_vertices")
    v = Var(loop.var, i64, True, loc=loop.loc)
    t = tables[sat.table]
    value = substitute_expr(sat.value, {pull.var: v})
    count = Loop("nodes", loop.var, (
        If(guard.cond, (Store(mf, None, GraphQuery("out_degree", (v,)), "add"),
                        Store(nf, None, Const(1, i64), "add"))),
        If(_improves(sat.op, value, Load(sat.table, v, t.dtype)),
           (Store(mu, None, GraphQuery("in_degree", (v,)), "add"),))),
        "par", start=loop.start, stop=loop.stop, loc=loop.loc)
    edges = Bin(">", Bin("*", Load(mf, None, i64), Const(ALPHA, i64), i64),
                Load(mu, None, i64), boolean)
    wide = Bin(">", Bin("*", Load(nf, None, i64), Const(BETA, i64), i64),
               GraphQuery("num_nodes", ()), boolean)
    choose = If(Bin("and", edges, wide, boolean), (pull,), (loop,), loc=loop.loc)
    new = [Store(mf, None, Const(0, i64)), Store(mu, None, Const(0, i64)),
           Store(nf, None, Const(0, i64)), count, choose]
    k2 = replace(k, tables=tuple(k.tables) + tuple(Table(x, "scalar", i64) for x in (mf, mu, nf)))
    return applied(NAME, path, replace_at(k2, path, new),
                   f"push or pull per execution (pull when {mf} * {ALPHA} > {mu} and "
                   f"{nf} * {BETA} > n); the "
                   f"direction rule proves both forms equal and the pull form saturates "
                   f"({sat.table} {sat.op}= an invariant value)", r.laws)


def choice(s) -> tuple[int, Loop, Loop] | None:
    """``(alpha, pull loop, push loop)`` when ``s`` is the choice this rule writes
    (``if mf * alpha > mu: <pull> else: <push>``, both single node loops), else None.
    The planner's cost model (``planner.workload``) splits the supersteps between the
    branches with the same test on its level profile."""
    if not (isinstance(s, If) and len(s.then) == 1 and len(s.orelse) == 1):
        return None
    c, pull, push = s.cond, s.then[0], s.orelse[0]
    if isinstance(c, Bin) and c.op == "and" and beta_of(s) is not None:
        c = c.a
    if not (isinstance(c, Bin) and c.op == ">" and isinstance(c.a, Bin) and c.a.op == "*"
            and isinstance(c.a.a, Load) and c.a.a.index is None
            and isinstance(c.a.b, Const) and isinstance(c.b, Load) and c.b.index is None):
        return None
    if not all(isinstance(x, Loop) and x.kind == "nodes" for x in (pull, push)):
        return None
    return int(c.a.b.value), pull, push


def beta_of(s) -> int | None:
    """``beta`` of the choice ``if mf * alpha > mu and nf * beta > num_nodes()``, else None
    (the choice has no test on the frontier's vertices)."""
    c = getattr(s, "cond", None)
    if not (isinstance(c, Bin) and c.op == "and"):
        return None
    w = c.b
    if isinstance(w, Bin) and w.op == ">" and isinstance(w.a, Bin) and w.a.op == "*" and \
            isinstance(w.a.a, Load) and w.a.a.index is None and isinstance(w.a.b, Const) \
            and isinstance(w.b, GraphQuery) and w.b.fn == "num_nodes":
        return int(w.a.b.value)
    return None


def _pure_guard(cond, loop: Loop, tables: dict) -> bool:
    """The guard reads scalars and the vertex's own entries, and cannot fail (what it
    reads may be written by the loop: the count only estimates the work)."""
    for x in iter_exprs(cond):
        if isinstance(x, (Const, Var)):
            continue
        if isinstance(x, Load):
            if tables[x.table].space == "node" and not (
                    isinstance(x.index, Var) and x.index.name == loop.var):
                return False
            if tables[x.table].space == "edge":
                return False
        elif isinstance(x, (Bin, Un)):
            if not cannot_fail(x):
                return False
        else:
            return False
    return True


def _improves(op: str, value, entry):
    """IR for "``value`` changes ``entry`` under the reduction ``op``"."""
    if op == "min":
        return Bin("<", value, entry, boolean)
    if op == "max":
        return Bin(">", value, entry, boolean)
    if op == "or":
        return Bin("and", value, Un("not", entry, boolean), boolean)
    return Bin("and", Un("not", value, boolean), entry, boolean)  # and
