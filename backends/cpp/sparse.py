"""Level frontiers in the blade program: a guarded node loop runs over the vertices queued in
the previous iteration of its while loop, and the ``hybrid`` rule's counts come from the
queue.

schedule::

    while active:                         Q.enter(lo, hi, lbase, P)   (one pass: P holds?)
      mf = 0; mu = 0                      while (active) {  Q.advance();
      for v in nodes() @par:                if (Q.sparse) { mf = sum over Q: guard ? out_deg
        if T[v] == c: mf add= out_deg(v)                    Q.mu -= sum over Q: in_deg; mu = Q.mu }
        if s < T[v]: mu add= in_deg(v)      else { <the counting loop>; Q.mu = mu }
      if mf * 14 > mu: <pull>             ->  ... every change of T in the range: Q.push(l)
      else:                                   for i in 0 .. Q.span(): v = Q.at(i)   (push)
        for v in nodes() @par:                  if T[v] == c: ...
          if T[v] == c: ...                   c += 1 }
      c add= 1

The runtime's ``LevelQueue`` (``cosynth_rt.hpp``) holds the queue; ``Q.sparse`` is false
in the first iteration after entering the while loop and when the invariant did not hold
on entry (then every iteration runs over all vertices as before).

Legality: ``cosynth.frontend.rewrite.levels`` (the invariant and the counts, proved with
Z3); the emitted code queues a vertex after every change of its entry of ``T`` in the
blade's range -- the reductions of every loop of the while body and the exchange's -- as
that argument requires.  When ``levels`` proves that every queued vertex passes the next
guard (``passes``), the count over the queue and the pull bitmap's pass over it do not
test the guard (nor read ``T`` at the queued vertex: kron-18 BFS, 1 thread, the two
passes' simulated LL read misses 201 K -> 88 K); when the counting loop of the first
iteration sees ``T`` as the entry check does (``first_counts``), the entry check sums its
counts in the same pass (``Q.tallied``) instead of a second pass over every vertex.
"""

from __future__ import annotations

from cosynth.frontend.rewrite.levels import LevelFrontier, level_frontier
from cosynth.ir.nodes import EdgeAttr, Load, Loop, Var
from cosynth.ir.printer import print_expr
from cosynth.ir.walk import iter_exprs, map_exprs

__all__ = ["LevelQueueCode", "open_levels", "emit_count", "bitmap_queue",
           "emit_bitmap_from_queue"]


class LevelQueueCode:
    """The emitted queue ``name`` of the level frontier ``lf``."""

    def __init__(self, name: str, lf: LevelFrontier):
        self.name, self.lf = name, lf
        self.loops = {id(x) for x in lf.loops}
        self.count = id(lf.count) if lf.count is not None else None
        self.clean = {id(x) for x in lf.clean}
        self.owner: Loop | None = None  # the while loop

    def push(self, local: str, own: bool = False) -> str:
        """C++ statement: the entry at local id ``local`` changed (``own``: no other thread
        may change it meanwhile -- the running iteration's own entry, or sequential code)."""
        return f"{self.name}.push{'_own' if own else ''}({local});"

    def advance(self, cx) -> str:
        """C++ statement at the top of each iteration: this iteration's queue, with the
        counts summed as it is written when they come from it (``fused``)."""
        lf = self.lf
        if not fused(lf):
            return f"{self.name}.advance();"
        cnt = lf.count
        counts, mu = cnt.body[0].then, cnt.body[1].then[0]
        adds = " ".join(f"t{i} += (int64_t)({cx.expr(x.value)});"
                        for i, x in enumerate(list(counts) + [mu]))
        # the graph's arrays through a copy (each thread copies the closure): through the
        # shared Graph they were reloaded at every queued vertex (a mark's byte store may
        # alias them)
        return (f"{self.name}.advance_tally([G = GraphView(G)](int64_t l, int64_t& t0, "
                "int64_t& t1, int64_t& t2, int64_t& t3) { (void)t0; (void)t1; (void)t2; "
                f"(void)t3; const int64_t {cnt.var} = l + G.glo; (void){cnt.var}; {adds} }});"
                "  // the counts from the queue as it is written (levels: passes)")

    def clause(self) -> str:
        """The ``omp for`` clause that keeps a queue of one chunk (``dynamic, 64``) on the
        running thread: forking would only add a join."""
        return f"if({self.name}_span > 64)"

    def header(self, var: str) -> tuple[list[str], list[str]]:
        """(lines before the ``omp for``, the for line and its first statement)."""
        q = self.name
        return ([f"const int64_t {q}_span = {q}.span();"],
                [f"for (int64_t {q}_i = 0; {q}_i < {q}_span; ++{q}_i) {{ "
                 f"const int64_t {var} = {q}.at({q}_i);"])


