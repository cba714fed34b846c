"""Which loops of a kernel become hardware, and what every edge rule of the unit computes.

An FPGA *edge unit* streams edges ``(src, dst, weight)`` one per clock, reads the vertex
tables at the edge's endpoints from on-chip memories, evaluates the loop body's
expressions and applies its reductions (min/max/add/or/and, optionally raising a change
flag), each into a different vertex table at one of the edge's endpoints.  A kernel gets
one unit; each loop the unit runs in place of the host is a *site*, and each edge loop of
a site is a *rule* (the unit's ``RULE`` register selects it).  Three site forms:

``nest``
    a ``par``/``bsp``/``async`` node loop whose body holds only privates, ifs and loops
    over ``out_edges(v)``/``in_edges(v)``.  The node loop's guards and privates fold into
    each rule, with ``v`` bound to the edge's source (out-edges) or destination
    (in-edges); the host streams every edge of the loop's vertex range, one pass per rule::

        for v in nodes() @par:                    rule 0 (edges in CSR order):
          if depth[v] == level:            ->       if depth[e.src] == level:
            for e in out_edges(v) @par:                nd := level + 1
              nd := level + 1                          depth[e.dst] min= nd -> active
              depth[e.dst] min= nd -> active

``edges``
    a ``par``/``bsp``/``async`` loop over ``edges()`` (the edge-centric variant): one
    rule, edges streamed in id order.
``vertex``
    a proven-parallel edge loop of one vertex whose enclosing node loop cannot go to
    hardware as a whole (k-core's peeling: a sequential loop that also updates the
    vertex itself): the host streams that vertex's edges each time it reaches the loop.

A rule makes one or more reductions, each into a different vertex table at an endpoint
(at most one change flag among them), computes on integers and bools (floats only under
the kernel's fixed-point policy, ``cosynth.fixed``), reads vertex tables only at the
edge's endpoints (never the entry it reduces), the weight of its own edge, and scalars
the loop does not write -- parameters, host locals and the counters of enclosing loops
(``level`` in ``for level in range(k)``), each a register the host writes before every
call.
Everything else is refused with the reason, which is what the planner asks ("is this
eligible?"); ``backends.rtl.estimate`` answers "at what cost".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from cosynth import ops
from cosynth.dtypes import DType, i64
from cosynth.errors import CosynthError
from cosynth.frontend.rewrite.core import loop_label, loops
from cosynth.frontend.rewrite.laws import reorderable, semilattice
from cosynth.ir.nodes import (
    Alloc,
    Assign,
    Bin,
    Cast,
    Const,
    EdgeAttr,
    Expr,
    GraphQuery,
    If,
    Kernel,
    Load,
    Loop,
    Store,
    Un,
    Var,
)
from cosynth.ir.visit import Visitor
from cosynth.ir.walk import iter_exprs, iter_stmts, loads_role, stmt_exprs

__all__ = ["Rule", "Update", "Site", "UnitSpec", "NotEligible", "find_sites", "unit_spec",
           "parallel_safe",
           "HW_VARIANTS", "REDUCE_HW"]

#: variants tried, in order, when the caller does not name one: relaxed fixed points
#: converge in fewer sweeps, and node-loop nests read their tables live
HW_VARIANTS = ("async", "par", "edges", "pull")
#: the reductions an edge unit applies: those whose operator has a hardware builder in
#: the operator table (in the table's order, which numbers them in the unit's registers)
REDUCE_HW = tuple(r.name for r in ops.REDUCTIONS.values() if r.op.rtl)
#: operators a rule may compute in one cycle: those the table builds in hardware
_OK_BIN = frozenset(op.name for op in ops.BINARY.values() if op.rtl)
_OK_UN = frozenset(op.name for op in ops.UNARY.values() if op.rtl)
#: operators on fixed-point values that are the integer operators on their words (sums,
#: differences, comparisons, min/max): a product or quotient would need rescaling
_OK_FIXED = frozenset(("+", "-", "min", "max", "<", "<=", ">", ">=", "==", "!=", "and",
                       "or"))


class NotEligible(CosynthError):
    """The loop (or the kernel) cannot become hardware; the message says why."""


@dataclass(frozen=True)
class Update:
    """One reduction a rule makes per edge: ``target[e.<target_end>] op= value``,
    raising ``flag`` when it changes the entry."""

    target: str
    target_end: str  # src | dst
    op: str
    flag: str | None

    @property
    def other_end(self) -> str:
        return "dst" if self.target_end == "src" else "src"


@dataclass(frozen=True)
class Rule:
    """One edge loop as the unit computes it, per streamed edge ``edge``.  ``target``,
    ``target_end``, ``op`` and ``flag`` are its first reduction; ``updates`` lists all of
    them (into different tables), in the body's order."""

    label: str
    kind: str  # out_edges | in_edges | edges: how the host orders the edges it streams
    edge: str
    vertex: str | None  # node variable bound to the edge's src (out) / dst (in)
    body: tuple  # per-edge statements: node-loop guards and privates folded in
    target: str
    target_end: str  # src | dst
    op: str
    flag: str | None
    line: int = 0
    updates: tuple = ()  # Update, ...: every reduction of the rule (the first included)

    @property
    def other_end(self) -> str:
        return "dst" if self.target_end == "src" else "src"

    @property
    def ups(self) -> tuple:
        """Every reduction of the rule (a rule made by hand may list none: its first)."""
        return self.updates or (Update(self.target, self.target_end, self.op, self.flag),)

    def update_of(self, table: str):
        """The rule's reduction into ``table``, or None."""
        return next((u for u in self.ups if u.target == table), None)

    def read_end(self, table: str) -> str | None:
        """The endpoint at which the rule reads the written table ``table`` (unit_spec
        makes it unique), or None."""
        ends = sorted(end for t, end in rule_reads(self) if t == table)
        return ends[0] if ends else None


