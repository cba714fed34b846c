"""Which scalars are private to a loop iteration and which are shared (scalar tables).

Python has one scope per function; the IR needs to know whether a scalar's value flows
between iterations of a node/edge loop.  The analysis:

1. Reaching definitions over the structured IR (loops iterate to a fixed point).  A read
   that some path reaches before any assignment is refused here, at trace time, where
   Python would raise NameError at run time.
2. Def-use *webs*: the assignments and reads of a name connected by reaching
   definitions.  Reusing a name for an unrelated temporary gives separate webs.
3. A web whose assignments and reads all lie inside one node/edge loop is *private* to
   the innermost such loop: listed in that loop's ``locals``, written with ``Assign`` and
   read with ``Var``.  (No read inside can see a value from a previous iteration: that
   value would also reach the read from before the loop, so the web would have an
   occurrence outside it, or the read would be undefined on the first iteration.)
4. Every other web of the name forms the *shared* scalar: a scalar table, written with
   ``Store(x, None, ...)`` and read with ``Load(x, None)``.

Private webs are renamed (``name_1`` ...) where their name would clash with a shared
scalar or with a private of an enclosing loop.
"""

from __future__ import annotations

from dataclasses import replace

from cosynth.errors import KernelError
from cosynth.ir.nodes import Assign, Expr, If, Kernel, Load, Loop, Store, Table, Var
from cosynth.ir.visit import Transformer, Visitor
from cosynth.ir.walk import iter_exprs, iter_stmts, stmt_exprs

from .trace import RawKernel

__all__ = ["resolve_scopes"]

_UNDEF = 0


def resolve_scopes(raw: RawKernel) -> Kernel:
    names = set(raw.scalars)
    rd = _ReachingDefs(names)
    rd.run(raw.body, raw.returns)
    webs = rd.webs()
    # web id -> owning loop (or None: shared)
    owner: dict[int, Loop | None] = {}
    for web, occ_paths in webs.items():
        common = occ_paths[0]
        for p in occ_paths[1:]:
            k = 0
            while k < min(len(common), len(p)) and common[k] is p[k]:
                k += 1
            common = common[:k]
        data = [lp for lp in common if lp.is_data_loop]
        owner[web] = data[-1] if data else None
    shared = {rd.web_name[w] for w, lp in owner.items() if lp is None}
    # choose names for private webs
    new_name: dict[int, str] = {}
    used = set(raw.tables) | names | {p.name for p in raw.params} | rd.loop_vars
    declared: dict[int, dict[str, str]] = {}  # id(loop) -> {orig name: local name}
    for web in sorted(owner, key=lambda w: (len(rd.loop_path[id(owner[w])])
                                            if owner[w] is not None else -1, w)):
        lp = owner[web]
        name = rd.web_name[web]
        if lp is None:
            new_name[web] = name
            continue
        mine = declared.setdefault(id(lp), {})
        if name in mine:
            new_name[web] = mine[name]
            continue
        outer = {v for anc in rd.loop_path[id(lp)] for v in declared.get(id(anc), {}).values()}
        local = name
        if name in shared or local in outer:
            k = 1
            while f"{name}_{k}" in used:
                k += 1
            local = f"{name}_{k}"
            used.add(local)
        mine[name] = local
        new_name[web] = local
    locals_of = {lid: tuple((local, raw.scalars[orig]) for orig, local in d.items())
                 for lid, d in declared.items()}
    site_web = rd.site_web
    private_sites = {site: new_name[w] for site, w in site_web.items() if owner[w] is not None}

    resolve = _Resolve(names, private_sites, locals_of)
    body = resolve.visit_body(raw.body)
    returns = tuple(resolve.visit(r) for r in raw.returns)
    tables = dict(raw.tables)
    for name in sorted(shared):
        tables[name] = Table(name, "scalar", raw.scalars[name], "local",
                             loc=raw.scalar_locs.get(name))
    order = _table_order(tables, body, returns)
    return Kernel(raw.name, tuple(raw.params), tuple(tables[n] for n in order), body, returns,
                  raw.weight_dtype, loc=raw.loc)


class _Resolve(Transformer):
    """Rewrites every occurrence of a traced scalar: a private web's to its local name
    (``Assign``/``Var``), a shared one's to the scalar table (``Store``/``Load``); each
    loop gets the privates it owns."""

    def __init__(self, names: set[str], private_sites: dict[int, str], locals_of: dict):
        self.names = names
        self.private_sites = private_sites
        self.locals_of = locals_of

    def visit_Var(self, e: Var) -> Expr:
        if e.name not in self.names:
            return e
        local = self.private_sites.get(id(e))
        if local is not None:
            return replace(e, name=local)
        return Load(e.name, None, e.dtype, e.weak, loc=e.loc)

    def visit_Assign(self, s: Assign):
        local = self.private_sites.get(id(s))
        value = self.visit(s.value)
        if local is not None:
            return replace(s, name=local, value=value)
        return Store(s.name, None, value, s.op, loc=s.loc)

    def visit_Loop(self, s: Loop):
        return replace(self.generic_visit(s), locals=self.locals_of.get(id(s), ()))


