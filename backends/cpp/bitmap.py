"""Dense frontier bitmaps for pull steps: a guard on a neighbour's entry, tested against one
bit per vertex computed before the loop instead of the entry itself.

schedule::

    for u in nodes() @par:                     bm[l] = (depth[l] == level)  for every local l
      for e in in_edges(u):            ->      for u in nodes() @par:
        if depth[e.src] == level:                for e in in_edges(u):
          depth[u] min= level + 1                  if (e.src == u ? depth[e.src] == level
                                                                  : bm[e.src]):  ...

The bitmap (``n / 8`` bytes: 32 KiB for 2**18 vertices) stays in cache where the table's
entries (8 bytes each) do not: Beamer's bottom-up step tests the frontier this way.

Where: the edge loop of the outermost parallel node loop saturates (``saturation``: the
pull step with early exit, whose neighbour tests dominate its time); the guard is an
``if`` inside it whose only entry read is one node table ``T`` at the edge's other
endpoint, the rest scalars the loop does not write, constants and safe operators (it
cannot fail, so evaluating it for every vertex beforehand changes nothing).

Legality.  A parallel loop (``par``, ``bsp``, ``async``) may let each iteration read the
entries *other* iterations write as they were before the loop: ``bsp`` reads exactly
those, ``async`` any subset of the others' writes (the empty one included), and a ``par``
loop was proved to do the same whether or not another iteration's write has landed
(``parallelize``/``direction``: stable reads).  ``T`` is written in the loop at most at
the running vertex's own entry, so the only read an iteration makes of an entry it may
have written itself is at its own vertex (a self-loop): that one is tested on the entry,
every other one on the bitmap of the state before the loop.

The own vertex on the bitmap too (``_own_bit_exact``): when every store of ``T`` in the
node loop's body is a store of the saturating edge loop that holds the guard, each the
last statement on its path through the edge loop's body (``saturation.tail_stores``: the
loop emitter then ends the edge loop right after it, ``loops._saturating``), or ``T`` is
not written in the loop at all, no guard of that edge loop is evaluated after a write of
``T`` in the same iteration of the node loop: nothing writes ``T`` before the edge loop,
and inside it a store is the last thing its edge iteration does before the loop ends.  So
at every test the own entry is still the value before the loop, whose bit the bitmap
holds, and the test of the own vertex on the entry (a compare and branch at every edge:
kron-18 BFS's pull steps, ~1.1 M instructions of 10.3 M) is dropped.
"""

from __future__ import annotations

from dataclasses import replace

from cosynth.frontend.rewrite.saturation import cannot_fail, saturation, tail_stores
from cosynth.ir.nodes import Bin, Cast, Const, EdgeAttr, If, Load, Loop, Store, Un, Var
from cosynth.ir.walk import iter_exprs, iter_stmts

from .sparse import bitmap_queue, emit_bitmap_from_queue

__all__ = ["NeighbourBitmap", "open_bitmaps"]

_FAKE = "bm__l"  # the edge variable whose "src" spells the bitmap pass's local id


class NeighbourBitmap:
    """The bitmap ``name`` of one guard: its condition and the neighbour's load."""

    def __init__(self, name: str, load: Load, own: str | None):
        self.name, self.load, self.own = name, load, own  # own: None when its bit is exact
        # the words through a pointer each thread holds (``firstprivate``): through the
        # shared vector the loop reloaded its data pointer at every edge it tested
        self.words = f"{name}_w"

    def cond(self, cx, original: str) -> str:
        """The guard's C++ condition inside the loop."""
        nbr = cx.local_index(self.load.index, 0)
        bit = f"(bool)(({self.words}[({nbr}) >> 6] >> (({nbr}) & 63)) & 1)"
        if self.own is None:
            return bit
        return f"(({nbr}) == {self.own} ? ({original}) : {bit})"


def open_bitmaps(cx, s: Loop) -> dict[int, NeighbourBitmap]:
    """For the parallel node loop ``s``: emit (through the loop emitter ``cx``, before the
    loop's ``omp for``) the bitmaps of its eligible guards; ``id(If) ->`` bitmap."""
    if s.kind != "nodes":
        return {}
    out: dict[int, NeighbourBitmap] = {}
    written = {x.table for x, _ in iter_stmts(s.body) if isinstance(x, Store)}
    for edge, _ in iter_stmts(s.body):
        if not (isinstance(edge, Loop) and edge.kind in ("in_edges", "out_edges")):
            continue
        if saturation(s, edge, cx.tables) is None:
            continue
        other = "src" if edge.kind == "in_edges" else "dst"
        for g, _ in iter_stmts(edge.body):
            if not isinstance(g, If):
                continue
            load = _neighbour_load(g.cond, edge, other, s, written, cx.tables)
            if load is None:
                continue
            name = cx.tmp("bm")
            own = None if _own_bit_exact(s, edge, load.table) else f"({s.var} - G.glo)"
            out[id(g)] = NeighbourBitmap(name, load, own)
            _emit_pass(cx, name, g.cond, load, bitmap_queue(cx, s, g.cond, load))
    return out


