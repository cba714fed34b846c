"""Storage narrowing of a bucketed relaxation's state table: keep a ``min`` table whose
every value is an integer path sum (or the top) in 32-bit integers, half an f64's or i64's
bytes -- the table every relaxed edge reads and writes at random.

rewrite (storage only; every expression still computes in the table's dtype)::

    dist: node f64                      dist: node f64 stored as i32
                                          store(x) = x == top ? INT32_MAX : (int32)x
                                          load(y)  = y == INT32_MAX ? top : (f64)y

Legality.  ``store``/``load`` round-trip exactly and preserve the order on
``{top} U [0, 2**31 - 1)`` (the top maps to the largest code), so a ``min`` applied to
stored codes picks the code of the ``min`` of the values: the program computes the same
values as with the wide table provided every value ever stored or compared lies in that
set.  That is shown in two parts:

* per iteration, on the loop: if the running vertex's own entry is the top or an integer
  in ``[0, 2**31)`` and every edge weight read is an integer in ``[0, W]``
  (``1 <= W < 2**31``), every contribution ``table[i] min= value`` is the top or an
  integer in ``[own, own + S]`` for a step ``S = a * W + c`` the law states.  An integer
  (i64) table: proved with Z3 in bit-vector semantics (``int32_steps``, ``S = W``).  An
  f64 table: Z3 does not finish the IEEE form (a 64-bit fp.add bit-blasted: over 120 s
  here), so ``float_steps`` proves it by interval arithmetic on the expression: the own
  entry is ``own + [0, 0]``, a weight ``[0, W]``, a non-negative integer constant
  ``[c, c]``; a sum adds the bounds (exact: IEEE adds integers below 2**53 exactly, and
  ``inf + x == inf`` for a finite ``x``, so the top stays the top); anything else refuses;
* every other write of the table is a fill or a store of a constant that is the top or
  an integer (``constants``), and exchanges/refreshes move values the loop computed.

Then, on a graph whose weights are integers in ``[0, W]``, every stored value is the top or
``c + (length of a simple path) * W`` at most, ``c`` the largest constant: a write needs a
value below the entry's current one and a contribution is never below its source's value,
so the chain of writes behind a value never revisits a vertex (the argument of
``bounds.py``).  The planner checks ``c + (n - 1) * W + W < 2**31 - 1`` on the graph
(``cosynth.planner.narrow.state_storage``, with ``S`` for ``W``), which also covers every
candidate a reduction compares (at most ``S`` above a stored value).  This holds for any bucketed
min-relaxation of that shape (SSSP on integer weights, BFS levels), nothing specific to
one kernel; a table initialised from a non-constant (CC's labels) is not narrowed here.
"""

from __future__ import annotations

from dataclasses import dataclass

import z3

from cosynth.ir.nodes import (
    Alloc,
    Assign,
    Bin,
    Cast,
    Const,
    EdgeAttr,
    Exchange,
    If,
    Kernel,
    Load,
    Loop,
    Refresh,
    Store,
    Var,
)
from cosynth.ir.walk import iter_stmts
from cosynth.ops import identity

from .frontier import NONNEG_WEIGHTS, bucketed, frontier_loops, iteration_model, relax_order
from .levels import level_bound, level_frontier
from .smt import Law, Unsupported, leq, prove, sort_of

__all__ = ["NarrowState", "narrow_states", "level_states", "int32_steps", "float_steps",
           "constants", "INTEGER_WEIGHTS", "LIMIT"]

#: the assumption the per-iteration law is proved under (checked on the graph)
INTEGER_WEIGHTS = "integer-weights(every weight an integer in [0, W], W < 2**31)"

#: values below this (and the top) are stored; INT32_MAX is the top's code
LIMIT = 2**31 - 1


