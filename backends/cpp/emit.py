"""C++17 for a blade program: one source every blade compiles and runs (code is small and
replicated; each blade's data and range come from its configuration file).

Mapping from the IR:

* tables are ``std::vector`` (bool as ``uint8_t``); a node table holds the blade's local
  vertices -- its own range and its ghosts, by local id (``cosynth_rt.hpp``'s ``Graph``;
  every vertex when the program is ``replicated``); every index into it goes through
  ``ExprSpeller.local_index``, the one global-to-local translation; scalar tables and
  privates are C++ variables; the graph is the runtime's ``Graph`` shard;
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

The emitter is split by what each part owns: this module is the program skeleton (the
runtime's setup, the tables, the clock, the results) and the entry ``emit_program``;
``stmts`` the statements, ``loops`` the loop nests (with ``sharing``: which reductions
are atomic, ``worklist``: worklists of relaxed loops, ``reach``: which part of the graph
a blade reaches), ``exprs`` the expressions, ``mangle`` the C++ names of identifiers.
"""

from __future__ import annotations

from typing import Protocol

from cosynth.dtypes import DType
from cosynth.ir.nodes import Exchange, Kernel, Loop, TableRef
from cosynth.ir.walk import iter_stmts

from . import relabel
from .exprs import CodegenError, c_string, ctype, identity, spell
from .mangle import mangle, mangle_name
from .reach import needs_full_graph, on_shard, replicated
from .stmts import BodyEmitter

__all__ = ["emit_program", "needs_full_graph", "replicated", "CodegenError", "ctype", "spell",
           "Offload", "mangle"]


def emit_program(k: Kernel, source: str = "kernel", hw=None) -> str:
    """C++ for the blade program ``k``; its parameters are read from the configuration as
    ``param.u_<name>`` (every user identifier is prefixed: see ``mangle``).

    ``hw`` (an ``Offload``, e.g. an FPGA unit) puts the loops its device runs there: each
    becomes the device's code on the blades whose configuration says so, and stays the
    CPU code on the others."""
    return _Program(mangle(k), source, hw).program()