def open_levels(cx, s: Loop) -> LevelQueueCode | None:
    """Before the while loop ``s``: declare the queue of its level frontier and emit the
    entry check (through the loop emitter ``cx``); None when it has none."""
    if cx.hw is not None:
        return None
    lf = level_frontier(cx.k, s)
    if lf is None:
        return None
    q = cx.tmp("lq")
    loop = lf.loops[0]
    cx.decls.append(f"LevelQueue {q};  // the level frontier of the while loop at line "
                    f"{s.loc.line if s.loc else 0}")
    # its buffers allocated and written with the tables, before the kernel's clock: a
    # fresh page's first touch faults (~4 us each in a VM), 243 of them inside a kron-18
    # BFS (the range is the blade's local ids: at most G.nl)
    cx.decls.append(f"{q}.prepare(G.nl);  // the queue's buffers, first touched here")
    lo = f"std::max<int64_t>({cx.expr(loop.start)}, 0)" if loop.start is not None else "0"
    hi = f"std::min<int64_t>({cx.expr(loop.stop)}, n)" if loop.stop is not None else "n"
    counter = cx.expr(Load(lf.counter, None, cx.tables[lf.counter].dtype))
    inv = lf.invariant(f"{lf.table}[l]", counter, cx.expr(lf.fill))
    guard = _local_guard(cx, loop.body[0].cond, loop.var)
    # one function of the vertex (runtime: ``enter_with``): the invariant (bit 0), the
    # guard (bit 1) and the first iteration's counts (``_tally``); it reads the table
    # through a copy of its data pointer and the counter by value (by reference both were
    # reloaded for every vertex: ``push``'s byte store may alias them)
    cap = f"[&, {lf.table} = {lf.table}.data(), {counter} = {counter}]"
    tally = _tally(cx, lf)
    args = "(int64_t l, int64_t& t0, int64_t& t1, int64_t& t2, int64_t& t3) { " \
        "(void)t0; (void)t1; (void)t2; (void)t3; "
    entry = f"{cap}{args}{tally}if (!({inv})) return 0; return ({guard}) ? 3 : 1; }}"
    first = "true" if lf.first else "false"
    filled = _filled(cx, lf, counter, loop)
    if filled is None:
        cx.out(f"{q}.enter_with({lo}, {hi}, {lo} - G.glo, {first}, {entry});")
    else:  # the table holds the fill value but at the points (levels: ``points``)
        pts = ", ".join(f"G.local({cx.expr(i)})" for i in lf.points) or "-1"
        cx.out(f"{{ const int64_t {q}_pts[] = {{{pts}}};  // the entries stored since the "
               "fill (levels: points)")
        cx.out(f"  {q}.enter_filled({lo}, {hi}, {lo} - G.glo, {first}, {entry}, "
               f"[&, {counter} = {counter}]{args}{filled} }}, {q}_pts, "
               f"{len(lf.points)}); }}")
    return LevelQueueCode(q, lf)


