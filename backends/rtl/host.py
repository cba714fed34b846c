"""The host side of an edge unit: the protocol that runs a site of the kernel on a device.

``UnitHost`` turns each site of a unit into an interpreter offload handler
(``cosynth.ir.interp.interpret(..., offload=host.handlers())``): the interpreter runs the
kernel as the host program does, and when it reaches a site it calls the device instead
of running the loop.  One call:

1. write the scalar parameters the rules read into their registers;
2. bring the device's memories up to date with the host's tables: the host keeps an
   image of what each memory holds and loads only the entries that differ (the first
   call loads everything);
3. per rule of the site: write ``RULE``/``EDGE_COUNT``, start, stream the edges, wait for
   ``done``, read the status and counters.  The edges are those of the loop's vertex range
   (a ``vertex`` site: the current vertex's), taken in CSR order for out-edge rules and
   ``edges()``, CSC order for in-edge rules, then *interleaved* -- the first half's i-th
   edge, then the second half's -- because the loops the unit runs are proven
   order-independent, and a vertex's edges (all of a pull's, a hub's duplicates) would
   otherwise hit one entry back to back, which the unit can take only every other cycle.
   A rule whose every effect sits under ``if F[v]`` (``stream_filter``: a bool table the
   unit never writes, read at the rule's own vertex -- the frontier of a peel round,
   ``frontend.rewrite.rounds``) gets only the edges of the vertices whose entry is set:
   the unit would do nothing with the others, so leaving them out is exact, and a round
   costs its frontier's edges, not the range's; likewise a rule guarded by a bool
   parameter that is false this call (``param_guards``: k-core's ``if use_in_edges``)
   streams nothing;
4. read back the target entries the streamed edges could have changed (every table a
   rule reduces into, at the endpoint it reduces) and write them into the host's
   tables; set the rule's change flag when the unit reports a change.

In a blade program (the loop covers the blade's own vertices), a target entry another
blade owns is not written into the host's mirror: its new value (for ``add``, its
difference) is combined into the outbox, exactly as the interpreter's remote reduction
does, and the change flag counts only entries the blade owns.

The device is anything with ``write_regs``, ``read_regs``, ``load``, ``readback`` and
``run`` (``backends.rtl.sim.AmaranthDevice`` simulates the unit with Amaranth's
simulator; the C++ host stubs drive a Verilator model through the same protocol).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cosynth import ops
from cosynth.errors import CosynthError
from cosynth.frontend.rewrite.core import get
from cosynth.ir.nodes import Assign, Bin, If, Load, Var
from cosynth.ir.walk import iter_stmts

from .kernel import UnitSpec
from .regmap import ID_VALUE, RegisterMap

__all__ = ["UnitHost", "DeviceStats", "DeviceError", "stream_filter", "param_guards"]

_MASK = (1 << 64) - 1


class DeviceError(CosynthError):
    """The device did not behave as its register map says (a hardware bug, or a run
    that did not finish)."""


@dataclass
class DeviceStats:
    calls: int = 0
    runs: int = 0
    edges: int = 0
    cycles: int = 0  # cycles of the runs (start to done)
    load_entries: int = 0
    readback_entries: int = 0
    hazards: int = 0
    stalls: int = 0
    updates: int = 0
    per_site: dict = field(default_factory=dict)

    @property
    def edges_per_cycle(self) -> float:
        return self.edges / self.cycles if self.cycles else 0.0

    @property
    def transfer_cycles(self) -> int:
        """Cycles the host spends loading and reading back (one entry per cycle)."""
        return self.load_entries + self.readback_entries

    @property
    def total_cycles(self) -> int:
        return self.cycles + self.transfer_cycles

    def as_dict(self) -> dict:
        return {"calls": self.calls, "runs": self.runs, "edges": self.edges,
                "cycles": self.cycles, "load_entries": self.load_entries,
                "readback_entries": self.readback_entries, "hazards": self.hazards,
                "stalls": self.stalls,
                "updates": self.updates, "edges_per_cycle": self.edges_per_cycle,
                "total_cycles": self.total_cycles, "per_site": self.per_site}


class UnitHost:
    """Runs the sites of ``spec`` on ``device`` for one graph."""

    def __init__(self, spec: UnitSpec, regmap: RegisterMap, device, graph):
        if graph.n > regmap.depth:
            raise DeviceError(f"the graph has {graph.n} vertices; the unit holds "
                              f"{regmap.depth}")
        self.spec = spec
        self.rm = regmap
        self.dev = device
        self.g = graph
        self.stats = DeviceStats()
        self.images: dict[int, np.ndarray | None] = {m.id: None for m in regmap.memories}
        # per rule, the frontier table that filters its stream (``stream_filter``), and
        # that table's entries as the last sync loaded them
        self.filters = {i: stream_filter(spec, r) for i, r in enumerate(spec.rules)}
        self.guards = {i: param_guards(spec, r) for i, r in enumerate(spec.rules)}
        self.current: dict[str, np.ndarray] = {}
        self.fixed = spec.fixed  # floats cross as fixed-point words (cosynth.fixed)
        if spec.weight is not None and spec.weight.is_float:
            self.weights = self.fixed.encode(graph.weights_or_ones(), "edge weight")
        elif spec.weight is not None:
            self.weights = graph.integer_weights()
        else:
            self.weights = None
        ident = self.dev.read_regs([regmap.reg("ID"), regmap.reg("DEPTH")])
        if ident[0] != ID_VALUE or ident[1] != regmap.depth:
            raise DeviceError(f"the device answers ID {ident[0]:#x}, DEPTH {ident[1]}; "
                              f"expected {ID_VALUE:#x}, {regmap.depth}")

    def handlers(self) -> dict:
        """``{id(loop): handler}`` for ``interpret(spec.kernel, ..., offload=...)``."""
        out = {}
        for site in self.spec.sites:
            loop = get(self.spec.kernel, site.path)
            out[id(loop)] = self._handler(site, loop)
        return out

    def _handler(self, site, loop):
        def handler(view):
            self.call(site, loop, view)
        return handler

    # ------------------------------------------------------------------- a call
    def call(self, site, loop, view) -> None:
        spec, rm, g = self.spec, self.rm, self.g
        self.stats.calls += 1
        per = self.stats.per_site.setdefault(site.label, {"calls": 0, "edges": 0,
                                                           "cycles": 0})
        per["calls"] += 1
        regs = []
        for p in rm.params:
            if p.name == "__num_nodes":
                val = g.n
            elif p.name == "__num_edges":
                val = g.m
            else:
                val = view.get(p.name)
                if spec.params[p.name].is_float:
                    val = self.fixed.encode(val, f"the scalar '{p.name}'")
            regs.append((p.addr, int(val) & _MASK))
        if regs:
            self.dev.write_regs(regs)
        self._sync(view)
        touched: dict[str, list[np.ndarray]] = {}
        changed_flags: set[str] = set()
        for ri in site.rules:
            r = spec.rules[ri]
            eids, src, dst = self._edges(site, loop, ri, view)
            w = self.weights[eids] if self.weights is not None else None
            res = self.dev.run(ri, src, dst, w)
            if not res["done"]:
                raise DeviceError(f"{r.label}: the unit did not finish its run of "
                                  f"{len(src)} edges")
            if res["edges"] != len(src):
                raise DeviceError(f"{r.label}: the unit consumed {res['edges']} of "
                                  f"{len(src)} edges")
            self.stats.runs += 1
            self.stats.edges += len(src)
            self.stats.cycles += res["cycles"]
            self.stats.hazards += res["hazards"]
            self.stats.stalls += res["stalls"]
            self.stats.updates += res["updates"]
            per["edges"] += len(src)
            per["cycles"] += res["cycles"]
            for u in r.ups:
                touched.setdefault(u.target, []).append(src if u.target_end == "src" else dst)
                if u.flag and res["changed"]:
                    changed_flags.add(u.flag)
        owned_change = self._readback(touched, view)
        for u in (u for i in site.rules for u in spec.rules[i].ups):
            if not u.flag:
                continue
            if view.shard is None:
                if u.flag in changed_flags:
                    view.set(u.flag, True)
            elif owned_change.get(u.target):
                view.set(u.flag, True)

    def _edges(self, site, loop, ri: int, view):
        """(edge ids, src, dst) the host streams for rule ``ri`` of ``site``: the edges
        of the loop's range, or of its vertices whose frontier entry is set."""
        g, r = self.g, self.spec.rules[ri]
        if site.form == "vertex":
            v = int(view.get(r.vertex))
            lo, hi = v, v + 1
        else:
            lo = int(view.eval(loop.start)) if loop.start is not None else 0
            hi = int(view.eval(loop.stop)) if loop.stop is not None else g.n
            lo, hi = max(0, lo), min(g.n, hi)
        if hi <= lo or not all(view.get(p) for p in self.guards.get(ri, ())):
            e = np.zeros(0, dtype=np.int64)
            return e, e, e
        ptr = g.in_indptr if r.kind == "in_edges" else g.out_indptr
        f = self.filters.get(ri)
        if f is not None:  # the frontier's vertices in the range, their edges in order
            vs = lo + np.flatnonzero(self.current[f][lo:hi])
            cnt = ptr[vs + 1] - ptr[vs]
            pos = np.repeat(ptr[vs] - np.cumsum(cnt) + cnt, cnt) + \
                np.arange(int(cnt.sum()), dtype=np.int64)
        else:
            pos = np.arange(int(ptr[lo]), int(ptr[hi]), dtype=np.int64)
        # CSR order is edge-id order (out_edges and edges()); CSC positions name edges
        eids = g.in_eid[pos] if r.kind == "in_edges" else pos
        eids = eids[interleave(eids.size)]
        return eids, g.edge_src[eids], g.out_dst[eids]

    # ------------------------------------------------------------- memories
    def _sync(self, view) -> None:
        """Load every memory entry that differs from the host's table."""
        mems, addrs, vals = [], [], []
        for mem in self.rm.memories:
            host = _as_int(view.tables[mem.table], self.rm.depth, self.fixed, mem.table)
            img = self.images[mem.id]
            idx = np.arange(self.rm.depth) if img is None else np.nonzero(host != img)[0]
            if idx.size:
                mems.append(np.full(idx.size, mem.id, dtype=np.int64))
                addrs.append(idx)
                vals.append(host[idx])
            self.images[mem.id] = host
            self.current[mem.table] = host
        if mems:
            m, a, v = np.concatenate(mems), np.concatenate(addrs), np.concatenate(vals)
            self.dev.load(m, a, v)
            self.stats.load_entries += int(a.size)

    def _readback(self, touched: dict, view) -> dict[str, bool]:
        """Read back the touched target entries into the host's tables (or the outbox
        for entries another blade owns); returns, per table, whether an owned entry
        changed."""
        changed: dict[str, bool] = {}
        shard = view.shard
        for table, parts in sorted(touched.items()):
            idx = np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)
            if not idx.size:
                continue
            mem = self.rm.mem(table, "live")
            raw = self.dev.readback(np.full(idx.size, mem.id, dtype=np.int64), idx)
            self.stats.readback_entries += int(idx.size)
            new = np.asarray(raw, dtype=np.int64)
            d = self.spec.tables[table]
            T = view.tables[table]
            img = self.images[mem.id]
            old = img[idx].copy()
            img[idx] = new
            if shard is None:
                _write(T, idx, new, d, self.fixed)
                changed[table] = bool(np.any(new != old))
                continue
            lo, hi = shard
            own = (idx >= lo) & (idx < hi)
            _write(T, idx[own], new[own], d, self.fixed)
            changed[table] = bool(np.any(new[own] != old[own]))
            red = ops.reduction(next(u.op for r in self.spec.rules for u in r.ups
                                     if u.target == table))
            combine = red.scalar_fn(d)
            # an idempotent reduction may send the entry's new value to its owner; the
            # others (``add``) send only what this blade added to it
            delta = "idempotent" not in red.laws[d.kind]
            box = view.outbox(table)
            for i, nv, ov in zip(idx[~own].tolist(), new[~own].tolist(), old[~own].tolist()):
                if nv == ov:
                    continue
                c = _from_int(nv - ov if delta else nv, d, self.fixed)
                box[i] = combine(box[i], c) if i in box else c
            # the mirror keeps its value until the owner's refresh; the next call reloads
            # those entries (their image now differs from the host's table)
        return changed


