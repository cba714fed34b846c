"""Level frontiers: a node loop guarded by ``T[v] == c`` runs over the vertices whose entry
changed in the previous iteration of its ``while`` loop instead of over every vertex, and
the ``hybrid`` rule's work counts come from that queue instead of a pass over every vertex.

schedule::

    while active:                              Q.enter()     (checks P on every entry)
      ...                                      while active:
      for v in nodes() @par:                     Q.advance()  (1st time: all vertices)
        if T[v] == c:                    ->      for v in Q (or all) @par:
          ... T[x] min= e ...                      if T[v] == c:
      exchange T min                                 ... if T[x] min= e: Q.push(x)
      c add= 1                                   exchange T min  (a change: Q.push)
                                                 c add= 1

Legality (``level_frontier``).  Let ``P(x, c)``: ``x <= c or x == F`` (``F``: the fill
value of ``T`` before the while loop), and ``c' = c + k`` the counter after the one
increment ``c add= k`` of the while body, which comes after every write of ``T`` in it.
Z3 proves, in the tables' bit-vector semantics, with the counter below ``2**(bits-2)``
(``proofs.counter_bounds``: it would take that many iterations):

* ``P(x, c) => not guard(x, c')``: an entry that did not change during an iteration
  fails the guard in the next one, so the vertices queued during an iteration (those
  whose entry changed: the loops' reductions, the exchange's) hold every vertex the
  next iteration's guard admits; the loop still evaluates the guard on each;
* ``P(x, c) => P(x, c')`` and, for every value ``e`` reduced into ``T`` in the while
  body (``min``; privates resolved to their one assignment), ``P(x, c') =>
  P(min(x, e), c')``: the invariant holds again at the start of the next iteration;
* ``P`` on entering the while loop is not proved: the emitted code checks it on every
  entry of the blade's range (one pass, once per entry of the while loop) and, when it
  fails, runs every iteration over all vertices as before.

Every other write of ``T`` in the while body makes the schedule illegal (refused): only
``min`` reductions, the exchange of ``min`` contributions and the refresh of ghosts
(which are outside the loop's range when the loop runs over the blade's own range).

The ``hybrid`` rule's counts (``count``): ``push_edges`` sums the out-degrees of the
vertices whose guard holds -- summed over the queue, exactly; ``pull_edges`` sums the
in-degrees of the vertices the saturating value ``s`` can still improve (``improves(x,
c)``).  Z3 proves ``P(x, c) => (improves(x, c') == improves(x, c))`` (unchanged entries
keep their share) and ``P(x, c) and min(x, e) != x => improves(x, c) and not
improves(min(x, e), c')`` (a changed entry leaves it), so the count of one iteration is
the previous one minus the in-degrees of the queued vertices (``decrement``); otherwise
(not proved) the counting loop runs over every vertex each iteration as before.

Queued entries pass the next guard (``passes``).  Z3 proves, for every value ``e``
reduced into ``T`` in the while body, ``P(x, c') and min(x, e) != x => guard(min(x, e),
c')``.  Every entry satisfies ``P(., c)`` at the start of an iteration, so ``P(., c')``
(the second law) and after every ``min`` (the third): in particular just before the last
change of a queued entry, whose value after that change therefore passes the guard of
the next iteration; it does not change again before then (its last change).  The first
iteration's queue holds the entries whose guard held on entry.  So every queued vertex
passes the guard of the iteration that runs from the queue, and the passes over the
queue may skip the test, and with it the read of ``T`` at each queued vertex: the
counts (every queued vertex adds its share of the guarded counts) and the pull bitmap
(every queued vertex's bit is set).  BFS: ``e = c + 1 = c'`` and ``min(x, c + 1) != x``
only when ``x`` is the fill value.  Not proved: each pass tests the guard as before.

The first iteration's counts (``first_counts``): the counting loop of the first
iteration after entering the while loop reads ``T`` and the counter as they are when the
entry check runs (nothing before it in an iteration writes ``T``, ``_untouched_before``;
the counter is written only by the increment at the end of the body): the entry check,
which visits every vertex of the range once anyway, sums the counting loop's
contributions there, and the counting loop of that iteration adds the sums instead of
visiting every vertex again.

The entry check without reading the table (``points``).  When the top-level statements
between the last fill of ``T`` (``Alloc``: every entry of the blade, or of its own range,
set to ``F``) and the while loop write ``T`` only by plain stores at indices ``i_1 ..
i_k`` (and by refreshes of the ghosts when the loop runs over the blade's own range),
and nothing an index reads is written after its store, then on entering the while loop
every entry of the loop's range holds ``F`` except, at most, those at the values of
``i_1 .. i_k`` evaluated there.  The entry check's outcome at any other vertex -- the
invariant ``P(F, c)``, the guard at ``F`` and the first counts with ``T[v] = F`` -- is
then the same function of the vertex it computes by reading the entry, so the emitted
check evaluates it with ``F`` in place of the entry (the invariant and the guard once:
they do not depend on the vertex; the counts' tests on ``T`` become loop-invariant) and
reads the entries at the points only, replacing their ``F`` shares by their own.  It
takes that path only when ``P(F, c)`` holds and the guard at ``F`` does not (else every
other vertex would be queued, or the invariant fails: the reading pass as before).
"""

