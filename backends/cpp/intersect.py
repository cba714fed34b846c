"""Ordered intersection in C++: an edge loop that tests ``has_edge(y, head)`` runs as a
merge of two sorted rows, its order tests on the head hoisted into binary searches
(``cosynth.frontend.rewrite.intersect`` holds the pattern and its legality argument).

Emitted for a loop over ``x``'s out-edges inside a parallel nest of a replicated
program (``has_edge`` is only spelled there, and there local ids are global ids)::

    { const int64_t of = x;  [row check, work count]
      const int64_t y = ...;  (checked when not known to be a vertex)
      const idx_t *fb = x's row, *fe = its end, *qb = y's row, *qe = its end;
      [per hoisted bound b: fb, qb (lower) or fe, qe (upper) moved by galloping]
      const idx_t* q = qb;
      const int64_t last = qe > qb ? qe[-1] : INT64_MIN;  (y's largest kept entry)
      for (const idx_t* p = fb; p < fe; ++p) {
        const int64_t f = <p's edge id>, t = *p;
        if (t > last) break;
        while (*q < t) ++q;
        if (*q != t) continue;
        <privates, leading assignments>  if (<kept conjuncts>) { <body> }
      } }

The hoisted bounds are found by galloping (``gallop`` in the runtime) from the end of the
row that the merge keeps: a lower bound from the row's end, an upper bound from its
start, so the search reads only the cache lines the walk then reads anyway and costs
O(log k) in the k entries kept, never more than the walk after it (with degree
relabelling the kept suffix of a long row is short: a binary search from the middle of
that row was 28% of TC's time on kron-18, a dependent miss per halving).  Same range as
a binary search, so the legality argument is unchanged.

The walk over ``y``'s row needs no bound test per step (the merge's ``q < qe``): its
largest kept entry ``last`` is its sentinel.  Rows are sorted, so the heads ``t`` come in
ascending order; while ``t <= last`` the scan ``*q < t`` stops at the latest at ``last``'s
place (``q`` never passes ``qe - 1``), at the same entry the bounded scan stops at; once
``t > last`` every later head is above every kept entry of ``y``'s row, so no later match
exists and the loop ends, where the bounded scan would have run ``q`` to ``qe`` and ended
it.  An empty kept part gives ``last = INT64_MIN``: the loop ends at its first head, as
before.  So the matches, their order and the body's runs are the same; only the test per
step is gone (TC on kron-16, 1 thread, cachegrind: the merge nest 2,772 M -> 1,744 M
instructions, 773 M -> 595 M branches, the same results).  A private assigned the head
(``w = f.dst``) and not assigned again in the body is a vertex of the whole graph, so a
node table indexed by it needs no id translation or check (``local_index``).
"""

from __future__ import annotations

from cosynth.frontend.rewrite.intersect import Merge, downward
from cosynth.ir.nodes import Assign, EdgeAttr
from cosynth.ir.walk import iter_stmts

from .exprs import ctype
from .gather import close_invariant, open_invariant

__all__ = ["emit_merge"]

# the first position whose head is cut off (below) / kept (above) by a bound, galloping
# from the end of the part the merge keeps: a lower bound keeps a suffix, an upper bound
# a prefix
_GALLOP = "gallop({b}, {e}, {end}, [&](idx_t a) {{ return (int64_t)a {op} {v}; }})"
_CUT = {"above": (">", "true"), "from": (">=", "true"), "below": (">=", "false"),
        "upto": (">", "false")}


def emit_merge(cx, m: Merge, line: int) -> None:
    """Emit ``m.loop`` as a merge through the loop emitter ``cx`` (``loops.LoopNests``)."""
    s = m.loop
    invs = open_invariant(cx, s)  # tri[u] += 1 in every match: one register (gather.py)
    of = cx.tmp("of")
    cx.last_of = of
    cx.edge_kind[s.var] = (s.kind, of)
    down = downward(cx.k, m)
    check = "" if cx.safe(s.of, "node") else f" G.need_row({of}, {line});"
    cx.out(f"{{ const int64_t {of} = {cx.expr(s.of)};{check}  // ordered intersection "
           f"(merge of sorted rows{', from their ends down' if down else ''})")
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
    if down:
        _emit_down(cx, m, d, (fb, fe, qb, qe, q))
        cx.out("}")
        close_invariant(cx, invs)
        return
    for bounds, kind in ((m.above, "above"), (m.from_, "from"), (m.below, "below"),
                         (m.upto, "upto")):
        op, end = _CUT[kind]
        for b in bounds:
            v = cx.tmp("b")
            cx.out(f"const int64_t {v} = (int64_t)({cx.expr(b)});")
            f_at = _GALLOP.format(b=fb, e=fe, end=end, op=op, v=v)
            q_at = _GALLOP.format(b=qb, e=qe, end=end, op=op, v=v)
            if end == "true":
                cx.out(f"{fb} = {f_at}; {qb} = {q_at};")
            else:
                cx.out(f"{fe} = {f_at}; {qe} = {q_at};")
    if cx.work is not None and cx.work_loop is not s:
        cx.out(f"if ({fe} > {fb}) {cx.work}e += ({fe} - {fb});")
    cx.out(f"const idx_t* {q} = {qb};")
    last = cx.tmp("last")
    cx.out(f"const int64_t {last} = {qe} > {qb} ? (int64_t){qe}[-1] : INT64_MIN;  "
           f"// the scan's sentinel")
    head, p = cx.tmp("t"), cx.tmp("p")
    cx.out(f"for (const idx_t* {p} = {fb}; {p} < {fe}; ++{p}) {{")
    cx.ind += 1
    cx.out(f"const int64_t {s.var} = ({p} - {d}) + G.elo;  // the edge id")
    cx.out(f"const int64_t {head} = (int64_t)*{p};")
    cx.out(f"if ({head} > {last}) break;")
    cx.out(f"while ((int64_t)*{q} < {head}) ++{q};")
    cx.out(f"if ((int64_t)*{q} != {head}) continue;")
    _emit_match(cx, m, head)
    cx.ind -= 1
    cx.out("}")
    cx.out("}")
    close_invariant(cx, invs)