def _own_bit_exact(s: Loop, edge: Loop, table: str) -> bool:
    """No guard of the saturating edge loop ``edge`` runs after a write of ``table`` in the
    same iteration of the node loop ``s`` (the module docstring)."""
    stores = {id(x) for x, _ in iter_stmts(s.body) if isinstance(x, Store) and x.table == table}
    inside = {id(x) for x, _ in iter_stmts(edge.body) if isinstance(x, Store)}
    return stores <= inside and inside <= tail_stores(edge.body)


def _neighbour_load(cond, edge: Loop, other: str, s: Loop, written: set, tables):
    """The one load ``T[e.<other>]`` of ``cond`` when the guard qualifies, else None."""
    found = None
    inner = {x.var for x, _ in iter_stmts([s]) if isinstance(x, Loop)}
    inner |= {n for x, _ in iter_stmts([s]) if isinstance(x, Loop) for n, _ in x.locals}
    for x in iter_exprs(cond):
        if isinstance(x, Load):
            t = tables[x.table]
            if x.index is None:
                if x.table in written:
                    return None
                continue
            if t.space != "node" or found is not None:
                return None
            idx = x.index
            if not (isinstance(idx, EdgeAttr) and idx.edge == edge.var and idx.attr == other):
                return None
            found = x
        elif isinstance(x, EdgeAttr):
            continue  # checked below: only the load's own index
        elif isinstance(x, Var):
            if x.name in inner:
                return None
        elif isinstance(x, (Bin, Un, Cast)):
            if not cannot_fail(x):
                return None
        elif not isinstance(x, Const):
            return None
    if found is None:
        return None
    # only the running vertex's own entry of T may change during the loop
    for x, _ in iter_stmts(s.body):
        if isinstance(x, Store) and x.table == found.table and not (
                isinstance(x.index, Var) and x.index.name == s.var):
            return None
    # every edge attribute of the guard is the neighbour endpoint inside its load
    attrs = [x for x in iter_exprs(cond) if isinstance(x, EdgeAttr)]
    if any(a is not found.index for a in attrs):
        return None
    return found


def _emit_pass(cx, name: str, cond, load: Load, queue=None) -> None:
    """``name[l]``: the guard with the neighbour's entry replaced by local entry ``l``
    (with a level ``queue``, when it is sparse: set from the queue, ``sparse.py``)."""
    fake = replace(load, index=EdgeAttr(_FAKE, "src"))
    pred = _substitute(cond, load, fake)
    saved = cx.edge_kind.get(_FAKE)
    cx.edge_kind[_FAKE] = ("out_edges", f"({_FAKE} + G.glo)")
    try:
        text = cx.expr(pred)
    finally:
        if saved is None:
            cx.edge_kind.pop(_FAKE, None)
        else:
            cx.edge_kind[_FAKE] = saved
    # the words allocated (and their pages first touched) once, with the tables before
    # the kernel's clock, and zeroed here each time: a fresh vector per superstep faulted
    # its pages in whenever the heap grew for it (kron-20 BFS: ~60 of the kernel's faults)
    cx.decls.append(f"std::vector<uint64_t> {name}((G.nl + 63) / 64);  // the guard's bit "
                    "per local vertex (a pull step's)")
    cx.out(f"std::fill({name}.begin(), {name}.end(), (uint64_t)0);  // the guard's bits, "
           "before the loop")
    if queue is not None:
        cx.out(f"if ({queue.name}.sparse) {{")
        cx.ind += 1
        emit_bitmap_from_queue(cx, queue, name, text, _FAKE)
        cx.ind -= 1
        cx.out("} else {")
        cx.ind += 1
    cx.out("#pragma omp parallel for schedule(static)")
    cx.out(f"for (int64_t w = 0; w < (int64_t){name}.size(); ++w) {{ uint64_t b = 0;")
    cx.out(f"  for (int64_t j = 0; j < 64 && w * 64 + j < G.nl; ++j) {{ "
           f"const int64_t {_FAKE} = w * 64 + j; if ({text}) b |= (uint64_t)1 << j; }}")
    cx.out(f"  {name}[w] = b; }}")
    if queue is not None:
        cx.ind -= 1
        cx.out("}")
    cx.out(f"const uint64_t* {name}_w = {name}.data();")


def _substitute(e, old, new):
    """``e`` with the node ``old`` (by identity) replaced by ``new``."""
    if e is old:
        return new
    if isinstance(e, Bin):
        return replace(e, a=_substitute(e.a, old, new), b=_substitute(e.b, old, new))
    if isinstance(e, Un):
        return replace(e, a=_substitute(e.a, old, new))
    if isinstance(e, Cast):
        return replace(e, a=_substitute(e.a, old, new))
    return e