from __future__ import annotations

from dataclasses import dataclass

import z3

from cosynth.ir.nodes import (
    Alloc,
    AllReduce,
    Assign,
    Bin,
    Const,
    Exchange,
    Expr,
    If,
    Kernel,
    Load,
    Loop,
    Refresh,
    Store,
    Un,
    Var,
)
from cosynth.ir.walk import iter_exprs, iter_stmts
from cosynth.ops import identity

from .proofs import counter_bounds
from .saturation import cannot_fail
from .smt import Encoder, Law, Unsupported, prove

__all__ = ["LevelFrontier", "level_frontier", "guarded_loops", "level_bound"]


@dataclass(frozen=True)
class LevelFrontier:
    """The level frontier of one while loop (see the module docstring)."""

    table: str  # T
    counter: str  # c
    fill: Expr  # F (a constant)
    loops: tuple  # the guarded node loops that run from the queue
    count: Loop | None  # the hybrid's counting loop, when its counts come from the queue
    push_count: tuple | None  # its scalars summed over the guard (out-degrees, vertices)
    pull_count: str | None  # its scalar summing in-degrees of improvable vertices
    laws: tuple[Law, ...]
    first: bool = False  # the first iteration may run from the entry's queue too
    clean: tuple = ()  # node loops of the body no write of T precedes in an iteration
    passes: bool = False  # every queued vertex passes the next iteration's guard (proved)
    first_counts: bool = False  # the entry check sums the first iteration's counts
    points: tuple | None = None  # T holds F on entry but at these indices (``filled``)

    def invariant(self, entry: str, counter: str, fill: str) -> str:
        """C++ of ``P`` for the spelled entry, counter and fill value."""
        return f"(({entry}) <= ({counter}) || ({entry}) == ({fill}))"


def guarded_loops(whl: Loop) -> list[Loop]:
    """The node loops of ``whl``'s body (directly, or in a branch of a top-level ``if``
    such as the ``hybrid`` choice) whose body is one ``if`` without ``else``."""
    out = []
    for s in whl.body:
        for x in (list(s.then) + list(s.orelse) if isinstance(s, If) else [s]):
            if isinstance(x, Loop) and x.kind == "nodes" and x.schedule in ("par", "bsp") and \
                    len(x.body) == 1 and isinstance(x.body[0], If) and not x.body[0].orelse:
                out.append(x)
    return out


