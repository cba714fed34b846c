"""Loop nests of the blade program: OpenMP regions, sequential loops, offloaded loops.

``LoopNests`` extends the expression speller with the code buffer (``out``, ``ind``,
``tmp``) and the emission of loops; the statements of a loop's body are emitted through
``self.visit`` by the statement methods of the class it is part of
(``stmts.BodyEmitter``).

Invariants:

* the outermost ``par``/``bsp``/``async`` node or edge loop of a nest becomes an OpenMP
  ``parallel for`` (its schedule from the edge loops it holds: ``_omp_schedule``); loops
  inside it and ``seq`` loops stay sequential;
* inside that loop, a reduction into a shared scalar goes to a per-thread accumulator
  with an OpenMP ``reduction`` clause, combined into the scalar after the loop; a
  ``bsp`` loop reads the tables it writes from a copy taken before it;
* every outermost data loop is measured: its vertices and edges visited and its time
  are reported to the runtime with ``nest_done`` (a nest inside a measured sequential
  loop adds its counts to that loop's too);
* node loops are clamped to ``0..n-1``; a loop over a vertex's edges checks that the
  vertex's row is in the blade's structure unless the vertex is known to be there;
* a loop the device (``Offload``) runs is emitted as ``if (guard) { device } else
  { CPU code }``.
"""

from __future__ import annotations

from cosynth import ops
from cosynth.frontend.rewrite.intersect import intersection
from cosynth.frontend.rewrite.mirror import mirror
from cosynth.frontend.rewrite.saturation import saturation, tail_stores
from cosynth.ir.nodes import EdgeAttr, Load, Loop, Store
from cosynth.ir.walk import iter_exprs, iter_stmts, stmt_exprs

from .bitmap import open_bitmaps
from .exprs import ExprSpeller, ctype, identity, reducer
from .frontier import open_frontier
from .gather import (
    close_gather,
    close_invariant,
    emit_split,
    open_gather,
    open_invariant,
    split_ways,
)
from .hoist import close_region, open_region, own_entries, region_names, row_end
from .intersect import emit_merge
from .private import private_tables
from .reach import on_shard, replicated
from .sharing import shared_stores
from .sparse import emit_count, open_levels
from .worklist import open_worklist

__all__ = ["LoopNests"]


