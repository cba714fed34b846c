"""Register accumulation of a gather: inside a parallel node loop over ``u``, the
reductions of a loop over ``u``'s edges into ``u``'s own entries accumulate in a local
variable, loaded before the edge loop and stored once after it (the tight pull loop)::

    for u in nodes() @par:                      acc = contrib[u]
      for e in in_edges(u):               ->    for e in in_edges(u): acc add= share[e.src]
        contrib[u] add= share[e.src]            contrib[u] = acc

The same for a reduction whose index does not change in the edge loop (TC's ``tri[u]``,
``tri[v]`` in its merge over ``w``), when the reduction is exact in any order (integer
add, min, max, or, and) and the parallel nest never reads the table: the loop's
contributions combine in a register from the identity and reach the entry in one
reduction after the loop (atomic when the entry is shared, as before) -- no reader in
the nest can tell, and the operator being commutative and associative on its type, the
table ends with the same values.

Split accumulators: when the edge loop is ``@par`` (its iterations may run in any order,
the reductions reassociated: the certificate of ``parallelize``, which for a float sum
assumes the ``reassociate-float-sums`` policy and is refused without it), its body is
only such gathered reductions and one of them is a float add, the loop keeps ``WAYS``
accumulators, edge ``i`` of the row going to accumulator ``i mod WAYS``, and adds them
pairwise after the row: the serial chain of dependent float adds (one add latency per
edge, the bound of a gather whose source values sit in the cache) becomes ``WAYS``
independent chains.  That is one more grouping of the same sum, within the tolerance the
policy states (the check compares within it); integer, min, max, or and and reductions
are exact in any grouping, so they are never split.

Legality (own entry): the entry ``T[u]`` is the iteration's own (no other iteration of the parallel
loop reduces into it: ``sharing``, so no atomic), the edge loop neither reads ``T`` nor
writes it at another index or with another operator, and no reduction into it sets a
change flag.  Then every read-modify-write of ``T[u]`` inside the edge loop sees exactly
the value the previous one left, so carrying that value in a register performs the same
operations on the same operands in the same order: the result is bit for bit the
original's (float sums included), only the memory round trips go.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass

from cosynth.ir.nodes import Assign, EdgeAttr, Load, Loop, Store, Var
from cosynth.ir.walk import iter_exprs, iter_stmts, stmt_exprs

from .exprs import ctype, identity

_EXACT = ("add", "min", "max", "or", "and")

__all__ = ["open_gather", "close_gather", "open_invariant", "close_invariant",
           "split_ways", "emit_split"]

#: accumulators of a split float gather (an add's latency over its throughput, about)
WAYS = 4


def open_gather(cx, s: Loop) -> list[tuple[str, str, str]]:
    """Declare the accumulators of edge loop ``s`` (see the module docstring) and return
    (table, C++ entry, accumulator) for each; ``cx.gathered`` maps the stores to theirs."""
    par = cx.par
    if par is None or par.kind != "nodes" or s.kind not in ("in_edges", "out_edges") or \
            not (isinstance(s.of, Var) and s.of.name == par.var):
        return []
    stores: dict[str, list[Store]] = {}
    blocked: set[str] = set()
    for x, _ in iter_stmts(s.body):
        if isinstance(x, Store):
            t = cx.tables[x.table]
            own = isinstance(x.index, Var) and x.index.name == par.var
            if t.space != "node" or x.op is None or not own or x.flag or \
                    id(x) in cx.shared_stores or x.table in cx.atomic_tables or \
                    any(q.lf.table == x.table for q in cx.levels):  # queued (sparse.py)
                blocked.add(x.table)
            else:
                stores.setdefault(x.table, []).append(x)
        for e in ([] if isinstance(x, Loop) and x is s else stmt_exprs(x)):
            for y in iter_exprs(e):
                if isinstance(y, Load):
                    blocked.add(y.table)
    out = []
    for name, group in sorted(stores.items()):
        if name in blocked or len({x.op for x in group}) != 1:
            continue
        t = cx.tables[name]
        acc = cx.tmp("acc")
        entry = f"{name}[{cx.local_index(group[0].index, 0)}]"
        cx.out(f"{ctype(t.dtype)} {acc} = {entry};  // gathered in a register (gather.py)")
        for x in group:
            cx.gathered[id(x)] = acc
        out.append((name, entry, acc))
    return out


def open_invariant(cx, s: Loop) -> list[tuple[Store, str]]:
    """Declare registers for the reductions of edge loop ``s`` at indices it does not
    change (see the module docstring); returns (a store applying the register after the
    loop, the register)."""
    par = cx.par
    if par is None or s.kind not in ("in_edges", "out_edges") or s is par:
        return []
    varying = {s.var} | {n for n, _ in s.locals} | {
        x.name for x, _ in iter_stmts(s.body) if isinstance(x, Assign)} | {
        x.var for x, _ in iter_stmts(s.body) if isinstance(x, Loop) and x.var}
    read = {y.table for x, _ in iter_stmts(par.body) for e in stmt_exprs(x)
            for y in iter_exprs(e) if isinstance(y, Load)}
    flagged = {x.table for x, _ in iter_stmts(par.body) if isinstance(x, Store) and x.flag}
    flagged |= {q.lf.table for q in cx.levels}  # each change queues its vertex (sparse.py)
    out = []
    seen: dict[tuple, str] = {}
    for x, _ in iter_stmts(s.body):
        if not isinstance(x, Store) or id(x) in cx.gathered:
            continue
        t = cx.tables[x.table]
        if t.space != "node" or x.op not in _EXACT or t.dtype.is_float or \
                x.table in read or x.table in flagged or not _invariant(x.index, varying):
            continue
        ops_here = {y.op for y, _ in iter_stmts(s.body) if isinstance(y, Store)
                    and y.table == x.table}
        if len(ops_here) != 1:
            continue
        key = (x.table, repr(_strip(x.index)))
        acc = seen.get(key)
        if acc is None:
            acc = cx.tmp("acc")
            seen[key] = acc
            cx.out(f"{ctype(t.dtype)} {acc} = {identity(x.op, t.dtype)};  // combined in "
                   "a register, applied after the loop (gather.py)")
            after = Store(x.table, x.index, Var(acc, t.dtype), x.op, loc=x.loc)
            if id(x) in cx.shared_stores:
                cx.shared_stores.add(id(after))
            out.append((after, acc))
        cx.gathered[id(x)] = acc
    return out


def close_invariant(cx, accs: list[tuple[Store, str]]) -> None:
    """Apply each register to its entry with the loop's reduction."""
    for after, _acc in accs:
        cx.visit(after)