def level_frontier(k: Kernel, whl: Loop) -> LevelFrontier | None:
    """The level frontier of the while loop ``whl`` (a statement of ``k``'s top level), or
    None when no guarded loop of it qualifies or a proof fails."""
    if not (isinstance(whl, Loop) and whl.kind == "while") or not any(
            s is whl for s in k.body):
        return None
    tables = k.table_map
    for loop in guarded_loops(whl):
        found = _guard(loop.body[0].cond, loop, tables)
        if found is None:
            continue
        table, counter = found
        lf = _check(k, whl, loop, table, counter)
        if lf is not None:
            return lf
    return None


# ---------------------------------------------------------------------------- private
def _guard(cond, loop: Loop, tables) -> tuple[str, str] | None:
    """(T, c) when ``cond`` reads one node table at the loop's vertex, one integer scalar
    and constants, through operators that cannot fail."""
    node, scalar = set(), set()
    for x in iter_exprs(cond):
        if isinstance(x, Load):
            t = tables[x.table]
            if t.space == "node" and isinstance(x.index, Var) and x.index.name == loop.var:
                node.add(x.table)
            elif t.space == "scalar" and x.index is None and t.dtype.is_int:
                scalar.add(x.table)
            else:
                return None
        elif isinstance(x, Var):
            if x.name != loop.var:
                return None
        elif isinstance(x, Const):
            continue
        elif isinstance(x, (Bin, Un)):
            if not cannot_fail(x):
                return None
        else:
            return None
    if len(node) != 1 or len(scalar) != 1:
        return None
    (t,), (c,) = node, scalar
    if not tables[t].dtype.is_int or tables[t].dtype != tables[c].dtype:
        return None
    return t, c


def _check(k: Kernel, whl: Loop, loop: Loop, table: str, counter: str):
    tables = k.table_map
    d = tables[table].dtype
    # the fill value before the while loop (top level, last Alloc of T before it)
    fill = None
    for s in k.body:
        if s is whl:
            break
        if isinstance(s, Alloc) and s.table == table:
            fill = s.fill
    if not isinstance(fill, Const):
        return None
    # the counter: one top-level ``c add= k`` (k > 0 constant), nowhere else written
    inc = [s for s in whl.body if isinstance(s, Store) and s.table == counter]
    every = [s for s, _ in iter_stmts(whl.body) if isinstance(s, Store) and s.table == counter]
    if len(inc) != 1 or len(every) != 1 or inc[0].op != "add" or inc[0].index is not None \
            or not isinstance(inc[0].value, Const) or inc[0].value.value <= 0:
        return None
    bounds = counter_bounds(k)
    if counter not in bounds:
        return None
    at = next(i for i, s in enumerate(whl.body) if s is inc[0])
    # every write of T: min reductions / exchange min / refresh, before the increment
    values = []
    shard = loop.start is not None and any(isinstance(x, Var) and x.name == "shard_lo"
                                           for x in iter_exprs(loop.start))
    for i, top in enumerate(whl.body):
        for s, _ in iter_stmts([top]):
            if getattr(s, "table", None) != table:
                continue
            if isinstance(s, Refresh) and shard:
                continue
            if isinstance(s, Exchange) and s.op == "min" and i < at:
                continue
            if isinstance(s, Store) and s.op == "min" and i < at:
                values.append((s, top))
                continue
            return None
    if not values:
        return None
    count, mf, mu = _count(whl, loop, table)
    sat = count.body[1].cond.a if count is not None else None
    laws = _prove(loop, table, counter, fill, inc[0].value, values, bounds[counter], d, sat)
    if len(laws) < 3 or not all(law.ok for law in laws[:3]):
        return None
    if count is not None and not (len(laws) == 5 and all(law.ok for law in laws[3:])):
        count = mf = mu = None
    passed = _prove_passes(loop, table, counter, fill, inc[0].value, values, bounds[counter],
                           d)
    laws.append(passed)
    loops = tuple(x for x in guarded_loops(whl)
                  if _guard(x.body[0].cond, x, tables) == (table, counter) and
                  x.body[0].cond == loop.body[0].cond)
    first = all(_untouched_before(whl, x, table) for x in loops)
    clean = tuple(x for x in _node_loops(whl) if _untouched_before(whl, x, table))
    first_counts = count is not None and _untouched_before(whl, count, table)
    points = _filled_points(k, whl, table, shard)
    return LevelFrontier(table, counter, fill, loops, count, mf, mu, tuple(laws), first,
                         clean, passed.ok, first_counts, points)