@dataclass(frozen=True)
class Site:
    """A loop of the kernel that the unit runs in the host's place."""

    path: tuple  # address of the loop in the variant kernel (frontend.rewrite.core)
    form: str  # nest | edges | vertex
    label: str
    schedule: str
    rules: tuple[int, ...]  # indexes into UnitSpec.rules
    line: int = 0


@dataclass
class UnitSpec:
    """Everything the generator, the register map and the host need to know of a unit."""

    name: str
    kernel: Kernel  # the variant kernel the sites' paths refer to
    variant: str
    sites: list[Site]
    rules: list[Rule]
    tables: dict[str, DType]  # vertex tables held on chip
    written: set[str]  # tables some rule reduces
    params: dict[str, DType]  # scalars the host writes into registers before a run
    weight: DType | None  # the edge weight's type, when some rule reads it
    refused: list[tuple[str, str]] = field(default_factory=list)  # (loop, reason)
    #: the fixed-point policy its float tables, scalars and weights are held in (None: no
    #: float enters the unit) and the reduction laws proved again on that semantics
    fixed: object = None
    fixed_laws: list = field(default_factory=list)

    @property
    def snapshot_tables(self) -> list[str]:
        """Written tables a ``bsp`` rule reads at its other endpoint: they need a copy
        that keeps the values from before the sweep (Jacobi)."""
        out = []
        for t in sorted(self.written):
            for s in self.sites:
                if s.schedule == "bsp" and any(
                        self.rules[r].read_end(t) is not None for r in s.rules):
                    out.append(t)
                    break
        return out


