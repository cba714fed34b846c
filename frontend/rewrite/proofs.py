"""Proof obligations about loop iterations, stated over ``symbolic.effects``.

* ``stable_read``: the iteration does exactly the same whether or not another
  iteration's reduction into a table it reads has landed, so the loop may run its
  iterations in any order (the level-synchronous BFS guard ``depth[v] == level`` against
  ``depth[e.dst] min= level + 1``).
* ``monotone``: every contribution ``If(guard, value, identity)`` of a reduction into the
  relaxed state is monotone in the state, the condition under which asynchronous and
  bulk-synchronous relaxation reach the same fixed point as the sequential loop.
"""

from __future__ import annotations

import z3

from cosynth.dtypes import DType, i64
from cosynth.ir.nodes import Const, Kernel, Loop, Store
from cosynth.ir.printer import print_expr
from cosynth.ir.walk import iter_stmts

from .laws import DEFAULT_POLICY, Policy, identity_value
from .smt import (
    Encoder,
    Law,
    Unsupported,
    apply_op,
    leq,
    monotone_lemmas,
    not_nan,
    prove,
    same,
)
from .symbolic import Universe, View, effects

__all__ = ["stable_read", "monotone", "counter_bounds"]


def counter_bounds(k: Kernel) -> dict[str, int]:
    """Integer scalar tables that only ever get a constant or grow by a positive constant
    (loop counters such as BFS's ``level``): name -> smallest value assigned.  The proofs
    assume such a counter stays below 2**(bits-2): it would take that many iterations."""
    out: dict[str, int] = {}
    bad: set[str] = set()
    for s, _ in iter_stmts(k.body):
        if isinstance(s, Store) and s.index is None:
            t = k.table_map[s.table]
            if not t.dtype.is_int or not isinstance(s.value, Const):
                bad.add(s.table)
            elif s.op is None:
                out[s.table] = min(out.get(s.table, s.value.value), s.value.value)
            elif s.op != "add" or s.value.value <= 0:
                bad.add(s.table)
    return {n: v for n, v in out.items() if n not in bad}


def _locals(k: Kernel) -> dict:
    out = {}
    for s, _ in iter_stmts(k.body):
        if isinstance(s, Loop):
            out.update(dict(s.locals))
    return out


def _wdesc(s: Store) -> str:
    idx = "" if s.index is None else f"[{print_expr(s.index)}]"
    op = " =" if s.op is None else f" {s.op}="
    return f"{s.table}{idx}{op} {print_expr(s.value)}"


def _distinct(uni: Universe, loop: Loop):
    """The two tags name different iterations of ``loop``."""
    if loop.is_edge_loop:
        a, b = f"{loop.var}.id@this", f"{loop.var}.id@other"
    else:
        a, b = f"{loop.var}@this", f"{loop.var}@other"
    return uni.const(a, i64) != uni.const(b, i64)


def _show(uni: Universe) -> dict:
    out = {}
    for key, c in uni.consts.items():
        out[key.replace("@this", "").replace("@other", "'")] = c
    out.update(uni.shown)
    return out


def stable_read(k: Kernel, loop: Loop, table: str, writes: list,
                policy: Policy = DEFAULT_POLICY, context=()) -> Law:
    """The iteration's effects are unchanged when another iteration's reduction into
    ``table`` (one of ``writes``) has landed before it runs.

    First with rounded float operations abstracted as uninterpreted functions (valid for
    every interpretation implies valid for IEEE; most such proofs only need index
    reasoning); if that does not prove it, with exact IEEE semantics.

    ``context`` lists ``(condition, holds)`` of the ifs enclosing the loop, usable as
    hypotheses because the loop does not write what they read.
    """
    law = _stable_read(k, loop, table, writes, True, context)
    if law.status == "proved":
        law.detail += "; float operations abstracted as uninterpreted functions"
        return law
    law = _stable_read(k, loop, table, writes, False, context)
    if law.status != "proved" and policy.value_bounds and _has_int_tables(k):
        bounded = _stable_read(k, loop, table, writes, False, context, value_bound=True)
        if bounded.status == "proved":
            return _under_bound(bounded, law)
    return law


