"""C++17 for a blade program: one source every blade compiles and runs (code is small and
replicated; each blade's data and range come from its configuration file).

Mapping from the IR:

* tables are ``std::vector`` (node tables full size: mirrors of the entries other blades
  own; bool as ``uint8_t``); scalar tables and privates are C++ variables; the graph is
  the runtime's ``Graph`` shard;
* the outermost ``par``/``bsp``/``async`` node or edge loop of a nest becomes an OpenMP
  ``parallel for``; loops inside it and ``seq`` loops stay sequential;
* inside a parallel loop, a reduction into an entry other iterations may also reach uses
  an atomic (``atomic_min`` ... with a compare-and-swap), reads of such tables are
  relaxed atomic loads, a reduction into a shared scalar uses an OpenMP ``reduction``
  clause on a per-thread accumulator, and a store to the iteration's own entry is plain;
* in a distributed loop (the blade's own range), a reduction into an entry another blade
  owns goes to the table's outbox; ``exchange``/``refresh``/``allreduce`` call the
  runtime's MPI helpers;
* a ``bsp`` loop reads the tables it writes from a copy taken before it;
* integer arithmetic wraps (compiled with ``-fwrapv``), ``//`` and ``%`` floor,
  ``min``/``max`` keep the first operand on ties, float constants are exact hex literals,
  and every unsafe index is checked, failing with the kernel's source line.
"""

from __future__ import annotations

import math
from dataclasses import replace as rep
from typing import Protocol

from cosynth import ops
from cosynth.dtypes import DType, promote
from cosynth.errors import CosynthError
from cosynth.ir.nodes import (
    Alloc,
    AllReduce,
    Assign,
    Bin,
    Cast,
    Const,
    EdgeAttr,
    Exchange,
    Expr,
    GraphQuery,
    If,
    Kernel,
    Load,
    Loop,
    Refresh,
    Select,
    Store,
    TableRef,
    Un,
    Var,
)
from cosynth.ir.nodes import AllReduce as AR
from cosynth.ir.vec import _worklist_plan
from cosynth.ir.walk import iter_exprs, iter_stmts, map_body, map_exprs, stmt_exprs

__all__ = ["emit_program", "needs_full_graph", "CodegenError", "ctype", "spell", "Offload"]


class CodegenError(CosynthError):
    """An IR construct the C++ backend does not support."""


def ctype(d: DType) -> str:
    return {"i32": "int32_t", "i64": "int64_t", "f32": "float", "f64": "double",
            "bool": "uint8_t"}[d.name]


def _ident(op: str, d: DType) -> str:
    """The reduction's identity (``cosynth.ops``) as a C++ literal."""
    return _lit(ops.identity(op, d), d)


def _red(op: str, shared: bool = False) -> str:
    """The runtime helper applying reduction ``op`` (``atomic_*`` when entries are
    shared between threads)."""
    r = ops.reduction(op)
    return r.cpp_atomic if shared else r.cpp_reduce


def spell(spec: ops.Op, d: DType, *operands: str, line: int = 0) -> str:
    """The table's C++ spelling of operator ``spec`` on operands of type ``d`` (operand
    texts already converted to ``d``)."""
    a = operands[0]
    b = operands[1] if len(operands) > 1 else ""
    return spec.cpp_spelling(d).format(a=a, b=b, c=ctype(d), line=line)


def _lit(v, d: DType) -> str:
    if d.is_bool:
        return "1" if v else "0"
    if d.is_int:
        v = int(v)
        if d.bits == 64 and v == -(1 << 63):
            return "(-INT64_MAX - 1)"
        if d.bits == 32 and v == -(1 << 31):
            return "(-INT32_MAX - 1)"
        return f"INT64_C({v})" if d.bits == 64 else f"((int32_t){v})"
    v = float(v)
    if math.isnan(v):
        text = "NAN"
    elif math.isinf(v):
        text = "INFINITY" if v > 0 else "(-INFINITY)"
    else:
        text = v.hex()
    return f"((float){text})" if d.bits == 32 else text


def needs_full_graph(k: Kernel) -> bool:
    """Does some loop visit edges of vertices the blade may not own (then every blade
    loads the whole graph structure)?"""
    owned_vars = set()
    for s, _ in iter_stmts(k.body):
        if isinstance(s, Loop) and s.is_data_loop and s.start is not None and \
                s.kind == "nodes":
            owned_vars.add(s.var)
    for s, _ in iter_stmts(k.body):
        if isinstance(s, Loop) and s.kind in ("out_edges", "in_edges"):
            if not (isinstance(s.of, Var) and s.of.name in owned_vars):
                return True
        if isinstance(s, Loop) and s.kind in ("nodes", "edges") and s.start is None:
            return True
        for e in stmt_exprs(s):
            for x in iter_exprs(e):
                if isinstance(x, GraphQuery) and x.fn == "has_edge":
                    return True
    return False