def _guards(r) -> list:
    """The conjuncts that guard everything rule ``r`` does: down the chain of its body's
    lone ``if``s (privates beside them; no ``else``), each condition split at ``and``."""
    body, out = r.body, []
    while True:
        rest = [s for s in body if not isinstance(s, Assign)]
        if len(rest) != 1 or not isinstance(rest[0], If) or rest[0].orelse:
            return out
        todo = [rest[0].cond]
        while todo:
            c = todo.pop()
            if isinstance(c, Bin) and c.op == "and":
                todo += [c.a, c.b]
            else:
                out.append(c)
        body = rest[0].then


def param_guards(spec: UnitSpec, r) -> tuple[str, ...]:
    """The bool parameters (registers the host writes each call) that guard everything
    rule ``r`` does: when one is false the rule changes nothing, so the host streams it
    no edge."""
    return tuple(sorted({c.name for c in _guards(r) if isinstance(c, Var) and
                         c.name in spec.params and spec.params[c.name].is_bool}))


def stream_filter(spec: UnitSpec, r) -> str | None:
    """The frontier table of rule ``r``: a bool vertex table the unit never writes whose
    entry at the rule's own vertex (the edge's source for out-edges, its destination for
    in-edges) guards everything the rule does (its body is privates and one ``if`` with
    no ``else`` whose condition is that entry, alone or and-ed with others), or None.  An
    edge whose vertex has the entry clear changes nothing, so the host may leave it out
    of the stream (the C++ stub does the same, ``cosynth_host.hpp``)."""
    if r.vertex is None or any(isinstance(s, Assign) and s.name == r.vertex
                               for s, _ in iter_stmts(r.body)):
        return None
    found = [c.table for c in _guards(r) if isinstance(c, Load) and
             isinstance(c.index, Var) and c.index.name == r.vertex and
             c.table in spec.tables and spec.tables[c.table].is_bool and
             c.table not in spec.written]
    return min(found) if found else None


