"""Generic traversals of the IR as plain functions: thin wrappers over ``visit``.

``iter_exprs``/``iter_stmts`` list nodes (pre-order, a statement before the statements
nested in it); ``map_exprs``/``map_body``/``map_kernel_exprs`` rebuild bottom-up with
functions instead of a ``Transformer`` subclass.  All are pure, and a rebuild in which
the functions change nothing returns the input objects themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from .nodes import Expr, Kernel, Load, Loop, Stmt, Store
from .visit import Transformer, Visitor, schema

__all__ = ["iter_exprs", "iter_stmts", "loads_role", "map_exprs", "map_body", "expr_reads",
           "tables_read_written",
           "stmt_exprs", "map_kernel_exprs", "read_and_written"]


def stmt_exprs(s: Stmt) -> list[Expr]:
    """The expressions directly held by a statement (not those of nested statements)."""
    out = []
    for name, kind in schema(s):
        if kind == "expr":
            v = getattr(s, name)
            if v is not None:
                out.append(v)
    return out


class _Exprs(Visitor):
    def __init__(self):
        self.out: list[Expr] = []

    def visit_Expr(self, e):
        self.out.append(e)
        self.generic_visit(e)


def iter_exprs(e: Expr) -> Iterator[Expr]:
    """``e`` and every sub-expression, pre-order."""
    v = _Exprs()
    v.visit(e)
    return iter(v.out)


class _Stmts(Visitor):
    def __init__(self, path: tuple):
        self.loops = path
        self.out: list[tuple[Stmt, tuple]] = []

    def visit_Stmt(self, s):
        self.out.append((s, self.loops))
        self.generic_visit(s)

    def visit_Expr(self, e):
        return None


def iter_stmts(body, path: tuple = ()) -> Iterator[tuple[Stmt, tuple]]:
    """Every statement with the tuple of loops enclosing it (outermost first)."""
    v = _Stmts(tuple(path))
    v.visit_body(body)
    return iter(v.out)


def loads_role(body, tables: dict, role: str) -> bool:
    """Does a statement of ``body`` load a table whose role is ``role`` (e.g. "weight")?
    ``tables``: the kernel's ``table_map``."""
    for s, _ in iter_stmts(body):
        for e in stmt_exprs(s):
            for x in iter_exprs(e):
                if isinstance(x, Load) and tables[x.table].role == role:
                    return True
    return False


def expr_reads(e: Expr) -> Iterator[Expr]:
    return iter_exprs(e)


class _Map(Transformer):
    """``expr_fn`` on every expression after its children; ``stmt_fn`` on every statement
    after its expressions and bodies."""

    def __init__(self, stmt_fn, expr_fn):
        self.stmt_fn, self.expr_fn = stmt_fn, expr_fn

    def visit_Expr(self, e):
        if self.expr_fn is None:
            return e
        return self.expr_fn(self.generic_visit(e))

    def visit_Stmt(self, s):
        s = self.generic_visit(s)
        return s if self.stmt_fn is None else self.stmt_fn(s)


def map_exprs(e: Expr, fn: Callable[[Expr], Expr]) -> Expr:
    """Rebuild ``e`` bottom-up, replacing each sub-expression ``x`` by ``fn(x)``."""
    return _Map(None, fn).visit(e)


def map_body(body, stmt_fn: Callable[[Stmt], object] | None = None,
             expr_fn: Callable[[Expr], Expr] | None = None) -> tuple:
    """Rebuild a statement list bottom-up.

    ``expr_fn`` rewrites every expression; ``stmt_fn`` then sees each statement (with its
    nested bodies already rebuilt) and returns a statement, a list of statements to
    splice in, or ``None`` to drop it.
    """
    return _Map(stmt_fn, expr_fn).visit_body(tuple(body))


def map_kernel_exprs(k: Kernel, expr_fn: Callable[[Expr], Expr]) -> Kernel:
    return _Map(None, expr_fn).visit(k)


def tables_read_written(loop: Loop) -> tuple[set[str], set[str]]:
    """(tables the loop's body loads from, tables it stores into)."""
    reads, writes = set(), set()
    for s, _ in iter_stmts(loop.body):
        if isinstance(s, Store):
            writes.add(s.table)
        for e in stmt_exprs(s):
            for x in iter_exprs(e):
                if isinstance(x, Load):
                    reads.add(x.table)
    return reads, writes


def read_and_written(loop: Loop) -> set[str]:
    """Tables a loop both reads and writes (what a bsp sweep must read from a snapshot)."""
    reads, writes = tables_read_written(loop)
    return reads & writes
