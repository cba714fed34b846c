"""Mirrored edge loops: an in-edge loop that repeats its vertex's out-edge loop on a
symmetric graph (min-label propagation over both directions).  The C++ emitter
(``backends/cpp/loops``) skips the in-edge loop when the blade's rows are symmetric.

Pattern: inside a relaxed (``async`` or ``bsp``) node loop over ``v``, a loop over
``v``'s out-edges and a loop over ``v``'s in-edges whose bodies are the same statements
once the far endpoint is given one name (``e.dst`` of the out-edge, ``e.src`` of the
in-edge) and the near one ``v``::

    for v in nodes() @async:                  for v in nodes() @async:
      for e in out_edges(v):                    for e in out_edges(v):
        label[e.dst] min= label[v] -> ch          label[e.dst] min= label[v] -> ch
      for e in in_edges(v):             ->      if not mirrored:          (per blade, at load)
        label[e.src] min= label[v] -> ch          for e in in_edges(v):
                                                    label[e.src] min= label[v] -> ch

``mirrored`` (``Graph::mirrored`` in the runtime) holds when every row of the blade's
shard lists its vertex's in-neighbours exactly as its out-neighbours (same ids, same
order, duplicates included): every row of a symmetric graph, an undirected one in
particular.  It is read from the data before the clock starts; on any other graph the
loop runs as written.

Legality.  (1) Same statements: the bodies read nothing of the edge but its endpoints --
no edge id, no weight, no edge table -- so the in-edge ``w -> v`` executes exactly the
statements the out-edge ``v -> w`` executes, with ``w`` for the far end; when the rows
are equal (``mirrored``), the in-edge loop of ``v`` executes the out-edge loop's
statement instances again, for the same ``w`` in the same order.  (2) Repeating them is
redundant: every write of the bodies is a reduction whose operator is a semilattice
(commutative, associative, idempotent; proved with Z3 on the table's dtype, the laws
kept in the result), the only other statements are conditions and the edge loop's own
privates, and no scalar is accumulated.  (3) The node loop is relaxed, i.e. the
``relax`` rule proved its fixed point independent of the order and repetition of these
updates (monotone contributions, a change flag that stops the loop exactly when a sweep
changes nothing): chaotic iteration of a set of monotone, idempotent updates reaches the
same extreme fixed point whatever their multiplicities, and the while loop's exit test
-- a sweep of the out-edge updates changes nothing -- states that every update of the
set, the in-edge copies included, is at its fixed point.  The work list (``frontier``)
still queues a vertex after every change of its entry, so each vertex runs its out-edge
loop again from its final value.  Hence every table, flag and result is as the kernel
computes it; only the number of edges visited halves.
"""

from __future__ import annotations

from dataclasses import dataclass

from cosynth.ir.nodes import Assign, EdgeAttr, If, Load, Loop, Store, Var
from cosynth.ir.printer import print_stmts
from cosynth.ir.visit import Transformer
from cosynth.ir.walk import iter_exprs, iter_stmts, stmt_exprs

from .laws import DEFAULT_POLICY, Policy, semilattice
from .saturation import IDEMPOTENT
from .smt import Law

__all__ = ["Mirror", "mirror", "RELAXED"]

RELAXED = ("async", "bsp")
FAR = "@far"  # the far endpoint's name in the compared bodies (not a Python name)


@dataclass(frozen=True)
class Mirror:
    """The in-edge loop ``inner`` repeats the out-edge loop ``outer`` on a symmetric row
    (``ok``), with the semilattice ``laws`` its writes rely on; else ``why`` not."""

    ok: bool
    why: str
    laws: tuple[Law, ...] = ()
    outer: Loop | None = None


def mirror(par: Loop, edge: Loop, tables: dict, policy: Policy = DEFAULT_POLICY) -> Mirror:
    """Does the in-edge loop ``edge`` (directly in the node loop ``par``'s body) repeat a
    sibling out-edge loop of the same vertex on a symmetric graph?  ``tables``: name ->
    ``Table`` (dtype and space)."""
    if edge.kind != "in_edges":
        return Mirror(False, "not an in-edge loop")
    if par.kind != "nodes" or par.schedule not in RELAXED:
        return Mirror(False, "the node loop is not relaxed (async or bsp): its sweeps "
                             "must not depend on how often an update runs")
    if not any(x is edge for x in par.body) or not _of(edge, par):
        return Mirror(False, "not a loop over the node loop's own vertex's edges")
    body = _canonical(edge, par.var, far="src", near="dst")
    if body is None or _edge_data(edge, tables):
        return Mirror(False, "the body reads the edge's id, weight or an edge table")
    why = _effects(edge)
    if why:
        return Mirror(False, why)
    for out in par.body:
        if not (isinstance(out, Loop) and out.kind == "out_edges" and _of(out, par)):
            continue
        other = _canonical(out, par.var, far="dst", near="src")
        if other is None or _edge_data(out, tables) or other != body or out.locals != edge.locals:
            continue
        laws: list[Law] = []
        for s, _ in iter_stmts(edge.body):
            if isinstance(s, Store):
                for law in semilattice(s.op, tables[s.table].dtype, policy):
                    if law not in laws:
                        laws.append(law)
        bad = next((law for law in laws if not law.ok), None)
        if bad is not None:
            return Mirror(False, f"a repeated update is not harmless: {bad.describe()}",
                          tuple(laws))
        return Mirror(True, "its updates repeat the out-edge loop's on a symmetric row",
                      tuple(laws), out)
    return Mirror(False, "no out-edge loop of the same vertex with the same statements")


def _of(loop: Loop, par: Loop) -> bool:
    return isinstance(loop.of, Var) and loop.of.name == par.var


def _edge_data(loop: Loop, tables: dict) -> bool:
    """Does the body load an edge table or a weight (data of the edge, not its ends)?"""
    return any(isinstance(x, Load) and (tables[x.table].space == "edge" or
                                         tables[x.table].role == "weight")
               for s, _ in iter_stmts(loop.body) for top in stmt_exprs(s)
               for x in iter_exprs(top))


def _effects(edge: Loop) -> str:
    """Why the body's effects are not all idempotent reductions ('' when they are)."""
    private = {name for name, _ in edge.locals}
    for s, _ in iter_stmts(edge.body):
        if isinstance(s, Store):
            if s.op not in IDEMPOTENT:
                return (f"'{s.table}' is written with {s.op or 'a plain store'}, not an "
                        "idempotent reduction")
        elif isinstance(s, Assign):
            if s.name not in private:
                return f"'{s.name}' is accumulated across the edges"
        elif not isinstance(s, If):
            return f"the body holds a {type(s).__name__.lower()}"
    return ""


def _canonical(loop: Loop, v: str, far: str, near: str) -> tuple[str, ...] | None:
    """The printed body with the far endpoint named ``FAR`` and the near one ``v``; None
    when it reads anything else of the edge (its id, a weight, an edge table)."""
    e = loop.var
    for s, _ in iter_stmts(loop.body):
        for top in stmt_exprs(s):
            for x in iter_exprs(top):
                if isinstance(x, EdgeAttr) and x.edge == e and x.attr not in ("src", "dst"):
                    return None
                if isinstance(x, Load) and x.index is not None and any(
                        isinstance(y, EdgeAttr) and y.edge == e and y.attr == "id"
                        for y in iter_exprs(x.index)):
                    return None

    class _Ends(Transformer):
        def visit_EdgeAttr(self, x):
            if x.edge != e:
                return x
            return Var(FAR if x.attr == far else v, x.dtype)

    renamed = tuple(_Ends().visit(s) for s in loop.body)
    return tuple(print_stmts(renamed))