def emit_program(k: Kernel, source: str = "kernel", hw=None) -> str:
    """C++ for the blade program ``k``; its parameters are read from the configuration as
    ``param.u_<name>`` (every user identifier is prefixed: see ``mangle``).

    ``hw`` (an ``Offload``, e.g. an FPGA unit) puts the loops its device runs there: each
    becomes the device's code on the blades whose configuration says so, and stays the
    CPU code on the others."""
    return _Emitter(mangle(k), source, hw).program()


class Offload(Protocol):
    """A device that runs some loops of the blade program in place of the blade's CPU.

    The driver passes one in (the RTL backend's ``offload.FpgaOffload`` for FPGA edge
    units); the C++ backend knows nothing else of devices.  The emitter (passed as ``cx``,
    see ``_Emitter``'s helpers for offloads) asks it for the program's extra ``includes``,
    which loops it runs (``sites``: ``id`` of a loop of the mangled program -> its site),
    the declarations after the tables (``setup``), for each such loop the code that runs
    it (``call``, inside ``if (guard) { ... }`` whose else branch is the CPU code), and
    the statements before ``MPI_Finalize`` (``finish``).  ``write_bundle`` adds its
    ``files`` and builds with its ``makefile``; run.cfg's ``config_key`` lists, per blade,
    whether it uses the device."""

    guard: str  # C++ condition: this blade uses the device
    config_key: str

    def includes(self) -> list[str]: ...
    def sites(self, k: Kernel) -> dict[int, object]: ...
    def describe(self, site) -> str: ...
    def setup(self, cx) -> None: ...
    def call(self, cx, loop: Loop, site, line: int) -> None: ...
    def finish(self, cx) -> None: ...
    def files(self) -> dict[str, str]: ...
    def makefile(self, flags: str, dflags: str) -> str: ...


def _mangle_name(name: str) -> str:
    return name if name in ("shard_lo", "shard_hi") else f"u_{name}"


def mangle(k: Kernel) -> Kernel:
    """Prefix every user identifier with ``u_`` so that no kernel name can collide with
    the program's own (``n``, ``rank``, ``G`` ...) or with C++ keywords."""


    u = _mangle_name

    def ex(e):
        if isinstance(e, Var):
            return rep(e, name=u(e.name))
        if isinstance(e, Load | TableRef):
            return rep(e, table=u(e.table))
        if isinstance(e, EdgeAttr):
            return rep(e, edge=u(e.edge))
        return e

    def st(x):
        if isinstance(x, Loop):
            return rep(x, var=u(x.var) if x.var else None,
                       locals=tuple((u(n_), d) for n_, d in x.locals))
        if isinstance(x, Assign):
            return rep(x, name=u(x.name))
        if isinstance(x, Store | Exchange):
            return rep(x, table=u(x.table), flag=u(x.flag) if x.flag else None)
        if isinstance(x, Alloc | Refresh | AR):
            return rep(x, table=u(x.table))
        return x
    return rep(k, params=tuple(rep(p, name=u(p.name)) for p in k.params),
               tables=tuple(rep(t, name=u(t.name)) for t in k.tables),
               body=map_body(k.body, st, ex),
               returns=tuple(map_exprs(r, ex) for r in k.returns))


