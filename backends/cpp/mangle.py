"""Kernel identifiers as C++ names: every user identifier gets the prefix ``u_``.

The blade program declares its own variables (``n``, ``m``, ``rank``, ``G``, ``sh`` ...)
and C++ has keywords; prefixing every name the kernel chose makes collisions impossible.
The shard bounds ``shard_lo`` / ``shard_hi`` are the program's own parameters and keep
their names.  ``mangle`` is pure (a ``Transformer``): the input kernel is untouched.

rewrite::

    for v in nodes() @par:                 for u_v in nodes() @par:
      dist[v] min= level + 1       ->        u_dist[u_v] min= u_level + 1
"""

from __future__ import annotations

from dataclasses import replace

from cosynth.ir.nodes import (
    Alloc,
    AllReduce,
    Assign,
    EdgeAttr,
    Exchange,
    Kernel,
    Load,
    Loop,
    Refresh,
    Store,
    TableRef,
    Var,
)
from cosynth.ir.visit import Transformer

__all__ = ["mangle", "mangle_name"]


def mangle_name(name: str) -> str:
    """The C++ name of a kernel identifier."""
    return name if name in ("shard_lo", "shard_hi") else f"u_{name}"


def mangle(k: Kernel) -> Kernel:
    """``k`` with every user identifier prefixed (see the module docstring)."""
    u = mangle_name
    out = _Mangle().visit(k)
    return replace(out, params=tuple(replace(p, name=u(p.name)) for p in k.params),
                   tables=tuple(replace(t, name=u(t.name)) for t in k.tables))


class _Mangle(Transformer):
    """Renames, bottom-up, every identifier a node holds."""

    def visit_Var(self, e: Var) -> Var:
        return replace(e, name=mangle_name(e.name))

    def visit_Load(self, e: Load) -> Load:
        return replace(self.generic_visit(e), table=mangle_name(e.table))

    def visit_TableRef(self, e: TableRef) -> TableRef:
        return replace(e, table=mangle_name(e.table))

    def visit_EdgeAttr(self, e: EdgeAttr) -> EdgeAttr:
        return replace(e, edge=mangle_name(e.edge))

    def visit_Loop(self, s: Loop) -> Loop:
        s = self.generic_visit(s)
        return replace(s, var=mangle_name(s.var) if s.var else None,
                       locals=tuple((mangle_name(n), d) for n, d in s.locals))

    def visit_Assign(self, s: Assign) -> Assign:
        return replace(self.generic_visit(s), name=mangle_name(s.name))

    def visit_Store(self, s: Store) -> Store:
        return self._table_and_flag(self.generic_visit(s))

    def visit_Exchange(self, s: Exchange) -> Exchange:
        return self._table_and_flag(s)

    def visit_Alloc(self, s: Alloc) -> Alloc:
        return replace(self.generic_visit(s), table=mangle_name(s.table))

    def visit_Refresh(self, s: Refresh) -> Refresh:
        return replace(s, table=mangle_name(s.table))

    def visit_AllReduce(self, s: AllReduce) -> AllReduce:
        return replace(s, table=mangle_name(s.table))

    @staticmethod
    def _table_and_flag(s):
        return replace(s, table=mangle_name(s.table),
                       flag=mangle_name(s.flag) if s.flag else None)