class Offload(Protocol):
    """A device that runs some loops of the blade program in place of the blade's CPU.

    The driver passes one in (the RTL backend's ``offload.FpgaOffload`` for FPGA edge
    units); the C++ backend knows nothing else of devices.  The emitter (passed as ``cx``,
    see ``_Program``'s helpers for offloads) asks it for the program's extra ``includes``,
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


class _Program(BodyEmitter):
    """The whole program of one (mangled) kernel."""

    def __init__(self, k: Kernel, source: str, hw: Offload | None = None):
        super().__init__(k, hw)
        self.source = source

    # what an Offload may use: out() and expr() and ind (the indentation level), and
    @property
    def in_parallel(self) -> bool:
        """Inside a parallel loop (device calls there must take turns)."""
        return self.par is not None

    def on_shard(self, s: Loop) -> bool:
        """The loop runs over the blade's own range (the projection rule's shard)."""
        return on_shard(s)

    @property
    def on_own_range(self) -> bool:
        """Inside a loop nest over the blade's own range (a device call there sends the
        entries other blades own to their outboxes)."""
        return self.projected

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
        return mangle_name(name)

    # ------------------------------------------------------------------ program
    def program(self) -> str:
        """``int main``: set-up, declarations, the timed body, results, tear-down."""
        k = self.k
        self.lines = [
            f"// generated by cosynth from {c_string(self.source)} (kernel {k.name}); "
            "do not edit",
            '#include "cosynth_rt.hpp"',
            *(self.hw.includes() if self.hw is not None else []),
            "using namespace cosynth;",
            "",
            "int main(int argc, char** argv) {",
            *(line.replace("@SOURCE@", c_string(self.source)) for line in _SETUP[:_TRIAL_AT]),
        ]
        # trials in one process (``begin_trial``): the graph is read once, as GAP's
        # trials share theirs, unless the program renames it inside the clock
        # (``relabel.start`` changes ``G``: then each trial reads it anew); an FPGA
        # device is set up once a process: one trial
        renames = relabel.legal(k)
        trial = ["  const int64_t trials = " + ("1;" if self.hw is not None else
                                                'cfg.i64_or("trials", 1);'),
                 "  for (int64_t trial = 0; trial < trials; ++trial) {",
                 "  begin_trial();"]
        self.lines += [*trial, *_SETUP[_TRIAL_AT:]] if renames else [*_SETUP[_TRIAL_AT:], *trial]
        self.declarations()
        if self.hw is not None:
            self.hw.setup(self)
        relabel.before_clock(self)
        decl_at = len(self.lines)
        self.out("#pragma omp parallel")  # start the thread pool before the clock does
        self.out("{ (void)0; }")
        self.out("barrier();")
        self.out("const double t_start = now();")
        relabel.start(self)
        self.block(k.body)
        self.lines[decl_at:decl_at] = ["  " + d for d in self.decls]
        self.out("const double t_total = now() - t_start;")
        self.out("g_trials.push_back(t_total);")
        for i, r in enumerate(k.returns):
            self.result(i, r)
        self.out('write_stats(cfg.str("out") + "/stats.rank" + std::to_string(rank) + '
                 '".json", t_total, G);')
        if self.hw is not None:
            self.hw.finish(self)
        self.out("}  // trials")
        self.out("barrier();  // under the stall watch: a blade hung at its end is named")
        self.out("MPI_Finalize();")
        self.out("return 0;")
        self.lines.append("}")
        return "\n".join(self.lines) + "\n"

    def declarations(self):
        """The parameters (from the configuration), the tables and the outboxes."""
        k = self.k
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
            if t.role == "input":  # the blade's local entries (inputs/NAME.R.bin)
                path = f'cfg.str("input.{t.name}") + "." + std::to_string(rank) + ".bin"'
                self.out(f"verify_file({path}, "
                         f'cfg.str("sha256.input.{t.name}." + std::to_string(rank)));')
                self.out(f"std::vector<{c}> {t.name} = read_input<{c}>({path}, G.nl);")
            elif t.space == "node":  # owned entries and ghosts, by local id
                self.out(f"std::vector<{self.storage(t.name)}> {t.name}(G.nl);")
                if t.name in self.unbacked:  # ghosts never read: no memory for them
                    self.out(f"unback({t.name}, G.olo, G.ohi);")
            elif t.space == "edge":
                self.out(f"std::vector<{c}> {t.name}(m);")
            else:
                self.out(f"{c} {t.name} = 0;")
        for name in self.boxed:
            t = self.tables[name]
            op = next(s.op for s, _ in iter_stmts(k.body) if isinstance(s, Exchange)
                      and s.table == name)
            self.out(f"Outbox<{self.storage(name)}> {name}__box;")
            self.out(f"{name}__box.init(G, {identity(op, t.dtype)});")
        for name in self.mirrored:
            self.out(f"Mirror<{self.storage(name)}> {name}__mir;")

    def result(self, i: int, r):
        """Write the kernel's ``i``-th result: a table's entries this blade owns, or a
        value (every blade writes it)."""
        out = f'cfg.str("out") + "/result{i}.rank" + std::to_string(rank) + ".bin"'
        if isinstance(r, TableRef):
            if self.tables[r.table].space == "node":
                lo, size = "G.olo", "G.ohi - G.olo"
                data = relabel.node_result(self, r.table)
            else:
                lo, size = "edge_lo[rank]", "edge_hi[rank] - edge_lo[rank]"
                data = r.table
            if data == r.table:
                self.out(f"write_result({out}, {r.table}.data() + {lo}, {size});")
            else:
                self.out(f"{{ const auto user = {data}; "
                         f"write_result({out}, user.data() + {lo}, {size}); }}")
        else:
            c = ctype(r.dtype)
            self.out(f"{{ {c} value = ({c})({self.expr(r)}); write_result({out}, &value, 1); }}")


#: the runtime's set-up at the start of ``main`` (``@SOURCE@``: the kernel's file): the
#: blade's shard file is checked against run.cfg's content hash before it is read
_SETUP = (
    "  MPI_Init(&argc, &argv);",
    "  int rank = 0, nblades = 1;",
    "  MPI_Comm_rank(MPI_COMM_WORLD, &rank);",
    "  MPI_Comm_size(MPI_COMM_WORLD, &nblades);",
    "  g_rank = rank;",
    '  g_source = "@SOURCE@";',
    "  Config cfg = Config::read(argv[1]);",
    "  watch_stalls(cfg, nblades);",
    '  const std::string shard_file = cfg.str("graph") + "." + std::to_string(rank) + ".bin";',
    '  verify_file(shard_file, cfg.str("sha256.graph." + std::to_string(rank)));',
    "  Graph G = Graph::read(shard_file, rank, nblades);",
    "  const int64_t n = G.n, m = G.m;",
    "  (void)m;",
    "  Shards sh;",
    '  sh.lo = cfg.list("shard_lo");',
    '  sh.hi = cfg.list("shard_hi");',
    "  sh.rank = rank;",
    "  sh.size = nblades;",
    '  const std::vector<int64_t> edge_lo = cfg.list("edge_lo"), edge_hi = cfg.list("edge_hi");',
    "  (void)edge_lo; (void)edge_hi;",
)
#: ``_SETUP[:_TRIAL_AT]`` runs once a process, the rest once a trial
_TRIAL_AT = _SETUP.index("  watch_stalls(cfg, nblades);") + 1