def _invariant(e, varying: set) -> bool:
    for y in iter_exprs(e):
        if isinstance(y, Var) and y.name in varying:
            return False
        if isinstance(y, EdgeAttr) and y.edge in varying:
            return False
        if isinstance(y, Load):
            return False
    return True


def _strip(e):
    if not is_dataclass(e):
        return e
    return tuple((f.name, _strip(getattr(e, f.name))) for f in fields(e) if f.name != "loc")


def split_ways(cx, s: Loop, accs: list[tuple[str, str, str]]) -> int:
    """How many accumulators edge loop ``s`` keeps (1: not split; see the module
    docstring): ``WAYS`` when it is ``@par``, its body only the gathered reductions and
    one of them a float add."""
    if s.schedule != "par" or not accs or s.locals or \
            not all(isinstance(x, Store) and id(x) in cx.gathered for x in s.body):
        return 1
    floats = [x for x in s.body if cx.tables[x.table].dtype.is_float]
    if not floats or any(x.op != "add" for x in floats):
        return 1
    return WAYS


def emit_split(cx, s: Loop, accs: list[tuple[str, str, str]], of: str, pos: str,
               ways: int) -> None:
    """The edge loop over ``of``'s row (position variable ``pos``), its float sums in
    ``ways`` accumulators combined pairwise after it; integer reductions keep one."""
    side = "in" if s.kind == "in_edges" else "out"
    begin, end = f"G.{side}_begin({of})", f"G.{side}_end({of})"
    names = {}
    for name, _entry, acc in accs:
        t = cx.tables[name]
        if t.dtype.is_float:
            names[acc] = [acc] + [cx.tmp("acc") for _ in range(ways - 1)]
            zero = identity("add", t.dtype)
            decl = ", ".join(f"{a} = {zero}" for a in names[acc][1:])
            cx.out(f"{ctype(t.dtype)} {decl};  // {ways} sums of the row (gather.py)")
        else:
            names[acc] = [acc] * ways
    at, stop = cx.tmp("p"), cx.tmp("pe")
    cx.out(f"int64_t {at} = {begin}; const int64_t {stop} = {end};")
    cx.out(f"for (; {at} + {ways - 1} < {stop}; {at} += {ways}) {{")
    saved = {id(x): cx.gathered[id(x)] for x in s.body}
    for way in range(ways):
        for x in s.body:
            cx.gathered[id(x)] = names[saved[id(x)]][way]
        cx.out(f"  {{ const int64_t {pos} = {at} + {way};")
        cx.ind += 2
        cx.block(s.body)
        cx.ind -= 2
        cx.out("  }")
    cx.gathered.update(saved)
    cx.out("}")
    cx.out(f"for (int64_t {pos} = {at}; {pos} < {stop}; ++{pos}) {{")
    cx.ind += 1
    cx.block(s.body)
    cx.ind -= 1
    cx.out("}")
    for acc, group in names.items():
        if group[0] != group[-1]:
            cx.out(f"{acc} = {_pairwise(group)};")


def _pairwise(terms: list[str]) -> str:
    if len(terms) == 1:
        return terms[0]
    h = len(terms) // 2
    return f"({_pairwise(terms[:h])} + {_pairwise(terms[h:])})"


def close_gather(cx, accs: list[tuple[str, str, str]]) -> None:
    """Store the accumulators back into their entries."""
    for _name, entry, acc in accs:
        cx.out(f"{entry} = {acc};")