class _Emitter:
    def __init__(self, k: Kernel, source: str, hw: Offload | None = None):
        self.k = k
        self.hw = hw
        self.sites: dict[int, object] = {}
        if hw is not None:
            self.sites = hw.sites(k)
        self.source = source
        self.tables = k.table_map
        self.lines: list[str] = []
        self.ind = 1
        # per parallel region
        self.par: Loop | None = None
        self.shared_stores: set[int] = set()
        self.decls: list[str] = []  # state that persists across a loop's executions
        self.atomic_tables: set[str] = set()
        self.acc: dict[str, str] = {}
        self.snap: dict[str, str] = {}
        self.projected = False
        self.edge_kind: dict[str, tuple[str, str]] = {}  # edge var -> (loop kind, of-expr)
        self.edge_of: dict[str, str | None] = {}  # edge var -> the vertex variable it walks
        self.counter = 0
        self.work: str | None = None  # counters of the nest being measured (nest_done)
        self.work_loop: Loop | None = None  # its outermost loop
        self.boxed = sorted({s.table for s, _ in iter_stmts(k.body) if isinstance(s, Exchange)})
        self.node_vars = {s.var for s, _ in iter_stmts(k.body)
                          if isinstance(s, Loop) and s.kind == "nodes"}

    def out(self, text: str):
        self.lines.append("  " * self.ind + text)

    # what an Offload may use: out() and expr() and ind (the indentation level), and
    @property
    def in_parallel(self) -> bool:
        """Inside a parallel loop (device calls there must take turns)."""
        return self.par is not None

    def on_shard(self, s: Loop) -> bool:
        """The loop runs over the blade's own range (the projection rule's shard)."""
        return self._projected(s)

    def has_outbox(self, table: str) -> bool:
        """A reduction into ``table`` (mangled name) may go to its outbox."""
        return table in self.boxed

    def flag_var(self, name: str) -> str:
        """The C++ variable a kernel's change flag (mangled name) is set through here."""
        return self.acc.get(name, name)

    @staticmethod
    def ctype(d: DType) -> str:
        """The C++ type of a cosynth dtype."""
        return ctype(d)

    @staticmethod
    def mangled(name: str) -> str:
        """The C++ name of a kernel identifier (see ``mangle``)."""
        return _mangle_name(name)

    def tmp(self, base: str) -> str:
        self.counter += 1
        return f"{base}__{self.counter}"

    # ------------------------------------------------------------------ program
    def program(self) -> str:
        k = self.k
        head = [
            f"// generated by cosynth from {_c_string(self.source)} (kernel {k.name}); "
            "do not edit",
            '#include "cosynth_rt.hpp"',
            *(self.hw.includes() if self.hw is not None else []),
            "using namespace cosynth;",
            "",
            "int main(int argc, char** argv) {",
            "  MPI_Init(&argc, &argv);",
            "  int rank = 0, nblades = 1;",
            "  MPI_Comm_rank(MPI_COMM_WORLD, &rank);",
            "  MPI_Comm_size(MPI_COMM_WORLD, &nblades);",
            "  g_rank = rank;",
            f'  g_source = "{_c_string(self.source)}";',
            "  Config cfg = Config::read(argv[1]);",
            '  Graph G = Graph::read(cfg.str("graph") + "." + std::to_string(rank) + ".bin");',
            "  const int64_t n = G.n, m = G.m;",
            "  (void)m;",
            "  Shards sh;",
            '  sh.lo = cfg.list("shard_lo");',
            '  sh.hi = cfg.list("shard_hi");',
            "  sh.rank = rank;",
            "  sh.size = nblades;",
            "  std::vector<int64_t> edge_lo(nblades), edge_hi(nblades);",
            "  {",
            "    std::vector<int64_t> prefix(n + 1, 0);",
            "    for (int64_t v = 0; v < n; ++v) prefix[v + 1] = prefix[v] + G.out_deg[v];",
            "    for (int r = 0; r < nblades; ++r) { edge_lo[r] = prefix[sh.lo[r]]; "
            "edge_hi[r] = prefix[sh.hi[r]]; }",
            "  }",
        ]
        self.lines = head
        for p in k.params:
            if p.kind == "shard":
                attr = "lo" if p.name == "shard_lo" else "hi"
                self.out(f"const int64_t {p.name} = sh.{attr}[rank];")
            elif p.kind == "scalar":
                get = "f64" if p.dtype.is_float else "i64"
                self.out(f'const {ctype(p.dtype)} {p.name} = ({ctype(p.dtype)})cfg.{get}'
                         f'("param.{p.name}");')
        for t in k.tables:
            if t.role == "weight":
                continue
            c = ctype(t.dtype)
            if t.role == "input":
                self.out(f"std::vector<{c}> {t.name}(n);")
                self.out("{")
                self.out(f'  std::ifstream f(cfg.str("input.{t.name}"), std::ios::binary);')
                self.out(f"  f.read(reinterpret_cast<char*>({t.name}.data()), sizeof({c}) * n);")
                self.out("}")
            elif t.space == "node":
                self.out(f"std::vector<{c}> {t.name}(n);")
            elif t.space == "edge":
                self.out(f"std::vector<{c}> {t.name}(m);")
            else:
                self.out(f"{c} {t.name} = 0;")
        for name in self.boxed:
            t = self.tables[name]
            op = next(s.op for s, _ in iter_stmts(k.body) if isinstance(s, Exchange)
                      and s.table == name)
            self.out(f"Outbox<{ctype(t.dtype)}> {name}__box;")
            self.out(f"{name}__box.init(n, {_ident(op, t.dtype)});")
        if self.hw is not None:
            self.hw.setup(self)
        decl_at = len(self.lines)
        self.out("#pragma omp parallel")  # start the thread pool before the clock does
        self.out("{ (void)0; }")
        self.out("MPI_Barrier(MPI_COMM_WORLD);")
        self.out("const double t_start = now();")
        self.block(k.body)
        self.lines[decl_at:decl_at] = ["  " + d for d in self.decls]
        self.out("const double t_total = now() - t_start;")
        for i, r in enumerate(k.returns):
            if isinstance(r, TableRef):
                t = self.tables[r.table]
                if t.space == "node":
                    rng = "sh.lo[rank]", "sh.hi[rank] - sh.lo[rank]"
                else:
                    rng = "edge_lo[rank]", "edge_hi[rank] - edge_lo[rank]"
                self.out(f'write_result(cfg.str("out") + "/result{i}.rank" + '
                         f'std::to_string(rank) + ".bin", {r.table}.data() + {rng[0]}, '
                         f"{rng[1]});")
            else:
                c = ctype(r.dtype)
                self.out(f"{{ {c} value = ({c})({self.expr(r)}); "
                         f'write_result(cfg.str("out") + "/result{i}.rank" + '
                         f'std::to_string(rank) + ".bin", &value, 1); }}')
        self.out('write_stats(cfg.str("out") + "/stats.rank" + std::to_string(rank) + '
                 '".json", t_total);')
        if self.hw is not None:
            self.hw.finish(self)
        self.out("MPI_Finalize();")
        self.out("return 0;")
        self.lines.append("}")
        return "\n".join(self.lines) + "\n"

    # ------------------------------------------------------------------ statements
    def block(self, body):
        for s in body:
            self.stmt(s)

    def stmt(self, s):
        line = s.loc.line if s.loc is not None else 0
        if isinstance(s, Alloc):
            self.out(f"std::fill({s.table}.begin(), {s.table}.end(), "
                     f"({ctype(self.tables[s.table].dtype)})({self.expr(s.fill)}));")
        elif isinstance(s, Assign):
            d = self._local_dtype(s.name)
            v = f"({ctype(d)})({self.expr(s.value)})"
            if s.op is None:
                self.out(f"{s.name} = {v};")
            else:
                self.out(f"{_red(s.op)}(&{s.name}, {v});")
        elif isinstance(s, Store):
            self.store(s, line)
        elif isinstance(s, If):
            self.out(f"if ({self.expr(s.cond)}) {{")
            self.ind += 1
            self.block(s.then)
            self.ind -= 1
            if s.orelse:
                self.out("} else {")
                self.ind += 1
                self.block(s.orelse)
                self.ind -= 1
            self.out("}")
        elif isinstance(s, Loop):
            self.loop(s, line)
        elif isinstance(s, Exchange):
            t = self.tables[s.table]
            flag = f"if (ch) {s.flag} = 1;" if s.flag else "(void)ch;"
            c = ctype(t.dtype)
            self.out(f"{{ bool ch = exchange({s.table}, {s.table}__box, sh, "
                     f"[]({c}* p, {c} v) {{ return {_red(s.op)}(p, v); }});"
                     f" {flag} }}")
        elif isinstance(s, Refresh):
            t = self.tables[s.table]
            if t.space == "node":
                self.out(f"refresh({s.table}, sh.lo, sh.hi, rank);")
            else:
                self.out(f"refresh({s.table}, edge_lo, edge_hi, rank);")
        elif isinstance(s, AllReduce):
            self.out(f"{s.table} = allreduce({s.table}, {ops.reduction(s.op).mpi});")
        else:  # pragma: no cover
            raise CodegenError(f"statement {type(s).__name__}")

    def store(self, s: Store, line: int):
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
                self.out(f"if ({_red(s.op)}(&{target}, {v})) {fl} = 1;")
            else:
                self.out(f"{_red(s.op)}(&{target}, {v});")
            return
        idx = self.index(s.index, t, line)
        if s.op is None:
            self.out(f"{s.table}[{idx}] = {v};")
            return
        shared = self.par is not None and id(s) in self.shared_stores
        flag = self.acc.get(s.flag, s.flag) if s.flag else None
        if self.projected and t.space == "node" and s.table in self.boxed:
            i = self.tmp("i")
            self.out(f"{{ const int64_t {i} = {idx};")
            self.ind += 1
            self.out(f"if ({i} >= shard_lo && {i} < shard_hi) {{")
            fn = _red(s.op, shared)
            call = f"{fn}(&{s.table}[{i}], {v})"
            self.out(f"  if ({call}) {{ {flag + ' = 1;' if flag else ''} }}")
            self.out("} else {")
            self.out(f"  {fn}(&{s.table}__box.val[{i}], {v});")
            self.out(f"  __atomic_store_n(&{s.table}__box.touched[{i}], (uint8_t)1, "
                     "__ATOMIC_RELAXED);")
            self.out("}")
            self.ind -= 1
            self.out("}")
            return
        call = f"{_red(s.op, shared)}(&{s.table}[{idx}], {v})"
        if flag:
            self.out(f"if ({call}) {flag} = 1;")
        else:
            self.out(f"{call};")

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

    def loop(self, s: Loop, line: int):
        site = self.sites.get(id(s))
        if site is not None:
            self.offload(s, site, line)
            return
        if s.is_data_loop and s.schedule != "seq" and self.par is None:
            self.parallel(s, line)
            return
        self.sequential(s, line)

    def _header(self, s: Loop, line: int) -> tuple[list[str], list[str]]:
        """(lines before the for, the for line and what opens the body) of a node or edge
        loop; a loop over one vertex's edges closes one extra brace."""
        if s.kind == "nodes":
            lo = "0" if s.start is None else f"std::max<int64_t>({self.expr(s.start)}, 0)"
            hi = "n" if s.stop is None else f"std::min<int64_t>({self.expr(s.stop)}, n)"
            return [], [f"for (int64_t {s.var} = {lo}; {s.var} < {hi}; ++{s.var}) {{"]
        if s.kind == "edges":
            self.edge_kind[s.var] = ("edges", None)
            self.edge_of[s.var] = None
            if s.start is None:
                return [], [f"for (int64_t {s.var} = 0; {s.var} < m; ++{s.var}) {{"]
            lo = f"G.out_begin(std::max<int64_t>({self.expr(s.start)}, G.glo))"
            hi = f"G.out_begin(std::min<int64_t>({self.expr(s.stop)}, G.ghi))"
            return [], [f"for (int64_t {s.var} = {lo}; {s.var} < {hi}; ++{s.var}) {{"]
        of = self.tmp("of")
        self.edge_kind[s.var] = (s.kind, of)
        self.edge_of[s.var] = s.of.name if isinstance(s.of, Var) else None
        # a loop over a vertex's edges: its row must be in this blade's structure
        # (always, for the blade's own vertices and for the whole graph; checked otherwise)
        check = "" if self._safe(s.of, "node") else f" G.need_row({of}, {line});"
        if self.work is not None and self.work_loop is not s:
            side = "out" if s.kind == "out_edges" else "in"
            check += f" {self.work}e += G.{side}_end({of}) - G.{side}_begin({of});"
        pre = [f"{{ const int64_t {of} = {self.expr(s.of)};{check}"]
        if s.kind == "out_edges":
            return pre, [f"for (int64_t {s.var} = G.out_begin({of}); {s.var} < "
                         f"G.out_end({of}); ++{s.var}) {{"]
        pos = f"{s.var}__p"
        return pre, [f"for (int64_t {pos} = G.in_begin({of}); {pos} < G.in_end({of}); "
                     f"++{pos}) {{", f"  const int64_t {s.var} = G.in_eid[{pos} - G.clo];"]

    def _is_node_loop_var(self, name: str) -> bool:
        """Node loops are clamped to 0..n-1, so their variable is always a vertex."""
        return name in self.node_vars

    def sequential(self, s: Loop, line: int):
        if s.kind == "while":
            self.out(f"while ({self.expr(s.cond)}) {{")
        elif s.kind == "range":
            st = self.tmp("step")
            self.out(f"{{ const int64_t {st} = {self.expr(s.step)}; if ({st} == 0) "
                     f'fail({line}, "range() step is zero");')
            self.out(f"for (int64_t {s.var} = {self.expr(s.start)}; {st} > 0 ? {s.var} < "
                     f"{self.expr(s.stop)} : {s.var} > {self.expr(s.stop)}; {s.var} += {st}) {{")
        else:
            measured = self._measure_sequential(s)
            pre, head = self._header(s, line)
            for h in pre + head:
                self.out(h)
            if measured:
                self.out(f"  ++{self.work}{'v' if s.kind == 'nodes' else 'e'};")
        self.ind += 1
        for name, d in s.locals:
            self.out(f"{ctype(d)} {name}{{}};")
        self.block(s.body)
        self.ind -= 1
        self.out("}")
        if s.kind == "range" or s.kind in ("out_edges", "in_edges"):
            self.out("}")
        if s.kind not in ("while", "range") and measured:
            wk = self.work
            self.out(f"nest_done({line}, {wk}e, {wk}v, now() - {wk}t); }}")
            self.work = None

    def _measure_sequential(self, s: Loop) -> bool:
        """Open the counters of a sequential data loop that is a nest of its own (outside
        any measured nest).  Parallel nests inside it are measured on their own and
        their work and time also count for it."""
        if self.work is not None or self.par is not None:
            return False
        wk = self.tmp("w")
        self.out(f"{{ int64_t {wk}e = 0, {wk}v = 0; const double {wk}t = now();")
        self.work, self.work_loop = wk, s
        return True

    def parallel(self, s: Loop, line: int):
        """The outermost parallel loop of a nest: OpenMP, atomics, per-thread reductions."""
        self.par = s
        self.projected = self._projected(s)
        writes = [x for x, _ in iter_stmts(s.body) if isinstance(x, Store)]
        self.shared_stores = self._shared_stores(s)
        self.atomic_tables = {x.table for x in writes if id(x) in self.shared_stores}
        scalars: dict[str, str] = {}
        for x in writes:
            if self.tables[x.table].space == "scalar":
                scalars[x.table] = x.op
            if x.flag:
                scalars[x.flag] = "or"
        self.acc = {name: f"{name}__acc" for name in scalars}
        self.out("{")
        self.ind += 1
        t0 = self.tmp("t")
        self.out(f"const double {t0} = now();")
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
            self.out(f"{ctype(t.dtype)} {name}__acc = {_ident(op, t.dtype)};")
            clauses.append(f"reduction({ops.reduction(op).omp}:{name}__acc)")
        wk = self.tmp("w")
        outer = (self.work, self.work_loop)
        self.out(f"int64_t {wk}e = 0, {wk}v = 0;  // edges and vertices visited")
        clauses.append(f"reduction(+:{wk}e, {wk}v)")
        self.work, self.work_loop = wk, s
        sched = "dynamic, 64" if s.kind == "nodes" else "static"
        wl = self._worklist(s)
        pre, head = self._header(s, line)
        for h in pre:
            self.out(h)
        self.out(f"#pragma omp parallel for schedule({sched}) {' '.join(clauses)}".rstrip())
        for h in head:
            self.out(h)
        if wl:
            self.out(f"  if (!{wl}all && !{wl}active[{s.var} - {wl}lo]) continue;")
        self.ind += 1
        self.out(f"++{wk}{'v' if s.kind == 'nodes' else 'e'};")
        for name, d in s.locals:
            self.out(f"{ctype(d)} {name}{{}};")
        self.block(s.body)
        self.ind -= 1
        self.out("}")
        if s.kind in ("out_edges", "in_edges"):
            self.out("}")
        if wl:
            self._worklist_after(wl)
        for name, op in scalars.items():
            self.out(f"{_red(op)}(&{name}, {name}__acc);")
        self.out(f"{{ const double dt = now() - {t0}; g_stats.compute += dt; "
                 f"g_stats.superstep.push_back(dt); nest_done({line}, {wk}e, {wk}v, dt); }}")
        if outer[0] is not None:
            self.out(f"{outer[0]}e += {wk}e; {outer[0]}v += {wk}v;")
        self.ind -= 1
        self.out("}")
        self.work, self.work_loop = outer
        self.par, self.acc, self.snap, self.atomic_tables = None, {}, {}, set()
        self.projected = False

    @staticmethod
    def _projected(s: Loop) -> bool:
        return s.start is not None and any(isinstance(x, Var) and x.name == "shard_lo"
                                           for x in iter_exprs(s.start))

    def _worklist(self, s: Loop) -> str:
        """For a relaxed (async) node loop the interpreter may run as a worklist (see
        ``cosynth.ir.vec``: licensed by the relaxation proof), emit the bookkeeping and
        return the prefix of its variables ("" if the loop runs whole)."""

        class _View:
            k = self.k
            tables = self.tables
        plan = _worklist_plan(_View, s) if s.kind == "nodes" else None
        if not plan:
            self.wl_plan = None
            return ""
        wl = self.tmp("wl") + "_"
        self.wl_plan = (wl, plan)
        lo = f"std::max<int64_t>({self.expr(s.start)}, 0)" if s.start is not None else "0"
        hi = f"std::min<int64_t>({self.expr(s.stop)}, n)" if s.stop is not None else "n"
        self.decls.append(f"bool {wl}have = false; int64_t {wl}plo = 0, {wl}phi = 0;")
        for t in plan:
            c = ctype(self.tables[t].dtype)
            self.decls.append(f"std::vector<{c}> {wl}start_{t}, {wl}end_{t};")
        self.out(f"const int64_t {wl}lo = {lo}, {wl}hi = std::max<int64_t>({hi}, {wl}lo);")
        self.out(f"bool {wl}all = !{wl}have || {wl}plo != {wl}lo || {wl}phi != {wl}hi;")
        for t, op in plan.items():
            cond = ops.reduction(op).cpp_improves.format(v=f"{wl}end_{t}[i]", t=f"{t}[i]")
            self.out(f"if (!{wl}all) {{ bool back = false;")
            self.out("  #pragma omp parallel for reduction(||:back)")
            self.out(f"  for (int64_t i = 0; i < n; ++i) if ({cond}) back = true;")
            self.out(f"  {wl}all = back; }}  // moved against {op}: the state was reset")
        self.out(f"std::vector<uint8_t> {wl}active({wl}hi - {wl}lo, 1);")
        for t in plan:
            self.out(f"std::vector<{ctype(self.tables[t].dtype)}> {wl}now_{t}({t}.begin() + "
                     f"{wl}lo, {t}.begin() + {wl}hi);")
        diff = " || ".join(f"{wl}now_{t}[i] != {wl}start_{t}[i]" for t in plan)
        self.out(f"if (!{wl}all) for (int64_t i = 0; i < {wl}hi - {wl}lo; ++i) "
                 f"{wl}active[i] = ({diff});")
        return wl

    def _worklist_after(self, wl: str):
        _, plan = self.wl_plan
        for t in plan:
            self.out(f"{wl}start_{t}.swap({wl}now_{t}); {wl}end_{t} = {t};")
        self.out(f"{wl}have = true; {wl}plo = {wl}lo; {wl}phi = {wl}hi;")

    def _shared_stores(self, par: Loop) -> set[int]:
        """Reductions in ``par`` into entries other iterations may also reach (ids)."""
        out: set[int] = set()
        own: dict[str, str | None] = {}

        def walk(body):
            for x in body:
                if isinstance(x, Loop):
                    if x.is_edge_loop:
                        mine = par.kind == "nodes" and isinstance(x.of, Var) and \
                            x.of.name == par.var
                        own[x.var] = ("src" if x.kind == "out_edges" else "dst") \
                            if mine else None
                    walk(x.body)
                elif isinstance(x, If):
                    walk(x.then)
                    walk(x.orelse)
                elif isinstance(x, Store) and x.op is not None and \
                        self.tables[x.table].space != "scalar":
                    i = x.index
                    if isinstance(i, Var) and i.name == par.var and par.kind == "nodes":
                        continue
                    if isinstance(i, EdgeAttr) and own.get(i.edge) == i.attr:
                        continue
                    if isinstance(i, EdgeAttr) and i.attr == "id" and (
                            i.edge == par.var or own.get(i.edge) is not None):
                        continue
                    out.add(id(x))
        walk(par.body)
        # an owner's own entry is shared too when the nest also reduces into the same
        # table at other iterations' entries: all its reductions into it go atomic
        tables = {x.table for x, _ in iter_stmts(par.body) if id(x) in out}
        for x, _ in iter_stmts(par.body):
            if isinstance(x, Store) and x.op is not None and x.table in tables:
                out.add(id(x))
        return out

    def _local_dtype(self, name: str) -> DType:
        for s, _ in iter_stmts(self.k.body):
            if isinstance(s, Loop):
                for n_, d in s.locals:
                    if n_ == name:
                        return d
        raise CodegenError(f"private '{name}' is not declared")  # pragma: no cover

    def index(self, e: Expr, t, line: int) -> str:
        text = self.expr(e)
        if self._safe(e, t.space):
            return f"({text})"
        size = "n" if t.space == "node" else "m"
        what = "vertex" if t.space == "node" else "edge id"
        return f'check({text}, {size}, {line}, "{what}")'

    def _safe(self, e: Expr, space: str) -> bool:
        if space == "node":
            if isinstance(e, EdgeAttr) and e.attr in ("src", "dst"):
                return True
            if isinstance(e, Var):
                p = next((p for p in self.k.params if p.name == e.name), None)
                if p is not None and p.node:
                    return True
                return self._is_node_loop_var(e.name)
            return False
        return isinstance(e, EdgeAttr) and e.attr == "id"

    # ------------------------------------------------------------------ expressions
    def expr(self, e: Expr) -> str:
        if isinstance(e, Const):
            return _lit(e.value, e.dtype)
        if isinstance(e, Var):
            return e.name
        if isinstance(e, Load):
            t = self.tables[e.table]
            if t.space == "scalar":
                return e.table
            if t.role == "weight":
                return self.weight(e)  # the graph's weights, not a table of the program
            idx = self.index(e.index, t, e.loc.line if e.loc else 0)
            src = self.snap.get(e.table, e.table)
            if self.par is not None and e.table in self.atomic_tables and \
                    e.table not in self.snap:
                return f"load(&{src}[{idx}])"
            return f"{src}[{idx}]"
        if isinstance(e, EdgeAttr):
            kind, of = self.edge_kind.get(e.edge, (None, None))
            if e.attr == "id":
                return e.edge
            if (kind, e.attr) in (("out_edges", "src"), ("in_edges", "dst")):
                return of
            if kind == "in_edges" and e.attr == "src":
                return f"G.in_src[{e.edge}__p - G.clo]"
            return f"G.edge_{e.attr}({e.edge})"
        if isinstance(e, Bin):
            return self.bin(e)
        if isinstance(e, Un):
            return spell(ops.unary(e.op), e.dtype, self.expr(e.a))
        if isinstance(e, Select):
            c = ctype(e.dtype)
            return f"(({self.expr(e.cond)}) ? ({c})({self.expr(e.a)}) : ({c})({self.expr(e.b)}))"
        if isinstance(e, Cast):
            return ops.cpp_cast(e.a.dtype, e.dtype).format(
                a=self.expr(e.a), c=ctype(e.dtype), line=e.loc.line if e.loc else 0)
        if isinstance(e, GraphQuery):
            args = [self.expr(a) for a in e.args]
            if e.fn == "num_nodes":
                return "n"
            if e.fn == "num_edges":
                return "m"
            if e.fn == "out_degree":
                return f"G.out_deg[{self._vertex(e.args[0], args[0], e)}]"
            if e.fn == "in_degree":
                return f"G.in_deg[{self._vertex(e.args[0], args[0], e)}]"
            return f"G.has_edge({self._vertex(e.args[0], args[0], e)}, " \
                   f"{self._vertex(e.args[1], args[1], e)})"
        raise CodegenError(f"expression {type(e).__name__} has no C++ form")

    def _vertex(self, e: Expr, text: str, node) -> str:
        if self._safe(e, "node"):
            return text
        return f'check({text}, n, {node.loc.line if node.loc else 0}, "vertex")'

    def weight(self, e: Load) -> str:
        d = self.tables["u_weight"].dtype
        idx = e.index
        if not (isinstance(idx, EdgeAttr) and idx.attr == "id"):
            raise CodegenError("the C++ backend reads edge weights only as e.weight",
                               loc=e.loc)
        kind, _ = self.edge_kind.get(idx.edge, (None, None))
        raw = f"G.in_w[{idx.edge}__p - G.clo]" if kind == "in_edges" else \
            f"G.weight({idx.edge})"
        return raw if d.name == "f64" else f"(({ctype(d)}){raw})"

    def bin(self, e: Bin) -> str:
        spec = ops.binary(e.op)
        if spec.group == "logic":
            return spell(spec, e.dtype, self.expr(e.a), self.expr(e.b))
        if spec.group == "cmp":
            common = e.a.dtype if e.a.dtype.is_bool else promote(e.a.dtype, e.b.dtype,
                                                                 e.a.weak, e.b.weak)
        else:
            common = e.dtype
        if not spec.admits(common):
            raise CodegenError(f"operator {e.op} on {common}")  # pragma: no cover
        c = ctype(common)
        return spell(spec, common, f"({c})({self.expr(e.a)})", f"({c})({self.expr(e.b)})",
                     line=e.loc.line if e.loc else 0)


def _c_string(s: str) -> str:
    """``s`` for a C++ string literal (or a ``//`` comment): backslash, quote and control
    characters escaped (octal, which never swallows a following digit), so no path can end
    the literal or the comment line early."""
    return "".join("\\\\" if c == "\\" else '\\"' if c == '"' else
                   f"\\{ord(c):03o}" if ord(c) < 32 or ord(c) == 127 else c for c in s)