def _filled_points(k: Kernel, whl: Loop, table: str, shard: bool) -> tuple | None:
    """The indices of the plain stores into ``table`` between its last fill (a top-level
    ``Alloc``) and ``whl``, when they are the only writes of its range there and each
    index is worth at the while loop what it was at its store (nothing it reads is
    written after the store); else None (the module docstring: ``filled``)."""
    body = list(k.body)
    at = next(i for i, s in enumerate(body) if s is whl)
    fills = [i for i, s in enumerate(body[:at]) if isinstance(s, Alloc) and s.table == table]
    if not fills:
        return None
    between = body[fills[-1] + 1:at]
    points = []
    for i, top in enumerate(between):
        for s, _ in iter_stmts([top]):
            if getattr(s, "table", None) != table:
                continue
            if isinstance(s, Refresh) and shard:  # the ghosts' entries: outside the range
                continue
            if not (s is top and isinstance(s, Store) and s.op is None and
                    s.index is not None):
                return None
            reads = {x.name for x in iter_exprs(s.index) if isinstance(x, Var)} | \
                {x.table for x in iter_exprs(s.index) if isinstance(x, Load)}
            for later, _ in iter_stmts(between[i + 1:]):
                if getattr(later, "table", None) in reads or \
                        getattr(later, "name", None) in reads:
                    return None
            points.append(s.index)
    return tuple(points)


def _node_loops(whl: Loop) -> list[Loop]:
    """The node loops of ``whl``'s body, directly or in a branch of a top-level ``if``."""
    return [x for s in whl.body
            for x in (list(s.then) + list(s.orelse) if isinstance(s, If) else [s])
            if isinstance(x, Loop) and x.kind == "nodes"]


def _untouched_before(whl: Loop, loop: Loop, table: str) -> bool:
    """No statement of an iteration of ``whl`` that can run before ``loop`` writes
    ``table`` (the other branch of an ``if`` holding ``loop`` does not run with it): then
    ``loop``'s first execution sees ``table`` and the counter as they were on entering the
    while loop, and may run from the vertices whose guard held then."""
    def writes(stmts) -> bool:
        return any(getattr(x, "table", None) == table and isinstance(x, (Store, Exchange))
                   for x, _ in iter_stmts(list(stmts)))
    for top in whl.body:
        if top is loop:
            return True
        if isinstance(top, If) and any(x is loop for x in top.then + top.orelse):
            branch = top.then if any(x is loop for x in top.then) else top.orelse
            before = list(branch[:next(i for i, x in enumerate(branch) if x is loop)])
            return not writes(before)
        if writes([top]):
            return False
    return False