def interleave(k: int) -> np.ndarray:
    """The stream order of ``k`` edges: 0, h, 1, h+1, ... with h = ceil(k/2) (the C++
    host stub streams in the same order)."""
    h = (k + 1) // 2
    order = np.empty(k, dtype=np.int64)
    order[0::2] = np.arange(h)
    order[1::2] = np.arange(h, k)
    return order


def _as_int(T, depth: int, fixed=None, name: str = "") -> np.ndarray:
    a = np.asarray(T)
    out = np.zeros(depth, dtype=np.int64)
    if a.dtype.kind == "f":  # only under a fixed-point policy (kernel.py)
        out[:a.size] = fixed.encode(a, f"'{name}'")
    else:
        out[:a.size] = a.astype(np.int64)
    return out


def _from_int(v: int, d, fixed=None):
    if d.is_bool:
        return bool(v)
    if d.is_float:
        return float(fixed.decode(v))
    half = 1 << (d.bits - 1)
    return ((v + half) & ((1 << d.bits) - 1)) - half


def _write(T, idx: np.ndarray, vals: np.ndarray, d, fixed=None) -> None:
    if isinstance(T, np.ndarray):
        T[idx] = (fixed.decode(vals) if d.is_float else vals).astype(T.dtype)
        return
    for i, v in zip(idx.tolist(), vals.tolist()):
        T[i] = _from_int(v, d, fixed)