def _has_int_tables(k: Kernel) -> bool:
    return any(t.dtype.is_int and t.space != "scalar" for t in k.tables)


def _under_bound(law: Law, without: Law) -> Law:
    """``law`` (proved under the value-bound assumption) saying what it needed it for."""
    cex = ", ".join(f"{a}={b}" for a, b in (without.counterexample or {}).items()
                    if b is not None)
    law.detail += ("; proved under the value-bound assumption (without it: "
                   f"{without.status}{': ' + cex if cex else ''})")
    return law


def _stable_read(k: Kernel, loop: Loop, table: str, writes: list, abstract: bool,
                 context, value_bound: bool = False) -> Law:
    subject = f"reads of {table} against {', '.join(sorted({_wdesc(w.stmt) for w in writes}))}"
    d = k.table_map[table].dtype
    try:
        uni = Universe(k, counters=counter_bounds(k), value_bound=value_bound)
        locs = _locals(k)
        base = effects(loop, View(uni, loop, "this"), locs, rounding_lemma=abstract)
        theirs = effects(loop, View(uni, loop, "other"), locs, rounding_lemma=abstract)
        targets = {id(w.stmt) for w in writes}
        claims = []
        for w in theirs:
            if id(w.stmt) not in targets:
                continue
            if w.op is None:
                return Law("stable read", subject, "refuted",
                           "another iteration stores (not reduces) into it")
            val = Encoder(None).convert(w.value, w.stmt.value.dtype, d)

            def landed(idx, cur, w=w, val=val):
                new = apply_op(w.op, cur, val, d)
                return new if idx is None else z3.If(idx == w.index, new, cur)
            alt = effects(loop, View(uni, loop, "this", {table: landed}), locs,
                          rounding_lemma=abstract)
            same_effects = equal_effects(k, base, alt)
            claims.append(z3.Implies(z3.And(w.cond, _distinct(uni, loop)),
                                     z3.And(*same_effects)))
        ctx_enc = Encoder(None, rounding_lemma=abstract)
        view = View(uni, loop, "this")
        ctx_enc.leaf = lambda e: view(e, ctx_enc)
        ctx = [ctx_enc.expr(c) if holds else z3.Not(ctx_enc.expr(c)) for c, holds in context]
        return prove("stable read", subject, z3.And(*claims) if claims else z3.BoolVal(True),
                     uni.hyps + ctx, _show(uni), "Z3, exact semantics of the iteration; tables as "
                     "functions of their index", tuple(sorted(set(uni.policies))),
                     samples=0 if abstract else 64, timeout_ms=3000 if abstract else 10000)
    except Unsupported as exc:
        return Law("stable read", subject, "unknown", f"not modelled: {exc}")


def monotone(k: Kernel, loop: Loop, state: set[str], policy: Policy = DEFAULT_POLICY
             ) -> list[Law]:
    """Each reduction into a state table contributes ``If(guard, value, identity)``
    monotonically in the state: if every state entry the iteration reads grows (in the
    natural order), no contribution shrinks and none moves to another entry.

    Integer updates Z3 refutes in wrapping arithmetic are proved again under the
    value-bound assumption (``bounds``); the laws then name it."""
    laws = _monotone(k, loop, state, False)
    if all(law.ok for law in laws) or not policy.value_bounds or not _has_int_tables(k):
        return laws
    bounded = _monotone(k, loop, state, True)
    if not all(law.ok for law in bounded):
        return laws
    return [_under_bound(b, a) if b.policies != a.policies else b
            for a, b in zip(laws, bounded)]


