"""The edge unit: an Amaranth component generated from a kernel's rules.

One edge per clock, in a four-stage pipeline that never stalls once an edge is in::

    S0  accept {src, dst, weight} from the ``edges`` stream; present the endpoint
        addresses to the memories' read ports
    S1  memory data arrive; the rule's expression (guards, privates, the value) is
        evaluated from them (``datapath``); the target entry's old value is taken from
        the write two cycles ahead when that wrote the same entry (forwarding)
    S2  the reduction: ``new = old (op) value`` where ``old`` is forwarded from the write
        of the edge just ahead when it hit the same entry; ``new`` is written back
    S3  change detection (``new != old``) into STATUS.changed and the counters

Read-after-write hazards: a read issued in cycle c sees every write up to cycle c-1; the
writes of cycles c and c+1 (the two edges ahead) are forwarded from registers, so
consecutive edges to the same vertex cost nothing.  The only loop is S2's
``last_new -> mux -> op -> last_new``: one comparator (or adder) and two multiplexers.

Memories (``amaranth.lib.memory``): each vertex table the rules touch, ``depth``
entries.  A table a rule reduces has one write port and a read port per endpoint address
it is read at (yosys duplicates block RAMs for the second read port); a table a
bulk-synchronous rule reads at its other endpoint gets a ``snapshot`` copy the unit never
writes, so those reads see the values from before the sweep.  Memories are loaded and read
back through the ``load`` / ``rd_req`` / ``rd_resp`` streams while idle.  The register map
is ``regmap.RegisterMap``.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Elaboratable, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .datapath import Env, compile_rule, shape_of
from .kernel import NotEligible, UnitSpec
from .regmap import CSR_ADDR_BITS, ID_VALUE, RegisterMap

__all__ = ["EdgeUnit", "CsrSignature", "UnitTop", "unit_verilog", "TOP_PORTS"]


class CsrSignature(wiring.Signature):
    """A register bus as the host drives it: one write or one combinational read per
    cycle."""

    def __init__(self, addr_width: int = CSR_ADDR_BITS, data_width: int = 64):
        super().__init__({
            "addr": Out(addr_width),
            "w_en": Out(1),
            "w_data": Out(data_width),
            "r_data": In(data_width),
        })


class EdgeUnit(wiring.Component):
    """The generated hardware for ``spec`` holding ``depth`` vertices per memory."""

    def __init__(self, spec: UnitSpec, depth: int):
        if depth < 1:
            raise NotEligible("a unit needs at least one vertex")
        self.spec = spec
        self.depth = depth
        self.regmap = RegisterMap.of(spec, depth)
        rm = self.regmap
        self.abits = rm.addr_bits
        edge_fields = {"src": unsigned(self.abits), "dst": unsigned(self.abits)}
        if rm.weight_bits:
            edge_fields["weight"] = signed(rm.weight_bits)
        super().__init__({
            "csr": In(CsrSignature()),
            "edges": In(stream.Signature(data.StructLayout(edge_fields))),
            "load": In(stream.Signature(data.StructLayout({
                "mem": unsigned(rm.mem_bits), "addr": unsigned(self.abits),
                "data": unsigned(64)}))),
            "rd_req": In(stream.Signature(data.StructLayout({
                "mem": unsigned(rm.mem_bits), "addr": unsigned(self.abits)}))),
            "rd_resp": Out(stream.Signature(unsigned(64))),
        })

    def elaborate(self, platform):
        m = Module()
        spec, rm = self.spec, self.regmap
        ab = self.abits
        nrules = len(spec.rules)

        # ------------------------------------------------------------ registers
        rule = Signal(range(max(2, nrules)))
        edge_count = Signal(64)
        cycles = Signal(64)
        accepted = Signal(64)
        updates = Signal(64)
        hazards = Signal(64)
        busy = Signal()
        done = Signal()
        changed = Signal()
        start = Signal()
        params = {name: Signal(shape_of(d), name=f"p_{name}")
                  for name, d in spec.params.items()}

        csr = self.csr
        m.d.comb += start.eq(csr.w_en & (csr.addr == rm.reg("CTRL")) & csr.w_data[0])
        writable = [(rm.reg("RULE"), rule), (rm.reg("EDGE_COUNT"), edge_count)] + \
            [(r.addr, params[r.name]) for r in rm.params]
        for addr, reg in writable:  # read-only registers ignore writes
            with m.If(csr.w_en & (csr.addr == addr)):
                m.d.sync += reg.eq(csr.w_data)
        reads = {
            rm.reg("ID"): ID_VALUE,
            rm.reg("STATUS"): Cat(busy, done, changed),
            rm.reg("RULE"): rule,
            rm.reg("EDGE_COUNT"): edge_count,
            rm.reg("CYCLES"): cycles,
            rm.reg("EDGES_DONE"): accepted,
            rm.reg("UPDATES"): updates,
            rm.reg("HAZARDS"): hazards,
            rm.reg("DEPTH"): self.depth,
        }
        for r in rm.params:
            reads[r.addr] = params[r.name]  # signed parameters read back sign-extended
        with m.Switch(csr.addr):
            for addr, val in reads.items():
                with m.Case(addr):
                    m.d.comb += csr.r_data.eq(val)
            with m.Default():
                m.d.comb += csr.r_data.eq(0)

        # ------------------------------------------------------------ S0: accept
        v0, src0, dst0 = Signal(), Signal(ab), Signal(ab)
        w0 = Signal(signed(rm.weight_bits)) if rm.weight_bits else None
        take = Signal()
        m.d.comb += [
            self.edges.ready.eq(busy & (accepted < edge_count)),
            take.eq(self.edges.valid & self.edges.ready),
        ]
        m.d.sync += v0.eq(take)
        with m.If(take):
            m.d.sync += [src0.eq(self.edges.payload.src), dst0.eq(self.edges.payload.dst),
                         accepted.eq(accepted + 1)]
            if w0 is not None:
                m.d.sync += w0.eq(self.edges.payload.weight)

        def end_addr(end: str):
            return src0 if end == "src" else dst0

        # ------------------------------------------------------------ memories
        # ports: (table, key) -> read port; key is 'target' | 'src' | 'dst' | 'snap'
        mems = {}
        ports = {}
        wports = {}
        rd_accept = Signal()
        rd_mem = Signal(rm.mem_bits)
        load = self.load
        m.d.comb += load.ready.eq(~busy)
        readback_port = {}
        for mem in rm.memories:
            d = spec.tables[mem.table]
            mm = memory.Memory(shape=shape_of(d), depth=self.depth, init=[])
            m.submodules[f"mem{mem.id}_{mem.table}_{mem.role}"] = mm
            mems[mem.id] = mm
            wp = mm.write_port()
            wports[mem.id] = wp
            # host loads (idle); the pipeline's S2 drives the live memories (busy)
            with m.If(~busy):
                m.d.comb += [wp.addr.eq(load.payload.addr),
                             wp.data.eq(load.payload.data[:len(wp.data)]),
                             wp.en.eq(load.valid & (load.payload.mem == mem.id))]
            keys = _port_keys(spec, mem)
            first = None
            for key in keys:
                rp = mm.read_port()
                ports[(mem.table, mem.role, key)] = rp
                if first is None:
                    first = rp
                    readback_port[mem.id] = rp
                addr = self._port_addr(key, end_addr, rule)
                with m.If(busy):
                    m.d.comb += [rp.addr.eq(addr), rp.en.eq(1)]
                with m.Elif(rd_accept & (self.rd_req.payload.mem == mem.id)
                            if rp is first else 0):
                    m.d.comb += [rp.addr.eq(self.rd_req.payload.addr), rp.en.eq(1)]
                with m.Else():
                    m.d.comb += rp.en.eq(0)

        # readback: one-entry pipeline register on rd_resp
        resp_valid = Signal()
        m.d.comb += [
            self.rd_req.ready.eq(~busy & (~resp_valid | self.rd_resp.ready)),
            rd_accept.eq(self.rd_req.valid & self.rd_req.ready),
            self.rd_resp.valid.eq(resp_valid),
        ]
        with m.If(rd_accept):
            m.d.sync += [resp_valid.eq(1), rd_mem.eq(self.rd_req.payload.mem)]
        with m.Elif(self.rd_resp.ready):
            m.d.sync += resp_valid.eq(0)
        with m.Switch(rd_mem):
            for mid, rp in readback_port.items():
                with m.Case(mid):
                    m.d.comb += self.rd_resp.payload.eq(rp.data)  # signed: sign-extended
            with m.Default():
                m.d.comb += self.rd_resp.payload.eq(0)

        # ------------------------------------------------------------ S1: evaluate
        v1, src1, dst1 = Signal(), Signal(ab), Signal(ab)
        w1 = Signal(signed(rm.weight_bits)) if rm.weight_bits else None
        m.d.sync += [v1.eq(v0), src1.eq(src0), dst1.eq(dst0)]
        if w1 is not None:
            m.d.sync += w1.eq(w0)

        snaps = set(spec.snapshot_tables)

        def load_value(table: str, end: str, r):
            """The memory output a rule reads ``table[e.<end>]`` from."""
            if table in spec.written:
                if end == r.target_end:  # pragma: no cover - unit_spec refuses it
                    raise NotEligible(f"'{table}' read at the endpoint {r.label} reduces")
                if table in snaps:
                    return ports[(table, "snapshot", "other")].data
                return ports[(table, "live", "other")].data
            return ports[(table, "input", end)].data
        scalars = dict(params)

        targets = sorted(spec.written)
        # per target table: the RMW state
        rmw = {}
        for t in targets:
            d = spec.tables[t]
            shp = shape_of(d)
            rmw[t] = {
                "d": d,
                "act2": Signal(name=f"{t}_act2"), "addr2": Signal(ab, name=f"{t}_addr2"),
                "val2": Signal(shp, name=f"{t}_val2"), "old2": Signal(shp, name=f"{t}_old2"),
                "fwd2": Signal(name=f"{t}_fwd2"), "hit2": Signal(name=f"{t}_hit2"),
                "flag2": Signal(name=f"{t}_flag2"),
                "op2": Signal(range(len(_OPS)), name=f"{t}_op2"),
                "last_we": Signal(name=f"{t}_last_we"),
                "last_addr": Signal(ab, name=f"{t}_last_addr"),
                "last_new": Signal(shp, name=f"{t}_last_new"),
                "we": Signal(name=f"{t}_we"), "new": Signal(shp, name=f"{t}_new"),
            }

        # the rules' datapaths, selected by the RULE register
        for t in targets:
            m.d.sync += rmw[t]["act2"].eq(0)
        for i, r in enumerate(spec.rules):
            env_loads = {(table, end): load_value(table, end, r)
                         for (table, end) in _rule_loads(r)}
            env = Env(ids={"src": src1, "dst": dst1}, loads=env_loads, weight=w1,
                      scalars=scalars, kernel=spec.kernel)
            pred, value = compile_rule(r, env)
            st = rmw[r.target]
            tport = ports[(r.target, "live", "target")]
            taddr = src1 if r.target_end == "src" else dst1
            with m.If(rule == i):
                # forwarding from the write two cycles ahead (now in last_*)
                hit = st["last_we"] & (st["last_addr"] == taddr)
                # and, registered, whether the edge now in S2 writes the same entry
                m.d.sync += [
                    st["act2"].eq(v1 & pred),
                    st["addr2"].eq(taddr),
                    st["val2"].eq(value),
                    st["old2"].eq(Mux(hit, st["last_new"], tport.data)),
                    st["fwd2"].eq(st["we"] & (st["addr2"] == taddr)),
                    st["hit2"].eq(hit),
                    st["flag2"].eq(1 if r.flag else 0),
                    st["op2"].eq(_OPS.index(r.op)),
                ]

        # ------------------------------------------------------------ S2: reduce
        v2 = Signal()
        m.d.sync += v2.eq(v1)
        any_fwd = Signal()
        fwd_terms = []
        s3 = []
        for t in targets:
            st = rmw[t]
            d = st["d"]
            old = Signal(shape_of(d), name=f"{t}_old")
            m.d.comb += old.eq(Mux(st["fwd2"], st["last_new"], st["old2"]))
            val = st["val2"]
            ops_used = sorted({r.op for r in spec.rules if r.target == t})
            results = {op: _reduce(op, old, val, d) for op in ops_used}
            if len(results) == 1:
                m.d.comb += st["new"].eq(next(iter(results.values())))
            else:
                with m.Switch(st["op2"]):
                    for op, res in results.items():
                        with m.Case(_OPS.index(op)):
                            m.d.comb += st["new"].eq(res)
                    with m.Default():
                        m.d.comb += st["new"].eq(old)
            m.d.comb += st["we"].eq(st["act2"])
            wp = wports[rm.mem(t, "live").id]
            with m.If(busy):
                m.d.comb += [wp.addr.eq(st["addr2"]), wp.data.eq(st["new"]),
                             wp.en.eq(st["we"])]
            m.d.sync += [st["last_we"].eq(st["we"]), st["last_addr"].eq(st["addr2"]),
                         st["last_new"].eq(st["new"])]
            # S3 registers
            we3, flag3 = Signal(name=f"{t}_we3"), Signal(name=f"{t}_flag3")
            old3, new3 = Signal(shape_of(d), name=f"{t}_old3"), \
                Signal(shape_of(d), name=f"{t}_new3")
            m.d.sync += [we3.eq(st["we"]), flag3.eq(st["flag2"]), old3.eq(old),
                         new3.eq(st["new"])]
            s3.append((we3, flag3, old3, new3))
            fwd_terms.append(st["we"] & (st["fwd2"] | st["hit2"]))
        m.d.comb += any_fwd.eq(_any(fwd_terms))

        # ------------------------------------------------------------ S3: account
        v3 = Signal()
        m.d.sync += v3.eq(v2)
        upd = Signal(range(len(s3) + 1))
        chg = Signal()
        upd_terms, chg_terms = [], []
        for we3, flag3, old3, new3 in s3:
            c = Signal()
            m.d.comb += c.eq(we3 & (old3 != new3))
            upd_terms.append(c)
            chg_terms.append(c & flag3)
        m.d.comb += [upd.eq(sum(upd_terms) if upd_terms else 0), chg.eq(_any(chg_terms))]

        # ------------------------------------------------------------ control
        drained = Signal()
        m.d.comb += drained.eq(~take & ~v0 & ~v1 & ~v2 & ~v3)
        with m.If(start & ~busy):  # a start while running is ignored
            m.d.sync += [busy.eq(1), done.eq(0), changed.eq(0), cycles.eq(0),
                         accepted.eq(0), updates.eq(0), hazards.eq(0)]
        with m.Elif(busy):
            m.d.sync += [cycles.eq(cycles + 1), updates.eq(updates + upd),
                         hazards.eq(hazards + any_fwd)]
            with m.If(chg):
                m.d.sync += changed.eq(1)
            with m.If((accepted >= edge_count) & drained):
                m.d.sync += [busy.eq(0), done.eq(1)]
        return m

    def _port_addr(self, key, end_addr, rule):
        """The address a read port presents while running, per rule."""
        spec = self.spec
        if key in ("src", "dst"):
            return end_addr(key)
        addr = end_addr("dst")
        for i, r in enumerate(spec.rules):
            end = r.target_end if key == "target" else r.other_end
            addr = Mux(rule == i, end_addr(end), addr)
        return addr


_OPS = ("min", "max", "add", "or", "and")


def _any(terms):
    out = 0
    for t in terms:
        out = t | out
    return out


def _reduce(op: str, old, val, d):
    """``old op val`` with the interpreter's meaning (``min``: val if val < old)."""
    if op == "min":
        return Mux(val < old, val, old)
    if op == "max":
        return Mux(val > old, val, old)
    if op == "add":
        if d.is_bool:
            raise NotEligible("an add-reduction into a bool table")
        return (old + val)[:d.bits].as_signed()  # wraps at the table's width
    if not d.is_bool:
        raise NotEligible(f"an '{op}'-reduction into the integer table (use a bool table)")
    return (old | val) if op == "or" else (old & val)