def _emit_down(cx, m: Merge, d: str, rows: tuple[str, ...]) -> None:
    """The merge from the rows' ends down (``downward``): ``y``'s row drives, ``x``'s row
    is walked by ``q``; ``stop``: no head at or below it matches (a hoisted lower bound,
    or one below ``x``'s smallest entry, which is also the walk's sentinel)."""
    s = m.loop
    fb, fe, qb, qe, q = rows
    stop = cx.tmp("stop")
    cx.out(f"int64_t {stop} = INT64_MIN;  // a head at or below it is cut off")
    for bounds, strict in ((m.above, True), (m.from_, False)):
        for b in bounds:
            v = cx.tmp("b")
            cx.out(f"const int64_t {v} = (int64_t)({cx.expr(b)});")
            cut = v if strict else f"({v} == INT64_MIN ? {v} : {v} - 1)"
            cx.out(f"{stop} = std::max<int64_t>({stop}, {cut});")
    cx.out(f"if ({fe} > {fb} && {qe} > {qb}) {{")
    cx.ind += 1
    cx.out(f"{stop} = std::max<int64_t>({stop}, (int64_t)*{fb} - 1);  // the walk's sentinel")
    cx.out(f"const idx_t* {q} = {fe} - 1;")
    head, p = cx.tmp("t"), cx.tmp("p")
    cx.out(f"for (const idx_t* {p} = {qe}; {p} > {qb}; ) {{")
    cx.ind += 1
    cx.out(f"const int64_t {head} = (int64_t)*--{p};")
    cx.out(f"if ({head} <= {stop}) break;")
    cx.out(f"while ((int64_t)*{q} > {head}) --{q};")
    cx.out(f"if ((int64_t)*{q} != {head}) continue;")
    # the body once for each entry of x's row equal to the head (a multigraph's parallel
    # edges), then q below them: a repeated head of y's row matches nothing more.  The
    # body emits no break or continue of its own loop (nested loops close theirs).
    cx.out("for (;;) {")
    cx.ind += 1
    cx.out(f"const int64_t {s.var} = ({q} - {d}) + G.elo;  // the edge id")
    _emit_match(cx, m, head)
    cx.out(f"if ({q} == {fb}) {{ {stop} = INT64_MAX; break; }}  // x's smallest entry "
           f"matched: no later head can")
    cx.out(f"if ((int64_t)*--{q} != {head}) break;")
    cx.ind -= 1
    cx.out("}")
    cx.ind -= 1
    cx.out("}")
    if cx.work is not None and cx.work_loop is not s:
        cx.out(f"{cx.work}e += ({fe} - {q});  // the entries of x's row walked")
    cx.ind -= 1
    cx.out("}")


def _emit_match(cx, m: Merge, head: str) -> None:
    """One matched iteration: the loop's privates, its leading assignments (a private
    assigned the edge's head takes ``head``, the merge's own reading of it: in a program
    that holds the whole graph a row's entry is the vertex's id, as ``has_edge`` also
    reads it), the kept conjuncts and the body."""
    s = m.loop
    for name, dt in s.locals:
        cx.out(f"{ctype(dt)} {name}{{}};")
    for a in m.prefix:
        if isinstance(a, Assign) and isinstance(a.value, EdgeAttr) and \
                a.value.edge == s.var and a.value.attr == "dst":
            cx.out(f"{a.name} = {head};  // the head")
        else:
            cx.block([a])
    vertices = _head_vertices(m) - cx.node_vars
    cx.node_vars |= vertices  # whole graph: a head is a vertex and its own local id
    try:
        if m.rest is not None:
            cx.out(f"if ({cx.expr(m.rest)}) {{")
            cx.ind += 1
            cx.block(m.then)
            cx.ind -= 1
            cx.out("}")
        else:
            cx.block(m.then)
    finally:
        cx.node_vars -= vertices


def _head_vertices(m: Merge) -> set[str]:
    """Privates assigned the loop's head (``w = f.dst``) exactly once in the leading
    assignments and never in the body: a vertex wherever the body reads them."""
    s = m.loop
    heads = [x.name for x in m.prefix if isinstance(x, Assign) and isinstance(x.value, EdgeAttr)
             and x.value.edge == s.var and x.value.attr == "dst"]
    assigned = [x.name for x in m.prefix] + [x.name for x, _ in iter_stmts(m.then)
                                             if isinstance(x, Assign)]
    return {h for h in heads if assigned.count(h) == 1}