# ------------------------------------------------------------------------------ search
def find_sites(k: Kernel) -> tuple[list[tuple[Site, list[Rule]]], list[tuple[str, str]]]:
    """The offloadable sites of kernel ``k`` (a variant) with their rules, and
    ``(loop, reason)`` for every parallel data loop that cannot go to hardware."""
    found: list[tuple[Site, list[Rule]]] = []
    refused: list[tuple[str, str]] = []
    covered: list[tuple] = []
    for path, loop in loops(k):
        if any(path[:len(c)] == c for c in covered):
            continue
        if not loop.is_data_loop:
            continue
        label = loop_label(loop)
        line = loop.loc.line if loop.loc else 0
        if loop.kind == "nodes" and not any(
                isinstance(s, Loop) and s.is_edge_loop for s, _ in iter_stmts(loop.body)):
            continue  # vertex work only: it stays with the host, nothing to stream
        if loop.kind == "nodes" and loop.schedule != "seq":
            try:
                rules = _nest_rules(k, loop)
                found.append((Site(path, "nest", label, loop.schedule, (), line), rules))
                covered.append(path)
                continue
            except NotEligible as exc:
                # its edge loops may still go one vertex at a time (below); the nest's
                # reason counts only if they cannot either
                nest_refusal = (label, exc.message)
                if not _any_edge_site_later(loop):
                    refused.append(nest_refusal)
                continue
        if loop.kind == "edges" and loop.schedule != "seq":
            try:
                rule = _rule(k, loop, None, (), label)
                found.append((Site(path, "edges", label, loop.schedule, (), line), [rule]))
            except NotEligible as exc:
                refused.append((label, exc.message))
            covered.append(path)
            continue
        if loop.kind in ("out_edges", "in_edges") and loop.schedule != "seq":
            if not isinstance(loop.of, Var):
                refused.append((label, "it walks the edges of a computed vertex"))
                continue
            try:
                rule = _rule(k, loop, loop.of.name, (), label)
                found.append((Site(path, "vertex", label, loop.schedule, (), line), [rule]))
            except NotEligible as exc:
                refused.append((label, exc.message))
            covered.append(path)
    seen, unique = set(), []
    for lbl, why in refused:
        if why not in seen:
            seen.add(why)
            unique.append((lbl, why))
    return found, unique


def _any_edge_site_later(loop: Loop) -> bool:
    """Does the node loop hold proven-parallel edge loops (tried one vertex at a time)?"""
    return any(isinstance(s, Loop) and s.is_edge_loop and s.schedule != "seq"
               for s, _ in iter_stmts(loop.body))


def unit_spec(k: Kernel, variant: str, name: str | None = None) -> UnitSpec:
    """The unit for kernel ``k`` (already rewritten to ``variant``); raises NotEligible
    when no loop of it can go to hardware."""
    found, refused = find_sites(k)
    if not found:
        why = "; ".join(f"{lbl}: {r}" for lbl, r in refused) or \
            "no proven-parallel loop over edges (see cosynth rewrite for why)"
        raise NotEligible(why)
    rules: list[Rule] = []
    sites: list[Site] = []
    for site, rs in found:
        idx = tuple(range(len(rules), len(rules) + len(rs)))
        rules.extend(rs)
        sites.append(Site(site.path, site.form, site.label, site.schedule, idx, site.line))
    tables = k.table_map
    on_chip: dict[str, DType] = {}
    params: dict[str, DType] = {}
    written = {u.target for r in rules for u in r.ups}
    weight = None
    for r in rules:
        for u in r.ups:
            on_chip[u.target] = tables[u.target].dtype
        for t, _ in rule_reads(r):
            on_chip[t] = tables[t].dtype
        for name_, d in rule_scalars(k, r).items():
            params[name_] = d
        if rule_uses_weight(k, r):
            weight = k.weight_dtype
    for r in rules:
        for t in sorted({t for t, _ in rule_reads(r) if t in written}):
            ends = sorted(end for tt, end in rule_reads(r) if tt == t)
            if len(ends) > 1:
                raise NotEligible(f"{r.label}: it reads '{t}' at both endpoints while a "
                                  f"rule writes '{t}' (one read port follows the writes)")
    params = {p: params[p] for p in sorted(params)}
    on_chip = {t: on_chip[t] for t in sorted(on_chip)}
    spec = UnitSpec(name or k.name, k, variant, sites, rules, on_chip, written, params,
                    weight, refused)
    floats = any(d.is_float for d in list(on_chip.values()) + list(params.values())) or \
        (weight is not None and weight.is_float)
    if floats:
        spec.fixed = k.fixed
        _fixed_fills(k, spec)
        spec.fixed_laws = _fixed_laws(spec)
    return spec