def _rule_loads(r) -> set[tuple[str, str]]:
    from .kernel import rule_reads
    return rule_reads(r)


def _port_keys(spec: UnitSpec, mem) -> list[str]:
    """The read ports memory ``mem`` needs: ``target`` (the entry reduced: read-modify-
    write), ``other`` (a written table read at the rule's other endpoint), or ``src`` /
    ``dst`` (a table only read)."""
    from .kernel import rule_reads
    t = mem.table
    if mem.role == "snapshot":
        return ["other"]
    if mem.role == "live":
        keys = ["target"]
        snap = t in spec.snapshot_tables
        if not snap and any((t, r.other_end) in rule_reads(r) for r in spec.rules):
            keys.append("other")
        return keys
    ends = sorted({end for r in spec.rules for (tt, end) in rule_reads(r) if tt == t})
    return ends or ["src"]


#: the ports of the emitted Verilog (``UnitTop``): flat, one per stream field, so that a
#: host (the C++ stub over Verilator, a test bench) assigns plain integers
TOP_PORTS = ("clk", "rst", "csr_addr", "csr_w_en", "csr_w_data", "csr_r_data",
             "edges_valid", "edges_ready", "edges_src", "edges_dst", "edges_weight",
             "load_valid", "load_ready", "load_mem", "load_addr", "load_data",
             "rd_req_valid", "rd_req_ready", "rd_req_mem", "rd_req_addr",
             "rd_resp_valid", "rd_resp_ready", "rd_resp_data")