@dataclass(frozen=True)
class NarrowState:
    """A state table that may be stored in 32 bits on a graph that passes the planner's
    check: the table, the law of its loop and the constants its other writes store."""
    table: str
    law: Law
    consts: tuple[float, ...]
    step: tuple[int, int] = (1, 0)  # S = a * W + c: a contribution is at most own + S


def narrow_states(k: Kernel) -> dict[str, NarrowState]:
    """Every state table of ``k`` that the module docstring's argument covers (the graph
    check still to come): a bucketed frontier's ``min`` table whose loop steps by whole
    weights and whose other writes store constants, and a level frontier's table
    (``level_states``)."""
    out: dict[str, NarrowState] = dict(level_states(k))
    for _, loop, plan in frontier_loops(k):
        if not bucketed(k, plan):
            continue
        table = next(iter(plan))
        d = k.table_map[table].dtype
        if not (d.is_int or d.is_float) or table in out:
            continue
        consts = constants(k, loop, table)
        if consts is None or not relax_order(k, loop, table).ok:
            continue
        if d.bits != 64:  # a 32-bit table is narrow already
            continue
        if d.is_int:
            law, step = int32_steps(k, loop, table), (1, 0)
        else:
            law, step = float_steps(k, loop, table)
        if law.ok:
            out[table] = NarrowState(table, law, consts, step)
    return out


def level_states(k: Kernel) -> dict[str, NarrowState]:
    """The tables of ``k``'s level frontiers (``levels.py``) stored in 32 bits: rewrite
    (storage only, as above)::

        depth: node i64                     depth: node i64 stored as i32 (top: INT32_MIN)

    Legality: every value the while loop stores into ``T`` or compares with an entry is
    the top or an integer in ``[0, c0 + (n + 1) * k]``.  ``levels.level_bound`` proves
    (Z3) that every candidate ``e`` is the top or in ``[0, c']`` (``c' = c + k``, the
    counter after the iteration's increment) and that an entry changes only from the fill
    ``F`` (the top), given the queue's invariant ``P(x, c)``: ``x <= c or x == F`` at the
    start of every iteration -- which holds on entry here (``F`` everywhere but at
    constant points ``0 <= p <= c0``, checked) and is kept by the queue's proved laws.  So
    each of the ``n`` entries changes at most once in the loop; the loop runs another
    iteration only when its flag was raised by a change of ``T`` in this one (checked on
    the flags); hence at most ``n`` iterations change something, the iteration that runs
    last has ``c <= c0 + n * k``, and every candidate is ``<= c0 + (n + 1) * k``.  The
    constants the table holds outside the loop (``constants``) are in the same range.
    The planner's check (``planner/narrow.py``: ``max(consts) + n * step``) receives
    ``consts = (c0 + k, ...)`` and ``step = (0, k)``: exactly that bound.  BFS: ``c0 = 0``,
    ``k = 1``: depths below ``n + 1``, stored in 32 bits whenever ``n + 1 < 2**31 - 1``.
    The counter itself stays wide (only the table is stored narrow), so the guard's and
    the counts' comparisons see the exact values."""
    out: dict[str, NarrowState] = {}
    for whl in k.body:
        if not (isinstance(whl, Loop) and whl.kind == "while"):
            continue
        lf = level_frontier(k, whl)
        if lf is None or lf.table in out or k.table_map[lf.table].dtype.bits != 64:
            continue
        consts = constants(k, whl, lf.table)
        if consts is None:
            continue
        law, c0, step = level_bound(k, whl, lf)
        if law.ok:
            out[lf.table] = NarrowState(lf.table, law, (c0 + step, *consts), (0, step))
    return out