def _monotone(k: Kernel, loop: Loop, state: set[str], value_bound: bool) -> list[Law]:
    locs = _locals(k)
    laws: list[Law] = []
    uni = Universe(k, counters=counter_bounds(k), value_bound=value_bound)
    ys = {t: uni.fun("state_y:" + t, (z3.BitVecSort(64),), k.table_map[t].dtype)
          for t in state}

    def other_state(t):
        def f(idx, cur):
            if idx is None:
                return uni.const(t + "_y", k.table_map[t].dtype)
            y = ys[t](idx)
            uni.bounded(k.table_map[t], y)
            return y
        return f
    vx = View(uni, loop, "this")
    vy = View(uni, loop, "this", {t: other_state(t) for t in state})
    ex_enc, ey_enc = Encoder(None, rounding_lemma=True), Encoder(None, rounding_lemma=True)
    try:
        ex = effects(loop, vx, locs, enc=ex_enc, after_nested="fresh")
        ey = effects(loop, vy, locs, enc=ey_enc, after_nested="fresh")
    except Unsupported as exc:
        return [Law("monotone", f"updates of the {loop.var}-loop", "unknown",
                    f"not modelled: {exc}")]
    hyps = list(uni.hyps)
    read_pairs = [(rx, ry, k.table_map[t].dtype) for (t, _, rx), (_, _, ry)
                  in zip(vx.reads, vy.reads) if t in state]
    for rx, ry, rd in read_pairs:
        hyps.append(leq(rx, ry, rd))
        if rd.is_float:
            hyps += [not_nan(rx, rd), not_nan(ry, rd)]
    pairs = [(a, b) for a, b in zip(ex, ey) if a.table in state and a.op is not None]
    plain = [a for a in ex if a.table in state and a.op is None]
    for a in plain:
        laws.append(Law("monotone", _wdesc(a.stmt), "refuted",
                        "a plain store into the relaxed state is not a reduction"))
    for a, b in pairs:
        d = k.table_map[a.table].dtype
        ident = Encoder(None).const(identity_value(a.op, d), d)
        va = ex_enc.convert(a.value, a.stmt.value.dtype, d)
        vb = ey_enc.convert(b.value, b.stmt.value.dtype, d)
        ca, cb = z3.If(a.cond, va, ident), z3.If(b.cond, vb, ident)
        h = list(hyps)
        if d.is_float:
            h += [not_nan(ca, d), not_nan(cb, d)]
        claim = leq(ca, cb, d)
        if a.index is not None:
            claim = z3.And(claim, z3.Implies(z3.Or(a.cond, b.cond), a.index == b.index))
        h += monotone_lemmas(ex_enc.apps, ey_enc.apps)
        floats = bool(ex_enc.apps) or d.is_float or any(r[2].is_float for r in read_pairs)
        detail = ("Z3; IEEE operations as monotone roundings of their exact results "
                  "(IEEE 754 §4.3), comparisons exact" if ex_enc.apps else
                  "Z3, exact semantics")
        pol = sorted(set(uni.policies + (["nan-free"] if floats else [])))
        reads = ", ".join(sorted({f"{t}[...]" for t, _, _ in vx.reads if t in state})) or \
            "no state"
        laws.append(prove("monotone", f"{_wdesc(a.stmt)} in {reads}", claim, h, _show(uni),
                          detail, pol))
    return laws


def equal_effects(k: Kernel, base: list, alt: list) -> list:
    """Z3 claims that two runs of one iteration (``symbolic.effects`` under two views)
    write the same: each write happens in both or neither, at the same index, with the
    same value in the table's type."""
    out = []
    for a, b in zip(base, alt):
        vd = k.table_map[a.table].dtype
        va = Encoder(None).convert(a.value, a.stmt.value.dtype, vd)
        vb = Encoder(None).convert(b.value, b.stmt.value.dtype, vd)
        place = z3.BoolVal(True) if a.index is None else a.index == b.index
        out += [a.cond == b.cond, z3.Implies(a.cond, z3.And(place, same(va, vb, vd)))]
    return out


def _dt(k: Kernel, name: str) -> DType:
    return k.table_map[name].dtype