class UnitTop(Elaboratable):
    """The unit with flat top-level ports (``TOP_PORTS``; ``edges_weight`` only when the
    rules read the weight)."""

    def __init__(self, unit: EdgeUnit):
        self.unit = unit
        unit._MustUse__used = True  # elaborated through UnitTop, not on its own
        rm = unit.regmap
        ab, mb = rm.addr_bits, rm.mem_bits
        sig = {
            "csr_addr": CSR_ADDR_BITS, "csr_w_en": 1, "csr_w_data": 64, "csr_r_data": 64,
            "edges_valid": 1, "edges_ready": 1, "edges_src": ab, "edges_dst": ab,
            "load_valid": 1, "load_ready": 1, "load_mem": mb, "load_addr": ab,
            "load_data": 64, "rd_req_valid": 1, "rd_req_ready": 1, "rd_req_mem": mb,
            "rd_req_addr": ab, "rd_resp_valid": 1, "rd_resp_ready": 1, "rd_resp_data": 64,
        }
        if rm.weight_bits:
            sig["edges_weight"] = signed(rm.weight_bits)
        self.ports = {name: Signal(shape, name=name) for name, shape in sig.items()}

    def elaborate(self, platform):
        u, p = self.unit, self.ports
        m = u.elaborate(platform)  # the unit's own module: one flat Verilog module
        m.d.comb += [
            u.csr.addr.eq(p["csr_addr"]), u.csr.w_en.eq(p["csr_w_en"]),
            u.csr.w_data.eq(p["csr_w_data"]), p["csr_r_data"].eq(u.csr.r_data),
            u.edges.valid.eq(p["edges_valid"]), p["edges_ready"].eq(u.edges.ready),
            u.edges.payload.src.eq(p["edges_src"]), u.edges.payload.dst.eq(p["edges_dst"]),
            u.load.valid.eq(p["load_valid"]), p["load_ready"].eq(u.load.ready),
            u.load.payload.mem.eq(p["load_mem"]), u.load.payload.addr.eq(p["load_addr"]),
            u.load.payload.data.eq(p["load_data"]),
            u.rd_req.valid.eq(p["rd_req_valid"]), p["rd_req_ready"].eq(u.rd_req.ready),
            u.rd_req.payload.mem.eq(p["rd_req_mem"]),
            u.rd_req.payload.addr.eq(p["rd_req_addr"]),
            p["rd_resp_valid"].eq(u.rd_resp.valid), u.rd_resp.ready.eq(p["rd_resp_ready"]),
            p["rd_resp_data"].eq(u.rd_resp.payload),
        ]
        if "edges_weight" in p:
            m.d.comb += u.edges.payload.weight.eq(p["edges_weight"])
        return m


def unit_verilog(unit: EdgeUnit, name: str | None = None) -> str:
    """The unit as Verilog (Amaranth's builtin yosys), top module ``name`` with
    ``TOP_PORTS``; no source paths in it, so the text depends on the kernel only."""
    from amaranth.back import verilog
    top = UnitTop(unit)
    return verilog.convert(top, name=name or unit.spec.name, ports=list(top.ports.values()),
                           emit_src=False)
