"""One visitor and one transformer for the IR: a pass overrides the node types it cares about.

Dispatch is by class name, in the spirit of ``ast.NodeVisitor`` and torch.fx's
``Interpreter``: ``visit(node)`` calls ``visit_Load``, ``visit_Loop``, ... for a ``Load``,
a ``Loop``, ...; a class without its own method falls back along its bases to
``visit_Expr`` or ``visit_Stmt`` (so a pass may handle "any other expression" in one
place), and finally to ``generic_visit``, which walks the node's children.

Children, in the order ``generic_visit`` visits them (the table ``SCHEMA``)::

    Kernel  body*, returns*            Alloc   fill
    Store   index?, value              Assign  value
    If      cond, then*, orelse*       Loop    of?, start?, stop?, step?, cond?, body*
    Load    index?                     Bin     a, b
    Un      a                          Select  cond, a, b
    Cast    a                          GraphQuery  args*
    (Const, Var, EdgeAttr, TableRef, Exchange, Refresh, AllReduce have none)

A loop's header expressions belong to the scope around it and come before its body.

Invariants:

* ``self.loops`` is the tuple of loops enclosing the node being visited (outermost
  first; for a transformer, the loops of the *input*); ``self.address`` is the path of
  the statement being visited, or of the statement holding the expression being
  visited: ``(field, index)`` steps from the kernel body (``frontend.rewrite.core.Path``).
  Both are restored when a body has been visited, also when a pass raises.
* ``Visitor.visit`` returns whatever the method returns: an evaluating pass is a visitor
  whose ``visit_Bin(self, e)`` returns ``op(self.visit(e.a), self.visit(e.b))``.
* ``Transformer`` is pure: it never modifies its input, it rebuilds bottom-up only the
  nodes whose children changed, and a subtree in which nothing changed is returned as
  the very same object (``out is node``), so callers can test ``is`` for "no change".
  A statement method returns a statement, a list/tuple of statements (spliced into the
  body), or ``None`` (the statement is dropped); an expression method returns an
  expression.

Example (rename a table; before/after in the printed form)::

    class Rename(Transformer):
        def visit_Load(self, e):
            e = self.generic_visit(e)          # children first: bottom-up
            return replace(e, table="d") if e.table == "dist" else e

        def visit_Store(self, s):
            s = self.generic_visit(s)
            return replace(s, table="d") if s.table == "dist" else s

    for v in nodes() @seq:                     for v in nodes() @seq:
      for e in out_edges(v) @seq:      ->        for e in out_edges(v) @seq:
        dist[e.dst] min= dist[v] + 1.0             d[e.dst] min= d[v] + 1.0

``Rename().visit(kernel)`` returns the new kernel (its ``tables`` are the caller's to
rename); ``kernel`` itself is untouched.
"""

from __future__ import annotations

from dataclasses import fields, replace

from .nodes import (
    Alloc,
    AllReduce,
    Assign,
    Bin,
    Cast,
    Const,
    EdgeAttr,
    Exchange,
    Expr,
    GraphQuery,
    If,
    Kernel,
    Load,
    Loop,
    Refresh,
    Select,
    Stmt,
    Store,
    TableRef,
    Un,
    Var,
)

__all__ = ["Visitor", "Transformer", "SCHEMA", "schema"]

#: per node class, its child fields in visiting order: ``expr`` (an expression or None),
#: ``exprs`` (a tuple of expressions), ``body`` (a tuple of statements)
SCHEMA: dict[type, tuple[tuple[str, str], ...]] = {
    Const: (), Var: (), EdgeAttr: (), TableRef: (),
    Load: (("index", "expr"),),
    Bin: (("a", "expr"), ("b", "expr")),
    Un: (("a", "expr"),),
    Select: (("cond", "expr"), ("a", "expr"), ("b", "expr")),
    Cast: (("a", "expr"),),
    GraphQuery: (("args", "exprs"),),
    Alloc: (("fill", "expr"),),
    Store: (("index", "expr"), ("value", "expr")),
    Assign: (("value", "expr"),),
    If: (("cond", "expr"), ("then", "body"), ("orelse", "body")),
    Loop: (("of", "expr"), ("start", "expr"), ("stop", "expr"), ("step", "expr"),
           ("cond", "expr"), ("body", "body")),
    Exchange: (), Refresh: (), AllReduce: (),
    Kernel: (("body", "body"), ("returns", "exprs")),
}


