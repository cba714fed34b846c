"""Statements of the blade program: one ``visit_<Stmt>`` method per IR statement.

Invariants (beyond those of ``loops`` and ``exprs``):

* a value stored or assigned is first converted to the target's C++ type;
* a reduction applies the runtime's ``red_<op>`` helper, or ``atomic_<op>`` when the
  entry is shared between the iterations of the enclosing parallel loop
  (``sharing.shared_stores``); inside that loop a shared scalar and a change flag are
  reached through their per-thread accumulators;
* in a loop over the blade's own range, a reduction into an entry of a table with an
  outbox that another blade owns goes to the outbox (and marks the entry touched);
  ``exchange`` / ``refresh`` / ``allreduce`` call the runtime's MPI helpers.
"""

from __future__ import annotations

from cosynth import ops
from cosynth.dtypes import DType
from cosynth.frontend.rewrite.narrowstate import narrow_states
from cosynth.frontend.rewrite.projection import ghost_reads
from cosynth.ir.nodes import (
    Alloc,
    AllReduce,
    Assign,
    Exchange,
    If,
    Kernel,
    Loop,
    Refresh,
    Stmt,
    Store,
    Var,
)
from cosynth.ir.walk import iter_stmts

from .exprs import CodegenError, ctype, reducer
from .loops import LoopNests

__all__ = ["BodyEmitter"]


def _rarely(call: str, fr) -> str:
    """The condition of a frontier loop's reduction: ``call`` marked as rarely true when
    it queues a vertex (``fr``: a relaxation's min mostly finds the entry already lower).
    A hint to gcc only (``__builtin_expect`` keeps the value), so the push's registers
    are spilled on its own path and the edge loop keeps its invariants in registers:
    measured at kron-18 SSSP, 1 thread, the inlined push without the hint reloaded two
    of them at every edge."""
    return f"__builtin_expect({call}, 0)" if fr is not None else call


def _line(s) -> int:
    return s.loc.line if s.loc is not None else 0