def _prove(loop, table, counter, fill, step, values, low, d, sat) -> list[Law]:
    """The obligations of the module docstring (the first three: the queue; the last
    two: the counts)."""
    x, c = z3.BitVec("x", d.bits), z3.BitVec("c", d.bits)
    enc0 = Encoder(None)
    f, kk = enc0.const(fill.value, d), enc0.const(step.value, d)
    c2 = c + kk
    hyps = [c >= enc0.const(low, d), c < z3.BitVecVal(1 << (d.bits - 2), d.bits)]

    def P(xv, cv):
        return z3.Or(xv <= cv, xv == f)

    def term(e, cv, xv, locals_):
        return _term(e, cv, xv, locals_, loop, table, counter, d)

    guard = loop.body[0].cond
    laws = []
    show = {"x": x, "c": c}
    try:
        g2 = term(guard, c2, x, {})
        laws.append(prove("level frontier", f"{table}: unchanged entries fail the guard",
                          z3.Implies(P(x, c), z3.Not(g2)), hyps, show, "Z3, bit-vectors"))
        laws.append(prove("level frontier", f"{table}: the invariant survives the counter",
                          z3.Implies(P(x, c), P(x, c2)), hyps, show, "Z3, bit-vectors"))
        claims = []
        for s, top in values:
            e = term(s.value, c, x, _assigned(top, s))
            claims.append(z3.Implies(P(x, c2), P(z3.If(e < x, e, x), c2)))
        laws.append(prove("level frontier", f"{table}: every min= keeps the invariant",
                          z3.And(*claims), hyps, show, "Z3, bit-vectors"))
        if sat is not None:
            v1, v2 = term(sat, c, x, {}), term(sat, c2, x, {})
            laws.append(prove("level frontier", f"{table}: unchanged entries keep their count",
                              z3.Implies(P(x, c), (v2 < x) == (v1 < x)), hyps, show,
                              "Z3, bit-vectors"))
            claims = []
            for s, top in values:
                e = term(s.value, c, x, _assigned(top, s))
                m = z3.If(e < x, e, x)
                claims.append(z3.Implies(z3.And(P(x, c), m != x),
                                         z3.And(v1 < x, z3.Not(v2 < m))))
            laws.append(prove("level frontier", f"{table}: changed entries leave the count",
                              z3.And(*claims), hyps, show, "Z3, bit-vectors"))
    except Unsupported as exc:
        laws.append(Law("level frontier", table, "unknown", f"not modelled: {exc}"))
    return laws


def _prove_passes(loop, table, counter, fill, step, values, low, d) -> Law:
    """``P(x, c') and min(x, e) != x => guard(min(x, e), c')`` for every value ``e``
    reduced into ``table`` (the module docstring: queued entries pass the next guard)."""
    x, c = z3.BitVec("x", d.bits), z3.BitVec("c", d.bits)
    enc0 = Encoder(None)
    f, c2 = enc0.const(fill.value, d), c + enc0.const(step.value, d)
    hyps = [c >= enc0.const(low, d), c < z3.BitVecVal(1 << (d.bits - 2), d.bits)]
    try:
        claims = []
        for s, top in values:
            e = _term(s.value, c, x, _assigned(top, s), loop, table, counter, d)
            m = z3.If(e < x, e, x)
            g2 = _term(loop.body[0].cond, c2, m, {}, loop, table, counter, d)
            claims.append(z3.Implies(z3.And(z3.Or(x <= c2, x == f), m != x), g2))
        return prove("level frontier", f"{table}: changed entries pass the next guard",
                     z3.And(*claims), hyps, {"x": x, "c": c}, "Z3, bit-vectors")
    except Unsupported as exc:
        return Law("level frontier", table, "unknown", f"not modelled: {exc}")


def _term(e, cv, xv, locals_, loop, table, counter, d):
    """Z3 term of the IR expression ``e`` with the counter ``cv``, the loop vertex's entry
    of ``table`` ``xv`` and the privates ``locals_`` (name -> their one value)."""
    def leaf(n):
        if isinstance(n, Load) and n.index is None and n.table == counter:
            return cv
        if isinstance(n, Load) and n.table == table and isinstance(n.index, Var) \
                and n.index.name == loop.var:
            return xv
        if isinstance(n, Var) and n.name in locals_:
            return _term(locals_[n.name], cv, xv, {}, loop, table, counter, d)
        if isinstance(n, Load) and n.index is None and n.table in locals_:
            return _term(locals_[n.table], cv, xv, {}, loop, table, counter, d)
        raise Unsupported(f"{type(n).__name__}")
    enc = Encoder(leaf)
    return enc.convert(enc.expr(e), e.dtype, d) if not e.dtype.is_bool else enc.expr(e)


