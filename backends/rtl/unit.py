"""The edge unit: an Amaranth component generated from a kernel's rules.

One edge per clock, in a pipeline of seven or more stages::

    S-1 take {src, dst, weight} from the ``edges`` stream into a register with a skid
        place (``edges.ready`` is a register's); compare its target with the edge S0
        takes in the same cycle (the bubble below, decided from a register)
    S0  accept the edge; present the endpoint addresses to the memories' read ports
    S1  memory data arrive and are registered in a register whose only input is the
        block RAM's output (``q1``: the DP16KD output register's place -- a block RAM's
        clock-to-out is 5.8 ns on ECP5, so no logic and no long route may follow it; the
        register's one load is the next stage, so the placer puts it beside the RAM)
    S1b the data are registered again, across the chip to where the rule's logic sits
    S2  the rule's expression (guards, privates, the value) is evaluated from them
        (``datapath``: spread over as many stages as its carry chains need; loop
        invariants are hoisted into registers); in the last of these stages the target
        entry's old value is taken from the write history when a recent write hit it
    RMW the reduction ``new = old (op) value`` (no loop: see below)
    WB  ``new`` is written back to the memory from a register, when it differs from
        ``old`` (an edge that changes nothing writes nothing and leaves no history
        entry: the write port is free for a busy load, ``busy_loads``)
    A1  change detection (``new != old``); A2 the counters, STATUS.changed (a write of
        a rule that raises a change flag) and STATUS.wrote (any write)

Read-after-write hazards: a read issued in cycle c sees every write up to cycle c-1; the
edge reaches the last evaluation stage E+3 cycles later, so the write history holds the
E+4 writes (cycles c .. c+E+3) its read may have missed.
The input keeps two edges that target the same entry at least a cycle apart (a bubble:
``STALLS``; S-1 decides it a cycle ahead), so the edge just ahead of one in RMW never
hits its entry, and every other write it missed is still in the registered write
history and forwarded (``HAZARDS``).
The read-modify-write stage thus has no feedback path: one comparator (or adder) and a
multiplexer between registers, which is what keeps Fmax up with 64-bit data; the write
port is driven from registers too.  Edges whose
neighbours differ stream at one per clock; a run on a single vertex at one every two.
A read in the cycle its entry is written may get anything from the memory (the memories
are ``no_rw_check``, so yosys puts no collision bypass after a block RAM's output): the
target read is corrected by the history, which holds that write; a read at the other
endpoint takes the written value through a bypass of the unit's own, chosen in front of
S1b from registers.

Memories (``amaranth.lib.memory``): each vertex table the rules touch, ``depth``
entries.  A table a rule reduces has one write port and a read port per endpoint address
it is read at (yosys duplicates block RAMs for the second read port); a table a
bulk-synchronous rule reads at its other endpoint gets a ``snapshot`` copy the unit never
writes, so those reads see the values from before the sweep.  Memories are loaded and read
back through the ``load`` / ``rd_req`` / ``rd_resp`` streams while idle (a read answers
two cycles after its request, through the S1 register; it takes requests against credits
and queues what ``rd_resp`` does not take, so no host valid or ready reaches the block
RAMs' inputs).  The register map
is ``regmap.RegisterMap``.
"""

from __future__ import annotations

from amaranth import hdl
from amaranth.hdl import Cat, Elaboratable, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from cosynth import ops

