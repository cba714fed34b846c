"""Rule ``rounds``: a sequential guarded sweep of a fixed point, run as frontier rounds.

rewrite::

    while changed @seq:                          while changed @seq:
      changed = False                              changed = False
      for v in nodes() @seq:                       for v in nodes() @seq:       (select)
        if G(v):                          ->         sel := G(v)
          removed[v] = True                          F[v] = sel
          core[v] = k                                if sel:
          remaining add= -1                            removed[v] = True
          changed or= True                             core[v] = k
          for e in out_edges(v) @seq:                  remaining add= -1
            deg[e.dst] add= -1                         changed or= True
                                                   for v in nodes() @seq:       (expand)
                                                     if F[v]:
                                                       for e in out_edges(v) @seq:
                                                         deg[e.dst] add= -1

The sequential sweep fires (runs the body of) every vertex whose guard holds when the
sweep reaches it, so a vertex made eligible by an earlier one fires in the same sweep.
The rounds form fires, per round, the vertices the select loop finds eligible (the
frontier ``F``), then runs all their edge loops in one loop -- one unit call on an FPGA,
one parallel loop on a CPU.  Both reach the same state when the sweep is a *monotone,
self-disabling, commuting firing system*:

1. **guard stays enabled** (Z3): a write of another iteration never turns the guard of
   this one from true to false (k-core: ``deg[u] add= -1`` only makes ``deg[v] <= k``
   truer; ``removed[u] = True`` is another entry);
2. **own effects disable the guard** (Z3): after its own plain stores (each at the loop
   vertex's own entry, of a table nothing else in the sweep writes), the guard is false
   whatever every other entry holds, so a vertex fires at most once per fixed point;
3. **effects independent of order** (Z3): with the guard true before and after, another
   iteration's write landing first changes none of this iteration's writes (indices,
   values, conditions), and every reduction is commutative and associative (Z3 on the
   operator and dtype): the state after firing a set of vertices depends only on the set;
4. **shape**: the while loop's body is ``flag = False`` and the sweep; the sweep's body
   is one ``if G(v):`` whose branch sets the flag, makes plain stores only at ``v`` (or the
   flag), and reductions elsewhere; its edge loops (possibly under ifs on scalars the
   sweep does not write) are what the expand loop runs.

Then every maximal firing sequence fires the same set (confluence): if the rounds fired a
vertex that the sequential sweep did not, the first such vertex was enabled under a subset
of the sequential run's final set, hence (1) still enabled at its end -- but the
sequential loop ends only when no vertex is enabled.  The converse is the same argument.
A round is itself a legal firing sequence: by (1) every frontier vertex stays enabled until
it fires, by (2) none fires twice.  Both loops stop exactly when no vertex is enabled (the
flag is set iff something fired), so the while loop leaves the same tables behind (the new
frontier table ``F`` is written before it is read and is dead afterwards).

Wrapping arithmetic: ``deg[v] add= -1`` breaks (1) at the dtype's minimum.  When Z3 refutes
(1) in exact arithmetic it is proved again under ``NO_WRAP``: entries of tables the sweep
reduces with ``add`` stay within ``[-2**(bits-2), 2**(bits-2))`` -- each vertex fires at most
once per fixed point (2), so one fixed point moves an entry by at most ``|c|`` per edge;
the law names the assumption.
"""

from __future__ import annotations

from dataclasses import replace

import z3

from cosynth.dtypes import boolean, i64
from cosynth.ir.nodes import Assign, Const, If, Kernel, Load, Loop, Store, Table, Var
from cosynth.ir.walk import iter_exprs, iter_stmts

from .core import Path, applied, enclosing, get, refused, replace_at
from .laws import DEFAULT_POLICY, Policy, reorderable
from .proofs import _distinct, _locals, _show, counter_bounds, equal_effects
from .smt import Encoder, Law, Unsupported, apply_op, prove
from .symbolic import Universe, View, effects

__all__ = ["NAME", "applies_to", "apply", "NO_WRAP", "frontier_table", "frontier_of"]

NAME = "rounds"
NO_WRAP = ("no-wrap(entries of tables a peeling sweep reduces with add stay within "
           "[-2**(bits-2), 2**(bits-2)): each vertex fires once per fixed point)")


def applies_to(loop) -> bool:
    return isinstance(loop, Loop) and loop.kind == "nodes" and loop.schedule == "seq"