def _assigned(top, store: Store) -> dict:
    """Privates assigned exactly once (plainly) in the innermost loop of ``top`` that
    holds ``store``: name -> value."""
    scope = [top]
    for s, _ in iter_stmts([top]):
        if isinstance(s, Loop) and any(x is store for x, _ in iter_stmts(s.body)):
            scope = list(s.body)  # pre-order: the last one that holds it is the innermost
    seen: dict = {}
    for s, _ in iter_stmts(scope):
        if isinstance(s, Assign):
            seen.setdefault(s.name, []).append(s)
    return {n: a[0].value for n, a in seen.items() if len(a) == 1 and a[0].op is None}


def _count(whl: Loop, loop: Loop, table: str):
    """(counting loop, push scalar, pull scalar) of the ``hybrid`` choice (a top-level
    ``if``) that holds ``loop`` in ``whl``'s body, else (None, None, None)."""
    body = list(whl.body)
    for i, s in enumerate(body):
        if not (isinstance(s, If) and any(x is loop for x in s.orelse)):
            continue
        for prev in reversed(body[:i]):
            if isinstance(prev, Loop) and prev.kind == "nodes":
                r = _count_shape(prev, loop, table)
                return (prev, *r) if r else (None, None, None)
    return None, None, None


def _count_shape(cnt: Loop, loop: Loop, table: str):
    """(push scalars, pull scalar) when ``cnt`` is ``if guard: a add= out_degree(v); ...``
    (integer ``add`` reductions into scalars of the vertex's degree or constants) then
    ``if s < T[v]: b add= in_degree(v)`` (the hybrid's counting loop)."""
    if len(cnt.body) != 2 or not all(isinstance(x, If) and not x.orelse for x in cnt.body):
        return None
    g, imp = cnt.body
    if cnt.var != loop.var or g.cond != loop.body[0].cond or len(imp.then) != 1:
        return None
    for a in g.then:
        if not (isinstance(a, Store) and a.op == "add" and a.index is None and (
                isinstance(a.value, Const) or getattr(a.value, "fn", None) == "out_degree")):
            return None
    b = imp.then[0]
    if not (isinstance(b, Store) and b.op == "add" and b.index is None and
            getattr(b.value, "fn", None) == "in_degree"):
        return None
    c = imp.cond
    if not (type(c).__name__ == "Bin" and c.op == "<" and isinstance(c.b, Load)
            and c.b.table == table):
        return None
    return tuple(a.table for a in g.then), b.table