from .datapath import STATIC, SV, Env, Stager, compile_rule, hw_dtype, shape_of
from .kernel import REDUCE_HW, NotEligible, UnitSpec, rule_reads
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

    def __init__(self, spec: UnitSpec, depth: int, *, forward: int | None = None,
                 busy_loads: bool = False):
        """``forward``: how many write-history entries the read-modify-write forwarding
        compares (default: all of them).  Only the formal tests lower it, to break the
        forwarding on purpose and see the proof fail (``backends.rtl.formal``).

        ``busy_loads`` (the interval unit's: ``interval.IntervalUnit``): ``load`` is also
        ready while a run is busy, for an entry in the upper half of the memory (window
        B: its address's top bit set) in a cycle when the pipeline's write-back does not
        write that memory (``load.ready`` is a function of the load's registered payload
        and the write history's registers).  Legality: the write port is the pipeline's
        whenever it writes, and the host's otherwise, so no write is lost; the pipeline
        reads and forwards only the entries it reduces, and the caller keeps every edge's
        target in the lower half (window A: ``layout``'s target local ``< I``), so a busy
        load never lands on an entry that an edge in flight reduces -- the formal harness
        assumes exactly that and proves the rest (``formal.Miter``).  When an edge reads
        a loaded entry at its other endpoint is the caller's to order (the engine's gate)."""
        if depth < 1:
            raise NotEligible("a unit needs at least one vertex")
        if busy_loads and (depth < 2 or depth & (depth - 1)):
            raise NotEligible(f"loads while busy need two equal windows ({depth} entries)")
        self.spec = spec
        self.depth = depth
        self.forward = forward
        self.busy_loads = busy_loads
        #: after elaboration, the internals a formal harness observes (``formal.py``):
        #: busy, done, the live memories by table, and each target's read-modify-write
        #: registers (act, addr, val, op) and write history [(we, addr, new), ...]
        self.probes: dict = {}
        #: STATUS.done, .changed and .wrote as signals, for an engine that wraps the unit
        #: (``interval.IntervalUnit``): reading them off the register bus put the
        #: engine's state into the register-read multiplexer's address (a P = 1 path)
        self.done = Signal(name="done")
        self.changed = Signal(name="changed")
        self.wrote = Signal(name="wrote")
        #: EDGES_DONE, UPDATES, HAZARDS and STALLS as signals too: the engine keeps a
        #: finished block's counters while the unit runs the next (its command queue)
        self.accepted = Signal(COUNTER_BITS, name="accepted")
        self.updates = Signal(COUNTER_BITS, name="updates")
        self.hazards = Signal(COUNTER_BITS, name="hazards")
        self.stalls = Signal(COUNTER_BITS, name="stalls")
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
        rule = Signal(range(max(2, nrules)))  # the running rule: RULE, taken at start
        rule_next = Signal(range(max(2, nrules)))  # RULE as written: the next run's
        edge_count = Signal(COUNTER_BITS)
        cycles = Signal(COUNTER_BITS)
        accepted, updates, hazards, stalls = self.accepted, self.updates, self.hazards, self.stalls
        busy = Signal()
        # STATUS.changed: a reduction whose rule raises a change flag changed an entry;
        # STATUS.wrote: any reduction changed an entry (flagged or not)
        done, changed, wrote = self.done, self.changed, self.wrote
        start = Signal()
        params = {name: Signal(shape_of(d), name=f"p_{name}")
                  for name, d in spec.params.items()}

        csr = self.csr
        m.d.comb += start.eq(csr.w_en & (csr.addr == rm.reg("CTRL")) & csr.w_data[0])
        writable = [(rm.reg("RULE"), rule_next), (rm.reg("EDGE_COUNT"), edge_count)] + \
            [(r.addr, params[r.name]) for r in rm.params]
        for addr, reg in writable:  # read-only registers ignore writes
            with m.If(csr.w_en & (csr.addr == addr)):
                m.d.sync += reg.eq(csr.w_data)
        reads = {
            rm.reg("ID"): ID_VALUE,
            rm.reg("STATUS"): Cat(busy, done, changed, wrote),
            rm.reg("RULE"): rule_next,
            rm.reg("EDGE_COUNT"): edge_count,
            rm.reg("CYCLES"): cycles,
            rm.reg("EDGES_DONE"): accepted,
            rm.reg("UPDATES"): updates,
            rm.reg("HAZARDS"): hazards,
            rm.reg("STALLS"): stalls,
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

        # ------------------------------------------------------------ S-1: input
        # The ``edges`` stream enters a register stage with a skid place (``qp``, and
        # ``sp`` when the stage holds an edge that does not move on): ``edges.ready`` is
        # a function of registers only.  Two edges in a row on the same target entry are
        # kept a cycle apart (a bubble), so the read-modify-write stage never needs its
        # own result back: every forward comes from the registered write history.  The
        # bubble's compare is made a cycle ahead, when the stage loads an edge in the
        # cycle S0 takes the one before it (``qsame``: the new edge targets an entry the
        # taken one targets, for the running rule; a rule reducing into several tables
        # compares each) -- before, the compare of the input payload with the last
        # taken edge's target sat between the engine's edge register and the unit's
        # ``ready`` back into the engine's skid and the unit's counters (P = 1 BFS seeds
        # 1 / 3 and CC seed 2 at stop 27, 9.6-10.9 ns).  Same edges in the same order,
        # one cycle later; the same bubbles (an edge waits exactly when the edge taken
        # in the cycle before targets its entry).
        shape = self.edges.payload.shape()
        qv, sf = Signal(), Signal()  # the stage holds an edge; ... and its skid place
        qp, sp = Signal(shape), Signal(shape)
        qsame = Signal()  # qp targets an entry of the edge S0 took in the cycle before
        take = Signal()  # S0 takes the stage's edge
        in_take = Signal()  # the stage takes an input edge (into qp or sp)
        remaining = Signal(COUNTER_BITS)  # edges still to take in from the stream
        # remaining != 0 as a register: the 48-bit OR in front of ``ready`` and back into
        # the counter's enable was a P = 1 path (96.4 MHz, seed 2)
        rem_any = Signal()
        ready_ok = Signal()  # hoisted invariants have settled

        def targets(e):
            """(the running rule reduces table t, the entry edge ``e`` targets in t)."""
            out = []
            for t in sorted(spec.written):
                taddr = Signal(ab, name=f"taddr_{t}")
                uses = Signal(name=f"uses_{t}")
                m.d.comb += taddr.eq(e.dst)
                for i, r in enumerate(spec.rules):
                    u = r.update_of(t)
                    if u is not None:
                        with m.If(rule == i):
                            m.d.comb += uses.eq(1)
                            if u.target_end == "src":
                                m.d.comb += taddr.eq(e.src)
                out.append((uses, taddr))
            return out

        t_q, t_s, t_in = targets(qp), targets(sp), targets(self.edges.payload)

        def same(a, b):
            return _any([ua & (xa == xb) for (ua, xa), (_, xb) in zip(a, b)])

        m.d.comb += [
            self.edges.ready.eq(busy & rem_any & ~sf),
            in_take.eq(self.edges.valid & self.edges.ready),
            take.eq(qv & busy & ready_ok & ~qsame),
        ]
        with m.If(~qv | take):  # the stage's register moves on
            with m.If(sf):
                m.d.sync += [qp.eq(sp), qv.eq(1), sf.eq(0), qsame.eq(take & same(t_q, t_s))]
            with m.Else():
                m.d.sync += [qp.eq(self.edges.payload), qv.eq(in_take),
                             qsame.eq(take & same(t_q, t_in))]
        with m.Else():
            m.d.sync += qsame.eq(0)  # the bubble is one cycle
            with m.If(in_take):
                m.d.sync += [sp.eq(self.edges.payload), sf.eq(1)]
        with m.If(in_take):
            m.d.sync += [remaining.eq(remaining - 1), rem_any.eq(remaining != 1)]

        # ------------------------------------------------------------ S0: accept
        v0, src0, dst0 = Signal(), Signal(ab), Signal(ab)
        w0 = Signal(signed(rm.weight_bits)) if rm.weight_bits else None
        m.d.sync += v0.eq(take)
        with m.If(qv & busy & ready_ok & qsame):
            m.d.sync += stalls.eq(stalls + 1)
        with m.If(take):
            m.d.sync += [src0.eq(qp.src), dst0.eq(qp.dst), accepted.eq(accepted + 1)]
            if w0 is not None:
                m.d.sync += w0.eq(qp.weight)
        # what may enter the pipeline (the formal harness's assumption of a unit taking
        # loads while busy): (present, the rule reduces t, the entry targeted)
        targets_in = [(v, uses, taddr) for v, tt in ((in_take, t_in), (qv, t_q),
                                                     (sf, t_s)) for uses, taddr in tt]

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
        # the pipeline writes memory k this cycle (its write-back register's enable)
        pipe_we = {mem.id: Signal(name=f"pipe_we{mem.id}") for mem in rm.memories} \
            if self.busy_loads else {}
        if self.busy_loads:
            free = Signal()  # the loaded memory's write port is not the pipeline's now
            m.d.comb += [
                free.eq(~_any([(load.payload.mem == k) & we for k, we in pipe_we.items()])),
                load.ready.eq(~busy | (load.payload.addr[ab - 1] & free))]
        else:
            m.d.comb += load.ready.eq(~busy)
        readback_port = {}
        for mem in rm.memories:
            d = spec.tables[mem.table]
            # no_rw_check: a read in the cycle its entry is written may return anything.
            # Legal: a read issued in cycle c is used only through the write history,
            # which holds the write of cycle c (and later ones) and overrides the memory's
            # answer (``H`` below); loads and readbacks never meet on one entry in a
            # cycle (the host streams one, then the other).  Without it yosys delays
            # every write a cycle and puts a bypass LUT after each block RAM's output to
            # give the old value on a collision (ECP5's DP16KD defines none between its
            # two ports): that LUT sat between the RAM's 5.8 ns clock-to-out and q1, the
            # P = 1 Fmax path on seeds 1 and 2 (fmax4)
            mm = memory.Memory(shape=shape_of(d), depth=self.depth, init=[],
                               attrs={"no_rw_check": 1})
            m.submodules[f"mem{mem.id}_{mem.table}_{mem.role}"] = mm
            mems[mem.id] = mm
            wp = mm.write_port()
            wports[mem.id] = wp
            # host loads (idle; busy_loads: also while the pipeline does not write);
            # the pipeline's write-back drives the live memories (busy)
            with m.If(~pipe_we[mem.id] if self.busy_loads else ~busy):
                m.d.comb += [wp.addr.eq(load.payload.addr),
                             wp.data.eq(load.payload.data[:len(wp.data)]),
                             wp.en.eq(load.valid & (load.payload.mem == mem.id) &
                                      (load.ready if self.busy_loads else 1))]
            keys = _port_keys(spec, mem)
            first = None
            for key in keys:
                rp = mm.read_port()
                ports[(mem.table, mem.role, key)] = rp
                if first is None:
                    first = rp
                    readback_port[mem.id] = rp
                addr = self._port_addr(key, end_addr, rule, mem.table)
                # a readback port reads the requested address every idle cycle (enable
                # and address from the request's registers, whether or not it is taken:
                # the host's valid and ready stay out of the block RAMs' inputs)
                with m.If(busy):
                    m.d.comb += [rp.addr.eq(addr), rp.en.eq(1)]
                with m.Elif(1 if rp is first else 0):
                    m.d.comb += [rp.addr.eq(self.rd_req.payload.addr), rp.en.eq(1)]
                with m.Else():
                    m.d.comb += rp.en.eq(0)

        # S1: every read port's output goes into a register with no logic before it (q1)
        q1 = {}
        for key, rp in ports.items():
            # no reset (every use is qualified by a valid bit or a request), so that the
            # flow can fold it into the block RAM's output register (``outreg``)
            reg = Signal(rp.data.shape(), name=f"q1_{key[0]}_{key[1]}_{key[2]}",
                         reset_less=True)
            m.d.sync += reg.eq(rp.data)
            q1[key] = reg
        self._readback(m, busy, rd_accept, rd_mem, {
            mid: q1[next(k for k, r in ports.items() if r is rp)]
            for mid, rp in readback_port.items()})

        # ------------------------------------------------------------ S1, S1b
        # the block RAMs' outputs are registered before any logic (q1, above: their
        # clock-to-out is most of a cycle on ECP5), then once more (d2) so that the route
        # from beside the block RAMs to the rule's logic has a cycle of its own
        v1, src1, dst1 = Signal(), Signal(ab), Signal(ab)
        w1 = Signal(signed(rm.weight_bits)) if rm.weight_bits else None
        v1b, src1b, dst1b = Signal(), Signal(ab), Signal(ab)
        w1b = Signal(signed(rm.weight_bits)) if rm.weight_bits else None
        m.d.sync += [v1.eq(v0), src1.eq(src0), dst1.eq(dst0),
                     v1b.eq(v1), src1b.eq(src1), dst1b.eq(dst1)]
        if w1 is not None:
            m.d.sync += [w1.eq(w0), w1b.eq(w1)]
        # a read of a table the pipeline writes that the write history does not correct
        # (``other``: a written table read at the rule's other endpoint) takes the value
        # written in its own cycle, if any: the memories answer anything on such a
        # collision (no_rw_check, above), so the unit keeps the collision and the written
        # value beside q1 and chooses in front of d2 -- from registers, not after the
        # block RAM's output as yosys's emulation did.  (A fresher value than the
        # memory's old one: such reads may be stale by the pipeline's depth anyway.)
        bypass = {}
        coll = []  # (hit_a, new_a, the table, its read port): set below, from the history
        for key, rp in ports.items():
            table, role, k = key
            if role != "live" or k == "target":
                continue
            wp = wports[rm.mem(table, "live").id]
            nm = f"{table}_{k}"
            hit_a, hit_b = Signal(name=f"coll_a_{nm}"), Signal(name=f"coll_b_{nm}")
            new_a = Signal(rp.data.shape(), name=f"coll_new_a_{nm}")
            new_b = Signal(rp.data.shape(), name=f"coll_new_b_{nm}")
            m.d.sync += [hit_b.eq(hit_a), new_b.eq(new_a)]
            coll.append((hit_a, new_a, table, rp))
            bypass[key] = (hit_b, new_b)
        data2 = {}
        for key, reg1 in q1.items():
            reg = Signal(reg1.shape(), name=f"d2_{key[0]}_{key[1]}_{key[2]}")
            with m.If(busy):
                if key in bypass:
                    hit, new = bypass[key]
                    m.d.sync += reg.eq(Mux(hit, new, reg1))
                else:
                    m.d.sync += reg.eq(reg1)
            data2[key] = reg

        # ------------------------------------------------------------ S2..: evaluate
        # stage 0 of the evaluation is S2; the rules' logic spreads over E+1 stages
        # (datapath.Stager), the last of which also forwards from the write history
        v2, src2, dst2 = Signal(), Signal(ab), Signal(ab)
        w2 = Signal(signed(rm.weight_bits)) if rm.weight_bits else None
        m.d.sync += [v2.eq(v1b), src2.eq(src1b), dst2.eq(dst1b)]
        if w2 is not None:
            m.d.sync += w2.eq(w1b)
        snaps = set(spec.snapshot_tables)
        stager = Stager(m, "ev")

        def load_value(table: str, end: str, r):
            """The (registered) memory output a rule reads ``table[e.<end>]`` from."""
            if table in spec.written:
                u = r.update_of(table)
                if u is not None and end == u.target_end:  # pragma: no cover - refused
                    raise NotEligible(f"'{table}' read at the endpoint {r.label} reduces")
                if table in snaps:
                    return data2[(table, "snapshot", "other")]
                return data2[(table, "live", "other")]
            return data2[(table, "input", end)]

        compiled = []
        for r in spec.rules:
            env_loads = {(table, end): load_value(table, end, r)
                         for (table, end) in _rule_loads(r)}
            env = Env(ids={"src": src2, "dst": dst2}, loads=env_loads, weight=w2,
                      scalars=dict(params), kernel=spec.kernel)
            compiled.append(compile_rule(r, env, stager))
        E = max([max(p.stage, v.stage, 0) for ups in compiled for _, p, v in ups] + [0])
        self.eval_stages = E + 1
        self.settle = max(0, stager.inv_depth - 4)
        targets = sorted(spec.written)
        # writes the memory missed that the history must supply: the reduction's result is
        # written back a cycle later, from the first history register (WB).  A read issued
        # in cycle c (S0) misses the writes of cycles c.. ; its edge is in the last
        # evaluation stage in cycle c+3+E (S1, S1b, S2..S2+E), when h_j holds the write
        # of cycle c+4+E-j: j = 1..4+E
        H = 4 + E
        self.history = H

        def late(sig):
            return stager.at(SV(sig, 0), E).value
        vE, srcE, dstE = late(v2), late(src2), late(dst2)
        # the target addresses a stage before the last (S1b when there is no earlier
        # evaluation stage): the forwarding compares them with the write history a cycle
        # ahead, so that the last stage's priority multiplexer has registered selects
        early = {"src": stager.at(SV(src2, 0), E - 1).value if E >= 1 else src1b,
                 "dst": stager.at(SV(dst2, 0), E - 1).value if E >= 1 else dst1b}

        rmw = {}  # per target table: the read-modify-write state
        for t in targets:
            shp = shape_of(spec.tables[t])
            st = rmw[t] = {"d": spec.tables[t]}
            for nm, sh in (("act", 1), ("addr", ab), ("val", shp), ("old", shp),
                           ("hit", 1), ("flag", 1), ("op", range(len(_OPS))),
                           ("we", 1), ("new", shp)):
                st[nm] = Signal(sh, name=f"{t}_{nm}")
            st["h"] = [(Signal(name=f"{t}_h{j}_we"), Signal(ab, name=f"{t}_h{j}_addr"),
                        Signal(shp, name=f"{t}_h{j}_new")) for j in range(1, H + 1)]
            st["memold"] = late(data2[(t, "live", "target")])
            m.d.sync += st["act"].eq(0)
        # the collision with the pipeline's write of this cycle, from the write history's
        # registers (h_1: what the write port writes while busy) -- not from the write
        # port, whose enable, address and data a unit taking loads while busy
        # multiplexes with the load's (busy -> h_1's enable -> the port's address
        # multiplexer -> the compare was P = 1 SSSP-int seed 2's path, 10.7 ns).  A load
        # while busy writes only window B entries no edge has read yet (the engine's
        # gate lets an edge go a cycle after its entry is written), so it never collides
        for hit_a, new_a, table, rp in coll:
            h1_we, h1_addr, h1_new = rmw[table]["h"][0]
            m.d.sync += [hit_a.eq(busy & h1_we & (h1_addr == rp.addr)), new_a.eq(h1_new)]

        # the last evaluation stage: select the rule, forward, register into the RMW stage
        per_update = [(i, r, *x) for i, (r, ups) in enumerate(zip(spec.rules, compiled))
                      for x in ups]
        hit_regs: dict = {}

        def history_hits(t: str, end: str) -> list:
            """Per forwarded history entry h_j: "h_j holds a write to this edge's target",
            for the edge in the last evaluation stage, as registers.  The history shifts
            every cycle and so does the pipeline, so h_j now is h_(j-1) a cycle ago, and
            h_1 now is the RMW stage's write (act, addr) a cycle ago; the edge's address
            a cycle ago is ``early``'s.  Compared then and registered: equal to the
            comparison now, a cycle earlier, so the last stage's priority multiplexer
            has registered selects.  Also without an earlier evaluation stage (E = 0:
            four history entries: BFS, CC; ``early`` is then S1b's address): CC's P = 1
            critical path was the address compare in front of that multiplexer."""
            if (t, end) not in hit_regs:
                st = rmw[t]
                n = len(st["h"]) if self.forward is None else min(self.forward, len(st["h"]))
                # h_1: the RMW stage's edge (act, addr) compared a cycle ahead, and its
                # write enable (the edge changes the entry) taken from h_1 itself once it
                # is there -- the same value, but the reduction's compare (SSSP: 64 bits)
                # stays out of the hit register's input (SSSP-int seed 1: 93.8 MHz with it)
                ahead = [(st["act"], st["addr"])] + [(we, a) for we, a, _ in st["h"][:n - 1]]
                regs = []
                for j, (we, a) in enumerate(ahead[:n], 1):
                    h = Signal(name=f"{t}_h{j}_hit_{end}")
                    m.d.sync += h.eq(we & (a == early[end]))
                    regs.append(h)
                if regs:
                    regs[0] = regs[0] & st["h"][0][0]
                hit_regs[t, end] = regs
            return hit_regs[t, end]

        for i, r, t, pred, value in per_update:
            u = r.update_of(t)
            st = rmw[t]
            pv = stager.at(pred, E).value if pred.stage != STATIC else pred.value
            vv = stager.at(value, E).value if value.stage != STATIC else value.value
            taddr = srcE if u.target_end == "src" else dstE
            with m.If(rule == i):
                hist = st["h"][:self.forward] if self.forward is not None else st["h"]
                hits = history_hits(t, u.target_end)
                old = st["memold"]
                for hit, (_, _, new) in reversed(list(zip(hits, hist))):
                    old = Mux(hit, new, old)  # the most recent write wins
                m.d.sync += [
                    st["act"].eq(vE & pv),
                    st["addr"].eq(taddr),
                    st["val"].eq(vv),
                    st["old"].eq(old),
                    st["hit"].eq(_any(hits)),
                    st["flag"].eq(1 if u.flag else 0),
                    st["op"].eq(_OPS.index(u.op)),
                ]

        # ------------------------------------------------------------ RMW: reduce
        any_fwd = Signal()
        fwd_terms = []
        acct = []
        for t in targets:
            st = rmw[t]
            d = st["d"]
            old = Signal(shape_of(d), name=f"{t}_old_now")
            m.d.comb += old.eq(st["old"])  # the edge just ahead never hits it (bubbles)
            val = st["val"]
            ops_used = sorted({u.op for r in spec.rules for u in r.ups if u.target == t})
            results = {op: _reduce(op, old, val, d) for op in ops_used}
            if len(results) == 1:
                m.d.comb += st["new"].eq(next(iter(results.values())))
            else:
                with m.Switch(st["op"]):
                    for op, res in results.items():
                        with m.Case(_OPS.index(op)):
                            m.d.comb += st["new"].eq(res)
                    with m.Default():
                        m.d.comb += st["new"].eq(old)
            # the memory is written only when the reduction changes the entry: ``old`` is
            # the entry's value after every earlier write (memory or history), so an
            # unchanged entry already holds ``new``.  The write history records exactly
            # the memory's writes (an unchanged edge leaves no entry: nothing to forward),
            # and the write port is free for a busy load in more cycles (a CC edge whose
            # label is not smaller writes nothing)
            m.d.comb += st["we"].eq(st["act"] & _changes(ops_used, old, val, st["new"], d))
            wp = wports[rm.mem(t, "live").id]
            h1_we, h1_addr, h1_new = st["h"][0]
            mid = rm.mem(t, "live").id
            if self.busy_loads:
                m.d.comb += pipe_we[mid].eq(busy & h1_we)
            # write-back from registers (WB stage); busy_loads: only in the cycles it
            # writes, so that a load may have the port in the others
            with m.If(pipe_we[mid] if self.busy_loads else busy):
                m.d.comb += [wp.addr.eq(h1_addr), wp.data.eq(h1_new), wp.en.eq(h1_we)]
            # the write history shifts by one every cycle
            m.d.sync += [st["h"][0][0].eq(st["we"]), st["h"][0][1].eq(st["addr"]),
                         st["h"][0][2].eq(st["new"])]
            for j in range(1, H):
                m.d.sync += [a.eq(b) for a, b in zip(st["h"][j], st["h"][j - 1])]
            we_a, flag_a = Signal(name=f"{t}_we_a"), Signal(name=f"{t}_flag_a")
            old_a, new_a = Signal(shape_of(d), name=f"{t}_old_a"), \
                Signal(shape_of(d), name=f"{t}_new_a")
            m.d.sync += [we_a.eq(st["we"]), flag_a.eq(st["flag"]), old_a.eq(old),
                         new_a.eq(st["new"])]
            acct.append((we_a, flag_a, old_a, new_a))
            fwd_terms.append(st["we"] & st["hit"])
        m.d.comb += any_fwd.eq(_any(fwd_terms))
        fwd_b = Signal()
        m.d.sync += fwd_b.eq(any_fwd)

        # ------------------------------------------------ accounting (two stages)
        upd_b = Signal(range(len(acct) + 1))
        chg_b = Signal()
        upd_terms, chg_terms = [], []
        for we_a, flag_a, old_a, new_a in acct:
            c = Signal()
            m.d.comb += c.eq(we_a & (old_a != new_a))
            upd_terms.append(c)
            chg_terms.append(c & flag_a)
        m.d.sync += [upd_b.eq(sum(upd_terms) if upd_terms else 0), chg_b.eq(_any(chg_terms))]

        # ------------------------------------------------------------ control
        # in flight (past S-1, whose edge ``qv`` counts): S0, S1, S1b, the evaluation
        # stages, RMW, the write-back and the two
        # accounting stages
        depth_total = 3 + (E + 1) + 1 + 1 + 2
        inflight = Signal(range(depth_total + 2))
        with m.If(take):
            m.d.sync += inflight.eq(depth_total)
        with m.Elif(inflight.any()):
            m.d.sync += inflight.eq(inflight - 1)
        settle = Signal(range(self.settle + 2))
        with m.If(start & ~busy):  # a start while running is ignored
            m.d.sync += [busy.eq(1), done.eq(0), changed.eq(0), wrote.eq(0), cycles.eq(0),
                         rule.eq(rule_next), accepted.eq(0), remaining.eq(edge_count),
                         rem_any.eq(edge_count.any()),
                         updates.eq(0), hazards.eq(0), stalls.eq(0),
                         settle.eq(self.settle)]
        with m.Elif(busy):
            m.d.sync += [cycles.eq(cycles + 1), updates.eq(updates + upd_b),
                         hazards.eq(hazards + fwd_b)]
            with m.If(settle.any()):
                m.d.sync += settle.eq(settle - 1)
            with m.If(chg_b):
                m.d.sync += changed.eq(1)
            with m.If(upd_b.any()):
                m.d.sync += wrote.eq(1)
            with m.If(~rem_any & ~qv & ~inflight.any() & ~take):
                m.d.sync += [busy.eq(0), done.eq(1)]
        m.d.comb += ready_ok.eq(~settle.any())
        self.probes = {"busy": busy, "done": done, "history": H, "take": take,
                       "targets_in": targets_in,
                       "mems": {t: mems[rm.mem(t, "live").id] for t in targets},
                       "rmw": {t: {k: rmw[t][k] for k in ("act", "addr", "val", "op", "h")}
                               for t in targets}}
        return m

    def _readback(self, m, busy, rd_accept, rd_mem, words: dict) -> None:
        """``rd_req`` -> ``rd_resp``: a word taken in cycle c is in the block RAM's output
        in c+1 and in its q1 register (``words[mem]``) in c+2, when it is offered on
        ``rd_resp`` or, not taken, kept in a queue of ``RB_CREDITS`` places.  Requests
        are taken while fewer than ``RB_CREDITS`` words are outstanding, so the read
        pipeline never stalls (no ready reaches the block RAMs) and one word a clock
        goes through when ``rd_resp`` is always ready (2 outstanding at a cycle's
        start)."""
        rm = self.regmap
        cap = RB_CREDITS
        count = Signal(range(cap + 1))  # taken requests whose word is not yet out
        rd_v1, rd_v2 = Signal(), Signal()  # a word in the block RAM's output, in q1
        rd_mem1 = Signal(rm.mem_bits)
        word = Signal(64)
        with m.Switch(rd_mem):
            for mid, reg in words.items():
                with m.Case(mid):
                    m.d.comb += word.eq(reg)  # signed: sign-extended
            with m.Default():
                m.d.comb += word.eq(0)
        fq = [Signal(64, name=f"rb_q{i}") for i in range(cap)]
        fn = Signal(range(cap + 1))  # words in the queue; fq[0] is the oldest
        take, push, pop = Signal(), Signal(), Signal()
        resp = self.rd_resp
        m.d.comb += [
            self.rd_req.ready.eq(~busy & (count < cap)),
            rd_accept.eq(self.rd_req.valid & self.rd_req.ready),
            resp.valid.eq(fn.any() | rd_v2),
            resp.payload.eq(Mux(fn.any(), fq[0], word)),
            take.eq(resp.valid & resp.ready),
            pop.eq(take & fn.any()),
            push.eq(rd_v2 & ~(take & ~fn.any())),  # q1's word, unless taken at once
        ]
        m.d.sync += [rd_v1.eq(rd_accept), rd_mem1.eq(self.rd_req.payload.mem),
                     rd_v2.eq(rd_v1), rd_mem.eq(rd_mem1),
                     count.eq(count + rd_accept - take), fn.eq(fn + push - pop)]
        at = Signal(range(cap + 1))  # where a pushed word goes
        m.d.comb += at.eq(fn - pop)
        with m.If(pop):  # the queue moves up one place when its head is taken
            m.d.sync += [fq[i].eq(fq[i + 1]) for i in range(cap - 1)]
        for i in range(cap):  # (after the move: this assignment wins)
            with m.If(push & (~at.any() if i == 0 else at == i)):
                m.d.sync += fq[i].eq(word)

    def _port_addr(self, key, end_addr, rule, table: str):
        """The address a read port of ``table`` presents while running, per rule: the
        entry it reduces (``target``), the endpoint it reads the written table at
        (``other``: unique per rule, ``unit_spec``), or a fixed endpoint."""
        spec = self.spec
        if key in ("src", "dst"):
            return end_addr(key)
        addr = end_addr("dst")
        for i, r in enumerate(spec.rules):
            u = r.update_of(table)
            if key == "target":
                end = u.target_end if u is not None else None
            else:
                end = r.read_end(table) or (u.other_end if u is not None else None)
            if end is not None:
                addr = Mux(rule == i, end_addr(end), addr)
        return addr


_OPS = REDUCE_HW  # a rule's reduction, as the index of its name here
#: readback words outstanding at most (taken, not yet out on ``rd_resp``): 3 keep one a
#: clock through the two-cycle read (``EdgeUnit._readback``)
RB_CREDITS = 3
#: width of the counters and EDGE_COUNT (read back zero-extended to 64 bits): 2**48 cycles
#: are 32 days at 100 MHz, and 48-bit carry chains keep them off the critical path
COUNTER_BITS = 48


def _any(terms):
    out = 0
    for t in terms:
        out = t | out
    return out


def _reduce(op: str, old, val, d):
    """``old op val`` with the operator table's meaning (``min``: val if val < old), the
    table's hardware builder of the reduction's operator; integers wrap at the width."""
    r = ops.reduction(op)
    d = hw_dtype(d)  # a fixed-point float reduces as its word
    if not r.admits(d):
        if d.is_bool:
            raise NotEligible(f"an {op}-reduction into a bool table")
        raise NotEligible(f"an '{op}'-reduction into the integer table (use a bool table)")
    cost, fn = r.op.rtl_builder(d)
    if cost == "select":  # min / max: the builder says whether to take val
        return Mux(fn(hdl, old, val), val, old)
    v = fn(hdl, old, val)
    return v if d.is_bool else v[:d.bits].as_signed()


def _changes(ops_used: list[str], old, val, new, d):
    """"``old op val`` differs from ``old``": for a min / max (a select) the builder's
    compare, true only where ``val`` is taken, and ``val != old`` beside it (two compares
    of registers in parallel, not one after the select); for every other reduction
    ``new != old``.  Several operators on one table: ``new != old``."""
    if len(ops_used) == 1:
        r = ops.reduction(ops_used[0])
        hd = hw_dtype(d)
        cost, fn = r.op.rtl_builder(hd)
        if cost == "select":
            return fn(hdl, old, val) & (val != old)
    return new != old


def _rule_loads(r) -> set[tuple[str, str]]:
    return rule_reads(r)


def _port_keys(spec: UnitSpec, mem) -> list[str]:
    """The read ports memory ``mem`` needs: ``target`` (the entry reduced: read-modify-
    write), ``other`` (a written table read at the rule's other endpoint), or ``src`` /
    ``dst`` (a table only read)."""
    t = mem.table
    if mem.role == "snapshot":
        return ["other"]
    if mem.role == "live":
        keys = ["target"]
        snap = t in spec.snapshot_tables
        if not snap and any(r.read_end(t) is not None for r in spec.rules):
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
    from amaranth.back import verilog  # lazy: loads the builtin Yosys, only Verilog needs it
    top = UnitTop(unit)
    return verilog.convert(top, name=name or unit.spec.name, ports=list(top.ports.values()),
                           emit_src=False)