def _fixed_fills(k: Kernel, spec: UnitSpec) -> None:
    """A float table the unit holds must not start at infinity or NaN (SSSP's ``INF``):
    no fixed-point word represents it, so every call would be refused at run time."""
    for s, _ in iter_stmts(k.body):
        if isinstance(s, Alloc) and s.table in spec.tables and \
                spec.tables[s.table].is_float and isinstance(s.fill, Const) and \
                not math.isfinite(float(s.fill.value)):
            raise NotEligible(f"'{s.table}' starts at {s.fill.value!r}, which no "
                              f"fixed-point ({k.fixed.name}) word represents (use a finite "
                              "bound, or integer tables and weights)")


def _fixed_laws(spec: UnitSpec) -> list:
    """The laws the unit's float reductions rely on, proved again with Z3 on the words
    that hold them (64-bit bit-vectors: ``add`` wraps, and wrapping addition is
    associative, so sums need no reassociation assumption); an asynchronous site also
    needs idempotence.  A refuted law refuses the unit."""
    out, seen = [], set()
    for s in spec.sites:
        for u in (u for i in s.rules for u in spec.rules[i].ups):
            if not spec.tables[u.target].is_float:
                continue
            key = (u.op, s.schedule == "async")
            if key in seen:
                continue
            seen.add(key)
            laws = semilattice(u.op, i64) if key[1] else reorderable(u.op, i64)
            for law in laws:
                if law.status != "proved":
                    raise NotEligible(
                        f"{s.label}: on fixed-point {spec.fixed.name} words the "
                        f"{law.name} law of {u.op} is {law.status} ({law.describe()})")
                out.append(law)
    return out


# --------------------------------------------------------------------------- nests
def _nest_rules(k: Kernel, loop: Loop) -> list[Rule]:
    """Rules of a node loop whose body is privates, ifs and edge loops of ``v``."""
    v = _NestRules(k, loop)
    v.visit_body(loop.body, "body", loop)
    if not v.rules:
        raise NotEligible("no edge loop to stream")
    # a private of the node loop is a rule's local only when assigned before its edge
    # loop; one assigned after it is no loop invariant, so no register can hold it
    assigned = {s.name for s, _ in iter_stmts(loop.body) if isinstance(s, Assign)}
    for r in v.rules:
        own = {s.name for s, _ in iter_stmts(r.body) if isinstance(s, Assign)}
        for name in sorted(_vars_read(r.body) & (assigned - own)):
            raise NotEligible(f"{r.label} reads '{name}', which the node loop assigns "
                              "after it")
    return v.rules


def _vars_read(body) -> set[str]:
    return {x.name for s, _ in iter_stmts(body) for ex in stmt_exprs(s)
            for x in iter_exprs(ex) if isinstance(x, Var)}


class _NestRules(Visitor):
    """The rules of a node loop's edge loops; ``guards`` are the ``(condition, branch)``
    of the ifs around the statement, ``prefix`` the privates assigned before it."""

    def __init__(self, k: Kernel, loop: Loop):
        self.k, self.v = k, loop.var
        self.rules: list[Rule] = []
        self.guards: tuple = ()
        self.prefix: list = []

    def visit_Assign(self, s: Assign):
        if s.op is not None:
            raise NotEligible(f"the node loop reduces into the private '{s.name}'")
        self.prefix = self.prefix + [s]

    def visit_If(self, s: If):
        outer = (self.guards, self.prefix)
        try:
            for field_, body, branch in (("then", s.then, True), ("orelse", s.orelse, False)):
                self.guards, self.prefix = outer[0] + ((s.cond, branch),), list(outer[1])
                self.visit_body(body, field_)
        finally:
            self.guards, self.prefix = outer

    def visit_Loop(self, s: Loop):
        if s.kind in ("out_edges", "in_edges") and isinstance(s.of, Var) and \
                s.of.name == self.v:
            if s.schedule == "seq":
                raise NotEligible(f"{loop_label(s)} is sequential")
            self.rules.append(_rule(self.k, s, self.v, _fold(self.guards, self.prefix),
                                    loop_label(s)))
        else:
            raise NotEligible(f"it holds {loop_label(s)}, which is not an edge loop "
                              f"of {self.v}")

    def visit_Store(self, s: Store):
        raise NotEligible(f"it also writes '{s.table}' outside its edge loops "
                          "(only the edge loops go to hardware)")

    def visit_Stmt(self, s):
        raise NotEligible(f"a {type(s).__name__.lower()} statement in the node loop")