# ---------------------------------------------------------------------------- the bound
def level_bound(k: Kernel, whl: Loop, lf: LevelFrontier) -> tuple[Law, int, int]:
    """The law that bounds every value of a level frontier's table ``T`` that the while
    loop ``whl`` stores or compares, with the counter's value on entering the loop and its
    step: ``(law, c0, k)``.  Every such value is then the fill value ``F`` (the ``min``
    top) or an integer in ``[0, c0 + (n + 1) * k]`` on a graph of ``n`` vertices
    (``narrowstate.level_states``; the argument is ``narrowstate``'s docstring).  Z3
    proves, for every value ``e`` reduced into ``T`` in the body (privates resolved as
    for the queue's laws), with ``c' = c + k``::

        e == F  or  0 <= e <= c'                      (every candidate is bounded)
        P(x, c') and min(x, e) != x  =>  x == F        (an entry changes only from F)

    and the emitted checks: ``F`` is the ``min`` top of ``T``'s dtype; the counter is set
    to a constant ``c0`` before the loop and written in it only by the increment (the
    queue's own check); on entering the loop ``T`` holds ``F`` but at the ``points``,
    whose stores are constants ``p`` with ``0 <= p <= c0`` (so ``P`` holds on entry,
    statically, not only by the run-time check); and the loop's flag is raised only by a
    change of ``T`` in the same iteration (``_flag_follows_changes``).  A refusal is the
    law's status ``unknown`` with the reason."""
    table, counter = lf.table, lf.counter
    d = k.table_map[table].dtype
    subject = f"{table}: every value is {table}'s top or in [0, {counter} + step]"

    def no(why: str) -> tuple[Law, int, int]:
        return Law("level bound", subject, "unknown", why), 0, 0

    if not (isinstance(lf.fill, Const) and lf.fill.value == identity("min", d)):
        return no("the fill value is not the min top of the table's dtype")
    inc = next(s for s in whl.body if isinstance(s, Store) and s.table == counter)
    step = int(inc.value.value)
    c0 = _entry_value(k, whl, counter)
    if c0 is None:
        return no(f"'{counter}' is not set to one constant before the loop (top level)")
    if lf.points is None:
        return no(f"{table} is not its fill value on entry but at constant points")
    pts = _point_values(k, whl, table)
    if pts is None or any(not (0 <= p <= c0) for p in pts):
        return no(f"a store into {table} before the loop is not a constant in [0, {c0}]")
    why = _flag_follows_changes(k, whl, table)
    if why:
        return no(why)
    values = [(s, top) for top in whl.body for s, _ in iter_stmts([top])
              if isinstance(s, Store) and s.table == table and s.op == "min"]
    low = counter_bounds(k).get(counter)
    if low is None or not values:
        return no("no counter bound or no min reduction into the table")
    x, c = z3.BitVec("x", d.bits), z3.BitVec("c", d.bits)
    enc0 = Encoder(None)
    f, c2 = enc0.const(lf.fill.value, d), c + enc0.const(step, d)
    zero = enc0.const(0, d)
    hyps = [c >= enc0.const(low, d), c < z3.BitVecVal(1 << (d.bits - 2), d.bits)]
    try:
        claims = []
        for s, top in values:
            e = _term(s.value, c, x, _assigned(top, s), whl_loop(lf), table, counter, d)
            m = z3.If(e < x, e, x)
            claims.append(z3.Or(e == f, z3.And(zero <= e, e <= c2)))
            claims.append(z3.Implies(z3.And(z3.Or(x <= c2, x == f), m != x), x == f))
    except Unsupported as exc:
        return no(f"not modelled: {exc}")
    law = prove("level bound", subject, z3.And(*claims), hyps, {"x": x, "c": c},
                "Z3, bit-vectors")
    return law, c0, step


def whl_loop(lf: LevelFrontier) -> Loop:
    """The guarded node loop whose vertex the laws' ``x`` is read at (the queue's)."""
    return lf.loops[0]


def _entry_value(k: Kernel, whl: Loop, counter: str) -> int | None:
    """The counter's value on entering ``whl``: the last of its top-level plain stores of
    a constant before the loop, when every write of it outside the loop is one."""
    c0 = None
    inside = {id(s) for s, _ in iter_stmts(whl.body)}
    for s, _ in iter_stmts(k.body):
        if id(s) in inside or getattr(s, "table", None) != counter or s is whl:
            continue
        if not (isinstance(s, Store) and s.op is None and isinstance(s.value, Const) and
                any(t is s for t in k.body)):
            return None
    for s in k.body:
        if s is whl:
            break
        if isinstance(s, Store) and s.table == counter:
            c0 = int(s.value.value)
    return c0


def _point_values(k: Kernel, whl: Loop, table: str) -> list[int] | None:
    """The constants stored into ``table`` between its last fill and ``whl`` (the
    ``points``), or None when one is not an integer constant."""
    body = list(k.body)
    at = next(i for i, s in enumerate(body) if s is whl)
    last = max(i for i, s in enumerate(body[:at]) if isinstance(s, Alloc) and s.table == table)
    out = []
    for s in body[last + 1:at]:
        if isinstance(s, Store) and s.table == table:
            if not isinstance(s.value, Const) or isinstance(s.value.value, bool) or \
                    int(s.value.value) != s.value.value:
                return None
            out.append(int(s.value.value))
    return out


