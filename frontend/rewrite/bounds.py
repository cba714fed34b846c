"""The value-bound assumption: integer data stay far from wrapping, checked on the graph.

An integer relaxation written naturally (``nd = dist[v] + e.weight``) is not monotone in
wrapping 64-bit arithmetic: Z3 finds ``dist[v]`` near the maximum, where the sum wraps.
On a real graph it never gets there: with non-negative weights up to ``W``, every
distance a min-relaxation stores is the length of a simple path (a write needs a value
below the entry's current one, so the chain of writes behind a value never revisits a
vertex), at most ``(n - 1) * W``; a level count is at most ``n - 1``.

The assumption, stated once for every proof that uses it (``HYPOTHESIS``):

* every entry of an integer node or edge table (other than the edge weights) is either
  its dtype's minimum or maximum (the ``cs.INF`` fills) or lies in ``[-R, R)``;
* every integer edge weight lies in ``[0, R)``;

where ``R = 2**(bits - 2)`` (``2**62`` for i64).  A proof first runs without it; only if
Z3 refutes the exact claim is it redone under the assumption, and the law then names the
policy ``value-bound(...)`` in its certificate.

The assumption is checked, not trusted (``check_graph``, ``check_result``): before a run
the driver derives the bound ``B = (n - 1) * max(1, max weight)`` from the graph and
refuses a graph with a negative integer weight or with ``B + max weight >= R``; after the
run every entry of the kernel's integer result tables must be a fill value or lie in
``[-B, B]``.  Either failure is a ``BoundViolation`` that says which value broke which
assumption and to run the kernel as written (``--variant seq``) instead.

Why checking the final values suffices for the rules that use the assumption (``relax``
and ``parallelize`` of ``min=`` / ``max=`` reductions): an entry only moves one way, so
its final value bounds every value it held from one side; a sum that wrapped would have
stored a value near the other end of the range (``min=`` keeps it, and it stays below
``-B``), or the entry grew past ``B`` before it could wrap (``max=``), and either is
visible at the end.  The checks run in the driver: ``build`` (and so ``simulate``)
checks the graph, ``simulate`` the result.  The generated C++ does not check the bound
itself, so a build directory's ``run.sh`` started by hand relies on the graph check made
when it was built.
"""

from __future__ import annotations

import numpy as np
import z3

from cosynth.dtypes import DType
from cosynth.errors import CosynthError
from cosynth.ir.nodes import Kernel, Table

__all__ = ["POLICY", "HYPOTHESIS", "BoundViolation", "value_hypothesis", "uses_bound",
           "bound_for", "derive_bound", "check_graph", "check_result", "limit"]

POLICY = "value-bound"
HYPOTHESIS = ("value-bound(integer table entries are their dtype's min/max fill or in "
              "[-2**(bits-2), 2**(bits-2)); integer edge weights in [0, 2**(bits-2)); checked "
              "on the graph and the result at run time)")


class BoundViolation(CosynthError):
    """The graph or a result breaks the value-bound assumption a rewrite was proved under."""


def limit(d: DType) -> int:
    """``R``: the largest magnitude the assumption allows for ``d``."""
    return 1 << (d.bits - 2)


def value_hypothesis(t: Table, term):
    """The assumption about one entry ``term`` of table ``t`` (a Z3 Bool), or None."""
    d = t.dtype
    if not d.is_int or t.space == "scalar":
        return None
    r = limit(d)
    lo = z3.BitVecVal(0 if t.role == "weight" else -r, d.bits)
    hi = z3.BitVecVal(r, d.bits)
    inside = z3.And(term >= lo, term < hi)
    if t.role == "weight":
        return inside
    return z3.Or(inside, term == z3.BitVecVal(d.max, d.bits),
                 term == z3.BitVecVal(d.min, d.bits))


def uses_bound(rewrites) -> bool:
    """Did a law of ``rewrites`` (``Rewrite`` objects, or their certificates as a plan
    keeps them) assume the value bound?"""
    for r in rewrites:
        laws = r.get("laws", []) if isinstance(r, dict) else r.laws
        for law in laws:
            if isinstance(law, str):  # a plan's text of the law
                if f"policy: {POLICY}(" in law:
                    return True
                continue
            pols = law.get("policies", []) if isinstance(law, dict) else law.policies
            if any(str(p).startswith(POLICY) for p in pols):
                return True
    return False


def bound_for(rewrites, k: Kernel, graph) -> int | None:
    """``B`` for a run of the variant made by ``rewrites`` on ``graph`` (the graph checked
    by ``check_graph``), or None when no law of theirs assumed the bound."""
    return check_graph(k, graph) if uses_bound(rewrites) else None


def derive_bound(k: Kernel, graph) -> int:
    """``B = (n - 1) * max(1, max integer weight)``: the largest path sum (or level) a
    relaxation of ``k`` on ``graph`` can store under non-negative weights."""
    return max(graph.n - 1, 0) * _max_weight(k, graph)


def _max_weight(k: Kernel, graph) -> int:
    w = _int_weights(k, graph)
    return max(1, int(w.max())) if w is not None and w.size else 1


def _int_weights(k: Kernel, graph):
    """The graph's weights as integers when ``k`` reads integer weights (an unweighted
    graph's edges weigh 1: None, as if every weight were 1)."""
    t = k.table_map.get("weight")
    if t is None or not t.dtype.is_int or graph.weight is None:
        return None
    return np.asarray(graph.weight).astype(np.int64)


def check_graph(k: Kernel, graph) -> int:
    """Refuse ``graph`` if it breaks the assumption for kernel ``k``; return ``B``."""
    w = _int_weights(k, graph)
    d = k.table_map["weight"].dtype if w is not None else None
    if w is not None and w.size and int(w.min()) < 0:
        bad = int(np.flatnonzero(w < 0)[0])
        raise BoundViolation(
            f"edge {bad} has the negative weight {int(w[bad])}, but the rewrites of kernel "
            f"'{k.name}' were proved under {HYPOTHESIS}",
            hint="run the kernel as written (--variant seq), or use non-negative weights")
    bound = derive_bound(k, graph)
    ints = [t.dtype for t in k.tables if t.dtype.is_int and t.space != "scalar"]
    r = min((limit(x) for x in ints + ([d] if d else [])), default=None)
    if r is not None and bound + _max_weight(k, graph) >= r:
        raise BoundViolation(
            f"the graph's path sums may reach (n - 1) x max weight = {bound}, beyond the "
            f"{r} the rewrites of kernel '{k.name}' were proved for ({HYPOTHESIS})",
            hint="run the kernel as written (--variant seq), or use smaller weights")
    return bound


def check_result(k: Kernel, results: dict, bound: int) -> None:
    """Every integer node/edge result table holds a fill value or lies in ``[-B, B]``."""
    for name, value in results.items():
        t = k.table_map.get(name)
        if t is None or not t.dtype.is_int or t.space == "scalar" or t.role == "input":
            continue
        a = np.asarray(value)
        bad = np.flatnonzero((a != t.dtype.max) & (a != t.dtype.min) &
                             ((a < -bound) | (a > bound)))
        if bad.size:
            i = int(bad[0])
            raise BoundViolation(
                f"'{name}'[{i}] = {int(a[i])} lies outside +-{bound}, the bound derived from "
                f"the graph under which the rewrites of kernel '{k.name}' were proved "
                f"({HYPOTHESIS}); the result cannot be trusted",
                hint="run the kernel as written (--variant seq)")