def frontier_table(k: Kernel, loop: Loop) -> str:
    """The name of the frontier table the rule adds for ``loop``: ``<var>_frontier``,
    numbered when taken."""
    base = f"{loop.var}_frontier"
    names = {t.name for t in k.tables} | {p.name for p in k.params}
    name, i = base, 1
    while name in names:
        name, i = f"{base}{i}", i + 1
    return name


def apply(k: Kernel, path: Path, policy: Policy = DEFAULT_POLICY):
    loop = get(k, path)
    if not applies_to(loop):
        return refused(NAME, path, "not a sequential node loop")
    outer = enclosing(k, path)
    parent = outer[-1] if outer else None
    why, flag = _fixed_point_shape(parent, loop)
    if why:
        return refused(NAME, path, why)
    if loop.locals or len(loop.body) != 1 or not isinstance(loop.body[0], If) or \
            loop.body[0].orelse:
        return refused(NAME, path, "the sweep's body is not one 'if guard:' (without else "
                       "or privates) around the vertex's work")
    guard, branch = loop.body[0].cond, loop.body[0].then
    select, expand = _split(branch)
    if not expand:
        return refused(NAME, path, "the guarded work has no edge loop to batch")
    why = _expand_ok(expand, loop)
    if why:
        return refused(NAME, path, why)
    if not any(isinstance(s, Store) and s.table == flag and s.index is None and
               isinstance(s.value, Const) and s.value.value is True and s.op in (None, "or")
               for s in select):
        return refused(NAME, path, f"the guarded work does not set '{flag}' unconditionally"
                       ", so the fixed point would not stop when a sweep fires nothing")
    why, own = _writes_ok(k, loop, flag)
    if why:
        return refused(NAME, path, why)
    laws: list[Law] = []
    for s, _ in iter_stmts(loop.body):
        if isinstance(s, Store) and s.op is not None:
            for law in reorderable(s.op, k.table_map[s.table].dtype, policy):
                if law not in laws:
                    laws.append(law)
                if not law.ok:
                    return refused(NAME, path, f"'{s.table}' is reduced with {s.op}, which "
                                   f"rounds would reorder: {law.describe()}", laws)
    for law in _proofs(k, loop, guard, own, flag, policy):
        laws.append(law)
        if not law.ok:
            return refused(NAME, path, f"the sweep is not a monotone self-disabling firing "
                           f"system: {law.describe()}", laws)
    fname = frontier_table(k, loop)
    new_k, a, b = _rewrite(k, loop, guard, select, expand, fname)
    return applied(NAME, path, replace_at(new_k, path, [a, b]),
                   f"frontier rounds: the guard only becomes truer under other vertices' "
                   f"writes and each vertex disables itself, so every round order fires the "
                   f"same vertices; the edge loops of a round run in one loop over '{fname}'",
                   laws)


# ---------------------------------------------------------------------------- shape
def _fixed_point_shape(parent, loop: Loop) -> tuple[str, str]:
    if not (isinstance(parent, Loop) and parent.kind == "while" and parent.schedule == "seq"):
        return "the sweep is not directly inside a sequential while loop", ""
    c = parent.cond
    if not (isinstance(c, Load) and c.index is None and c.dtype.is_bool):
        return "the enclosing while loop's condition is not a change flag", ""
    flag = c.table
    body = parent.body
    if not (len(body) == 2 and body[1] is loop and isinstance(body[0], Store) and
            body[0].table == flag and body[0].index is None and body[0].op is None and
            isinstance(body[0].value, Const) and body[0].value.value is False):
        return (f"the while loop's body is not 'clear {flag}, then the sweep', so rounds "
                "could change what else it does"), flag
    return "", flag


def _is_edge_part(s) -> bool:
    if isinstance(s, Loop):
        return s.is_edge_loop
    if isinstance(s, If):
        return all(_is_edge_part(x) for x in s.then + s.orelse) and bool(s.then + s.orelse)
    return False


def _split(branch) -> tuple[list, list]:
    """(the vertex's own work, its edge loops -- under ifs of their own), order kept."""
    select = [s for s in branch if not _is_edge_part(s)]
    expand = [s for s in branch if _is_edge_part(s)]
    return select, expand