def constants(k: Kernel, loop: Loop, table: str) -> tuple[float, ...] | None:
    """The values the writes of ``table`` outside ``loop`` store (its top left out), or
    None when one of them is not a constant (exchanges and refreshes move values the
    loop computed and are not counted)."""
    top = identity("min", k.table_map[table].dtype)
    inside = {id(s) for s, _ in iter_stmts(loop.body)}
    out = []
    for s, _ in iter_stmts(k.body):
        if id(s) in inside or isinstance(s, (Exchange, Refresh)) or s is loop:
            continue
        if isinstance(s, Alloc) and s.table == table:
            value = s.fill
        elif isinstance(s, Store) and s.table == table:
            if s.op not in (None, "min"):
                return None
            value = s.value
        else:
            continue
        if not isinstance(value, Const):
            return None
        if value.value != top:
            out.append(value.value)
    return tuple(out)


def int32_steps(k: Kernel, loop: Loop, table: str) -> Law:
    """Every contribution ``table[i] min= value`` of ``loop`` is the top or an integer in
    ``[own, own + W]``, given the running vertex's entry ``own`` is the top or an integer
    in ``[0, 2**31)`` and every weight read an integer in ``[0, W]``, ``1 <= W < 2**31``:
    proved with Z3 in exact IEEE (or bit-vector) semantics."""
    subject = f"{table} min= ... in {{top}} U [{table}[{loop.var}], {table}[{loop.var}] + W]"
    d = k.table_map[table].dtype
    try:
        uni, enc, vx, ex, me = iteration_model(k, loop)
    except Unsupported as exc:
        return Law("int32 steps", subject, "unknown", f"not modelled: {exc}")
    top = enc.const(identity("min", d), d)
    zero, lim = enc.const(0, d), enc.const(2**31, d)
    w_max = z3.Const(f"W_{table}", sort_of(d))

    def whole(t, dt):  # an integer value of dtype dt
        if dt.is_int:
            return z3.BoolVal(True)
        return z3.fpEQ(z3.fpRoundToIntegral(z3.RTZ(), t), t)

    hyps = list(uni.hyps) + [leq(enc.const(1, d), w_max, d), compare_lt(w_max, lim, d),
                             whole(w_max, d)]
    own = []
    for name, idx, term in vx.reads:
        t = k.table_map[name]
        if t.role == "weight":
            wd = enc.convert(term, t.dtype, d)
            hyps += [whole(term, t.dtype), leq(zero, wd, d), leq(wd, w_max, d)]
        if name == table and idx is not None and z3.eq(z3.simplify(idx), z3.simplify(me)):
            own.append(term)
            hyps.append(z3.Or(term == top, z3.And(whole(term, d), leq(zero, term, d),
                                                 compare_lt(term, lim, d))))
    claims = []
    for a in ex:
        if a.table != table:
            continue
        if a.op != "min":
            return Law("int32 steps", subject, "unknown", "a write other than min=")
        va = enc.convert(a.value, a.stmt.value.dtype, d)
        steps = [z3.And(whole(va, d), leq(r, va, d), leq(va, _add(r, w_max, d), d))
                 for r in own]
        claims.append(z3.Implies(a.cond, z3.Or(va == top, *steps)))
    if not claims or not own:
        return Law("int32 steps", subject, "unknown",
                   "no min reduction into the table, or it does not read its own entry")
    return prove("int32 steps", subject, z3.And(*claims), hyps, dict(uni.shown),
                 "Z3, exact semantics", [NONNEG_WEIGHTS, INTEGER_WEIGHTS])


def compare_lt(a, b, d):
    """a < b in d's order (signed for integers)."""
    return z3.fpLT(a, b) if d.is_float else a < b


def _add(a, b, d):
    """a + b, exact for the integers below 2**31 the hypotheses allow."""
    return z3.fpAdd(z3.RNE(), a, b) if d.is_float else a + b


class _Refused(Exception):
    """An expression the interval law does not model (the law is then unknown)."""