def _flag_follows_changes(k: Kernel, whl: Loop, table: str) -> str:
    """Why the loop might run another iteration without a change of ``table`` in this one
    ('' when it cannot).  Its condition is a boolean scalar ``A``; the body's first
    statement is ``A = False`` and every other write of ``A`` raises it from a *change
    flag*: the ``-> A`` of a ``min`` store into ``table`` or of its ``min`` exchange, or
    ``A or= X`` for a scalar ``X`` that is itself a change flag of the iteration -- every
    write of ``X`` is ``X = False``, such a flag, or ``allreduce X or``; it is read only by
    ``A or= X``, and the block holding that read sets ``X = False`` before it with every
    raising write of ``X`` in between (so ``X`` holds only this iteration's changes)."""
    cond = whl.cond
    if not (isinstance(cond, Load) and cond.index is None and
            k.table_map[cond.table].dtype.is_bool):
        return "the loop's condition is not a boolean scalar"
    a = cond.table
    first = whl.body[0] if whl.body else None
    if not (isinstance(first, Store) and first.table == a and first.op is None and
            isinstance(first.value, Const) and first.value.value is False):
        return f"the body does not start with {a} = False"

    def raises(s, flag) -> bool:  # a change of ``table`` raises ``flag``
        return (isinstance(s, Store) and s.table == table and s.op == "min" and
                s.flag == flag) or (isinstance(s, Exchange) and s.table == table and
                                    s.op == "min" and s.flag == flag)

    stmts = [s for s, _ in iter_stmts(whl.body)]
    for s in stmts:  # flags set by anything but a change of the table
        flag = getattr(s, "flag", None)
        if flag is not None and not raises(s, flag):
            return f"the flag {flag} is raised by something other than a change of {table}"
    for s in stmts[1:] if stmts and stmts[0] is first else stmts:
        if getattr(s, "table", None) != a:
            continue
        if raises(s, a):
            continue
        if isinstance(s, Store) and s.op == "or" and s.index is None and \
                isinstance(s.value, Load) and s.value.index is None and \
                _iteration_flag(whl, a, s.value.table, raises):
            continue
        return f"{a} is written by something other than a change of {table}"
    return ""


def _iteration_flag(whl: Loop, a: str, x: str, raises) -> bool:
    """``X`` holds only the changes of the running iteration where ``A or= X`` reads it
    (``_flag_follows_changes``): each such read has a ``X = False`` before it in its
    block, and every raising write of ``X`` lies between a read and the last reset before
    it."""
    reads, between = [], set()
    for s, _ in iter_stmts(whl.body):
        if isinstance(s, Store) and s.table == a and s.op == "or" and \
                isinstance(s.value, Load) and s.value.table == x:
            reads.append(s)
    for read in reads:
        block = None  # the statement list that holds ``read`` at its top level
        for s, _ in iter_stmts([whl]):
            for lst in ((s.body,) if isinstance(s, Loop) else
                        (s.then, s.orelse) if isinstance(s, If) else ()):
                if any(t is read for t in lst):
                    block = list(lst)
        if block is None:
            return False
        at = next(i for i, t in enumerate(block) if t is read)
        resets = [i for i, t in enumerate(block[:at]) if _resets(t, x)]
        if not resets:
            return False
        between |= {id(s) for t in block[resets[-1] + 1:at] for s, _ in iter_stmts([t])}
    for s, _ in iter_stmts(whl.body):
        if any(s is r for r in reads):
            continue
        if any(isinstance(e, Load) and e.table == x for e in _exprs_of(s)):
            return False
        if getattr(s, "table", None) == x or getattr(s, "flag", None) == x:
            if _resets(s, x):
                continue
            if id(s) not in between:
                return False
            if not (raises(s, x) or (isinstance(s, AllReduce) and s.op == "or")):
                return False
    return True


def _resets(s, x: str) -> bool:
    """``s`` is ``X = False``."""
    return (isinstance(s, Store) and s.table == x and s.op is None and s.index is None and
            s.flag is None and isinstance(s.value, Const) and s.value.value is False)


def _exprs_of(s) -> list:
    """The expressions a statement itself reads (not those of nested statements)."""
    out = []
    for name in ("cond", "value", "index", "of", "start", "stop", "step"):
        e = getattr(s, name, None)
        if isinstance(e, Expr):
            out.extend(iter_exprs(e))
    return out