def _filled(cx, lf: LevelFrontier, counter: str, loop: Loop) -> str | None:
    """The body of the entry function with the fill value for the entry at ``l``
    (``LevelQueue::enter_filled``), when ``levels`` found the points stored since the fill
    and every read of the table in the guard and the counts is the vertex's entry; else
    None (the entry check reads every entry)."""
    if lf.points is None:
        return None
    fill = cx.expr(lf.fill)
    conds = [loop.body[0].cond]
    if lf.count is not None and lf.first_counts and len(lf.push_count) <= 3:
        conds += [lf.count.body[0].cond, lf.count.body[1].cond]
    ok = all(not (isinstance(x, Load) and x.table == lf.table) or
             (isinstance(x.index, Var) and x.index.name == v)
             for c, v in zip(conds, [loop.var] + [lf.count.var] * 2 if lf.count else [loop.var])
             for x in iter_exprs(c))
    if not ok:
        return None

    def at_fill(e):
        return map_exprs(e, lambda x: lf.fill if isinstance(x, Load) and x.table == lf.table
                         else x)
    tally = _tally(cx, lf, at_fill)
    guard = _local_guard(cx, at_fill(loop.body[0].cond), loop.var)
    inv = lf.invariant(fill, counter, fill)
    return f"{tally}if (!({inv})) return 0; return ({guard}) ? 3 : 1;"


def _tally(cx, lf: LevelFrontier, at=lambda e: e) -> str:
    """The entry function's statements that add vertex ``l``'s shares of the first
    iteration's counts (the counting loop's body, its scalars' sums in ``t0 ..``), when
    the counting loop sees the table as the entry check does (``levels``:
    ``first_counts``); else none.  They run at every vertex, whether or not the
    invariant holds there: the first iteration takes the sums either way."""
    cnt = lf.count
    if cnt is None or not lf.first_counts or len(lf.push_count) > 3:
        return ""
    guard, counts = cnt.body[0].cond, cnt.body[0].then
    imp = cnt.body[1]
    adds = " ".join(f"t{i} += (int64_t)({cx.expr(x.value)});" for i, x in enumerate(counts))
    last = f"t{len(counts)}"
    return (f"{{ const int64_t {cnt.var} = l + G.glo; (void){cnt.var}; "
            f"if ({cx.expr(at(guard))}) {{ {adds} }} "
            f"if ({cx.expr(at(imp.cond))}) {last} += (int64_t)({cx.expr(imp.then[0].value)}); }} ")


def fused(lf: LevelFrontier) -> bool:
    """The counts over the queue are summed by ``LevelQueue::advance_tally`` while it
    writes the queue, not by a pass of their own: legal when every queued vertex passes
    the guard (``levels``: ``passes``), so a queued vertex's shares are its degrees and
    constants only (the counting loop's shape, ``levels._count_shape``) -- the same
    function of the vertex wherever it is evaluated, and ``advance`` visits exactly the
    queued vertices, each once.  (Three pushed scalars at most: the runtime sums four.)"""
    return lf.count is not None and lf.passes and len(lf.push_count) <= 3