def _fold(guards: tuple, prefix: list) -> tuple:
    """The node loop's privates, then its guards as ifs, around an edge loop's body
    (filled in by ``_rule``)."""
    return (tuple(prefix), guards)


# ----------------------------------------------------------------------------- rules
def _rule(k: Kernel, loop: Loop, vertex: str | None, context, label: str) -> Rule:
    """The rule of one edge loop; ``context`` is (privates, guards) of its node loop."""
    tables = k.table_map
    e = loop.var
    prefix, guards = context if context else ((), ())
    if loop.kind == "out_edges":
        vend = "src"
    elif loop.kind == "in_edges":
        vend = "dst"
    else:
        vend = None
    body: tuple = tuple(loop.body)
    for cond, branch in reversed(guards):
        body = (If(cond, body, ()),) if branch else (If(cond, (), body),)
    body = tuple(prefix) + body
    for s, _ in iter_stmts(body):
        if isinstance(s, Loop):
            raise NotEligible("a loop inside the edge loop (unbounded nesting per edge)")
    stores = [s for s, _ in iter_stmts(body) if isinstance(s, Store)]
    if not stores:
        raise NotEligible("no store per edge; an edge unit applies reductions")
    updates: list[Update] = []
    for st in stores:
        if st.op is None:
            raise NotEligible(f"a plain store into '{st.table}' (last writer wins); an "
                              "edge unit applies reductions")
        if st.op not in REDUCE_HW:
            raise NotEligible(f"reduction '{st.op}' has no hardware unit")
        t = tables[st.table]
        if t.space != "node":
            raise NotEligible(f"it reduces into '{st.table}', which is not a vertex table")
        if t.dtype.is_float and k.fixed is None:
            raise NotEligible(f"'{st.table}' holds {t.dtype.name} values: floats go to "
                              "hardware only under a declared fixed-point policy "
                              "(@cs.kernel(fixed=cs.fixed('Q16.47', atol=1e-9)) or --fixed), "
                              "else use integer tables and weights (as "
                              "examples/sssp.py:sssp_int does)")
        end = _endpoint(st.index, e, vertex, vend)
        if end is None:
            raise NotEligible(f"it reduces '{st.table}' at an index that is not an "
                              "endpoint of the edge")
        if any(u.target == st.table for u in updates):
            raise NotEligible(f"two reductions into '{st.table}' per edge (a unit reduces "
                              "into each table once per edge; use another table)")
        updates.append(Update(st.table, end, st.op, st.flag))
    flags = sorted({u.flag for u in updates if u.flag})
    if len(flags) > 1:
        raise NotEligible(f"change flags {', '.join(repr(f) for f in flags)} in one edge "
                          "loop (the unit reports one change per run)")
    first = updates[0]
    rule = Rule(label, loop.kind, e, vertex if vend else None, body, first.target,
                first.target_end, first.op, first.flag, loop.loc.line if loop.loc else 0,
                tuple(updates))
    _check_body(k, rule, vend)
    return rule


def _check_body(k: Kernel, r: Rule, vend: str | None) -> None:
    _RuleCheck(k, r, vend).visit_body(r.body)