class LoopNests(ExprSpeller):
    """Emits loops (see the module docstring); ``hw`` is the optional ``Offload``."""

    def __init__(self, k, hw=None):
        super().__init__(k)
        self.hw = hw
        self.sites: dict[int, object] = hw.sites(k) if hw is not None else {}
        self.lines: list[str] = []
        self.ind = 1
        self.counter = 0
        self.decls: list[str] = []  # state that persists across a loop's executions
        # per parallel region
        self.shared_stores: set[int] = set()
        self.acc: dict[str, str] = {}  # shared scalar -> its per-thread accumulator
        self.projected = False  # the region runs over the blade's own range
        self.work: str | None = None  # counters of the nest being measured (nest_done)
        self.work_loop: Loop | None = None  # its outermost loop
        self.last_of = ""  # C++ name of the vertex of the last edge loop's header
        self.whiles: list = []  # enclosing while loops: (loop, frontiers opened in it)
        self.levels: list = []  # level queues of the enclosing while loops (``sparse``)
        self.frontier = None  # the frontier of the parallel loop being emitted
        self.bitmaps: dict = {}  # id(If) -> its neighbour bitmap (``bitmap``)
        self.full_graph = replicated(k, hw)  # every row here, local ids are global ids
        self.gathered: dict[int, str] = {}  # store id -> its register (gather.py)
        self.private: dict[str, str] = {}  # table -> its per-thread copies (private.py)
        self.sat_break: dict[int, str] = {}  # store id -> the saturated loop's exit after it
        self.sat_table = ""  # the table of the last saturating loop (_saturating)

    def out(self, text: str):
        self.lines.append("  " * self.ind + text)

    def tmp(self, base: str) -> str:
        """A fresh C++ name ``base__N``."""
        self.counter += 1
        return f"{base}__{self.counter}"

    def block(self, body):
        for s in body:
            self.visit(s)

    def loop(self, s: Loop, line: int):
        site = self.sites.get(id(s))
        if site is not None:
            self.offload(s, site, line)
            return
        if s.is_data_loop and s.schedule != "seq" and self.par is None:
            self.parallel(s, line)
            return
        merge = intersection(s) if self.par is not None and self.full_graph else None
        if merge is not None:  # has_edge against another row: a merge (intersect.py)
            emit_merge(self, merge, line)
            return
        if self._mirrored(s):  # repeats the out-edge loop on a symmetric row (mirror.py)
            self.out("if (!g_mirrored) {  // else the out-edge loop made these updates")
            self.ind += 1
            self.sequential(s, line)
            self.ind -= 1
            self.out("}")
            return
        self.sequential(s, line)

    def _mirrored(self, s: Loop) -> bool:
        """Is ``s`` an in-edge loop of the parallel node loop that repeats its out-edge
        loop when the blade's rows are symmetric (``frontend.rewrite.mirror``)?  Declares
        the blade's ``g_mirrored``, read from its rows before the clock starts."""
        if self.par is None or self.hw is not None or s.kind != "in_edges":
            return False
        if not mirror(self.par, s, self.tables).ok:
            return False
        decl = ("const bool g_mirrored = G.mirrored();  // every row's in-edges are its "
                "out-edges (symmetric)")
        if decl not in self.decls:
            self.decls.append(decl)
        return True

    # ------------------------------------------------------------------ offloaded loops
    def offload(self, s: Loop, site, line: int):
        """A loop the device runs: its code on the blades that use the device (``hw.guard``),
        the CPU code on the others."""
        self.out(f"if ({self.hw.guard}) {{  // {self.hw.describe(site)}")
        self.ind += 1
        self.hw.call(self, s, site, line)
        self.ind -= 1
        self.out("} else {")
        self.ind += 1
        saved = self.sites.pop(id(s))
        try:
            self.loop(s, line)
        finally:
            self.sites[id(s)] = saved
        self.ind -= 1
        self.out("}")

    # ------------------------------------------------------------------ headers
    def header(self, s: Loop, line: int) -> tuple[list[str], list[str]]:
        """(lines before the for, the for line and what opens the body) of a node or edge
        loop; a loop over one vertex's edges closes one extra brace."""
        if s.kind == "nodes":
            lo = "0" if s.start is None else f"std::max<int64_t>({self.expr(s.start)}, 0)"
            hi = "n" if s.stop is None else f"std::min<int64_t>({self.expr(s.stop)}, n)"
            return [], [f"for (int64_t {s.var} = {lo}; {s.var} < {hi}; ++{s.var}) {{"]
        if s.kind == "edges":
            self.edge_kind[s.var] = ("edges", None)
            if s.start is None:
                return [], [f"for (int64_t {s.var} = 0; {s.var} < m; ++{s.var}) {{"]
            lo = f"G.out_begin(std::max<int64_t>({self.expr(s.start)}, G.glo))"
            hi = f"G.out_begin(std::min<int64_t>({self.expr(s.stop)}, G.ghi))"
            return [], [f"for (int64_t {s.var} = {lo}; {s.var} < {hi}; ++{s.var}) {{"]
        of = self.tmp("of")
        self.last_of = of
        self.edge_kind[s.var] = (s.kind, of)
        # a loop over a vertex's edges: its row must be in this blade's structure
        # (always, for the blade's own vertices and for the whole graph; checked otherwise)
        check = "" if self.safe(s.of, "node") else f" G.need_row({of}, {line});"
        if self.work is not None and self.work_loop is not s:
            side = "out" if s.kind == "out_edges" else "in"
            check += f" {self.work}e += G.{side}_end({of}) - G.{side}_begin({of});"
        ahead = self.frontier.prefetch(s, of) if self.frontier is not None else None
        if ahead is not None:  # its once-per-row test before the loop (frontier.py)
            check, ahead = check + ahead[0], ahead[1]
        pre = [f"{{ const int64_t {of} = {self.expr(s.of)};{check}"]
        if s.kind == "out_edges":  # the row's end read once (hoist.py)
            end = row_end(s.var)
            return pre, [f"for (int64_t {s.var} = G.out_begin({of}), {end} = G.out_end({of}); "
                         f"{s.var} < {end}; ++{s.var}) {{"] + ([ahead] if ahead else [])
        pos = f"{s.var}__p"
        end = row_end(pos)
        head = [f"for (int64_t {pos} = G.in_begin({of}), {end} = G.in_end({of}); {pos} < {end}; "
                f"++{pos}) {{"]
        # the edge's global id only where the body names it other than to read its weight
        # (which comes from in_w at the position): else the shard omits in_eid
        used = [e for x, _ in iter_stmts(s.body) for top in stmt_exprs(x)
                for e in iter_exprs(top)]
        weight_at = {id(e.index) for e in used
                     if isinstance(e, Load) and self.tables[e.table].role == "weight"}
        if any(isinstance(e, EdgeAttr) and e.edge == s.var and e.attr == "id" and
               id(e) not in weight_at for e in used):
            head.append(f"  const int64_t {s.var} = G.in_eid[{pos} - G.clo];")
        return pre, head + ([ahead] if ahead else [])

    # ------------------------------------------------------------------ sequential
    def sequential(self, s: Loop, line: int):
        sat = None
        if s.kind == "while":
            lq = open_levels(self, s)
            self.out(f"while ({self.expr(s.cond)}) {{")
            self.whiles.append((s, []))
            if lq is not None:
                lq.owner = s
                self.levels.append(lq)
                self.out(f"  {lq.advance(self)}")
        elif s.kind == "range":
            st = self.tmp("step")
            self.out(f"{{ const int64_t {st} = {self.expr(s.step)}; if ({st} == 0) "
                     f'fail({line}, "range() step is zero");')
            self.out(f"for (int64_t {s.var} = {self.expr(s.start)}; {st} > 0 ? {s.var} < "
                     f"{self.expr(s.stop)} : {s.var} > {self.expr(s.stop)}; {s.var} += {st}) {{")
        else:
            measured = self._measure_sequential(s)
            sat = self._saturating(s)
            accs = open_gather(self, s)
            invs = open_invariant(self, s)
            if sat is not None:  # the first iteration's test, before the row is read
                self.out(f"if ({sat[0]}) {{  // else saturated already: no edge can improve it")
            own = own_entries(self, s, self.sat_table if sat is not None else None)
            pre, head = self.header(s, line)
            ways = split_ways(self, s, accs) if sat is None and not measured and \
                len(head) == 1 else 1
            if ways > 1:  # float sums in several accumulators (gather.py)
                for h in pre:
                    self.out(h)
                pos = f"{s.var}__p" if s.kind == "in_edges" else s.var
                emit_split(self, s, accs, self.last_of, pos, ways)
                self.out("}")
                for key in own:
                    self.hoisted.pop(key)
                close_gather(self, accs)
                close_invariant(self, invs)
                return
            for h in pre + head:
                self.out(h)
            if measured:
                self.out(f"  ++{self.work}{'v' if s.kind == 'nodes' else 'e'};")
            if sat is not None and sat[2] is None:
                self.out(sat[1].replace("@OF@", self.last_of))
        self.ind += 1
        for name, d in s.locals:
            self.out(f"{ctype(d)} {name}{{}};")
        if sat is not None and sat[2] is not None:  # the exit after each store instead
            self.sat_break.update(dict.fromkeys(sat[2], sat[3].replace("@OF@", self.last_of)))
        self.block(s.body)
        if sat is not None and sat[2] is not None:
            for k in sat[2]:
                self.sat_break.pop(k, None)
        self.ind -= 1
        self.out("}")
        if s.kind == "range" or s.kind in ("out_edges", "in_edges"):
            self.out("}")
        if s.kind not in ("while", "range") and sat is not None:
            self.out("}")
        if s.kind == "while":
            self.levels = [q for q in self.levels if q.owner is not s]
            for fr in self.whiles.pop()[1]:  # entered anew: the next sweep starts from all
                self.out(f"{fr.name}.reset();")
        if s.kind not in ("while", "range"):
            for key in own:
                self.hoisted.pop(key)
            close_gather(self, accs)
            close_invariant(self, invs)
        if s.kind not in ("while", "range") and measured:
            wk = self.work
            self.out(f"nest_done({line}, {wk}e, {wk}v, now() - {wk}t); }}")
            self.work = None

    def _saturating(self, s: Loop) -> tuple[str, str, list | None, str] | None:
        """For an edge loop of the parallel node loop's vertex whose effect saturates
        (``cosynth.frontend.rewrite.saturation``): declare its invariant value and return
        (the test that the value still improves the vertex's entry, the statement that ends
        the loop once it cannot: the edges left unvisited are taken off the nest's count,
        the ids of the stores after which the loop ends instead -- None when some store is
        not the last statement of its iteration -- and that ending: ``break`` with the
        edges after the store's taken off the count).

        The caller also runs the test once before the loop, around the whole edge loop::

            for e in row(v):                       if (improves(T[v])) {
              if (!improves(T[v])) break;    ->      for e in row(v):
              ...                                      if (!improves(T[v])) break;  ...

        Legal: the test reads only the iteration's own entry and a value invariant in the
        loop, has no effect, and is the first thing a non-empty row's first iteration does,
        so skipping the loop when it fails is what the break did; an empty row runs nothing
        either way.  What it saves: a vertex already saturated (in BFS's late pull steps,
        nearly all of them) no longer reads its row's bounds (the CSC index, 8 bytes per
        vertex) nor counts and uncounts its edges.

        When every store of the loop is the last statement of its iteration
        (``saturation.tail_stores``), the test inside the loop moves to right after each
        store, as an unconditional
        ``break``::

            if (improves(T[v])) {                  if (improves(T[v])) {
              for e in row(v):                       for e in row(v):
                if (!improves(T[v])) break;    ->      if (g(e)) { T[v] op= c; break; }
                if (g(e)) T[v] op= c;

        Legal: within the node loop only this iteration writes ``T[v]``, and only by these
        stores (``saturation``), so ``T[v]`` -- and the test -- change only at a store:
        until the first store runs, the test inside the loop repeats the hoisted test that
        passed.  A store leaves ``T[v] op c == T[v]`` (it was ``T[v] op= c``), so the test
        after it fails: the old loop ended at the top of the next iteration, and the store
        was the last statement of its own.  (A store into the outbox, for an entry another
        blade owns, saturates the outbox entry the same way; later ones were no-ops.)
        What it saves: no store remains on a path that continues the loop, so the compiler
        keeps the row's end, the table and bitmap pointers and the loop's invariants in
        registers instead of reloading them after every edge (a byte store may alias
        anything), and the entry is no longer reread per edge: kron-18 BFS's two pull steps
        ran 19.2 M instructions against GAP's 8.8 M, ~22 per edge examined."""
        if self.par is None or s.kind not in ("in_edges", "out_edges"):
            return None
        sat = saturation(self.par, s, self.tables)
        if sat is None:
            return None
        t = self.tables[sat.table]
        self.sat_table = sat.table
        c = self.tmp("sat")
        self.out(f"const {ctype(t.dtype)} {c} = ({ctype(t.dtype)})({self.expr(sat.value)});"
                 f"  // saturating {sat.op}: stop once it cannot improve {sat.table}")
        entry = self.expr(Load(sat.table, sat.index, t.dtype))
        improves = ops.reduction(sat.op).cpp_improves.format(v=c, t=entry)
        if sat.op == "min" and sat.table in getattr(self, "narrow", ()):
            # a table stored in 32-bit codes (narrowstate): the saturating value is one of
            # its min candidates, which the table's law bounds to the codes' set, so its
            # code, made once, compares with the entry's code as the values compare (no
            # widening of the entry per vertex)
            self.out(f"const state_t<{ctype(t.dtype)}> {c}__code({c});")
            improves = f"state_below({c}__code, {entry})"
        left = after = ""
        if self.work is not None and self.work_loop is not s:
            side, pos = ("out", s.var) if s.kind == "out_edges" else ("in", f"{s.var}__p")
            left = f"{self.work}e -= G.{side}_end(@OF@) - {pos}; "
            after = f"{self.work}e -= G.{side}_end(@OF@) - {pos} - 1; "
        stores = [id(x) for x, _ in iter_stmts(s.body) if isinstance(x, Store)]
        tails = tail_stores(s.body)
        at = stores if set(stores) <= tails else None
        return improves, f"  if (!({improves})) {{ {left}break; }}", at, \
            f"{{ {after}break; }}  // saturated: the next test would end the loop"

    def _measure_sequential(self, s: Loop) -> bool:
        """Open the counters of a sequential data loop that is a nest of its own (outside
        any measured nest).  Parallel nests inside it are measured on their own and
        their work and time also count for it."""
        if self.work is not None or self.par is not None:
            return False
        wk = self.tmp("w")
        self.out(f"{{ int64_t {wk}e = 0, {wk}v = 0; const double {wk}t = nest_start();")
        self.work, self.work_loop = wk, s
        return True

    # ------------------------------------------------------------------ parallel
    def parallel(self, s: Loop, line: int, counted: bool = False):
        """The outermost parallel loop of a nest: OpenMP, atomics, per-thread reductions
        (``counted``: a counting loop whose queue form ``sparse`` has been emitted)."""
        lq = next((q for q in self.levels if q.count == id(s)), None)
        if lq is not None and not counted:
            emit_count(self, s, line, lq)
            return
        lq = next((q for q in self.levels if id(s) in q.loops), None)
        self.par = s
        self.projected = on_shard(s)
        writes = [x for x, _ in iter_stmts(s.body) if isinstance(x, Store)]
        self.shared_stores = shared_stores(s, self.tables)
        self.atomic_tables = {x.table for x in writes if id(x) in self.shared_stores}
        scalars: dict[str, str] = {}
        for x in writes:
            if self.tables[x.table].space == "scalar":
                scalars[x.table] = x.op
            if x.flag:
                scalars[x.flag] = "or"
        self.acc = {name: f"{name}__acc" for name in scalars}
        fixed = _read_only_scalars(s, self.tables, scalars)
        self.out("{")
        self.ind += 1
        t0 = self.tmp("t")
        self.out(f"const double {t0} = nest_start();")
        if s.schedule == "bsp":
            read = {x.table for y, _ in iter_stmts(s.body) for e in stmt_exprs(y)
                    for x in iter_exprs(e) if isinstance(x, Load)}
            for name in sorted(read & {w.table for w in writes}):
                if self.tables[name].space != "scalar":
                    self.snap[name] = f"{name}__snap"
                    self.out(f"const auto {name}__snap = {name};")
        clauses = []
        for name, op in scalars.items():
            t = self.tables[name]
            self.out(f"{ctype(t.dtype)} {name}__acc = {identity(op, t.dtype)};")
            clauses.append(f"reduction({ops.reduction(op).omp}:{name}__acc)")
        wk = self.tmp("w")
        outer = (self.work, self.work_loop)
        self.out(f"int64_t {wk}e = 0, {wk}v = 0;  // edges and vertices visited")
        clauses.append(f"reduction(+:{wk}e, {wk}v)")
        if fixed:  # each thread's own copy: kept in a register, not reread after stores
            clauses.append(f"firstprivate({', '.join(fixed)})")
        self.work, self.work_loop = wk, s
        names = region_names(self, s)
        clauses.append(f"firstprivate({', '.join(['G'] + names)})")  # hoist.py
        sched = _omp_schedule(s, queue=lq is not None)
        fr = open_frontier(self, s) if s.kind == "nodes" else None
        wl = open_worklist(self, s) if fr is None else None
        if fr is not None:
            pre, head = fr.header(s.var, clauses)
        elif lq is not None:
            pre, head = lq.header(s.var)
            clauses.append(lq.clause())
        else:
            pre, head = self.header(s, line)
        self.frontier = fr
        self.bitmaps = open_bitmaps(self, s) if self.hw is None else {}
        if self.bitmaps and fr is None:  # each thread its pointer to the words (bitmap.py)
            clauses.append(f"firstprivate({', '.join(b.words for b in self.bitmaps.values())})")
        if fr is None and wl is None and lq is None and self.hw is None:
            queued = {q.lf.table for q in self.levels}
            for name in private_tables(s, self.tables, self.shared_stores, queued):
                t = self.tables[name]
                c = ctype(t.dtype)
                pv = f"{name}__priv"
                if f"Private<{c}> {pv};" not in " ".join(self.decls):
                    self.decls.append(f"Private<{c}> {pv};  // per-thread copies (private.py)")
                # a sharded nest writes the copies at owned entries only (others: outbox)
                span = "G.olo, G.ohi" if self.projected and name in self.boxed \
                    else f"0, (int64_t){name}.size()"
                self.out(f"{pv}.open({name}, {span}, {identity(_op_of(s, name), t.dtype)});")
                self.out(f"{c}* const* {name}__pp = {pv}.ptr.data();")
                self.private[name] = f"{name}__my"
        open_region(self, names)  # the region's locals (hoist.py), closed after it
        for h in pre:
            self.out(h)
        region = bool(self.private)  # each thread finds its copies once, not per update
        if region:
            self.out("#pragma omp parallel")
            self.out("{")
            for name in sorted(self.private):
                c = ctype(self.tables[name].dtype)
                self.out(f"  {c}* const {name}__my = {name}__pp[omp_get_thread_num()];")
            self.out(f"#pragma omp for schedule({sched}) {' '.join(clauses)}".rstrip())
        elif fr is None:  # a frontier's sweep is one parallel region (in ``pre``)
            self.out(f"#pragma omp parallel for schedule({sched}) {' '.join(clauses)}".rstrip())
        for h in head:
            self.out(h)
        if wl is not None:
            self.out(wl.skip(s.var))
        self.ind += 1
        self.out(f"++{wk}{'v' if s.kind == 'nodes' else 'e'};")
        for name, d in s.locals:
            self.out(f"{ctype(d)} {name}{{}};")
        self.block(s.body)
        self.ind -= 1
        self.out("}")
        if region:
            self.out("}")
        if s.kind in ("out_edges", "in_edges"):
            self.out("}")
        for h in fr.close() if fr is not None else ():
            self.out(h)
        close_region(self)
        if wl is not None:
            wl.close(self)
        for name, op in scalars.items():
            self.out(f"{reducer(op)}(&{name}, {name}__acc);")
        for name in self.private:  # every thread's copy into the table
            c = ctype(self.tables[name].dtype)
            self.out(f"{name}__priv.close({name}, []({c}* p, {c} v) "
                     f"{{ {reducer(_op_of(s, name))}(p, v); }});")
        self.out(f"{{ const double dt = now() - {t0}; g_stats.compute += dt; "
                 f"g_stats.step(dt); nest_done({line}, {wk}e, {wk}v, dt); }}")
        if outer[0] is not None:
            self.out(f"{outer[0]}e += {wk}e; {outer[0]}v += {wk}v;")
        self.ind -= 1
        self.out("}")
        self.work, self.work_loop = outer
        self.par, self.acc, self.snap, self.atomic_tables = None, {}, {}, set()
        self.frontier, self.bitmaps = None, {}
        self.projected = False
        self.private = {}


