"""What a blade holds in DRAM, array by array: the model behind ``Workload.blade_dram``
and the ILP's DRAM constraint.

It follows the C++ backend's run-time layout (``backends/cpp/bundle.py`` writes the
shard, ``cosynth_rt.hpp`` loads it; the planner does not import them, so the layout is
restated here and ``tests/planner/test_memory.py`` checks it against measured RSS):

* the shard: row pointers (int64 per structure row: CSR, and CSC when the program walks
  in-edges); per edge the destination ids, and only when the program reads them the
  source ids (edge-centric loops), the weights (float64) and, on CSC, the global edge ids
  (a 4-byte id when n and m are below 2^31 and the edges are not streamed, else 8 bytes);
  the sorted ghost list (an id per ghost), the send sets (``send_bytes``: per peer the
  smaller of an id per entry and a bit per owned vertex) and the degrees (an id's bytes per
  local vertex: a degree is below m) when the program queries them;
* the node tables (every local vertex: owned and ghosts; a table the blade program never
  reads at a ghost, ``projection.ghost_reads``, only its owned entries: the runtime's
  ``unback`` gives the others' pages back) and edge tables (replicated programs: every
  edge);
* per table reduced into remote vertices, an outbox of the ghosts: value, touched flag,
  drain-list entry (a local id: 4 or 8 bytes as above); per refreshed table, the copy of
  the owned entries last sent;
* per async node loop the backend runs from a frontier (``frontend.rewrite.frontier``:
  the relaxed loops of the examples, SSSP and CC), the runtime's ``Frontier`` over the
  blade's own range: per owned vertex its pending code (a byte: the key's bin mod 255,
  also the dense round's mark) and two queues of int32 offsets -- the bin being filled
  (or the far bin, where the first sweep queues every unreached vertex) and the round's
  copy of the bin it drains (``FRONTIER_BYTES``); a frontier keeps its arrays after its
  while loop ends, so each frontier loop counts;
* per while loop the backend runs from a level queue (``frontend.rewrite.levels``: BFS),
  the runtime's ``LevelQueue`` over the owned range, allocated and written before the
  clock: a queued mark (a byte), the queue's bits, this level's queue and a next-level
  queue per thread (uint32 offsets; ``LEVEL_BYTES``, ``LEVEL_THREAD_BYTES`` per further
  thread);
* per other async node loop the backend runs as a worklist (``cosynth.ir.vec``'s plan,
  ``backends/cpp/worklist.py``), a copy of each state table (every local vertex) and,
  per owned vertex, two more copies and an active flag;
* per node table a parallel nest only reduces into (``backends/cpp/private.py``'s rule,
  restated by ``private_tables`` below and checked against it by a test), one copy per
  thread beyond the first, of the owned entries on a sharded blade (remote reductions go
  to the outbox; thread 0 reduces into the table itself): nothing with one thread;
* the largest superstep message: an exchange sends and receives up to one 16-byte
  record per ghost, a dense refresh one entry per ghost each way; both go one peer at a
  time (P - 1 rounds), so a blade holds about 1 / (P - 1) of that at once;
* plus the process without data (``cost.blade_fixed``: MPI, OpenMP, libc, code).

A replicated program's blade holds every vertex and the whole graph's rows and edges.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import replace as _replace

from cosynth.frontend.rewrite.frontier import frontier_loops
from cosynth.frontend.rewrite.levels import level_frontier
from cosynth.frontend.rewrite.projection import ghost_reads, will_distribute
from cosynth.ir.nodes import EdgeAttr, GraphQuery, Kernel, Load, Loop, Store, Var
from cosynth.ir.vec import _worklist_plan
from cosynth.ir.walk import iter_exprs, iter_stmts, stmt_exprs

__all__ = ["Footprint", "footprint", "id_bytes", "private_tables", "send_bytes",
           "FRONTIER_BYTES", "LEVEL_BYTES", "LEVEL_THREAD_BYTES"]

#: an exchange record: global id and value (padded to 16 bytes)
RECORD_BYTES = 16
#: a frontier's bytes per owned vertex (``cosynth_rt.hpp``'s ``Frontier``): the pending
#: code ``pend`` (uint8, also the dense round's mark) + two queues of int32 offsets (the
#: bin or far bin filled -- the first sweep queues every vertex -- and the round's copy,
#: ``offer``, of the bin it drains)
FRONTIER_BYTES = 1 + 2 * 4
#: a level queue's bytes per owned vertex (``LevelQueue``, all allocated and written by
#: ``prepare`` at its declaration): ``mark`` (uint8), ``qbits`` (a bit, counted as a
#: byte), ``cur`` and thread 0's ``next`` (uint32 offsets) ...
LEVEL_BYTES = 1 + 1 + 2 * 4
#: ... and each further thread's ``next`` (``Footprint.private``)
LEVEL_THREAD_BYTES = 4


def send_bytes(idx: int, owned: float, ghosts: float, blades: int) -> float:
    """The send sets of a blade (``cosynth_rt.hpp``'s ``SendSet``): what the other blades
    hold of its owned vertices, about one entry per ghost of the blade (the blades' ghosts
    average out), per peer a list of ids or a bitmap over the owned range, the smaller:
    taken here over all peers at once (exact when every peer's set is of one form, an
    upper bound otherwise)."""
    return min(idx * ghosts, (blades - 1) * owned / 8) if blades > 1 else 0.0


def id_bytes(n: int, m: int, streamed: bool) -> int:
    """Bytes of a vertex or edge id in a blade's memory (``COSYNTH_IDX32``)."""
    return 4 if max(n, m) < 2**31 - 1 and not streamed else 8


@dataclass(frozen=True)
class Footprint:
    """Per-element bytes of a blade program's arrays (see the module docstring)."""

    csr: bool = True        # holds out-edge rows and destinations
    csc: bool = False       # holds in-edge rows and sources
    csr_src: bool = False   # CSR source ids (edge-centric loops read them)
    csr_w: bool = False     # CSR weights
    csc_eid: bool = False   # CSC global edge ids
    csc_w: bool = False     # CSC weights
    degrees_out: bool = False  # int64 out-degrees per local vertex
    degrees_in: bool = False   # in-degrees
    node_bytes: int = 0     # node tables, per local vertex
    node_unbacked: int = 0  # of which tables never read at ghosts: per owned vertex only
    edge_table_bytes: int = 0  # edge tables, per edge (replicated programs)
    box_bytes: int = 0      # outboxes, per ghost: value + flag (+ a list id, id_bytes)
    box_tables: int = 0     # how many tables have one
    mirror_bytes: int = 0   # refresh copies, per owned vertex
    refresh_item: int = 0   # the widest refreshed entry
    wl_local: int = 0       # worklist copies per local vertex
    wl_owned: int = 0       # per owned vertex
    frontier: int = 0       # frontiers' pending codes and queues, per owned vertex
    levels: int = 0         # level queues' marks and queues, per owned vertex
    weight_bytes: int = 8   # a stored edge weight (planner/narrow.py: narrower when exact)
    private: int = 0        # per-thread copies and level queues' per-thread queues, per
    #                         owned vertex and thread beyond the first

    @property
    def degrees(self) -> int:
        return int(self.degrees_out) + int(self.degrees_in)

    def edge_bytes(self, idx: int) -> tuple[int, int]:
        """Bytes per edge of the blade's CSR and CSC arrays with ``idx``-byte ids."""
        out = (idx * (1 + self.csr_src) + self.weight_bytes * self.csr_w) if self.csr else 0
        inn = (idx * (1 + self.csc_eid) + self.weight_bytes * self.csc_w) if self.csc else 0
        return out, inn

    def blade_bytes(self, n: int, m: int, owned: float, ghosts: float, edge_share: float,
                    *, sharded: bool, streamed: bool = False, blades: int = 2,
                    threads: int = 1) -> float:
        """The data bytes of a blade owning ``owned`` vertices and ``edge_share`` of the
        edges, with ``ghosts`` ghosts, one of ``blades``, running ``threads`` OpenMP
        threads; a replicated blade holds every vertex and edge.  A blade alone refreshes
        nothing (no copies of what it sent)."""
        extra = self.private * max(threads - 1, 0)  # per-thread copies beyond thread 0's
        return self._blade_bytes(n, m, owned, ghosts, edge_share, sharded, streamed,
                                 blades) + extra * (owned if sharded else n)

    def _blade_bytes(self, n, m, owned, ghosts, edge_share, sharded, streamed, blades):
        idx = id_bytes(n, m, streamed)
        if not sharded:  # every row and edge, every vertex; the refresh copies nothing
            f = self if self.csr else _replace(self, csr=True)
            out, inn = f.edge_bytes(idx)
            shard = 8 * (n + 1) * (1 + int(self.csc)) + \
                (0.0 if streamed else float(m) * (out + inn)) + idx * self.degrees * n
            return shard + self.edge_table_bytes * m + \
                n * (self.node_bytes + self.wl_local + self.box_bytes +
                     idx * self.box_tables + self.wl_owned + self.frontier + self.levels)
        out, inn = self.edge_bytes(idx)
        local = owned + ghosts
        shard = 8 * (owned + 1) * (int(self.csr) + int(self.csc)) + \
            (0.0 if streamed else edge_share * m * (out + inn)) + \
            idx * ghosts + send_bytes(idx, owned, ghosts, blades) + \
            idx * self.degrees * local
        return shard + local * (self.node_bytes - self.node_unbacked + self.wl_local) + \
            owned * self.node_unbacked + \
            (self.box_bytes + idx * self.box_tables) * ghosts + \
            owned * (self.mirror_bytes * (blades > 1) + self.wl_owned + self.frontier +
                     self.levels) + \
            ghosts * self.message_bytes(blades)

    def message_bytes(self, blades: int = 2) -> float:
        """Per ghost: the largest superstep message, sent and received (an exchange's
        records or a dense refresh's entries), of which a blade of ``blades`` holds one
        peer's share at a time (the runtime goes round the P - 1 others)."""
        whole = max(2 * RECORD_BYTES if self.box_tables else 0, 2 * self.refresh_item)
        return whole / max(blades - 1, 1)

    def per_owned(self, n: int, m: int, edges_per_vertex: float) -> float:
        """Bytes per owned vertex, its edges included (the ILP's linear term)."""
        idx = id_bytes(n, m, False)
        out, inn = self.edge_bytes(idx)
        return 8 * (int(self.csr) + int(self.csc)) + idx * self.degrees + self.node_bytes + \
            self.wl_local + self.mirror_bytes + self.wl_owned + self.frontier + \
            self.levels + edges_per_vertex * (out + inn)

    def per_ghost(self, n: int, m: int, blades: int = 2) -> float:
        """Bytes per ghost (the ILP's ghost term; at the default 2 blades the whole
        superstep message, an upper bound for more blades; the send set as a list, its
        upper bound)."""
        idx = id_bytes(n, m, False)
        return idx + idx + idx * self.degrees + self.node_bytes - self.node_unbacked + \
            self.wl_local + \
            self.box_bytes + idx * self.box_tables + self.message_bytes(blades)


def footprint(k: Kernel, nests) -> Footprint:
    """The arrays the blade program of kernel variant ``k`` holds, with ``nests`` its
    parallel nests (``workload.Nest``: what each refreshes).  Outboxes: the node tables
    reduced at an edge endpoint (``workload.layout``'s rule).  Which shard arrays the
    program reads is decided as the C++ backend's accessors would read them: weights
    wherever a loop loads them, CSR sources for edge-centric loops' ``e.src``, CSC edge
    ids where an in-edge loop names ``e.id``, degrees where queried."""
    tables = k.table_map
    kinds = {s.kind for s, _ in iter_stmts(k.body) if isinstance(s, Loop)}
    boxed = {s.table for s, _ in iter_stmts(k.body)
             if isinstance(s, Store) and s.op is not None and tables[s.table].space == "node"
             and isinstance(s.index, EdgeAttr)}
    refreshed = {t: b for nest in nests for t, b in nest.refreshed.items()
                 if t in tables and tables[t].space == "node"}
    src = w_out = w_in = eid = False
    degs: set[str] = set()
    for s, path in iter_stmts(k.body):
        kind = {loop.var: loop.kind for loop in path}  # the innermost loop of a name wins
        for top in stmt_exprs(s):
            found = list(iter_exprs(top))
            weight_at = {id(e.index) for e in found  # a weight is read at its position
                         if isinstance(e, Load) and tables[e.table].role == "weight"}
            for e in found:
                if isinstance(e, Load) and tables[e.table].role == "weight":
                    edge = e.index.edge if isinstance(e.index, EdgeAttr) else None
                    if kind.get(edge) == "in_edges":
                        w_in = True
                    else:
                        w_out = True
                elif isinstance(e, EdgeAttr):
                    if e.attr == "src" and kind.get(e.edge) == "edges":
                        src = True
                    if e.attr == "id" and kind.get(e.edge) == "in_edges" and \
                            id(e) not in weight_at:
                        eid = True
                elif isinstance(e, GraphQuery) and e.fn in ("out_degree", "in_degree"):
                    degs.add(e.fn)
    node = sum(t.dtype.np.itemsize for t in k.tables if t.space == "node")
    read = ghost_reads(k, will_distribute)
    unbacked = sum(t.dtype.np.itemsize for t in k.tables if t.space == "node" and
                   t.role == "local" and t.name not in read and t.name not in refreshed)
    edge = sum(t.dtype.np.itemsize for t in k.tables
               if t.space == "edge" and t.role != "weight")
    wl_local = wl_owned = frontier = levels = level_threads = 0
    fronts = {id(loop) for _, loop, _ in frontier_loops(k)}
    for s, _ in iter_stmts(k.body):
        if isinstance(s, Loop) and s.kind == "while" and level_frontier(k, s) is not None:
            levels += LEVEL_BYTES  # a LevelQueue per while loop with a level frontier
            level_threads += LEVEL_THREAD_BYTES
        if isinstance(s, Loop) and s.kind == "nodes" and id(s) in fronts:
            frontier += FRONTIER_BYTES  # the worklist's copies are not made
        elif isinstance(s, Loop) and s.kind == "nodes":
            plan = _worklist_plan(_Comp(k), s)
            for t in plan or ():
                size = tables[t].dtype.np.itemsize
                wl_local += size          # the copy at the sweep's end
                wl_owned += 2 * size + 1  # the copies at its start and now, active flags
    return Footprint(
        csr=bool(kinds & {"out_edges", "edges"}), csc="in_edges" in kinds,
        csr_src=src, csr_w=w_out, csc_eid=eid, csc_w=w_in,
        degrees_out="out_degree" in degs, degrees_in="in_degree" in degs,
        node_bytes=node, node_unbacked=unbacked, edge_table_bytes=edge,
        box_bytes=sum(tables[t].dtype.np.itemsize + 1 for t in boxed), box_tables=len(boxed),
        mirror_bytes=sum(refreshed.values()),
        private=sum(tables[t].dtype.np.itemsize for t in private_tables(k)) + level_threads,
        refresh_item=max((tables[t].dtype.np.itemsize for t in refreshed), default=0),
        wl_local=wl_local, wl_owned=wl_owned, frontier=frontier, levels=levels)


def private_tables(k: Kernel) -> set[str]:
    """The node tables the C++ backend reduces into per-thread copies in some parallel
    nest of ``k`` (``backends/cpp/private.py``'s rule, restated: the planner does not
    import a backend; ``tests/planner/test_memory_private.py`` checks the two agree on
    every example): a nest run whole (not from a frontier, a worklist or a level queue)
    that never reads the table and reduces into it with one of add/min/max/or/and, no
    change flag, not a level queue's table, at an entry other iterations also reach (an
    edge's far end), inside an edge loop or in an edge-centric nest."""
    tables = k.table_map
    fronts = {id(loop) for _, loop, _ in frontier_loops(k)}
    queued, levelled = set(), set()
    for s in k.body:
        lf = level_frontier(k, s) if isinstance(s, Loop) and s.kind == "while" else None
        if lf is not None:
            queued.add(lf.table)
            levelled |= {id(x) for x in lf.loops}
    out: set[str] = set()
    for par in _outer_parallel(k.body):
        if id(par) in fronts or id(par) in levelled or (
                par.kind == "nodes" and _worklist_plan(_Comp(k), par)):
            continue
        read = {y.table for x, _ in iter_stmts(par.body) for e in stmt_exprs(x)
                for y in iter_exprs(e) if isinstance(y, Load)}
        groups: dict[str, list] = {}
        for x, path in iter_stmts(par.body):
            if isinstance(x, Store) and tables[x.table].space == "node":
                groups.setdefault(x.table, []).append((x, path))
        for name, group in groups.items():
            ops_ = {x.op for x, _ in group}
            if name in read or name in queued or len(ops_) != 1 or \
                    not ops_ <= {"add", "min", "max", "or", "and"} or \
                    any(x.flag for x, _ in group):
                continue
            # one far reduction makes all of the table's atomic (``sharing``); in a node
            # loop one of them must sit in an edge loop (about once per edge or more)
            if any(_far(par, x, path) for x, path in group) and (par.kind != "nodes" or any(
                    lp.kind in ("out_edges", "in_edges") for _, p in group for lp in p)):
                out.add(name)
    return out


def _outer_parallel(body) -> list[Loop]:
    """The outermost parallel node or edge loops of ``body``."""
    out = []
    for s in body:
        if isinstance(s, Loop) and s.kind in ("nodes", "edges") and s.schedule != "seq":
            out.append(s)
        elif isinstance(s, Loop):
            out += _outer_parallel(s.body)
        elif hasattr(s, "then"):
            out += _outer_parallel(s.then) + _outer_parallel(s.orelse)
    return out


def _far(par: Loop, x: Store, path) -> bool:
    """Does ``x`` (in ``par``, under the loops ``path``) reduce into an entry other
    iterations of ``par`` may reach (not the node loop's own vertex, not the near end of
    its vertex's edges, not an edge only this iteration visits)?"""
    i = x.index
    if par.kind == "nodes" and isinstance(i, Var) and i.name == par.var:
        return False
    if isinstance(i, EdgeAttr):
        lp = next((q for q in path if q.var == i.edge), None)
        mine = lp is not None and par.kind == "nodes" and isinstance(lp.of, Var) and \
            lp.of.name == par.var
        near = {"out_edges": "src", "in_edges": "dst"}.get(lp.kind) if mine else None
        if i.attr == near or (i.attr == "id" and (mine or i.edge == par.var)):
            return False
    return True


class _Comp:
    """What ``cosynth.ir.vec``'s worklist plan reads of a kernel."""

    def __init__(self, k: Kernel):
        self.k, self.tables = k, k.table_map