def emit_count(cx, s: Loop, line: int, q: LevelQueueCode) -> None:
    """The hybrid's counting loop ``s``: from the queue when it is sparse (summed by
    ``advance`` when ``fused``), else the loop as it is (whose pull count the queue then
    keeps)."""
    lf = q.lf
    guard, counts = s.body[0].cond, s.body[0].then
    mu_store = s.body[1].then[0]
    accs = [cx.tmp("nf") for _ in counts]
    b, t0 = cx.tmp("mu"), cx.tmp("t")
    cx.out(f"if ({q.name}.counts) {{  // the counts from the queue (levels: proved)")
    cx.ind += 1
    if fused(lf):  # summed by advance_tally at the top of the iteration
        cx.out(" ".join(f"red_add(&{x.table}, {q.name}.qsum[{i}]);"
                        for i, x in enumerate(counts)) +
               f" {q.name}.mu -= {q.name}.qsum[{len(counts)}]; "
               f"red_add(&{lf.pull_count}, {q.name}.mu);")
        # the nest is recorded as it was (a run over the queued vertices: the planner's
        # comparison counts its runs); its time is advance's
        cx.out(f"g_stats.step(0.0); nest_done({line}, 0, {q.name}.ncur, 0.0);")
        cx.ind -= 1
        _count_rest(cx, s, line, q, counts)
        return
    cx.out(f"const double {t0} = nest_start(); int64_t {', '.join(f'{a} = 0' for a in accs)}, "
           f"{b} = 0;")
    cx.out(f"const int64_t {q.name}_n = {q.name}.ncur;")
    cx.out(f"#pragma omp parallel for schedule(static) reduction(+:{', '.join(accs)}, {b}) "
           f"if({q.name}_n > 4096)")
    cx.out(f"for (int64_t {q.name}_i = 0; {q.name}_i < {q.name}_n; ++{q.name}_i) {{ "
           f"const int64_t {s.var} = (int64_t){q.name}.cur[{q.name}_i] + {q.name}.lo;")
    adds = " ".join(f"{a} += (int64_t)({cx.expr(x.value)});" for a, x in zip(accs, counts))
    if lf.passes:  # every queued vertex passes the guard (levels: proved): not reread
        cx.out(f"  {adds}")
    else:
        cx.out(f"  if ({cx.expr(guard)}) {{ {adds} }}")
    cx.out(f"  {b} += (int64_t)({cx.expr(mu_store.value)});")
    cx.out("}")
    cx.out(" ".join(f"red_add(&{x.table}, {a});" for a, x in zip(accs, counts)) +
           f" {q.name}.mu -= {b}; red_add(&{lf.pull_count}, {q.name}.mu);")
    cx.out(f"{{ const double dt = now() - {t0}; g_stats.compute += dt; g_stats.step(dt); "
           f"nest_done({line}, 0, {q.name}_n, dt); }}")
    cx.ind -= 1
    _count_rest(cx, s, line, q, counts)


def _count_rest(cx, s: Loop, line: int, q: LevelQueueCode, counts) -> None:
    """``emit_count``'s branches for the first iteration and for a queue that does not
    hold the counts."""
    lf = q.lf
    if lf.first_counts and len(counts) <= 3:
        cx.out(f"}} else if ({q.name}.tallied) {{  // the first iteration: the entry "
               "check's sums (levels: first_counts)")
        cx.out("  " + " ".join(f"red_add(&{x.table}, {q.name}.sum[{i}]);"
                               for i, x in enumerate(counts)) +
               f" {q.name}.mu = {q.name}.sum[{len(counts)}]; "
               f"red_add(&{lf.pull_count}, {q.name}.mu);")
    cx.out("} else {")
    cx.ind += 1
    before = cx.tmp("mu0")
    cx.out(f"const int64_t {before} = {lf.pull_count};")
    cx.parallel(s, line, counted=True)
    cx.out(f"{q.name}.mu = {lf.pull_count} - {before};")
    cx.ind -= 1
    cx.out("}")



def _local_guard(cx, cond, var: str) -> str:
    """C++ of ``cond`` (over the entries of vertex ``var``) at local id ``l`` (the
    neighbour-bitmap pass's spelling: an edge endpoint whose local id is ``l``)."""
    fake = "l"
    e = map_exprs(cond, lambda x: EdgeAttr(fake, "src")
                  if isinstance(x, Var) and x.name == var else x)
    saved = cx.edge_kind.get(fake)
    cx.edge_kind[fake] = ("out_edges", f"({fake} + G.glo)")
    try:
        return cx.expr(e)
    finally:
        if saved is None:
            cx.edge_kind.pop(fake, None)
        else:
            cx.edge_kind[fake] = saved