def _read_only_scalars(s: Loop, tables: dict, written) -> list[str]:
    """The kernel's scalars that the parallel loop ``s`` reads and does not write, sorted:
    the loop's OpenMP clause makes them ``firstprivate``.

    Legal: no iteration writes them, so every thread's copy, initialised from the shared
    variable when the region starts, holds the shared variable's value throughout.  What
    it saves: a shared variable is reached through the region's argument block, and the
    compiler must reload it after any store that may alias it (an ``int64_t`` level after
    every ``int64_t`` table store, anything after a byte store such as a queue mark); the
    thread's own copy, whose address is not taken, stays in a register (the pull step of
    BFS read its level anew for every vertex)."""
    out = set()
    for x, _ in iter_stmts(s.body):
        for top in stmt_exprs(x):
            for e in iter_exprs(top):
                if isinstance(e, Load) and tables[e.table].space == "scalar" and \
                        tables[e.table].role not in ("weight", "input"):
                    out.add(e.table)
    return sorted(out - set(written))


def _op_of(s: Loop, table: str) -> str:
    """The reduction operator of the stores into ``table`` in ``s`` (one: private.py)."""
    return next(x.op for x, _ in iter_stmts(s.body) if isinstance(x, Store) and x.table == table)


def _omp_schedule(s: Loop, queue: bool = False) -> str:
    """OpenMP schedule of a parallel loop, from the work of one iteration.

    * no edge loop inside (the same few entries per vertex or edge): ``static``, one block
      per thread -- no chunk handed out per 64 vertices, and each thread streams one long
      stretch of the tables (64-vertex chunks alternating between the threads cut every
      stream into short pieces the prefetcher starts again);
    * one level of edge loops (a vertex's work is its degree, skewed): vertices in
      ``dynamic, 1024`` chunks (a chunk holds ~1024 average degrees: balanced across the
      threads as long as no vertex holds a large share of the edges), or ``dynamic, 64``
      over a level queue's vertices (``queue``: fewer, chosen vertices); edges ``static``;
    * an edge loop inside an edge loop (TC's merge over the head's row: a vertex's work is
      the sum of its neighbours' row lengths, an edge's a row length): ``dynamic, 64``.

    Only the assignment of iterations to threads changes, never which run: the loop is
    parallel already (its shared writes atomic, its scalars reductions)."""
    depth = _edge_depth(s.body)
    if s.kind != "nodes":  # edges (all, or one vertex's)
        return "dynamic, 64" if depth >= 1 else "static"
    if depth == 0:
        return "static"
    if depth == 1 and not queue:
        return "dynamic, 1024"
    return "dynamic, 64"


def _edge_depth(body) -> int:
    """How deep edge loops nest in ``body`` (0: none)."""
    best = 0
    for x in body:
        if isinstance(x, Loop):
            inner = _edge_depth(x.body)
            best = max(best, inner + 1 if x.kind in ("out_edges", "in_edges") else inner)
        for sub in ("then", "orelse"):
            if hasattr(x, sub):
                best = max(best, _edge_depth(getattr(x, sub)))
    return best