def _expand_ok(expand: list, loop: Loop) -> str:
    written = set()
    for s, _ in iter_stmts(loop.body):
        if isinstance(s, Store):
            written.add(s.table)
    todo = list(expand)
    while todo:  # the ifs around the edge loops (not those inside them)
        s = todo.pop()
        if isinstance(s, If):
            for e in iter_exprs(s.cond):
                if isinstance(e, Load) and (e.index is not None or e.table in written):
                    return ("an if around an edge loop reads a table the sweep writes or "
                            "a vertex entry; it must be a condition on parameters")
            todo += list(s.then + s.orelse)
    for s in expand:
        for x, _ in iter_stmts([s]):
            if isinstance(x, Store) and x.op is None:
                return f"an edge loop stores (not reduces) into '{x.table}'"
            if isinstance(x, Assign) and x.op is not None:
                return "an edge loop accumulates a private"
    return ""


def _writes_ok(k: Kernel, loop: Loop, flag: str) -> tuple[str, set[str]]:
    """Plain stores only into the loop vertex's own entries (or the flag); the tables so
    written are not reduced anywhere in the sweep.  Returns (why not, those tables)."""
    own, reduced = set(), set()
    for s, _ in iter_stmts(loop.body):
        if not isinstance(s, Store):
            continue
        if s.table == flag:
            if s.op not in (None, "or") or not (isinstance(s.value, Const) and
                                                s.value.value is True):
                return f"'{flag}' is written with something other than True", own
            continue
        if s.op is None:
            if not (isinstance(s.index, Var) and s.index.name == loop.var):
                return (f"'{s.table}' is stored (not reduced) at an entry other than the "
                        f"vertex's own, so the order of the firings would matter"), own
            own.add(s.table)
        else:
            reduced.add(s.table)
    both = own & reduced
    if both:
        return f"'{sorted(both)[0]}' is both stored and reduced by the sweep", own
    return "", own


# --------------------------------------------------------------------------- proofs
def _proofs(k: Kernel, loop: Loop, guard, own: set[str], flag: str,
            policy: Policy) -> list[Law]:
    out = []
    law = _stays_enabled(k, loop, guard, False)
    if law.status == "refuted" and policy.value_bounds:
        bounded = _stays_enabled(k, loop, guard, True)
        if bounded.ok:
            cex = ", ".join(f"{a}={b}" for a, b in (law.counterexample or {}).items()
                            if b is not None)
            bounded.detail += f"; proved under {NO_WRAP.split('(')[0]} (without it: refuted" \
                              f"{': ' + cex if cex else ''})"
            law = bounded
    out.append(law)
    out.append(_disables_itself(k, loop, guard, own))
    out.append(_order_free(k, loop, guard))
    return out


def _guard_term(uni: Universe, loop: Loop, guard, overrides=None):
    enc = Encoder(None)
    view = View(uni, loop, "this", overrides)
    enc.leaf = lambda e: view(e, enc)
    return enc.expr(guard), view


def _landed(w, d):
    def f(idx, cur, w=w, d=d):
        val = Encoder(None).convert(w.value, w.stmt.value.dtype, d)
        new = val if w.op is None else apply_op(w.op, cur, val, d)
        return new if idx is None else z3.If(idx == w.index, new, cur)
    return f


def _add_reduced(loop: Loop) -> set[str]:
    return {s.table for s, _ in iter_stmts(loop.body)
            if isinstance(s, Store) and s.op == "add"}


def _stays_enabled(k: Kernel, loop: Loop, guard, no_wrap: bool) -> Law:
    subject = "the guard under another vertex's writes"
    try:
        uni = Universe(k, counters=counter_bounds(k))
        locs = _locals(k)
        theirs = effects(loop, View(uni, loop, "other"), locs)
        g0, v0 = _guard_term(uni, loop, guard)
        claims, hyps = [], []
        for w in theirs:
            d = k.table_map[w.table].dtype
            g1, _ = _guard_term(uni, loop, guard, {w.table: _landed(w, d)})
            claims.append(z3.Implies(z3.And(w.cond, _distinct(uni, loop), g0), g1))
        pol = ()
        if no_wrap:
            r = {t: 1 << (k.table_map[t].dtype.bits - 2) for t in _add_reduced(loop)
                 if k.table_map[t].dtype.is_int}
            for t, _idx, val in v0.reads:
                if t in r:
                    d = k.table_map[t].dtype
                    hyps.append(z3.And(val >= z3.BitVecVal(-r[t], d.bits),
                                       val < z3.BitVecVal(r[t], d.bits)))
            pol = (NO_WRAP,)
        return prove("guard stays enabled", subject,
                     z3.And(*claims) if claims else z3.BoolVal(True), uni.hyps + hyps,
                     _show(uni), "Z3, exact semantics of both iterations", pol)
    except Unsupported as exc:
        return Law("guard stays enabled", subject, "unknown", f"not modelled: {exc}")