class _RuleCheck(Visitor):
    """Raises NotEligible at the first statement or expression of a rule's body the
    unit cannot compute (statements in order, each before its expressions)."""

    def __init__(self, k: Kernel, r: Rule, vend: str | None):
        self.k, self.r, self.vend = k, r, vend
        self.tables = k.table_map
        self.locals_ = {s.name for s, _ in iter_stmts(r.body) if isinstance(s, Assign)}
        self.params = {p.name: p for p in k.params}
        self.stmt = None  # the statement whose expressions are being checked

    def visit_Stmt(self, s):
        self.stmt = s
        self.generic_visit(s)

    def visit_Assign(self, s: Assign):
        if s.op is not None:
            raise NotEligible(f"a reduction into the private '{s.name}'")
        self.visit_Stmt(s)

    def visit_Expr(self, x):
        self.typed(x)
        self.generic_visit(x)

    def visit_Bin(self, x: Bin):
        self.typed(x)
        fixed = self.k.fixed
        if fixed is not None and x.op not in _OK_FIXED and (
                x.dtype.is_float or x.a.dtype.is_float or x.b.dtype.is_float):
            raise NotEligible(f"'{x.op}' on fixed-point ({fixed.name}) values has no "
                              "single-cycle hardware unit (+, -, min, max, comparisons "
                              "and selections do)")
        if x.op not in _OK_BIN:
            raise NotEligible(f"'{x.op}' has no single-cycle hardware unit")
        if x.op in ("<<", ">>") and not _const(x.b):
            raise NotEligible(f"a shift '{x.op}' by a computed amount")
        self.generic_visit(x)

    def visit_Cast(self, x: Cast):
        self.typed(x)
        if x.a.dtype.is_float and not x.dtype.is_float:
            raise NotEligible("a conversion from float to an integer")
        self.generic_visit(x)

    def visit_GraphQuery(self, x: GraphQuery):
        self.typed(x)
        if x.fn not in ("num_nodes", "num_edges"):
            raise NotEligible(f"{x.fn}() needs the graph's structure on chip")
        self.generic_visit(x)

    def visit_Un(self, x: Un):
        self.typed(x)
        if x.op not in _OK_UN:
            raise NotEligible(f"'{x.op}' has no hardware unit")
        self.generic_visit(x)

    def visit_EdgeAttr(self, x: EdgeAttr):
        self.typed(x)
        if x.edge == self.r.edge and x.attr == "id" and \
                not _is_weight_index(self.k, self.stmt, x):
            raise NotEligible("it uses the edge id (only weight[e.id] is streamed)")

    def visit_Load(self, x: Load):
        self.typed(x)
        k, r = self.k, self.r
        tt = self.tables[x.table]
        if tt.role == "weight":
            if not (isinstance(x.index, EdgeAttr) and x.index.edge == r.edge):
                raise NotEligible("a weight read at another edge")
            if k.weight_dtype is not None and k.weight_dtype.is_float and k.fixed is None:
                raise NotEligible("the edge weights are floats (declare "
                                  "@cs.kernel(weight=cs.i64), or a fixed-point policy)")
        elif tt.space == "scalar":
            if any(x.table == u.flag for u in r.ups):
                raise NotEligible(f"it reads its own change flag '{x.table}'")
            if _written_in(r, x.table):
                raise NotEligible(f"it writes the scalar '{x.table}' it reads")
        elif tt.space == "node":
            ep = _endpoint(x.index, r.edge, r.vertex, self.vend)
            if ep is None:
                raise NotEligible(f"it reads '{x.table}' at an index that is "
                                  "not an endpoint of the edge")
            if any(x.table == u.target and ep == u.target_end for u in r.ups):
                raise NotEligible(f"the value it reduces into '{x.table}' "
                                  "depends on the entry itself")
        else:
            raise NotEligible(f"it reads the edge table '{x.table}' (only the "
                              "weight is streamed with the edge)")
        self.generic_visit(x)

    def visit_Var(self, x: Var):
        self.typed(x)
        if x.name not in self.locals_ and x.name != self.r.vertex and x.dtype.kind != "edge":
            p = self.params.get(x.name)
            if p is not None and p.kind != "scalar":
                raise NotEligible(f"it reads the array parameter '{x.name}'")
            # otherwise a scalar defined outside the site (a parameter, a host local, the
            # counter of an enclosing loop): no statement of the site assigns it (the
            # site's own privates are the rule's locals), so it is invariant during a
            # call and enters the unit as a register the host writes per call

    def typed(self, x):
        """Every expression computes on integers and bools only, or on floats under the
        kernel's fixed-point policy (then held as fixed-point integers)."""
        d = getattr(x, "dtype", None)
        if d is not None and d.kind == "float" and self.k.fixed is None:
            raise NotEligible("it computes with floats, which go to hardware only under "
                              "a declared fixed-point policy (@cs.kernel(fixed=...) or "
                              "--fixed; else use integer tables and weights)")