def bitmap_queue(cx, s: Loop, cond, load) -> LevelQueueCode | None:
    """The level queue from which the neighbour bitmap of the guard ``cond`` (reading
    ``load``, a neighbour's entry) in the pull loop ``s`` may be set: the bitmap's bit of a
    vertex of the queue's range can be true only for a queued vertex when the predicate is
    the level frontier's guard at that vertex and ``s`` runs before any write of the table
    in its iteration (``levels``: ``clean``).  Other vertices (ghosts) are tested one by
    one.  None: build the bitmap by testing every vertex."""
    for q in cx.levels:
        lf = q.lf
        if lf.table != load.table or id(s) not in q.clean:
            continue
        loop = lf.loops[0]
        mine = map_exprs(loop.body[0].cond, lambda x, v=loop.var: load.index
                         if isinstance(x, Var) and x.name == v else x)
        if print_expr(mine) == print_expr(cond):
            return q
    return None


def emit_bitmap_from_queue(cx, q: LevelQueueCode, name: str, text: str, fake: str) -> None:
    """``name``'s bits (``text``: the predicate at local id ``fake``) from the queue, the
    vertices outside the queue's range tested one word at a time."""
    r0, r1 = f"{q.name}.lbase", f"({q.name}.lbase + {q.name}.hi - {q.name}.lo)"
    # (no vertex outside the range -- one blade: the pass would only rewrite zero words of
    # the fresh bitmap, so it is skipped with its parallel region and barrier)
    cx.out(f"if ({r0} > 0 || {r1} < G.nl) {{  // the vertices outside the range")
    cx.out("#pragma omp parallel for schedule(static)")
    cx.out(f"for (int64_t w = 0; w < (int64_t){name}.size(); ++w) {{")
    cx.out(f"  if (w * 64 >= {r0} && w * 64 + 64 <= {r1}) continue;  // inside the range")
    cx.out("  uint64_t b = 0;")
    cx.out(f"  for (int64_t j = 0; j < 64 && w * 64 + j < G.nl; ++j) {{ const int64_t {fake} = "
           f"w * 64 + j; if (({fake} < {r0} || {fake} >= {r1}) && ({text})) "
           f"b |= (uint64_t)1 << j; }}")
    cx.out(f"  {name}[w] = b; }} }}")
    # the queued vertices' bits by all threads (a serial pass over the queue was one
    # thread's work while the other waited).  A queue in vertex order (built from the
    # marks: after a pull step) is cut at word boundaries (LevelQueue::word_share): each
    # thread owns the words it sets, a plain or; so is a team of one.  Otherwise two
    # threads may share a word: an atomic or
    qn = q.name
    # every queued vertex passes the guard (levels: ``passes``, proved): its bit is set
    # without reading the table at it (a random read per queued vertex)
    test = "" if q.lf.passes else f"if ({text}) "
    if q.lf.passes:
        # a queue collected from the marks (after a pull step) holds its bits already
        # (``LevelQueue::or_bits``, written by advance): or-ed in a byte at a time, no pass
        # over the queue and no parallel region (kron-18 BFS, 1 thread: the two passes'
        # 1.49 M instructions -> 0.23 M; advance +0.35 M; one region fewer)
        cx.out(f"if (!{qn}.or_bits({name}.data()))  // else from the queue's entries")
    cx.out(f"#pragma omp parallel if({qn}.ncur > 2048)")
    cx.out(f"{{ if (omp_get_num_threads() == 1 || {qn}.sorted) {{  // one writer per word")
    cx.out(f"    int64_t b = 0, e = 0; {qn}.word_share(omp_get_thread_num(), "
           "omp_get_num_threads(), b, e);")
    cx.out(f"    for (int64_t i = b; i < e; ++i) {{ const int64_t {fake} = "
           f"(int64_t){qn}.cur[i] + {r0}; "
           f"{test}{name}[{fake} >> 6] |= (uint64_t)1 << ({fake} & 63); }}")
    cx.out("  } else {")
    cx.out("    #pragma omp for schedule(static)")
    cx.out(f"    for (int64_t i = 0; i < {qn}.ncur; ++i) {{ const int64_t {fake} = "
           f"(int64_t){qn}.cur[i] + {r0}; "
           f"{test}__atomic_fetch_or(&{name}[{fake} >> 6], "
           f"(uint64_t)1 << ({fake} & 63), __ATOMIC_RELAXED); }}")
    cx.out("  } }")