def _disables_itself(k: Kernel, loop: Loop, guard, own: set[str]) -> Law:
    subject = "the guard after the vertex's own stores"
    try:
        uni = Universe(k, counters=counter_bounds(k))
        locs = _locals(k)
        mine = [w for w in effects(loop, View(uni, loop, "this"), locs)
                if w.op is None and w.table in own]
        g0, _ = _guard_term(uni, loop, guard)
        later = {}

        def after(t):
            d = k.table_map[t].dtype

            def f(idx, cur):
                if idx is None:
                    return uni.const(t + "_later", d)
                z = uni.fun("later:" + t, (z3.BitVecSort(64),), d)(idx)
                for w in mine:
                    if w.table == t:
                        val = Encoder(None).convert(w.value, w.stmt.value.dtype, d)
                        z = z3.If(z3.And(w.cond, idx == w.index), val, z)
                return z
            return f
        for t in k.table_map:
            later[t] = after(t)
        g2, _ = _guard_term(uni, loop, guard, later)
        return prove("own effects disable the guard", subject, z3.Implies(g0, z3.Not(g2)),
                     uni.hyps, _show(uni), "Z3; every entry the vertex did not store itself "
                     "arbitrary")
    except Unsupported as exc:
        return Law("own effects disable the guard", subject, "unknown", f"not modelled: {exc}")


def _order_free(k: Kernel, loop: Loop, guard) -> Law:
    subject = "the vertex's writes against another vertex's writes landing first"
    try:
        uni = Universe(k, counters=counter_bounds(k))
        locs = _locals(k)
        base = effects(loop, View(uni, loop, "this"), locs)
        theirs = effects(loop, View(uni, loop, "other"), locs)
        g0, _ = _guard_term(uni, loop, guard)
        claims = []
        for w in theirs:
            d = k.table_map[w.table].dtype
            over = {w.table: _landed(w, d)}
            g1, _ = _guard_term(uni, loop, guard, over)
            alt = effects(loop, View(uni, loop, "this", over), locs)
            eq = equal_effects(k, base, alt)
            claims.append(z3.Implies(z3.And(w.cond, _distinct(uni, loop), g0, g1),
                                     z3.And(*eq)))
        return prove("effects independent of order", subject,
                     z3.And(*claims) if claims else z3.BoolVal(True), uni.hyps, _show(uni),
                     "Z3, exact semantics; tables as functions of their index",
                     tuple(sorted(set(uni.policies))))
    except Unsupported as exc:
        return Law("effects independent of order", subject, "unknown", f"not modelled: {exc}")


# -------------------------------------------------------------------------- rewrite
def _rewrite(k: Kernel, loop: Loop, guard, select: list, expand: list, fname: str):
    loc = loop.loc
    v = Var(loop.var, i64, weak=True, loc=loc)
    sel = f"{fname}_sel"
    sel_var = Var(sel, boolean, loc=loc)
    first = replace(loop, body=(
        Assign(sel, guard, loc=loc),
        Store(fname, v, sel_var, loc=loc),
        If(sel_var, tuple(select), loc=loc)), locals=((sel, boolean),))
    second = replace(loop, body=(If(Load(fname, v, boolean, loc=loc), tuple(expand),
                                    loc=loc),))
    tables = k.tables + (Table(fname, "node", boolean, loc=loc),)
    return replace(k, tables=tables), first, second


def frontier_of(loop) -> str | None:
    """The frontier table when ``loop`` is a fixed point this rule made (``while flag``
    whose body is: clear the flag, the select loop, the expand loop over ``F``), else
    None -- how the planner recognises a peel to count its rounds."""
    if not (isinstance(loop, Loop) and loop.kind == "while" and len(loop.body) == 3):
        return None
    _, sel, exp = loop.body
    if not (isinstance(sel, Loop) and isinstance(exp, Loop) and sel.kind == exp.kind ==
            "nodes" and len(exp.body) == 1 and isinstance(exp.body[0], If)):
        return None
    c = exp.body[0].cond
    if not (isinstance(c, Load) and isinstance(c.index, Var) and c.index.name == exp.var):
        return None
    stores = [s for s in sel.body if isinstance(s, Store) and s.table == c.table]
    return c.table if stores and _split(exp.body[0].then)[0] == [] else None