class _ReachingDefs(Visitor):
    """Forward reaching-definitions analysis; builds def-use webs by union-find.

    ``flow`` runs a body from a state (name -> reaching def numbers) to the state after
    it; the statement methods update ``self.state`` at ``self.path`` (enclosing loops)."""

    def __init__(self, names: set[str]):
        self.names = names
        self.def_ids: dict[int, int] = {}      # id(Assign) -> def number (>= 1)
        self.def_name: dict[int, str] = {}     # def number -> name
        self.def_path: dict[int, tuple] = {}   # def number -> enclosing loops
        self.use_defs: dict[int, set] = {}     # id(Var) -> reaching def numbers
        self.use_node: dict[int, Var] = {}
        self.use_path: dict[int, tuple] = {}
        self.loop_path: dict[int, tuple] = {}  # id(Loop) -> enclosing loops
        self.loop_vars: set[str] = set()
        self.state: dict = {}
        self.path: tuple = ()

    def run(self, body, returns):
        state = {n: frozenset([_UNDEF]) for n in self.names}
        state = self.flow(body, state, ())
        for r in returns:
            self.uses(r, state, ())
        for uid, defs in self.use_defs.items():
            if _UNDEF in defs:
                v = self.use_node[uid]
                raise KernelError(
                    f"'{v.name}' may be used before it is assigned", loc=v.loc,
                    hint=f"give '{v.name}' a value before this point on every path "
                         "(a loop body may run zero times)")

    def uses(self, e: Expr, state, path):
        for x in iter_exprs(e):
            if isinstance(x, Var) and x.name in self.names:
                self.use_defs.setdefault(id(x), set()).update(state[x.name])
                self.use_node[id(x)] = x
                self.use_path[id(x)] = path

    def flow(self, body, state, path):
        outer = self.path
        self.state, self.path = state, path
        try:
            for s in body:
                self.visit(s)
            return self.state
        finally:
            self.path = outer

    def visit_Assign(self, s: Assign):
        self.uses(s.value, self.state, self.path)
        if s.name in self.names:
            d = self.def_ids.setdefault(id(s), len(self.def_ids) + 1)
            self.def_name[d] = s.name
            self.def_path[d] = self.path
            self.state = {**self.state, s.name: frozenset([d])}

    def visit_If(self, s: If):
        state, path = self.state, self.path
        self.uses(s.cond, state, path)
        a = self.flow(s.then, state, path)
        b = self.flow(s.orelse, state, path)
        self.state = _merge(a, b)

    def visit_Loop(self, s: Loop):
        state, path = self.state, self.path
        self.loop_path[id(s)] = path
        if s.var is not None:
            self.loop_vars.add(s.var)
        for k in ("of", "start", "stop", "step"):
            if getattr(s, k) is not None:
                self.uses(getattr(s, k), state, path)
        inner = path + (s,)
        head = state
        while True:
            if s.cond is not None:
                self.uses(s.cond, head, path)
            end = self.flow(s.body, head, inner)
            new = _merge(state, end)
            if new == head:
                break
            head = new
        self.state = head

    def visit_Stmt(self, s):
        for e in stmt_exprs(s):
            self.uses(e, self.state, self.path)

    def webs(self) -> dict[int, list]:
        parent = {d: d for d in self.def_name}

        def find(x):
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for defs in self.use_defs.values():
            ds = sorted(defs)
            for d in ds[1:]:
                parent[find(d)] = find(ds[0])
        occ: dict[int, list] = {}
        self.web_name: dict[int, str] = {}
        self.site_web: dict[int, int] = {}
        for sid, d in self.def_ids.items():
            w = find(d)
            occ.setdefault(w, []).append(self.def_path[d])
            self.web_name[w] = self.def_name[d]
            self.site_web[sid] = w
        for uid, defs in self.use_defs.items():
            w = find(min(defs))
            occ[w].append(self.use_path[uid])
            self.site_web[uid] = w
        return occ


def _merge(a: dict, b: dict) -> dict:
    return {k: a[k] | b[k] for k in a}


def _table_order(tables: dict, body, returns) -> list[str]:
    """Tables in a canonical order: inputs, the weight, then by first appearance."""
    seen: dict[str, None] = {}
    for s, _ in iter_stmts(body):
        name = getattr(s, "table", None)
        if isinstance(name, str) and name in tables:
            seen.setdefault(name)
        for e in stmt_exprs(s):
            for x in iter_exprs(e):
                if isinstance(x, Load) and x.table in tables:
                    seen.setdefault(x.table)
    for r in returns:
        for x in iter_exprs(r):
            name = getattr(x, "table", None)
            if name in tables:
                seen.setdefault(name)
    for name in tables:
        seen.setdefault(name)
    order = list(seen)
    roles = {"input": 0, "weight": 1, "local": 2}
    return sorted(order, key=lambda n: (roles[tables[n].role], order.index(n)))