def float_steps(k: Kernel, loop: Loop, table: str) -> tuple[Law, tuple[int, int]]:
    """The f64 form of ``int32_steps`` by interval arithmetic (the module docstring):
    (the law, the step ``(a, c)``: every contribution is the top or an integer in
    ``[own, own + a * W + c]``).  Values are ``("rel", a, c)`` (own plus an integer in
    ``[0, a * W + c]``; the top when own is) or ``("off", a, c)`` (an integer in
    ``[0, a * W + c]``, never the top); privates are followed through the loop body in
    order, an ``if`` joining both branches."""
    subject = f"{table} min= ... in {{top}} U [{table}[{loop.var}], {table}[{loop.var}] + S]"
    env: dict[str, tuple] = {}
    steps: list[tuple] = []

    def join(x, y):
        if x is None or y is None:
            return x or y
        if x[0] != y[0]:
            raise _Refused("a private holds an own-relative value on one path only")
        return (x[0], max(x[1], y[1]), max(x[2], y[2]))

    def value(e) -> tuple:
        d = getattr(e, "dtype", None)
        if isinstance(e, Const):
            v = e.value
            if isinstance(v, bool) or float(v) != int(v) or v < 0 or v >= 2**31:
                raise _Refused(f"the constant {v!r} is not a whole number in [0, 2**31)")
            return ("off", 0, int(v))
        if isinstance(e, Var):
            if e.name not in env:
                raise _Refused(f"'{e.name}' is not a private assigned in the loop")
            return env[e.name]
        if isinstance(e, Load):
            t = k.table_map[e.table]
            if t.role == "weight":
                return ("off", 1, 0)
            if e.table == table and isinstance(e.index, Var) and e.index.name == loop.var:
                return ("rel", 0, 0)
            raise _Refused(f"it reads {e.table}")
        if isinstance(e, Cast):
            x = value(e.a)
            if not (d.is_float and d.bits == 64 or d.is_int and d.bits == 64):
                raise _Refused(f"a conversion to {d.name}")
            if x[0] == "rel" and e.a.dtype != d:
                raise _Refused("a conversion of the own entry (its top would change)")
            return x
        if isinstance(e, Bin) and e.op == "+" and d.is_float and d.bits == 64:
            x, y = value(e.a), value(e.b)
            if x[0] == "rel" and y[0] == "rel":
                raise _Refused("a sum of two own entries")
            kind = "rel" if "rel" in (x[0], y[0]) else "off"
            return (kind, x[1] + y[1], x[2] + y[2])
        if isinstance(e, EdgeAttr):
            raise _Refused("an edge id used as a value")
        raise _Refused(f"the expression {type(e).__name__} "
                       f"{getattr(e, 'op', '')}".rstrip())

    def walk(stmts):
        for s in stmts:
            if isinstance(s, Assign):
                if s.op is not None:
                    raise _Refused(f"a reduction into the private '{s.name}'")
                env[s.name] = join(env.get(s.name), value(s.value))
            elif isinstance(s, If):
                before = dict(env)
                walk(s.then)
                after_then = dict(env)
                env.clear()
                env.update(before)
                walk(s.orelse)
                for name in set(env) | set(after_then):
                    env[name] = join(env.get(name), after_then.get(name))
            elif isinstance(s, Loop):
                walk(s.body)
            elif isinstance(s, Store) and s.table == table:
                if s.op != "min":
                    raise _Refused("a write other than min=")
                v = value(s.value)
                if v[0] != "rel":
                    raise _Refused("a contribution that does not grow from the own entry")
                steps.append(v)
    try:
        walk(loop.body)
    except _Refused as exc:
        return Law("int32 steps", subject, "unknown", f"interval law refuses: {exc}"), (0, 0)
    if not steps:
        return Law("int32 steps", subject, "unknown", "no min reduction into the table"), (0, 0)
    a, c = max(s[1] for s in steps), max(s[2] for s in steps)
    return (Law("int32 steps", subject, "proved",
                f"interval arithmetic, S = {a} * W + {c}: IEEE sums of integers below 2**53 "
                "are exact and inf + finite is inf", policies=(NONNEG_WEIGHTS, INTEGER_WEIGHTS)),
            (a, c))