def schema(node) -> tuple[tuple[str, str], ...]:
    """The child fields of ``node`` (see ``SCHEMA``); a node class defined elsewhere gets
    them read off its field values, expressions before statement bodies."""
    cls = type(node)
    s = SCHEMA.get(cls)
    if s is not None:
        return s
    exprs, bodies = [], []
    for f in fields(node):
        if f.name == "loc":
            continue
        v = getattr(node, f.name)
        if isinstance(v, Expr):
            exprs.append((f.name, "expr"))
        elif isinstance(v, tuple) and v and all(isinstance(x, Stmt) for x in v):
            bodies.append((f.name, "body"))
        elif isinstance(v, tuple) and any(isinstance(x, Expr) for x in v):
            exprs.append((f.name, "exprs"))
    return tuple(exprs + bodies)


_METHODS: dict[tuple[type, type], object] = {}


def _method(vcls: type, ncls: type):
    """The method of visitor class ``vcls`` for node class ``ncls`` (cached)."""
    key = (vcls, ncls)
    m = _METHODS.get(key)
    if m is None:
        for c in ncls.__mro__:
            m = getattr(vcls, "visit_" + c.__name__, None)
            if m is not None:
                break
        else:
            m = vcls.generic_visit
        _METHODS[key] = m
    return m


class Visitor:
    """Walks IR nodes; override ``visit_<Class>`` for the nodes a pass cares about.

    A method that wants the node's children visited too calls ``self.generic_visit(node)``
    (or visits the ones it chooses).  A pass over statements only overrides
    ``visit_Expr`` to return ``None`` so that expressions are skipped.
    """

    loops: tuple = ()  # the loops enclosing the node being visited, outermost first
    address: tuple = ()  # (field, index) steps from the kernel body to the statement

    def visit(self, node):
        return _method(type(self), type(node))(self, node)

    def visit_body(self, body, field: str = "body", loop: Loop | None = None):
        """Visit the statements of ``body`` (the ``field`` of the current statement, inside
        ``loop`` when it is that loop's body); a list of the methods' results."""
        base_address, base_loops = self.address, self.loops
        if loop is not None:
            self.loops = base_loops + (loop,)
        out = []
        try:
            for i, s in enumerate(body):
                self.address = base_address + ((field, i),)
                out.append(self.visit(s))
        finally:
            self.address, self.loops = base_address, base_loops
        return out

    def generic_visit(self, node):
        """Visit the children of ``node`` in ``SCHEMA`` order; returns ``None``."""
        for name, kind in schema(node):
            v = getattr(node, name)
            if kind == "expr":
                if v is not None:
                    self.visit(v)
            elif kind == "exprs":
                for x in v:
                    self.visit(x)
            else:
                self.visit_body(v, name, node if isinstance(node, Loop) else None)


class Transformer(Visitor):
    """Rebuilds IR bottom-up; a method returns the node's replacement (see the module
    docstring for statements: one, several, or ``None``).  ``generic_visit`` transforms
    the children and returns the node itself when none changed."""

    def visit_body(self, body, field: str = "body", loop: Loop | None = None) -> tuple:
        results = super().visit_body(body, field, loop)
        out: list = []
        for r in results:
            if r is None:
                continue
            if isinstance(r, list | tuple):
                out.extend(r)
            else:
                out.append(r)
        if len(out) == len(body) and all(a is b for a, b in zip(out, body)):
            return body if isinstance(body, tuple) else tuple(body)
        return tuple(out)

    def generic_visit(self, node):
        changes = {}
        for name, kind in schema(node):
            v = getattr(node, name)
            if kind == "expr":
                if v is None:
                    continue
                nv = self.visit(v)
                if nv is not v:
                    changes[name] = nv
            elif kind == "exprs":
                nv = tuple(self.visit(x) for x in v)
                if any(a is not b for a, b in zip(nv, v)):
                    changes[name] = nv
            else:
                nv = self.visit_body(v, name, node if isinstance(node, Loop) else None)
                if nv is not v:
                    changes[name] = nv
        return replace(node, **changes) if changes else node
