"""Ordered intersection in C++: an edge loop that tests ``has_edge(y, head)`` runs as a
merge of two sorted rows, its order tests on the head hoisted into binary searches
(``cosynth.frontend.rewrite.intersect`` holds the pattern and its legality argument).

Emitted for a loop over ``x``'s out-edges inside a parallel nest of a replicated
program (``has_edge`` is only spelled there, and there local ids are global ids)::

    { const int64_t of = x;  [row check, work count]
      const int64_t y = ...;  (checked when not known to be a vertex)
      const idx_t *fb = x's row, *fe = its end, *qb = y's row, *qe = its end;
      [per hoisted bound b: fb, qb (lower) or fe, qe (upper) moved by binary search]
      const idx_t* q = qb;
      for (const idx_t* p = fb; p < fe; ++p) {
        const int64_t f = <p's edge id>, t = *p;
        while (q < qe && *q < t) ++q;
        if (q == qe) break;
        if (*q != t) continue;
        <privates, leading assignments>  if (<kept conjuncts>) { <body> }
      } }
"""

from __future__ import annotations

from cosynth.frontend.rewrite.intersect import Merge

from .exprs import ctype
from .gather import close_invariant, open_invariant

__all__ = ["emit_merge"]

_LOWER = ("std::lower_bound({b}, {e}, (int64_t)({v}), "
          "[](idx_t a, int64_t x) {{ return (int64_t)a < x; }})")
_UPPER = ("std::upper_bound({b}, {e}, (int64_t)({v}), "
          "[](int64_t x, idx_t a) {{ return x < (int64_t)a; }})")


def emit_merge(cx, m: Merge, line: int) -> None:
    """Emit ``m.loop`` as a merge through the loop emitter ``cx`` (``loops.LoopNests``)."""
    s = m.loop
    invs = open_invariant(cx, s)  # tri[u] += 1 in every match: one register (gather.py)
    of = cx.tmp("of")
    cx.last_of = of
    cx.edge_kind[s.var] = (s.kind, of)
    check = "" if cx.safe(s.of, "node") else f" G.need_row({of}, {line});"
    cx.out(f"{{ const int64_t {of} = {cx.expr(s.of)};{check}  // ordered intersection "
           f"(merge of sorted rows)")
    y = cx.tmp("row")
    ytext = cx.expr(m.row)
    if not cx.safe(m.row, "node"):
        ytext = f'check({ytext}, n, {line}, "vertex")'
    cx.out(f"const int64_t {y} = {ytext};")
    fb, fe, qb, qe, q = (cx.tmp(x) for x in ("fb", "fe", "qb", "qe", "q"))
    d = cx.tmp("dst")
    cx.out(f"const idx_t* {d} = G.dst.data();")
    cx.out(f"const idx_t* {fb} = {d} + (G.out_begin({of}) - G.elo); "
           f"const idx_t* {fe} = {d} + (G.out_end({of}) - G.elo);")
    cx.out(f"const idx_t* {qb} = {d} + (G.out_begin({y}) - G.elo); "
           f"const idx_t* {qe} = {d} + (G.out_end({y}) - G.elo);")
    for bounds, fn, lower in ((m.above, _UPPER, True), (m.from_, _LOWER, True),
                              (m.below, _LOWER, False), (m.upto, _UPPER, False)):
        for b in bounds:
            v = cx.tmp("b")
            cx.out(f"const int64_t {v} = (int64_t)({cx.expr(b)});")
            if lower:
                cx.out(f"{fb} = {fn.format(b=fb, e=fe, v=v)}; {qb} = {fn.format(b=qb, e=qe, v=v)};")
            else:
                cx.out(f"{fe} = {fn.format(b=fb, e=fe, v=v)}; {qe} = {fn.format(b=qb, e=qe, v=v)};")
    if cx.work is not None and cx.work_loop is not s:
        cx.out(f"if ({fe} > {fb}) {cx.work}e += ({fe} - {fb});")
    cx.out(f"const idx_t* {q} = {qb};")
    head, p = cx.tmp("t"), cx.tmp("p")
    cx.out(f"for (const idx_t* {p} = {fb}; {p} < {fe}; ++{p}) {{")
    cx.ind += 1
    cx.out(f"const int64_t {s.var} = ({p} - {d}) + G.elo;  // the edge id")
    cx.out(f"const int64_t {head} = (int64_t)*{p};")
    cx.out(f"while ({q} < {qe} && (int64_t)*{q} < {head}) ++{q};")
    cx.out(f"if ({q} == {qe}) break;")
    cx.out(f"if ((int64_t)*{q} != {head}) continue;")
    for name, d in s.locals:
        cx.out(f"{ctype(d)} {name}{{}};")
    cx.block(m.prefix)
    if m.rest is not None:
        cx.out(f"if ({cx.expr(m.rest)}) {{")
        cx.ind += 1
        cx.block(m.then)
        cx.ind -= 1
        cx.out("}")
    else:
        cx.block(m.then)
    cx.ind -= 1
    cx.out("}")
    cx.out("}")
    close_invariant(cx, invs)
