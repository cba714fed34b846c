"""The host interface of an edge unit, described once as data.

Every unit has the same shape; what varies (its scalar parameters, memories, rules and
field widths) is listed in its ``RegisterMap``, which ``cosynth rtl`` writes as
``regmap.json`` and from which host drivers (the Python one in ``backends.rtl.host``,
the C++ host stubs of the blade programs) are written.

Ports (Amaranth ``stream`` conventions: a transfer happens on a clock edge where both
``valid`` and ``ready`` are high)::

    csr      register bus: addr, w_en, w_data (64 bits) in; r_data (64 bits) out,
             combinational (the value of the register at ``addr`` in the same cycle)
    edges    stream in: {src, dst[, weight]}: one edge per clock while running
    load     stream in: {mem, addr, data}: write a memory entry (only while idle)
    rd_req   stream in: {mem, addr}: read a memory entry (only while idle) ...
    rd_resp  stream out: {data}: ... its value, in request order

Registers (64-bit words; ``ro`` read-only, ``wo`` write-only, ``rw``)::

    0  ID          ro  0xC05E_0001: cosynth edge unit, interface version 1
    1  CTRL        wo  bit 0: start a run (clears STATUS.done/changed/wrote and the
                       counters)
    2  STATUS      ro  bit 0 busy, bit 1 done, bit 2 changed (some reduction changed an
                       entry of a rule that has a change flag), bit 3 wrote (some
                       reduction of any rule changed an entry: an interval engine writes
                       its window back only then)
    3  RULE        rw  the rule the next run applies
    4  EDGE_COUNT  rw  edges the next run consumes from ``edges``
    5  CYCLES      ro  clock cycles of the last run, from start to done
    6  EDGES_DONE  ro  edges consumed so far
    7  UPDATES     ro  reductions that changed an entry
    8  HAZARDS     ro  edges whose entry a recent write had updated after the memory read
                       (the value was forwarded from the write history)
    9  DEPTH       ro  entries per memory (vertices the unit holds)
    10 STALLS      ro  cycles an edge waited because the edge before it had the same
                       target entry (the unit keeps them one cycle apart)
    16+i  parameter i (scalar parameters and scalar tables the rules read, sign-extended)

A run: write the parameters, ``RULE`` and ``EDGE_COUNT``; write ``CTRL`` = 1; stream
exactly ``EDGE_COUNT`` edges; poll ``STATUS`` until ``done``.  Memories are loaded and
read back while the unit is idle.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from cosynth.tables import Column, render

__all__ = ["RegisterMap", "Reg", "Mem", "RuleInfo", "REGISTERS", "ID_VALUE", "PARAM_BASE",
           "CSR_ADDR_BITS"]

ID_VALUE = 0xC05E_0001
PARAM_BASE = 16
CSR_ADDR_BITS = 6

#: (name, address, access, meaning)
REGISTERS = (
    ("ID", 0, "ro", "0xC05E0001: cosynth edge unit, interface version 1"),
    ("CTRL", 1, "wo", "bit 0: start a run"),
    ("STATUS", 2, "ro", "bit 0 busy, bit 1 done, bit 2 changed (by a rule that raises a "
     "change flag), bit 3 wrote (by any rule)"),
    ("RULE", 3, "rw", "rule of the next run"),
    ("EDGE_COUNT", 4, "rw", "edges the next run consumes"),
    ("CYCLES", 5, "ro", "cycles of the last run"),
    ("EDGES_DONE", 6, "ro", "edges consumed"),
    ("UPDATES", 7, "ro", "reductions that changed an entry"),
    ("HAZARDS", 8, "ro", "edges forwarded a value still being written"),
    ("DEPTH", 9, "ro", "entries per memory"),
    ("STALLS", 10, "ro", "cycles an edge waited behind one to the same entry"),
)


@dataclass(frozen=True)
class Reg:
    name: str
    addr: int
    access: str
    doc: str
    dtype: str = "i64"


@dataclass(frozen=True)
class Mem:
    """A physical memory: ``live`` holds a table the rules reduce into; ``snapshot`` a
    copy of it that a bulk-synchronous rule reads (the values from before the sweep);
    ``input`` a table the rules only read."""

    id: int
    table: str
    role: str  # live | snapshot | input
    dtype: str
    bits: int


@dataclass(frozen=True)
class RuleInfo:
    index: int
    label: str
    kind: str  # out_edges | in_edges | edges
    target: str
    target_end: str
    op: str
    flag: str | None
    line: int
    #: further reductions of the same rule, each {target, target_end, op, flag}
    more: tuple = ()

    def updates(self) -> list[tuple[str, str, str, str | None]]:
        """(target, target_end, op, flag) of every reduction of the rule."""
        return [(self.target, self.target_end, self.op, self.flag)] + [
            (u["target"], u["target_end"], u["op"], u["flag"]) for u in self.more]


@dataclass
class RegisterMap:
    unit: str
    kernel: str
    variant: str
    depth: int
    addr_bits: int
    weight_bits: int  # 0: no weight field in the edge stream
    registers: list[Reg]
    params: list[Reg]
    memories: list[Mem]
    rules: list[RuleInfo]
    sites: list[dict] = field(default_factory=list)
    #: the fixed-point policy float values cross in ("Q16.47,atol=1e-09"; "" when no float
    #: enters the unit): each is round(x * 2**n) in a 64-bit word (cosynth.fixed)
    fixed: str = ""

    @property
    def mem_bits(self) -> int:
        return max(1, (len(self.memories) - 1).bit_length())

    def reg(self, name: str) -> int:
        for r in self.registers + self.params:
            if r.name == name:
                return r.addr
        raise KeyError(name)

    def mem(self, table: str, role: str | None = None) -> Mem:
        for m in self.memories:
            if m.table == table and (role is None or m.role == role):
                return m
        raise KeyError((table, role))

    def as_dict(self) -> dict:
        d = asdict(self)
        d["mem_bits"] = self.mem_bits
        d["edge_layout"] = {"src": self.addr_bits, "dst": self.addr_bits,
                            **({"weight": self.weight_bits} if self.weight_bits else {})}
        d["load_layout"] = {"mem": self.mem_bits, "addr": self.addr_bits, "data": 64}
        d["rd_req_layout"] = {"mem": self.mem_bits, "addr": self.addr_bits}
        return d

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, d: dict) -> RegisterMap:
        return cls(d["unit"], d["kernel"], d["variant"], d["depth"], d["addr_bits"],
                   d["weight_bits"], [Reg(**r) for r in d["registers"]],
                   [Reg(**r) for r in d["params"]], [Mem(**m) for m in d["memories"]],
                   [RuleInfo(**{**r, "more": tuple(r.get("more", ()))})
                    for r in d["rules"]], list(d.get("sites", [])),
                   d.get("fixed", ""))

    @classmethod
    def of(cls, spec, depth: int) -> RegisterMap:
        """The map of the unit ``spec`` (a ``kernel.UnitSpec``) holding ``depth`` vertices."""
        regs = [Reg(n, a, acc, doc) for n, a, acc, doc in REGISTERS]
        fx = spec.fixed
        params = [Reg(name, PARAM_BASE + i, "rw", f"scalar '{name}'"
                      + (f" ({fx.name} word)" if d.is_float else ""), d.name)
                  for i, (name, d) in enumerate(spec.params.items())]
        mems: list[Mem] = []
        snaps = set(spec.snapshot_tables)
        for t, d in spec.tables.items():
            role = "live" if t in spec.written else "input"
            mems.append(Mem(len(mems), t, role, d.name, 1 if d.is_bool else d.bits))
            if t in snaps:
                mems.append(Mem(len(mems), t, "snapshot", d.name, 1 if d.is_bool else d.bits))
        rules = [RuleInfo(i, r.label, r.kind, r.target, r.target_end, r.op, r.flag, r.line,
                          tuple({"target": u.target, "target_end": u.target_end,
                                 "op": u.op, "flag": u.flag} for u in r.ups[1:]))
                 for i, r in enumerate(spec.rules)]
        sites = [{"label": s.label, "form": s.form, "schedule": s.schedule,
                  "rules": list(s.rules), "line": s.line} for s in spec.sites]
        wbits = spec.weight.bits if spec.weight is not None else 0
        return cls(spec.name, spec.kernel.name, spec.variant, depth,
                   max(1, (depth - 1).bit_length()), wbits, regs, params, mems, rules, sites,
                   fx.as_text() if fx else "")

    def describe(self, fancy: bool | None = False) -> str:
        """The register map as readable tables (``cosynth rtl`` prints it, ``regmap.txt``
        holds it): through ``cosynth.tables``, plain text unless ``fancy`` (None: rich
        exactly when stdout is a terminal)."""
        lines = [f"unit {self.unit} (kernel {self.kernel}, variant {self.variant}): "
                 f"{self.depth} vertices, {self.addr_bits}-bit vertex ids"]
        if self.fixed:
            lines.append(f"  floats (f64/f32 tables, scalars, weights) cross as fixed-point "
                         f"{self.fixed.split(',')[0]} words: round(x * 2**n), back as "
                         f"word / 2**n (policy {self.fixed})")
        lines += render([Column("addr", right=True), Column("register"), Column("access"),
                         Column("meaning")],
                        [[r.addr, r.name, r.access, r.doc] for r in self.registers + self.params],
                        title="registers (64-bit words)", fancy=fancy)
        lines += render([Column("id", right=True), Column("table"), Column("role"),
                         Column("type"), Column("size")],
                        [[m.id, m.table, m.role,
                          m.dtype + (f" as {self.fixed.split(',')[0]}" if m.dtype[0] == "f"
                                     else ""), f"{m.bits} bits x {self.depth}"]
                         for m in self.memories], title="memories", fancy=fancy)
        lines += render([Column("rule", right=True), Column("label"), Column("update"),
                         Column("edges in")],
                        [[r.index, r.label, "; ".join(
                            f"{t}[e.{end}] {op}=" + (f" -> {fl}" if fl else "")
                            for t, end, op, fl in r.updates()), _order(r.kind)]
                         for r in self.rules], title="rules", fancy=fancy)
        w = f", weight: {self.weight_bits} bits" if self.weight_bits else ""
        lines.append(f"  edge stream: src, dst: {self.addr_bits} bits{w}")
        return "\n".join(lines)


def _order(kind: str) -> str:
    return {"out_edges": "CSR order", "in_edges": "CSC order",
            "edges": "edge-id order"}[kind]