class BodyEmitter(LoopNests):
    """Emits the statements of the blade program ``k`` (``boxed``: the tables that have
    an outbox, those some ``exchange`` sends)."""

    def __init__(self, k: Kernel, hw=None):
        super().__init__(k, hw)
        self.boxed = sorted({s.table for s, _ in iter_stmts(k.body) if isinstance(s, Exchange)})
        self.mirrored = sorted({s.table for s, _ in iter_stmts(k.body) if isinstance(s, Refresh)
                                and self.tables[s.table].space == "node"})
        # node tables no statement reads at another blade's vertex: their ghost entries
        # get no memory (``unback``) and their fills set the owned range only (an FPGA
        # unit's tables are full size: not there)
        read = ghost_reads(k)
        self.unbacked = set() if hw is not None else {
            t.name for t in k.tables if t.space == "node" and t.role == "local"
            and t.name not in read and t.name not in self.mirrored}
        # state tables that may be stored in 32 bits (frontend/rewrite/narrowstate.py; the
        # build's COSYNTH_STATE32 says whether this graph passed the planner's check)
        self.narrow = set(narrow_states(k)) if hw is None else set()

    def storage(self, table: str) -> str:
        """The C++ type a table's entries are stored in: its dtype's, or ``state_t<...>``
        (the runtime's 32-bit codes under COSYNTH_STATE32) for a narrowable state table."""
        c = ctype(self.tables[table].dtype)
        return f"state_t<{c}>" if table in self.narrow else c

    def visit_Alloc(self, s: Alloc):
        c = ctype(self.tables[s.table].dtype)
        if s.table in self.unbacked:  # its ghost entries are never read
            self.out(f"fill_own({s.table}, G.olo, G.ohi, ({c})({self.expr(s.fill)}));")
            return
        self.out(f"fill_par<{c}>({s.table}, ({c})({self.expr(s.fill)}));")
        if s.table in self.mirrored:  # the next refresh sends the whole ghost set
            self.out(f"{s.table}__mir.valid = false;")

    def visit_Assign(self, s: Assign):
        d = self._local_dtype(s.name)
        v = f"({ctype(d)})({self.expr(s.value)})"
        if s.op is None:
            self.out(f"{s.name} = {v};")
        else:
            self.out(f"{reducer(s.op)}(&{s.name}, {v});")

    def visit_If(self, s: If):
        bm = self.bitmaps.get(id(s))
        cond = self.expr(s.cond)
        self.out(f"if ({cond if bm is None else bm.cond(self, cond)}) {{")
        self.ind += 1
        self.block(s.then)
        self.ind -= 1
        if s.orelse:
            self.out("} else {")
            self.ind += 1
            self.block(s.orelse)
            self.ind -= 1
        self.out("}")

    def visit_Loop(self, s: Loop):
        self.loop(s, _line(s))

    def visit_Exchange(self, s: Exchange):
        t = self.tables[s.table]
        flag = f"if (ch) {s.flag} = 1;" if s.flag else "(void)ch;"
        c, st = ctype(t.dtype), self.storage(s.table)
        queue = "".join(f" if (c) {fr.push(f'p - {s.table}.data()', 'v', region=False)}"
                        for fr in self._frontiers(s.table))
        queue += "".join(f" if (c) {q.push(f'p - {s.table}.data()', True)}"
                         for q in self.levels if q.lf.table == s.table)
        if queue:  # a change to the blade's entry queues its vertex in the frontier
            red = f"[&]({st}* p, {c} v) {{ bool c = {reducer(s.op)}(p, v);{queue} return c; }}"
        else:
            red = f"[]({st}* p, {c} v) {{ return {reducer(s.op)}(p, v); }}"
        self.out(f"{{ bool ch = exchange({s.table}, {s.table}__box, G, sh, {red});"
                 f" {flag} }}")

    def _frontiers(self, table: str) -> list:
        """The frontiers (``frontier.FrontierLoop``) of the enclosing while loops whose
        state includes ``table``."""
        return [fr for _, frs in self.whiles for fr in frs if table in fr.plan]

    def visit_Refresh(self, s: Refresh):
        if self.tables[s.table].space == "node":
            self.out(f"refresh({s.table}, {s.table}__mir, G, sh);")
        else:
            self.out(f"refresh_edges({s.table}, edge_lo, edge_hi, rank);")

    def visit_AllReduce(self, s: AllReduce):
        self.out(f"{s.table} = allreduce({s.table}, {ops.reduction(s.op).mpi});")

    def visit_Stmt(self, s: Stmt):  # pragma: no cover
        raise CodegenError(f"statement {type(s).__name__}")

    def visit_Store(self, s: Store):
        self._store(s)
        if id(s) in self.sat_break:  # the saturating loop ends here (loops._saturating)
            self.out(self.sat_break[id(s)])

    def _store(self, s: Store):
        line = _line(s)
        t = self.tables[s.table]
        c = ctype(t.dtype)
        v = f"({c})({self.expr(s.value)})"
        if t.space == "scalar":
            if s.op is None:
                self.out(f"{s.table} = {v};")
                return
            target = self.acc.get(s.table, s.table)
            if s.flag:
                fl = self.acc.get(s.flag, s.flag)
                self.out(f"if ({reducer(s.op)}(&{target}, {v})) {fl} = 1;")
            else:
                self.out(f"{reducer(s.op)}(&{target}, {v});")
            return
        acc = self.gathered.get(id(s))
        if acc is not None:  # accumulated in a register (gather.py)
            self.out(f"{reducer(s.op)}(&{acc}, {v});")
            return
        idx = self.index(s.index, t, line)
        if s.op is None:
            self.out(f"{s.table}[{idx}] = {v};")
            return
        shared = self.par is not None and id(s) in self.shared_stores
        flag = self.acc.get(s.flag, s.flag) if s.flag else None
        fr = self.frontier if self.frontier is not None and s.table in self.frontier.plan \
            else None
        if fr is not None:  # the value and the entry once: a change queues the vertex
            val, at = self.tmp("val"), self.tmp("at")
            self.out(f"{{ const {c} {val} = {v}; const int64_t {at} = {idx};")
            self.ind += 1
            v, idx = val, at
        lqs = [q for q in self.levels if q.lf.table == s.table]
        mine = self.private.get(s.table)  # this thread's copy (private.py): no atomic
        if self.projected and t.space == "node" and s.table in self.boxed and \
                not self._own_vertex(s.index):  # (the own vertex's entry is the blade's)
            self._store_or_box(s, idx, v, reducer(s.op, shared), flag, fr, lqs, not shared,
                               mine)
        elif mine is not None:
            self.out(f"{reducer(s.op)}(&{mine}[{idx}], {v});")
        else:
            call = _rarely(f"{reducer(s.op, shared)}(&{s.table}[{idx}], {v})", fr)
            then = " ".join(([f"{flag} = 1;"] if flag else []) + ([fr.push(idx, v)] if fr else [])
                            + [q.push(idx, not shared) for q in lqs])
            self.out(f"if ({call}) {{ {then} }}" if then else f"{call};")
        if fr is not None:
            self.ind -= 1
            self.out("}")

    def _own_vertex(self, index) -> bool:
        """Is ``index`` the running vertex of a parallel node loop over exactly the blade's
        own range (``shard_lo .. shard_hi``)?  Then its entry is the blade's: the loop's
        vertices are ``[shard_lo, shard_hi)`` (clamped to ``0 .. n``), whose local ids are
        the shard's owned ids ``[G.olo, G.ohi)`` (the shard file's range and the
        configuration's ``shard_lo``/``shard_hi`` are written from the same shards, and
        the file's digest is checked), so the test ``olo <= i < ohi`` always holds and
        the outbox branch never runs: a store into the own vertex (a pull step's) goes
        to the table directly."""
        p = self.par
        return p is not None and p.kind == "nodes" and isinstance(index, Var) and \
            index.name == p.var and isinstance(p.start, Var) and p.start.name == "shard_lo" \
            and isinstance(p.stop, Var) and p.stop.name == "shard_hi"

    def _store_or_box(self, s: Store, idx: str, v: str, fn: str, flag: str | None,
                      fr=None, lqs=(), own=False, mine: str | None = None):
        """A reduction into the blade's entry, or into the outbox for another blade's
        (``idx`` is a local id); with the loop's frontier ``fr`` or level queues ``lqs``
        (``sparse``), a change to the blade's entry queues its vertex; ``mine``: the
        thread's copy of the table the blade's entries go to (private.py)."""
        i = self.tmp("i")
        self.out(f"{{ const int64_t {i} = {idx};")
        self.ind += 1
        self.out(f"if ({i} >= G.olo && {i} < G.ohi) {{")
        if mine is not None:
            self.out(f"  {reducer(s.op)}(&{mine}[{i}], {v});")
        call = _rarely(f"{fn}(&{s.table}[{i}], {v})", fr)
        then = " ".join(([f"{flag} = 1;"] if flag else []) + ([fr.push(i, v)] if fr else [])
                        + [q.push(i, own) for q in lqs])
        if mine is None:
            self.out(f"  if ({call}) {{ {then} }}")
        self.out("} else {")
        self.out(f"  {fn}(&{s.table}__box.val[{i}], {v});")
        self.out(f"  {s.table}__box.touch({i});")
        self.out("}")
        self.ind -= 1
        self.out("}")

    def _local_dtype(self, name: str) -> DType:
        for s, _ in iter_stmts(self.k.body):
            if isinstance(s, Loop):
                for n_, d in s.locals:
                    if n_ == name:
                        return d
        raise CodegenError(f"private '{name}' is not declared")  # pragma: no cover