def _is_weight_index(k: Kernel, s, x: EdgeAttr) -> bool:
    for ex in stmt_exprs(s):
        for y in iter_exprs(ex):
            if isinstance(y, Load) and y.index == x and k.table(y.table).role == "weight":
                return True
    return False


def _written_in(r: Rule, table: str) -> bool:
    return any(isinstance(s, Store) and s.table == table for s, _ in iter_stmts(r.body))


def _const(e: Expr) -> bool:
    return isinstance(e, Const)


def _endpoint(idx: Expr | None, e: str, vertex: str | None, vend: str | None) -> str | None:
    if isinstance(idx, EdgeAttr) and idx.edge == e and idx.attr in ("src", "dst"):
        return idx.attr
    if vertex is not None and vend is not None and isinstance(idx, Var) and \
            idx.name == vertex:
        return vend
    return None


# ------------------------------------------------------------------------ queries
def rule_reads(r: Rule) -> set[tuple[str, str]]:
    """(table, endpoint) of every vertex-table load in the rule (the RMW excluded)."""
    vend = {"out_edges": "src", "in_edges": "dst"}.get(r.kind)
    out = set()
    for s, _ in iter_stmts(r.body):
        for ex in stmt_exprs(s):
            for x in iter_exprs(ex):
                if isinstance(x, Load) and x.index is not None:
                    ep = _endpoint(x.index, r.edge, r.vertex, vend)
                    if ep is not None:
                        out.add((x.table, ep))
    return out


def rule_scalars(k: Kernel, r: Rule) -> dict[str, DType]:
    """Scalars the rule reads: scalar parameters and scalar tables (registers), and
    ``num_nodes``/``num_edges`` (registers the host sets)."""
    v = _RuleScalars(k, r)
    v.visit_body(r.body)
    return v.out


class _RuleScalars(Visitor):
    def __init__(self, k: Kernel, r: Rule):
        self.tables = k.table_map
        self.params = {p.name: p for p in k.params}
        self.locals_ = {s.name for s, _ in iter_stmts(r.body) if isinstance(s, Assign)}
        self.vertex = r.vertex
        self.out: dict[str, DType] = {}

    def visit_Load(self, x: Load):
        if self.tables[x.table].space == "scalar":
            self.out[x.table] = self.tables[x.table].dtype
        self.generic_visit(x)

    def visit_Var(self, x: Var):
        if x.name in self.locals_ or x.name == self.vertex or x.dtype.kind == "edge":
            return
        p = self.params.get(x.name)
        self.out[x.name] = p.dtype if p is not None else x.dtype

    def visit_GraphQuery(self, x: GraphQuery):
        if x.fn in ("num_nodes", "num_edges"):
            self.out[f"__{x.fn}"] = x.dtype
        self.generic_visit(x)


def rule_uses_weight(k: Kernel, r: Rule) -> bool:
    return loads_role(r.body, k.table_map, "weight")


def parallel_safe(spec: UnitSpec) -> bool:
    """May several PEs run this unit's rules at once?  (``multi``'s docstring: a stale
    read of another PE's window only delays an improvement when the reduction is
    idempotent and the rules repeat until no change.)"""
    return all(r.flag and r.op in ("min", "max", "or", "and") for r in spec.rules)
