"""Generic traversals of the IR: visiting, and rebuilding bottom-up (passes are pure)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import fields, replace

from .nodes import Expr, If, Kernel, Load, Loop, Stmt, Store

__all__ = ["iter_exprs", "iter_stmts", "map_exprs", "map_body", "expr_reads", "stmt_exprs",
           "map_kernel_exprs", "read_and_written"]


def stmt_exprs(s: Stmt) -> list[Expr]:
    """The expressions directly held by a statement (not those of nested statements)."""
    out = []
    for f in fields(s):
        if f.name == "loc":
            continue
        v = getattr(s, f.name)
        if isinstance(v, Expr):
            out.append(v)
    return out


def iter_exprs(e: Expr) -> Iterator[Expr]:
    """``e`` and every sub-expression, pre-order."""
    yield e
    for f in fields(e):
        if f.name == "loc":
            continue
        v = getattr(e, f.name)
        if isinstance(v, Expr):
            yield from iter_exprs(v)
        elif isinstance(v, tuple):
            for x in v:
                if isinstance(x, Expr):
                    yield from iter_exprs(x)


def iter_stmts(body, path: tuple = ()) -> Iterator[tuple[Stmt, tuple]]:
    """Every statement with the tuple of loops enclosing it (outermost first)."""
    for s in body:
        yield s, path
        if isinstance(s, If):
            yield from iter_stmts(s.then, path)
            yield from iter_stmts(s.orelse, path)
        elif isinstance(s, Loop):
            yield from iter_stmts(s.body, path + (s,))


def expr_reads(e: Expr) -> Iterator[Expr]:
    return iter_exprs(e)


def map_exprs(e: Expr, fn: Callable[[Expr], Expr]) -> Expr:
    """Rebuild ``e`` bottom-up, replacing each sub-expression ``x`` by ``fn(x)``."""
    changes = {}
    for f in fields(e):
        if f.name == "loc":
            continue
        v = getattr(e, f.name)
        if isinstance(v, Expr):
            nv = map_exprs(v, fn)
            if nv is not v:
                changes[f.name] = nv
        elif isinstance(v, tuple) and any(isinstance(x, Expr) for x in v):
            nv = tuple(map_exprs(x, fn) if isinstance(x, Expr) else x for x in v)
            if any(a is not b for a, b in zip(nv, v)):
                changes[f.name] = nv
    if changes:
        e = replace(e, **changes)
    return fn(e)


def map_body(body, stmt_fn: Callable[[Stmt], object] | None = None,
             expr_fn: Callable[[Expr], Expr] | None = None) -> tuple:
    """Rebuild a statement list bottom-up.

    ``expr_fn`` rewrites every expression; ``stmt_fn`` then sees each statement (with its
    nested bodies already rebuilt) and returns a statement, a list of statements to
    splice in, or ``None`` to drop it.
    """
    out: list = []
    for s in body:
        changes = {}
        for f in fields(s):
            if f.name == "loc":
                continue
            v = getattr(s, f.name)
            if isinstance(v, Expr) and expr_fn is not None:
                nv = map_exprs(v, expr_fn)
                if nv is not v:
                    changes[f.name] = nv
            elif isinstance(v, tuple) and v and all(isinstance(x, Stmt) for x in v):
                nv = map_body(v, stmt_fn, expr_fn)
                if nv != v or any(a is not b for a, b in zip(nv, v)):
                    changes[f.name] = nv
        if changes:
            s = replace(s, **changes)
        r = stmt_fn(s) if stmt_fn is not None else s
        if r is None:
            continue
        if isinstance(r, list | tuple):
            out.extend(r)
        else:
            out.append(r)
    return tuple(out)


def map_kernel_exprs(k: Kernel, expr_fn: Callable[[Expr], Expr]) -> Kernel:
    return replace(k, body=map_body(k.body, None, expr_fn),
                   returns=tuple(map_exprs(r, expr_fn) for r in k.returns))


def read_and_written(loop: Loop) -> set[str]:
    """Tables a loop both reads and writes (what a bsp sweep must read from a snapshot)."""
    reads, writes = set(), set()
    for s, _ in iter_stmts(loop.body):
        if isinstance(s, Store):
            writes.add(s.table)
        for e in stmt_exprs(s):
            for x in iter_exprs(e):
                if isinstance(x, Load):
                    reads.add(x.table)
    return reads & writes
