"""The interval unit: an edge unit whose vertex tables live in external memory.

``IntervalUnit(spec, interval)`` wraps the generated ``unit.EdgeUnit`` holding ``2 I``
entries per memory (window A = [0, I): the target interval; window B = [I, 2 I): the
other endpoints' interval) with a *block engine* that talks to external memory through a
LiteDRAM native port (``memport``; why that bus: its docstring).  Where the tables and
the edge blocks are is ``layout.MemoryLayout``; the host gives the engine the region
bases in registers and walks the blocks (``interval_host``).  One block command:

    LOAD A   (flag bit 0) read I words of every memory's region at the target interval
             into window A of the unit's memories
    LOAD B   (flag bit 1) the same at the other interval into window B
    RUN      write EDGE_COUNT and CTRL of the unit, stream the block's edge words from
             memory into its ``edges`` stream (through a register stage with a skid
             place, ``interval_skid``: one edge a clock, a cycle later; an odd packed
             block's pad is the word's high half with both fields' bit 15 set -- a real
             edge's target local is below ``I <= 2**15``; a dense weighted block's,
             ``layout.DENSE``, is known by position: its last word's high half when
             its count is odd), wait for STATUS.done
    GATHER   (flag bit 4, instead of bit 1) load into window B only the entries the
             block's edges read: the block's *gather map* (``layout``: ``I / b`` words
             of ``b = min(64, I)`` bits, bit j of word w for entry ``w b + j``), the
             words just before its first edge, is read into a small on-chip memory
             (two banks: a queued block's map is read while the block before it ends,
             once that block's edge reads are all issued -- ``pf``; and once the
             map is in, the block before's gather done and its edge reads issued,
             the queued block's gather starts too, its words held in the gather
             FIFO until it launches -- ``gnx``);
             then, per memory, one read per set bit, each answer written to its entry
             (a FIFO of the entries of the reads in flight pairs them up).  A block of
             u distinct other endpoints costs ``I / b + u`` reads per memory instead of
             ``I``: kron-18's blocks read ~1/3 as many distinct sources as edges, and
             far fewer than the interval (the window-load bound of dense loads).  The
             entries are gathered *beside the run* (after the map: the unit takes
             loads into window B while busy, ``EdgeUnit(busy_loads=True)``), in rising
             entry order, and the block's edges come in that order too (``layout``
             version 6); the *gate* holds an edge in the register stage in front of
             the unit (``interval_skid``'s registered flag) until the unit has taken
             the gathered entry of the last memory at its window-B local (``gpos``),
             so every edge reads loaded values while the gather's
             reads and the edge words share the port (the edges' first: held at
             the gate, they fill their FIFO and stop asking)
    WB       (flag bit 2) write window A of every live memory back to its region -- only
             when a block since window A was loaded changed an entry (the unit's
             STATUS.wrote: ``new != old`` of a write of any rule -- not STATUS.changed,
             which counts only rules that raise a change flag: k-core's ``deg add= -1``
             raises none, and its windows were never written back): an unchanged window equals its
             region, so writing it back would move ``I`` words per memory for nothing

The engine's commands pass a register stage before the port
(``port_arbiter.CommandStage``, or a shared port's arbiter: ``COMMAND_STAGES`` = 1
clock): the engine's ``cmd.ready`` is a register, so its issue logic (state -> command
valid -> ready -> the counters, ``areg``, the gather machine) ends inside the PE. Reads
go through a FIFO of ``fifo_depth`` words: a read is issued only when the FIFO has a
place reserved for its data (the port's read data are always accepted), so at most
``fifo_depth`` reads are in flight -- the depth must cover the memory's latency times
the rate for the stream not to stall (the planner sizes it: ``interval_costs``). The
gathered entries have a FIFO of their own, with its own reservation, and a tag per read
in flight routes each answer: an edge word held at the gate never blocks the gathered
word it waits for.

*Command queue.*  Registers 50..54 are the *next* command: the host writes them and
BLK_CTRL bit 0 while a block runs, and the engine takes them the cycle the running
command ends (one place: BLK_STATUS bit 2 while it is taken).  A finished command's
results -- BLK_CYCLES and the unit's STATUS, EDGES_DONE, UPDATES, HAZARDS, STALLS --
are kept in registers of the engine (read at the unit's addresses at any time) until the
host writes BLK_CTRL bit 1; a command that ends before then waits (in DONE) with its own,
so no result is lost however slow the host.  The host's loop (``interval_host``,
``runtime/cosynth_interval.hpp``): start a block, queue the next, then per finished block
read its results and write the next block with BLK_CTRL = 3 (read, queue) -- the engine
never waits for the host's register writes and polls between blocks (two cycles between
commands: DONE and LAUNCH).  Why a register queue and not a descriptor list the engine
reads from memory: the commands cost no port cycles and no latency (a descriptor read is
a DRAM round trip a block unless prefetched, more logic than five registers), and the
host reads every block's results anyway (its check that each block consumed its edges).

Registers: the unit's own (``regmap``, addresses 0..47, passed through while the engine
is idle; STATUS, EDGES_DONE, UPDATES, HAZARDS and STALLS: the last command's, kept) and
the engine's::

    48 BLK_CTRL    wo  bit 0: queue the block command of registers 50..54 (it starts at
                       once when the engine is idle, else when the running one ends);
                       bit 1: the host has read the last command's results
    49 BLK_STATUS  ro  bit 0 busy (a command runs or waits), bit 1 done, bit 2 a
                       command waits (registers 50..54 are taken: writes to them are
                       ignored), bit 3 results unread
    50 BLK_EDGES   rw  first word of the block's edges in memory
    51 BLK_COUNT   rw  edges in the block
    52 BLK_A       rw  first vertex of the target interval (window A)
    53 BLK_B       rw  first vertex of the other interval (window B)
    54 BLK_FLAGS   rw  bit 0 load A, bit 1 load B, bit 2 write back A, bit 3 packed
                       edges (a weighted unit's edges one word each, an unweighted
                       unit's two a word: layout.packs),
                       bit 4 gather B (only the entries of the block's gather map),
                       bit 5 dense weighted edges (two a word, ``layout.DENSE``; not
                       with bit 3), bits 6 and 7: a dense edge's source's and
                       destination's window bit (1: window B; the target's is 0)
    55 BLK_CYCLES  ro  cycles of the last block command, start to done
    62 PE_BUSY     ro  BLK_STATUS bit 0 at bit 0, bit 3 at bit 16 (as ``multi``'s, one PE)
    56+k MEM_BASE  rw  first word of memory k's region (k < 6; 62 and 63 are the PE
                       arbiter's: ``multi``)
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Elaboratable, Module, Mux, Signal
from amaranth.lib import fifo, memory, wiring
from amaranth.lib.wiring import In, Out

from .interval_skid import EdgeSkid
from .interval_tags import TagQueue
from .kernel import NotEligible, UnitSpec
from .memport import PORT_PINS, NativePortSignature, port_pins
from .onehot import OneHot
from .port_arbiter import CommandStage
from .regmap import CSR_ADDR_BITS, PARAM_BASE
from .unit import COUNTER_BITS, CsrSignature, EdgeUnit

__all__ = ["IntervalUnit", "IntervalTop", "interval_verilog", "INTERVAL_PORTS", "ENGINE_REGS",
           "MAX_MEMORIES", "FLAG_LOAD_A", "FLAG_LOAD_B",
           "FLAG_WRITEBACK", "FLAG_PACKED", "FLAG_GATHER_B", "FLAG_DENSE", "FLAG_SRC_B",
           "FLAG_DST_B", "FLAG_BITS", "gather_map_bits"]

ENGINE_REGS = {"BLK_CTRL": 48, "BLK_STATUS": 49, "BLK_EDGES": 50, "BLK_COUNT": 51,
               "BLK_A": 52, "BLK_B": 53, "BLK_FLAGS": 54, "BLK_CYCLES": 55, "MEM_BASE": 56}
MAX_MEMORIES = 6
#: a PE's BLK_STATUS bits 0 and 3 at bits 0 and 16 (``multi.PE_BUSY``: every PE's)
PE_BUSY_ADDR = 62
FLAG_LOAD_A, FLAG_LOAD_B, FLAG_WRITEBACK, FLAG_PACKED, FLAG_GATHER_B = 1, 2, 4, 8, 16
#: dense weighted edges (``layout.DENSE``), and their endpoints' window bits
FLAG_DENSE, FLAG_SRC_B, FLAG_DST_B = 32, 64, 128
FLAG_BITS = 8  # BLK_FLAGS bits the engine keeps


#: the engine's and the gather's machines (``onehot``: a flag register a state)
ENGINE_STATES = ["IDLE", "LAUNCH", "LOAD", "GMAP", "START", "EDGES", "WB", "DONE"]
GATHER_STATES = ["GOFF", "GSTART", "GATHER", "GDRAIN"]

#: the edges' reads go in aligned runs of ``2 ** RUN_BITS`` words between gather reads
RUN_BITS = 3


def gather_map_bits(interval: int) -> int:
    """Bits of one gather-map word: window B's entries ``w b .. w b + b - 1`` of word w."""
    return min(64, interval)
_ENGINE_FIRST = 48


class IntervalUnit(wiring.Component):
    """The unit of ``spec`` working on intervals of ``interval`` vertices in external
    memory (``addr_width``-bit word addresses), reads buffered ``fifo_depth`` deep."""

    def __init__(self, spec: UnitSpec, interval: int, *, fifo_depth: int = 32,
                 addr_width: int = 32, command_stage: bool = True):
        if interval < 2 or interval & (interval - 1):
            raise NotEligible(f"an interval of {interval} vertices (a power of two >= 2)")
        self.spec = spec
        self.interval = interval
        self.fifo_depth = fifo_depth
        #: the engine's commands pass a register stage of its own (``port_arbiter.
        #: CommandStage``) -- False only where a shared port's arbiter gives it one
        self.command_stage = command_stage
        self.inner = EdgeUnit(spec, 2 * interval, busy_loads=True)
        self.regmap = self.inner.regmap
        if len(self.regmap.memories) > MAX_MEMORIES:
            raise NotEligible(f"{len(self.regmap.memories)} unit memories (an interval "
                              f"unit has region registers for {MAX_MEMORIES})")
        if PARAM_BASE + len(self.regmap.params) > _ENGINE_FIRST:
            raise NotEligible(f"{len(self.regmap.params)} scalar parameters (an interval "
                              f"unit has room for {_ENGINE_FIRST - PARAM_BASE})")
        self.edge_words = 2 if self.regmap.weight_bits else 1
        self.read_latency = 0  # csr.r_data answers the address of this cycle (multi: 3)
        self.busy = Signal(name="engine_busy")  # a block command runs
        #: ... or waits (BLK_STATUS bit 0: from the BLK_CTRL write on)
        self.active = Signal(name="engine_active")
        #: a finished command's results wait to be read (BLK_STATUS bit 3)
        self.unread = Signal(name="engine_unread")
        super().__init__({"csr": In(CsrSignature()),
                          "mem": Out(NativePortSignature(addr_width, 64))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit = u = self.inner
        rm = self.regmap
        I = self.interval
        lg = I.bit_length() - 1
        # the gate (below: ``gpos``, ``gall``) and the register stage it lives in
        gpos = Signal(range(I + 1))
        gall = Signal()

        def passes(e):
            """The edge reads only loaded entries: each endpoint in window A, or below
            ``gpos`` in window B (or the block gathers nothing)."""
            return gall | ((~e.src[lg] | (e.src[:lg] < gpos)) &
                           (~e.dst[lg] | (e.dst[:lg] < gpos)))

        # the edge stream passes a register stage (``interval_skid``): the engine's edge
        # word select and the unit's input stage are on either side of it; the gate is
        # its registered ``ok`` flag, so no comparison sits between the read FIFO's
        # output and its read enable
        m.submodules.skid = sk = EdgeSkid(u.edges.payload.shape(), gate=passes)
        wiring.connect(m, sk.o, u.edges)
        es = sk.i  # the engine's edge stream
        nm = len(rm.memories)
        live = [mm.id for mm in rm.memories if mm.role == "live"]
        aw = len(self.mem.cmd.addr)
        ew = self.edge_words
        R = ENGINE_REGS

        # ------------------------------------------------------------ registers
        # the running command (``edges_at`` .. ``flags``) and the queued one (``nxt``:
        # what the host writes to BLK_EDGES .. BLK_FLAGS, at any time the queue's one
        # place is free), taken when the running one ends -- the command queue
        edges_at = Signal(aw)
        count = Signal(COUNTER_BITS)
        a_base, b_base = Signal(aw), Signal(aw)
        flags = Signal(FLAG_BITS)
        cur = [edges_at, count, a_base, b_base, flags]
        nxt = [Signal.like(r, name=f"next_{n}") for r, n in
               zip(cur, ("edges", "count", "a", "b", "flags"))]
        blk_cycles = Signal(COUNTER_BITS)
        busy, done, unread = self.busy, Signal(), self.unread
        queued = Signal()  # a command waits in ``nxt``
        # the last finished command's results (BLK_CYCLES and the unit's STATUS,
        # EDGES_DONE, UPDATES, HAZARDS, STALLS), kept while the next one runs
        res = {a: Signal(w, name=f"res_{n}") for a, w, n in (
            (R["BLK_CYCLES"], COUNTER_BITS, "cycles"), (rm.reg("STATUS"), 4, "status"),
            (rm.reg("EDGES_DONE"), COUNTER_BITS, "edges"),
            (rm.reg("UPDATES"), COUNTER_BITS, "updates"),
            (rm.reg("HAZARDS"), COUNTER_BITS, "hazards"),
            (rm.reg("STALLS"), COUNTER_BITS, "stalls"))}
        base_regs = [Signal(aw, name=f"mem_base{k}") for k in range(MAX_MEMORIES)]
        bases = Array(base_regs)
        csr = self.csr
        taking = Signal()  # the queued command becomes the running one (this cycle)
        queue_regs = list(zip((R["BLK_EDGES"], R["BLK_COUNT"], R["BLK_A"], R["BLK_B"],
                               R["BLK_FLAGS"]), nxt))
        base_writes = [(R["MEM_BASE"] + k, bases[k]) for k in range(MAX_MEMORIES)]
        reads = {a: r for a, r in queue_regs + base_writes}
        m.d.comb += self.active.eq(busy | queued)
        reads[R["BLK_STATUS"]] = Cat(self.active, done, queued, unread)
        reads[PE_BUSY_ADDR] = unread << 16 | self.active  # as multi.PE_BUSY's, one PE
        reads.update(res)
        with m.If(~queued | taking):  # a write while a command waits: ignored
            for addr, reg in queue_regs:
                with m.If(csr.w_en & (csr.addr == addr)):
                    m.d.sync += reg.eq(csr.w_data)
        with m.If(~busy):
            for addr, reg in base_writes:
                with m.If(csr.w_en & (csr.addr == addr)):
                    m.d.sync += reg.eq(csr.w_data)
        # the unit's own registers pass through while the engine is idle
        engine_read = Signal(64)
        with m.Switch(csr.addr):
            for addr, val in reads.items():
                with m.Case(addr):
                    m.d.comb += engine_read.eq(val)
        mine = Signal()  # the engine answers: its registers and the kept results
        m.d.comb += mine.eq((csr.addr >= _ENGINE_FIRST) |
                            Cat(*[csr.addr == a for a in res if a < _ENGINE_FIRST]).any())
        m.d.comb += csr.r_data.eq(Mux(mine, engine_read, Mux(busy, 0, u.csr.r_data)))

        # ------------------------------------------------------------ read FIFO
        # the engine's port: through its command stage (``port_arbiter``: its ready is a
        # register, equal for commands and write data) -- or the arbiter's
        if self.command_stage:
            m.submodules.cmd = cs = CommandStage(addr_width=aw)
            wiring.connect(m, wiring.flipped(self.mem), cs.mem)
            port = cs.pe
        else:
            port = self.mem
        D = self.fifo_depth
        # two read FIFOs, each with its own reservation: ``rf`` (edges, window loads,
        # the gather map) and ``rg`` (gathered entries, which run beside the edges); a
        # tag per read in flight (``tags``: the port answers in order) says whose word
        # comes back, so an edge word waiting at the gate never blocks a gathered one
        m.submodules.rfifo = rf = fifo.SyncFIFOBuffered(width=64, depth=D)
        m.submodules.gfifo = rg = fifo.SyncFIFOBuffered(width=64, depth=D)
        # the gather map's words (``pf``, below) go straight into the map memory: tag 2
        gw_ = self.interval // gather_map_bits(self.interval)
        # (its head and its newest entry registers: ``interval_tags``, the LUT-RAM off the
        # write enables' and the port arbitration's paths; + 2: the LUT-RAM holds 2 D + gw_)
        m.submodules.tags = tg = TagQueue(width=2, depth=2 * D + gw_ + 2)
        m.submodules.wbq = wbq = fifo.SyncFIFOBuffered(width=64, depth=2)
        pending = Signal(range(D + 1))  # reads for rf issued whose word was not popped yet
        gpending = Signal(range(D + 1))  # ... for rg
        rd_issue, pop = Signal(), Signal()
        g_issue, gpop = Signal(), Signal()
        gsel = Signal()  # the port's command is a gather read
        psel = Signal()  # ... a read of a gather map (``pf``)
        ewant = Signal()  # the edge stream would issue a read (it goes first)
        # the engine's machine presents a read (LOAD, EDGES: ``ewant``); the gather's
        # (``gsel``) goes only when it does not, the map fetch's (``psel``) only when
        # the gather's does not -- and never with the machine's (``pf_slot``: GMAP, or
        # EDGES with every edge read issued) -- so the three are exclusive by
        # construction and each one's issue is its own select and the port's ready (a
        # register: the command stage), no chain through the port's valid
        e_rd = Signal()
        wb_v = Signal()  # the engine's machine presents a write (WB)
        g_req = Signal()  # the gather machine has a read ready (``gsel`` unless e_rd)
        issue = Signal()
        m.d.comb += [issue.eq((e_rd | gsel | psel) & port.cmd.ready),  # (the reads only)
                     tg.w_en.eq(issue), tg.w_data.eq(Cat(gsel, psel)),
                     tg.r_en.eq(port.rdata.valid),
                     rf.w_en.eq(port.rdata.valid & (tg.r_data == 0)),
                     rf.w_data.eq(port.rdata.data),
                     rg.w_en.eq(port.rdata.valid & tg.r_data[0]), rg.w_data.eq(port.rdata.data),
                     port.rdata.ready.eq(1),
                     rd_issue.eq(e_rd & port.cmd.ready), g_issue.eq(gsel & port.cmd.ready),
                     pop.eq(rf.r_en & rf.r_rdy), gpop.eq(rg.r_en & rg.r_rdy)]
        m.d.sync += [pending.eq(pending + rd_issue - pop),
                     gpending.eq(gpending + g_issue - gpop)]
        # ``pending < D`` and the others are registers kept with their counters: each
        # next value is one of three compares of the counter as it is (up one, the same,
        # down one), chosen by the issue and the pop -- so no carry chain sits between
        # the engine's state and the read issue (P = 1 BFS seed 1 after the command
        # stage: engine state -> ... -> the FIFO's room compare -> areg, 10.4 ns)
        room, groom = Signal(init=1), Signal(init=1)
        erun_room = Signal(init=1)  # room for a run of edge reads (``RUN_BITS``)
        _level(m, room, pending, rd_issue, pop, lambda c, k: c < D - k)
        _level(m, erun_room, pending, rd_issue, pop,
               lambda c, k: c <= max(0, D - (1 << RUN_BITS)) - k)
        _level(m, groom, gpending, g_issue, gpop, lambda c, k: c < D - k)

        # ------------------------------------------------------------ engine
        # Addresses come from registers: ``areg`` is the next request's word address; it
        # steps by one, or at the end of an interval's ``I`` words (``col`` all ones) to
        # ``nbase``, the next region's window, selected a cycle ahead from registered
        # sums (below; two wraps are at least I >= 2 requests apart).  ``more`` (requests
        # left in the phase) is a register too, so the request path is register -> port with no
        # counter compare or region multiplexer in it (the Fmax of the first version).
        lg_w = max(1, lg)
        small = max(nm, len(live), 1) * I + 1
        rcnt = Signal(range(small))  # write-back: words the unit was asked for
        # words consumed: a load's popped (``scnt``: zeroed in LAUNCH and at a load's
        # last word), a write-back's written (``wcnt``: zeroed when the run ends) -- two
        # counters, each with one source in front of it (one for both had the states'
        # multiplexer there: P = 1 SSSP-int seed 2's path after the command stage)
        scnt = Signal(range(small))
        wcnt = Signal(range(small))
        # ``scnt`` at its phase's last word (a load's, a write-back's), registers moved
        # with it: the 13-bit compare is no longer between ``pop`` and the phase change's
        # ``areg`` / ``left`` (P = 1's path on BFS seed 2 and CC seed 3 at stop 27: scnt ->
        # compare -> areg, 10.5 ns)
        s_last_ld, s_last_wb = Signal(), Signal()
        # requests still to issue in this phase: a window load's (``left``: at most
        # ``MAX_MEMORIES`` windows) and a run's edge words (``left_run``), two counters so
        # that each has one source and one decrement in front of it (one 48-bit counter
        # for both had the phases' multiplexer and both issue conditions in front of its
        # 48 flip-flops: P = 1 BFS seeds 1 / 2 after the command stage, 10.1-10.3 ns)
        left = Signal(range(MAX_MEMORIES * I + 1))
        left_run = Signal(COUNTER_BITS)
        more = Signal()  # left != 0
        areg = Signal(aw)
        nbase = Signal(aw)
        col = Signal(lg_w)
        kk = Signal(range(MAX_MEMORIES + 2))
        win_b = Signal()
        half = Signal()  # weighted: the edge's first word is held; packed: the high half
        word0 = Signal(64)
        # dense weighted edges (``layout.DENSE``) when I leaves their weight bits
        dense_ok = ew == 2 and 2 * I <= 1 << 16
        dpad_at = Signal()  # dense: the FIFO's head word is the last of an odd run
        udone = Signal()  # the unit's STATUS.done, registered (off the exit path's timing)
        uchg = Signal()  # ... and its STATUS.wrote (an entry changed, flag or not)
        dirty = Signal()  # a block since window A was loaded changed an entry of it
        load_words = nm * I
        wb_words = len(live) * I
        live_ids = Array(live) if live else Array([0])
        # Every region's window bases, ``base_k + a_base`` and ``base_k + b_base``, are
        # registers summed every cycle (the inputs do not change while ``busy``: the host
        # cannot write them then, and a block's first wrap is at least I >= 2 requests
        # after its start, when the sums have seen the last register write).  The next
        # window's base is then a register select: ``k1`` (= kk + 1, a register moved with
        # kk) picks one of the memories' sums -- no adder and no kk + 1 -> live -> base
        # lookup chain in front of ``nbase`` (the P = 1 critical path of seed 1 after
        # fmax3: kk -> bases_pad[live_pad[kk + 1]] -> 24-bit add -> nbase, 93.0 MHz).
        # Cycle for cycle as before: nbase is still the next window's base one cycle
        # after kk moves.
        k1 = Signal(range(MAX_MEMORIES + 2))
        sum_a = [Signal(aw, name=f"base_a{k}") for k in range(max(1, nm))]
        sum_b = [Signal(aw, name=f"base_b{k}") for k in range(max(1, nm))]
        # ... and the queued command's window B (an early gather, ``gnx``)
        sum_nb = [Signal(aw, name=f"base_nb{k}") for k in range(max(1, nm))]
        for k in range(max(1, nm)):
            m.d.sync += [sum_a[k].eq(base_regs[k] + a_base), sum_b[k].eq(base_regs[k] + b_base),
                         sum_nb[k].eq(base_regs[k] + nxt[3])]
        seq_len = max(1, nm) + 1  # k1 runs to nm (past the last memory: never used)
        load_a = Array(sum_a + [sum_a[0]] * (seq_len - len(sum_a) + 1))
        load_b = Array(sum_b + [sum_b[0]] * (seq_len - len(sum_b) + 1))
        load_nb = Array(sum_nb + [sum_nb[0]] * (seq_len - len(sum_nb) + 1))
        # the gather serves the queued command (started early: below), its words wait in
        # ``rg`` until that command has launched
        gnx = Signal()
        gearly = Signal()  # the running (or queued) command's gather started early
        wb_seq = [sum_a[k] for k in (live or [0])]
        wb_next = Array(wb_seq + [wb_seq[0]] * (seq_len - len(wb_seq) + 1))

        # gather (FLAG_GATHER_B): the block's map, gw words of gb bits, on chip
        gb = gather_map_bits(I)
        lgb = gb.bit_length() - 1
        gw = I // gb
        # no_rw_check (as the unit's memories): the map is written only in GMAP and read
        # only in GSTART/GATHER, so no read meets a write; without it yosys put its
        # read-first bypass LUT after the map RAM's output, in front of ``rem``'s own
        # multiplexer (the P = 1 path of fmax5's seed 1: 95.3 MHz)
        # two banks: the running block's gather reads ``gbank`` while the next block's
        # map comes into the other (``pf``)
        # each word carries a bit beside its gb: "the word is not empty", so that the
        # gather machine's "bits left" is a register (``have``): the OR of ``rem``'s 64
        # bits in front of the machine's state and ``rem``'s enable was the P = 4
        # critical path (interval 2048: 10.47 ns, 80% of it routing)
        # ram_style distributed: LUT RAM beside the gather machine.  As a block RAM (yosys'
        # choice from I = 4096: 128 words) its 5.8 ns clock-to-out and the route from
        # wherever the placer put the block into ``rem`` / ``have`` were the P = 1 path
        # (CC seeds 1 and 3: 95.7 / 80.6 MHz, 3.5-4.8 ns of routing); it is 2 x I / 64
        # words, 128 LUT-RAM cells of 16 x 4 at I = 4096, and frees two block RAMs a PE
        m.submodules.gmap = gmm = memory.Memory(shape=gb + 1, depth=2 * gw, init=[],
                                                attrs={"no_rw_check": 1,
                                                       "ram_style": "distributed"})
        # an asynchronous read (LUT RAM) at the register ``wi``: the word the machine takes
        # next, as the synchronous read a cycle ahead gave it, without the take -> next
        # address logic (and ``wi + 1``'s carry chain) in front of the read (CC seeds 1 / 2,
        # SSSP-int seed 1: 92.7 / 95.7 / 94.7 MHz with it)
        gmw, gmr = gmm.write_port(), gmm.read_port(domain="comb")
        lgw = (gw - 1).bit_length()  # bits of a word's index in its bank
        gbank = Signal()  # the bank the gather reads (the running block's map)
        gbase = Signal(aw)  # memory kk's window B
        wbase = Signal(aw)  # ... at the current map word (aligned: OR in the bit index)
        wi = Signal(range(gw + 1))  # the next map word to take
        # ... past the bank's last (``wi == gw``): a register kept with it, no compare of
        # the counter in front of the take and ``rem``'s 64 enables (P = 1 CC seed 2 on
        # the second one-hot snapshot: wi -> the compare's carry chain -> rem, 10.7 ns)
        wi_end = Signal()
        m.d.comb += gmr.addr.eq(Cat(wi[:lgw], gbank))
        wcur = Signal(range(max(2, gw)))  # the map word in ``rem``
        rem = Signal(gb)  # its bits not yet issued
        have = Signal()  # ... not all issued: ``rem != 0``, kept as a register
        # the gather's reads wait in a queue of two places (``s_addr`` / ``s_slot``, a
        # place its address and its entry in window B): the head is presented
        # (``saddr`` / ``sslot``), ``sv``: a read waits, ``sfull``: two do
        sv, sfull = Signal(), Signal()
        s_addr = [Signal(aw, name=f"saddr{i}") for i in range(2)]
        s_slot = [Signal(lg_w, name=f"sslot{i}") for i in range(2)]
        s_head, s_tail = Signal(), Signal()
        saddr, sslot = Signal(aw), Signal(lg_w)
        m.d.comb += [saddr.eq(Mux(s_head, s_addr[1], s_addr[0])),
                     sslot.eq(Mux(s_head, s_slot[1], s_slot[0]))]
        # the lowest set bit's index, ``rem`` without it and whether bits are left
        low_idx, rem_next, have_next = _lowest(m, rem)
        kbits = max(1, (nm - 1).bit_length())
        m.submodules.slots = sq = fifo.SyncFIFO(width=lg_w + kbits, depth=D + 2)
        sq_push = Signal()
        sq_slot = Signal(lg_w + kbits)
        # gathered words go to window B at the entry their read was issued for
        # the words loaded into the unit's memories pass a register (``ld_*`` -> the
        # unit's ``load``): the load phases' multiplexers (window, gather slot) and the
        # unit's write ports were the P = 1 critical path after gathers came in
        ld_v, ld_data = Signal(), Signal(64)
        rb_v, rb_data = Signal(), Signal(64)  # write-back: a word read from window A
        ld_mem = Signal.like(u.load.payload.mem)
        ld_addr = Signal.like(u.load.payload.addr)
        # the register holds its word while the unit does not take it (a run writes
        # that memory this cycle: ``EdgeUnit(busy_loads=True)``); idle, it always takes
        ld_free = Signal()
        m.d.comb += ld_free.eq(~u.load.valid | u.load.ready)
        with m.If(ld_free):
            m.d.sync += [u.load.valid.eq(ld_v), u.load.payload.mem.eq(ld_mem),
                         u.load.payload.addr.eq(ld_addr), u.load.payload.data.eq(ld_data)]
        gather_pop = [rg.r_en.eq(ld_free & ~gnx), sq.r_en.eq(gpop), ld_v.eq(rg.r_rdy & ~gnx),
                      ld_mem.eq(sq.r_data[lg_w:]),
                      ld_addr.eq(sq.r_data[:lg_w] | (1 << lg)),
                      ld_data.eq(rg.r_data)]
        # the gate: a gathered entry is written when the unit takes its load; ``gpos``
        # is one past the last slot of the last memory written (slots go in rising
        # order, memory after memory, through one queue), so an edge whose window-B
        # local is below it reads a loaded entry -- the skid's ``ok`` flag registers
        # ``passes`` (the edge goes to the unit the cycle after ``passes`` held), its
        # read reaches the block RAM two cycles later or more (the unit's input stage
        # and S0), and the write was in the cycle before ``gpos`` moved.  ``gall``: the
        # block gathers nothing (window B loaded whole, or on the diagonal).  ``gpos``
        # only rises while a block runs (the skid's legality condition for its flag)
        with m.If(u.load.valid & u.load.ready & (u.load.payload.mem == nm - 1) &
                  u.load.payload.addr[lg]):
            m.d.sync += gpos.eq(u.load.payload.addr[:lg] + 1)

        def scnt_to(zero: bool):
            """``scnt`` to 0, or one up, with its last-word flag."""
            if zero:
                return [scnt.eq(0), s_last_ld.eq(load_words == 1)]
            return [scnt.eq(scnt + 1), s_last_ld.eq(scnt == load_words - 2)]

        def wcnt_to(zero: bool):
            """``wcnt`` to 0, or one up, with its last-word flag."""
            if zero:
                return [wcnt.eq(0), s_last_wb.eq(wb_words == 1)]
            return [wcnt.eq(wcnt + 1), s_last_wb.eq(wcnt == wb_words - 2)]

        # ``areg`` is not at the start of an aligned run of ``2 ** RUN_BITS`` words: a
        # register kept with it (the edges' read condition, ``ewant``, had ``areg``'s
        # low bits' OR in front of the port's arbitration: P = 1 SSSP-int seed 1's path)
        amid = Signal()

        # ``areg`` (with ``amid``, ``col``, ``kk``, ``k1``) is written in one place, after
        # the machine, from three requests of its states: ``a_set`` (a phase starts at
        # ``a_first``), ``a_adv`` (a window's next word: one up, or the next window's
        # base at the end of one), ``a_inc`` (the edges' next word).  ``a_first`` is
        # chosen by the state flags alone (each state that starts a phase drives it in
        # all its cycles), and no two requests come in one cycle (a phase starts only
        # when every read of the one before is issued), so ``areg``'s input is one small
        # multiplexer behind its requests -- not the machine's nest of conditions, which
        # was behind the read issue on every remaining P = 1 path of the first one-hot
        # snapshot (CC seeds 1 / 3: ... -> ``rd_issue`` -> 3 LUTs -> ``areg``, 10.2 ns)
        a_set, a_adv, a_inc = Signal(), Signal(), Signal()
        a_first = Signal(aw)

        def phase(words, count=True, nonzero=None, run=False):
            """Start a phase of ``words`` requests from ``a_first`` (``nonzero``: ``words !=
            0`` if known, e.g. as a register; ``run``: the edge words')."""
            m.d.comb += a_set.eq(1)
            if count:
                m.d.sync += [(left_run if run else left).eq(words),
                             more.eq(words != 0 if nonzero is None else nonzero)]

        # the run's edge words and whether there are any, registers: ``count`` and
        # ``flags`` change only when a command is taken (``take_next``), at least two
        # cycles (LAUNCH, COUNT) before START reads these, so they are the running
        # command's there -- and the 48-bit ``(count + 1) >> 1`` adder and its zero test
        # are no longer in front of ``more`` (P = 1 seed 2's path with the tag queue's
        # head registered: count -> carry chain -> ``more``, 9.75 ns)
        total = Mux(flags[3], count, count * 2) if ew == 2 else \
            Mux(flags[3], (count + 1) >> 1, count)
        if dense_ok:
            total = Mux(flags[5], (count + 1) >> 1, total)
        run_words, run_any = Signal(COUNTER_BITS), Signal()
        m.d.sync += [run_words.eq(total), run_any.eq(total != 0)]

        def advance():
            m.d.comb += a_adv.eq(1)

        with m.If(busy):
            m.d.sync += blk_cycles.eq(blk_cycles + 1)

        # idle: the host's register bus drives the unit's; busy: the engine's writes,
        # address, enable and data registers set the cycle before (EDGE_COUNT in LAUNCH,
        # CTRL in START: the unit starts in the first EDGES cycle), so no engine state
        # reaches the unit's register decode and write enables (P = 1 CC seed 3's path
        # after the command stage: engine state -> the unit's write enable -> its
        # ``done``, 10.6 ns) nor its register-read multiplexer
        uaddr = Signal(CSR_ADDR_BITS)
        uw_en = Signal()
        uw_data = Signal(COUNTER_BITS)
        m.d.comb += [u.csr.addr.eq(Mux(busy, uaddr, csr.addr)),
                     u.csr.w_data.eq(Mux(busy, uw_data, csr.w_data)),
                     u.csr.w_en.eq(Mux(busy, uw_en, csr.w_en & (csr.addr < _ENGINE_FIRST)))]
        m.d.sync += [uaddr.eq(rm.reg("EDGE_COUNT")), uw_en.eq(0)]

        gkick = Signal()  # the gather map is in: the gather starts
        # ``pf``: the gather map's reads, for the running block (from LAUNCH) or -- while
        # the running block's edge reads are all issued -- for the queued one, so the next
        # block's map is in when it starts (its GMAP then takes no cycle of waiting)
        pf_have = Signal()  # a map is being fetched or is in, not yet taken by a gather
        pf_next = Signal()  # ... for the queued command (else the running one)
        pf_addr = Signal(aw)  # its next word's address
        pf_left = Signal(range(gw + 1))  # reads still to issue
        pf_any = Signal()  # ... any: a register kept with it (the port's arbitration)
        pf_arr = Signal(range(gw + 1))  # words in
        # ... all of them (``pf_arr == gw``): a register kept with it, so no compare of the
        # counter sits in front of the gather's kick (P = 1 CC seed 2 on the first one-hot
        # snapshot: pf_arr -> the compare -> LAUNCH's / EDGES' kick -> the gather's flags)
        pf_in = Signal()
        pf_bank = Signal()  # the bank they go to
        pf_slot = Signal()  # the engine's machine leaves the port to ``pf`` this cycle
        pf_ahead = Signal()  # ... in EDGES: the queued command's map may start
        gidle = Signal()  # the gather machine is idle (every gathered word written)

        def take_next():
            m.d.comb += taking.eq(1)
            m.d.sync += [r.eq(x) for r, x in zip(cur, nxt)] + [queued.eq(0), pf_next.eq(0)]

        # ``edge_payload``: the edge stream's payload, a function of the read FIFO's head
        # word, ``half`` / ``word0`` and the command's flags only -- not of the engine's
        # state (only ``es.valid`` is EDGES'), so no state decode sits in front of the
        # skid's gate compare (P = 4 seed 2's path after the command stages: engine
        # state -> the payload -> ``passes`` -> the skid's ``ok``, 10.0 ns)
        first = rf.r_data if ew == 1 else word0
        m.d.comb += [es.payload.src.eq(first[:32]), es.payload.dst.eq(first[32:])]
        part = Mux(half, rf.r_data[32:], rf.r_data[:32])
        if ew == 1:
            with m.If(flags[3]):
                m.d.comb += [es.payload.src.eq(part[:16]), es.payload.dst.eq(part[16:])]
        else:
            m.d.comb += es.payload.weight.eq(rf.r_data)
            # dense (``layout.DENSE``, only when I leaves weight bits): two edges a word,
            # the low half first, each two 16-bit fields of an L-bit index and weight
            # bits; the window bits from the block (flags 6, 7).  Wiring: the fields'
            # places are constants of I, and the indices sit where the packed format's
            # addresses do
            if dense_ok:
                with m.If(flags[5]):
                    m.d.comb += [es.payload.src.eq(Cat(part[:lg], flags[6])),
                                 es.payload.dst.eq(Cat(part[16:16 + lg], flags[7])),
                                 es.payload.weight.eq(Cat(part[lg:16], part[16 + lg:32]))]
            # packed: 16-bit addresses, a 32-bit weight
            with (m.Elif if dense_ok else m.If)(flags[3]):
                m.d.comb += [es.payload.src.eq(rf.r_data[:16]),
                             es.payload.dst.eq(rf.r_data[16:32]),
                             es.payload.weight.eq(rf.r_data[32:].as_signed())]

        # the engine's machine: a flag register a state (``onehot``: no decode of a
        # binary state in front of the read issue)
        with OneHot(m, "engine", ENGINE_STATES) as eng:
            with eng.state("IDLE"):
                with m.If(queued):
                    m.d.sync += [busy.eq(1), done.eq(0)]
                    take_next()
                    eng.goto("LAUNCH")
            with eng.state("LAUNCH"):
                # the command's registers were taken a cycle ago: the sums of its bases
                # (``sum_a``, ``sum_b``, ``gmap_at``) are registered from them now
                m.d.sync += scnt_to(zero=True)
                m.d.sync += [blk_cycles.eq(0), rcnt.eq(0),
                             half.eq(0), win_b.eq(~flags[0]),
                             gpos.eq(0), gall.eq(~flags[4])]
                with m.If(flags[0]):
                    m.d.sync += dirty.eq(0)
                m.d.comb += a_first.eq(base_regs[0] + Mux(flags[0], a_base, b_base))
                phase(load_words)
                # the unit is idle (its STATUS.done ended the last run): EDGE_COUNT is
                # written in the next cycle, whatever phases come before START
                # (``uaddr`` is EDGE_COUNT in every cycle that does not follow START)
                m.d.sync += [uw_en.eq(1), uw_data.eq(count)]
                # an early gather (``gnx``) serves this command from the next cycle on:
                # ``sum_nb`` held its window B until now, ``sum_b`` does from now on
                m.d.sync += [gnx.eq(0), gearly.eq(0)]
                with m.If(flags[4] & ~pf_have & ~gearly):  # no map fetched ahead: fetch it now
                    m.d.sync += [pf_have.eq(1), pf_next.eq(0), pf_addr.eq(edges_at - gw),
                                 pf_left.eq(gw), pf_any.eq(1), pf_arr.eq(0), pf_in.eq(0),
                                 pf_bank.eq(~gbank)]
                with m.If(flags[0] | flags[1]):
                    eng.goto("LOAD")
                with m.Elif(flags[4] & ~gearly & ~(pf_have & pf_in)):
                    eng.goto("GMAP")
                with m.Else():
                    # the map fetched ahead is in (or none is needed): the gather starts
                    # now, beside START and the run (GSTART next cycle reads ``sum_b``,
                    # registered from this command's BLK_B during this cycle)
                    with m.If(flags[4] & ~gearly):
                        m.d.sync += [gbank.eq(pf_bank), pf_have.eq(0)]
                        m.d.comb += gkick.eq(1)
                    eng.goto("START")
            with eng.state("LOAD"):
                m.d.sync += nbase.eq(Mux(win_b, load_b[k1], load_a[k1]))
                m.d.comb += [e_rd.eq(more & room), a_first.eq(sum_b[0])]
                with m.If(rd_issue):
                    m.d.sync += [left.eq(left - 1), more.eq(left != 1)]
                    advance()
                # the unit is idle here (its STATUS.done ended the last run, the next
                # starts in START), so it takes every load (``ld_free`` is 1): the FIFO
                # pops without waiting for ``ld_free`` -- its compare of the load
                # register's memory and window bit with the pipeline's write enables
                # was in front of ``pop`` -> ``scnt`` -> the phase change -> ``areg``
                # (P = 1 seed 1's critical path after the gate was registered, 101.1 MHz)
                m.d.comb += [rf.r_en.eq(1), ld_v.eq(rf.r_rdy), ld_mem.eq(scnt[lg:]),
                             ld_addr.eq(scnt[:lg] | (win_b << lg)), ld_data.eq(rf.r_data)]
                # a word pops whenever the FIFO has one (``r_en`` is 1 here): its ready,
                # not ``pop`` -- ``pop`` is ``r_en``'s multiplexer over the states, and the
                # edge stream's half of it (flags, ``half``, the skid's ready) was in front
                # of this state's transitions (P = 4 seed 3 on snapshot E: a PE's
                # ``flags`` -> ``r_en`` -> ``pop`` -> GMAP's flag, 10.4 ns)
                with m.If(rf.r_rdy):
                    m.d.sync += scnt_to(zero=False)
                    with m.If(s_last_ld):
                        m.d.sync += scnt_to(zero=True)
                        # the next phase's first address from a register (the sums
                        # above; ``gmap_at``): no adder behind the phase change's
                        # control (seed 1's next P = 1 path: pop -> ... -> the
                        # base_0 + b_base carry chain -> areg, 9.74 ns)
                        with m.If(~win_b & flags[1]):
                            m.d.sync += win_b.eq(1)
                            phase(load_words)
                        with m.Elif(~win_b & flags[4]):
                            eng.goto("GMAP")
                        with m.Else():
                            eng.goto("START")
            with eng.state("GMAP"):
                # the gather map: its gw words come into a bank of the map memory
                # (``pf``, below: fetched during the block before, or now); then the run
                # starts and the gather (its own machine, below) goes beside the edges
                m.d.comb += pf_slot.eq(1)
                with m.If(pf_in):
                    m.d.sync += [gbank.eq(pf_bank), pf_have.eq(0)]
                    m.d.comb += gkick.eq(1)
                    eng.goto("START")
            with eng.state("START"):
                m.d.sync += [uw_en.eq(1), uaddr.eq(rm.reg("CTRL")), uw_data.eq(1)]
                m.d.sync += [rcnt.eq(0), udone.eq(0)]
                m.d.comb += a_first.eq(edges_at)
                phase(run_words, nonzero=run_any, run=True)
                eng.goto("EDGES")
            with eng.state("EDGES"):
                # the edges read in runs up to an 8-word boundary: a run starts when the
                # FIFO has room for all of it, and the gather's scattered reads come
                # between runs -- one between two edge reads would break the DRAM's
                # burst continuation and make every edge word open a burst of its own
                m.d.comb += [ewant.eq(more & room & (amid | erun_room)), e_rd.eq(ewant),
                             a_first.eq(wb_seq[0])]
                with m.If(rd_issue):
                    m.d.sync += [left_run.eq(left_run - 1), more.eq(left_run != 1)]
                    m.d.comb += a_inc.eq(1)
                # every edge read issued: the next block's map may take the port
                m.d.comb += [pf_slot.eq(~more), pf_ahead.eq(~more)]
                # (the payload: ``edge_payload``, before the machine)
                if ew == 1:
                    with m.If(flags[3]):
                        # packed: two edges a word (16-bit local addresses each), the low
                        # half first; a high half of all ones pads an odd block
                        pad = Signal()
                        # a real edge's target local is < I <= 2**15 (window A), so
                        # its bit 15 is clear; the pad has both top bits set
                        m.d.comb += pad.eq(half & rf.r_data[47] & rf.r_data[63])
                        _two_a_word(m, rf, es, half, pop, pad)
                    with m.Else():
                        m.d.comb += [es.valid.eq(rf.r_rdy),
                                     rf.r_en.eq(es.ready)]
                else:
                    # dense (``layout.DENSE``): an odd block's pad is its last word's
                    # high half, known by position (``dpad_at``), so a real edge may
                    # hold any bits
                    if dense_ok:
                        with m.If(flags[5]):
                            dpad = Signal()
                            m.d.comb += dpad.eq(half & dpad_at)
                            _two_a_word(m, rf, es, half, pop, dpad)
                            # the head word is the run's last when every edge read is
                            # issued and one word is not popped (``more``, ``pending``),
                            # registered: read only while ``half`` holds the head's high
                            # half, so a cycle since its low half went -- no read was
                            # issued then (else neither is last) and no word popped,
                            # so the register's cycle-old answer is the answer now
                            m.d.sync += dpad_at.eq(~more & (pending == 1) & count[0])
                    # packed: 16-bit addresses, a 32-bit weight
                    with (m.Elif if dense_ok else m.If)(flags[3]):
                        m.d.comb += [es.valid.eq(rf.r_rdy), rf.r_en.eq(es.ready)]
                    with m.Elif(~half):
                        m.d.comb += rf.r_en.eq(1)
                        with m.If(pop):
                            m.d.sync += [word0.eq(rf.r_data), half.eq(1)]
                    with m.Else():
                        m.d.comb += [es.valid.eq(rf.r_rdy),
                                     rf.r_en.eq(es.ready)]
                        with m.If(pop):
                            m.d.sync += half.eq(0)
                # STATUS bits 1, 3 -- not in the cycle the start lands (``uw_en``: the
                # unit's done is the last run's until the next edge)
                m.d.sync += [udone.eq(u.done & ~uw_en), uchg.eq(u.wrote)]
                # every edge requested, the unit done, the gather's words all written
                # the next block's gather may start now (``gnx``): its reads go beside
                # this block's tail, its words wait in ``rg`` until it launches -- when
                # this block's gather is done, every edge read issued, no write-back
                # follows, and the queued command gathers, loads no window, and its map is
                # in (fetched ahead)
                with m.If(~more & gidle & ~flags[2] & queued & ~taking & nxt[4][4] &
                          ~nxt[4][0] & ~nxt[4][1] & pf_have & pf_next & pf_in):
                    m.d.sync += [gnx.eq(1), gearly.eq(1), gbank.eq(pf_bank), pf_have.eq(0)]
                    m.d.comb += gkick.eq(1)
                with m.If(~more & udone & (gidle | gnx)):
                    m.d.sync += wcnt_to(zero=True)
                    m.d.sync += [rcnt.eq(0), dirty.eq(dirty | uchg)]
                    phase(0, count=False)
                    with m.If(flags[2] & (wb_words > 0) & (dirty | uchg)):
                        eng.goto("WB")
                    with m.Else():
                        eng.goto("DONE")
            with eng.state("WB"):
                # the unit reads window A of each live memory; each word goes out as a
                # write command with its data (the command stage's two readies are one
                # register: both are taken in the same cycle)
                m.d.sync += nbase.eq(wb_next[k1])
                m.d.comb += [u.rd_req.valid.eq(rcnt < wb_words),
                             u.rd_req.payload.mem.eq(live_ids[rcnt[lg:]]),
                             u.rd_req.payload.addr.eq(rcnt[:lg])]
                with m.If(u.rd_req.valid & u.rd_req.ready):
                    m.d.sync += rcnt.eq(rcnt + 1)
                # the words pass a register (``rb_*``: its only load is the block RAM's
                # output, so it sits beside the block RAMs -- their clock-to-out is
                # 5.8 ns on ECP5 and the route to the queue was the P = 1 critical path
                # after the edge stream's skid stage, 94.4 MHz) and a two-place queue:
                # the port's write data come from its output register
                m.d.comb += [wbq.w_data.eq(rb_data), wbq.w_en.eq(rb_v),
                             u.rd_resp.ready.eq(~rb_v | wbq.w_rdy)]
                with m.If(u.rd_resp.ready):
                    m.d.sync += [rb_v.eq(u.rd_resp.valid), rb_data.eq(u.rd_resp.payload)]
                accept = Signal()
                m.d.comb += [
                    wb_v.eq(wbq.r_rdy),
                    port.wdata.valid.eq(wbq.r_rdy), port.wdata.data.eq(wbq.r_data),
                    accept.eq(port.cmd.ready & port.wdata.ready),
                    wbq.r_en.eq(accept),
                ]
                with m.If(wbq.r_rdy & accept):
                    m.d.sync += wcnt_to(zero=False)
                    advance()
                    with m.If(s_last_wb):
                        eng.goto("DONE")
            with eng.state("DONE"):
                # the results are kept until the host has read the last ones (it says
                # so in BLK_CTRL bit 1); then a queued command starts at once
                with m.If(~unread):
                    m.d.sync += [unread.eq(1), res[R["BLK_CYCLES"]].eq(blk_cycles),
                                 res[rm.reg("STATUS")].eq(Cat(0, 1, u.changed, u.wrote)),
                                 res[rm.reg("EDGES_DONE")].eq(u.accepted),
                                 res[rm.reg("UPDATES")].eq(u.updates),
                                 res[rm.reg("HAZARDS")].eq(u.hazards),
                                 res[rm.reg("STALLS")].eq(u.stalls)]
                    with m.If(queued):
                        take_next()
                        eng.goto("LAUNCH")
                    with m.Else():
                        m.d.sync += [busy.eq(0), done.eq(1)]
                        eng.goto("IDLE")

        # ``areg`` and the window walk's registers (``a_set`` / ``a_adv`` / ``a_inc``)
        col_last = col == I - 1 if I > 1 else 1
        with m.If(a_set):
            m.d.sync += [areg.eq(a_first), amid.eq(a_first[:RUN_BITS].any()),
                         col.eq(0), kk.eq(0), k1.eq(1)]
        with m.Elif(a_adv & col_last):
            m.d.sync += [areg.eq(nbase), amid.eq(nbase[:RUN_BITS].any()),
                         col.eq(0), kk.eq(k1), k1.eq(k1 + 1)]
        with m.Elif(a_adv | a_inc):
            m.d.sync += [areg.eq(areg + 1), amid.eq(areg[:RUN_BITS] != (1 << RUN_BITS) - 1)]
            with m.If(a_adv):
                m.d.sync += col.eq(col + 1)

        # BLK_CTRL (after the machine: a command written in the cycle the waiting one
        # is taken waits in its turn)
        ctrl = Signal()
        m.d.comb += ctrl.eq(csr.w_en & (csr.addr == R["BLK_CTRL"]))
        with m.If(ctrl & csr.w_data[0] & (~queued | taking)):
            m.d.sync += queued.eq(1)
        with m.If(ctrl & csr.w_data[1]):  # the host has read the last results
            m.d.sync += unread.eq(0)

        # ------------------------------------------------------------ gather
        # FLAG_GATHER_B: load into window B only the entries of the block's gather map,
        # beside the run (from GMAP or LAUNCH: in START and EDGES; or early, in the tail
        # of the block before, ``gnx``: its words then wait in ``rg``), memory after memory
        # (``gk``), one read per set bit of ``rem`` (the current map word), the lowest
        # first, through a registered request (``sv``/``saddr``: the port's address is
        # a register); a word is taken when ``rem`` is empty.  Its reads take the port
        # when the edges' do not (``gsel``), their words go to ``rg``; the edges wait
        # at the gate.
        gk = Signal(range(MAX_MEMORIES + 2))
        gk1 = Signal(range(MAX_MEMORIES + 2))
        # the gather's read request: ``sv`` is only ever set in GATHER, and GATHER ends
        # only with it clear, so it implies the state
        m.d.comb += [g_req.eq(sv & groom), gsel.eq(g_req & ~e_rd)]
        with OneHot(m, "gather", GATHER_STATES) as gfsm:
            with gfsm.state("GOFF"):
                m.d.comb += gidle.eq(1)
                with m.If(gkick):
                    m.d.sync += [gk.eq(0), gk1.eq(1)]
                    gfsm.goto("GSTART")
            with gfsm.state("GSTART"):
                # a memory's gather begins: map word 0 is read (its data next cycle)
                m.d.sync += [gbase.eq(Mux(gnx, load_nb[gk], load_b[gk])), wi.eq(0),
                             wi_end.eq(gw == 0), rem.eq(0), have.eq(0), sv.eq(0), sfull.eq(0),
                             s_head.eq(0), s_tail.eq(0)]
                m.d.comb += gather_pop
                gfsm.goto("GATHER")
            with gfsm.state("GATHER"):
                # the edges' reads go first: they stop on their own when their FIFO is
                # full (edges held at the gate), and take half the port or less when
                # they flow (packed pairs), in runs, so the gather gets the rest
                # the next read goes into the queue's tail place whenever a place is
                # free, and a bit is taken from ``rem`` with it -- registers only, so the
                # port's arbitration (``e_rd`` -> ``gsel`` -> ``g_issue``) is in front of
                # neither ``rem`` / ``have`` (P = 1 CC seed 2 at stop 28: ... -> ``g_issue``
                # -> the fill -> ``rem``'s 64 enables, 11.2 ns) nor the places' addresses: an
                # issue only moves the head (a one-place register with a skid place had
                # ``g_issue`` in front of its address multiplexer: P = 1 CC seeds 1 / 3 on
                # snapshot f, engine state -> ``e_rd`` -> ``gsel`` -> ``saddr``, 11.6 ns)
                fill = Signal()
                m.d.comb += fill.eq(have & ~sfull)
                new_slot = Cat(low_idx, wcur) if gw > 1 else low_idx
                with m.If(fill):
                    m.d.sync += [rem.eq(rem_next), have.eq(have_next), s_tail.eq(~s_tail)]
                    for i in range(2):
                        with m.If(s_tail == i):
                            m.d.sync += [s_addr[i].eq(wbase | low_idx), s_slot[i].eq(new_slot)]
                with m.If(g_issue):
                    m.d.sync += s_head.eq(~s_head)
                with m.If(fill & ~g_issue):
                    m.d.sync += [sv.eq(1), sfull.eq(sv)]
                with m.Elif(~fill & g_issue):
                    m.d.sync += [sv.eq(sfull), sfull.eq(0)]
                take = Signal()
                m.d.comb += take.eq(~have & ~wi_end)
                with m.If(take):
                    m.d.sync += [rem.eq(gmr.data[:gb]), have.eq(gmr.data[gb]),
                                 wcur.eq(wi), wi.eq(wi + 1), wi_end.eq(wi == gw - 1),
                                 wbase.eq(gbase + (wi << lgb))]
                m.d.comb += gather_pop
                with m.If(~have & wi_end & ~sv):
                    with m.If(gk == nm - 1):
                        gfsm.goto("GDRAIN")
                    with m.Else():
                        m.d.sync += [gk.eq(gk1), gk1.eq(gk1 + 1)]
                        gfsm.goto("GSTART")
            with gfsm.state("GDRAIN"):
                m.d.comb += gather_pop
                with m.If((gpending == 0) & ~u.load.valid):
                    gfsm.goto("GOFF")
        # a gather read's slot goes into its FIFO a cycle after the read issued (from
        # registers; g_issue is only ever set in GATHER): the port's arbitration in front
        # of the FIFO's LUT-RAM write enable was the next P = 1 path (CC seed 2, 92.3
        # MHz).  Its word comes back no earlier than the cycle after the issue
        # (``DramConfig.latency`` >= 1) and is in ``rg`` a cycle after that, when the slot
        # is too; the FIFO's two spare places cover the push in flight
        m.d.sync += [sq_push.eq(g_issue), sq_slot.eq(Cat(sslot, gk))]
        m.d.comb += [sq.w_en.eq(sq_push), sq.w_data.eq(sq_slot)]

        # ------------------------------------------------------------ map fetch (pf)
        # the queued command's map, once the running block's edge reads are all issued
        # (its own map, if any, is in: its gather started before its edges) and no other
        # map is being fetched; the words go into the bank the running gather does not
        # read.  A map's reads go only in cycles the engine's machine leaves the port
        # (``pf_slot``: GMAP, or EDGES with every edge read issued) and the gather does
        # not take it; the tags route their words to the map memory (no FIFO place:
        # the memory takes every word)
        with m.If(pf_ahead & ~pf_have & ~gearly & queued & ~taking & nxt[4][4]):
            m.d.sync += [pf_have.eq(1), pf_next.eq(1), pf_addr.eq(nxt[0] - gw),
                         pf_left.eq(gw), pf_any.eq(1), pf_arr.eq(0), pf_in.eq(0),
                         pf_bank.eq(~gbank)]
        m.d.comb += psel.eq(pf_have & pf_any & pf_slot & ~g_req)
        with m.If(psel & port.cmd.ready):
            m.d.sync += [pf_left.eq(pf_left - 1), pf_any.eq(pf_left != 1),
                         pf_addr.eq(pf_addr + 1)]

        # ------------------------------------------------------------ the port's command
        # the engine's read (LOAD, EDGES: ``e_rd``) or write (WB: ``wb_v``), the gather's
        # read (``gsel``) or the map fetch's (``psel``): exclusive by construction (the
        # gather and the map fetch never run in WB).  The address is selected by the
        # engine's read first (``e_rd``, then ``g_req``), not by ``gsel``: ``gsel`` is
        # ``e_rd``'s complement and the gather's request, a LUT level later, and it sat
        # between the engine's read condition and the command stage's address register
        # (P = 1 CC seed 1: engine state -> ``e_rd`` -> ``gsel`` -> the address, 10.2 ns)
        m.d.comb += [port.cmd.valid.eq(e_rd | wb_v | gsel | psel), port.cmd.we.eq(eng["WB"]),
                     port.cmd.addr.eq(Mux(e_rd | eng["WB"], areg, Mux(g_req, saddr, pf_addr)))]
        with m.If(port.rdata.valid & tg.r_data[1]):
            m.d.comb += [gmw.en.eq(1), gmw.addr.eq(Cat(pf_arr[:lgw], pf_bank)),
                         gmw.data.eq(Cat(port.rdata.data[:gb], port.rdata.data[:gb].any()))]
            m.d.sync += [pf_arr.eq(pf_arr + 1), pf_in.eq(pf_arr == gw - 1)]
        return m


#: the ports of the emitted Verilog (``IntervalTop``): the register bus and the memory port
INTERVAL_PORTS = ("clk", "rst", "csr_addr", "csr_w_en", "csr_w_data", "csr_r_data") + PORT_PINS


class IntervalTop(Elaboratable):
    """The interval unit with flat top-level ports (``INTERVAL_PORTS``; a unit of several
    memory ports, ``multi.MultiUnit(ports=C)``, has port k's pins as ``mem<k>_...``:
    ``multi.port_pins``)."""

    def __init__(self, unit: IntervalUnit):
        self.unit = unit
        unit._MustUse__used = True  # elaborated through IntervalTop
        aw = len(unit.mem.cmd.addr)
        sig = {"csr_addr": CSR_ADDR_BITS, "csr_w_en": 1, "csr_w_data": 64, "csr_r_data": 64}
        self.mems = getattr(unit, "mems", [unit.mem])
        self.pins = [port_pins(k) for k in range(len(self.mems))]
        for pins in self.pins:
            sig.update(zip(pins, (1, 1, 1, aw, 1, 1, 64, 1, 1, 64)))
        self.ports = {name: Signal(shape, name=name) for name, shape in sig.items()}

    def elaborate(self, platform):
        u, p = self.unit, self.ports
        m = Module()
        m.submodules.interval = u
        m.d.comb += [
            u.csr.addr.eq(p["csr_addr"]), u.csr.w_en.eq(p["csr_w_en"]),
            u.csr.w_data.eq(p["csr_w_data"]), p["csr_r_data"].eq(u.csr.r_data)]
        for mem, pins in zip(self.mems, self.pins):
            q = dict(zip(PORT_PINS, (p[n] for n in pins)))
            m.d.comb += [
                q["mem_cmd_valid"].eq(mem.cmd.valid), mem.cmd.ready.eq(q["mem_cmd_ready"]),
                q["mem_cmd_we"].eq(mem.cmd.we), q["mem_cmd_addr"].eq(mem.cmd.addr),
                q["mem_wdata_valid"].eq(mem.wdata.valid),
                mem.wdata.ready.eq(q["mem_wdata_ready"]),
                q["mem_wdata_data"].eq(mem.wdata.data),
                mem.rdata.valid.eq(q["mem_rdata_valid"]),
                q["mem_rdata_ready"].eq(mem.rdata.ready),
                mem.rdata.data.eq(q["mem_rdata_data"]),
            ]
        return m


def interval_verilog(unit: IntervalUnit, name: str) -> str:
    """The interval unit as Verilog, top module ``name`` with ``INTERVAL_PORTS``."""
    from amaranth.back import verilog  # lazy: loads the builtin Yosys, only Verilog needs it
    top = IntervalTop(unit)
    return verilog.convert(top, name=name, ports=list(top.ports.values()), emit_src=False)


def _two_a_word(m, rf, es, half, pop, pad) -> None:
    """The edge stream from a FIFO of words that hold two edges each, the low half first
    (the payload is the half ``half`` selects: ``edge_payload``): a pad (``pad``: the
    high half of a block's last word when the block's count is odd) is dropped without
    an edge; the word is popped after its high half (or its pad)."""
    took = Signal()
    m.d.comb += [es.valid.eq(rf.r_rdy & ~pad),
                 took.eq(es.valid & es.ready),
                 rf.r_en.eq((took & half) | pad)]
    with m.If(took & ~half):
        m.d.sync += half.eq(1)
    with m.If(pop):
        m.d.sync += half.eq(0)


def _level(m, flag, count, up, down, test) -> None:
    """``flag`` a register equal to ``test(count, 0)`` for the counter ``count`` that
    moves by ``up - down`` each cycle: set from ``test(count, 1)`` (it goes up),
    ``test(count, -1)`` (down) or ``test(count, 0)`` -- compares of the register, the
    choice after them.  ``flag``'s reset value must be ``test(0, 0)``."""
    inc, dec = Signal(), Signal()
    m.d.comb += [inc.eq(up & ~down), dec.eq(down & ~up)]
    m.d.sync += flag.eq(Mux(inc, test(count, 1), Mux(dec, test(count, -1), test(count, 0))))


def _lowest(m, rem, chunk: int = 16):
    """``(index, rest, any)``: the index of ``rem``'s lowest set bit (0 when none), ``rem``
    without it, and whether ``rest`` has a bit set.  In chunks of ``chunk`` bits: each
    chunk's lowest bit and its clearing are a short carry chain of their own, the first
    chunk with a bit set selects among them (one-hot, from the chunks' ORs) -- not one
    carry chain along all of a 64-bit map word (``rem & -rem``, ``rem & (rem - 1)``),
    which was the gather's path into ``saddr`` / ``sslot`` (P = 4 BFS seed 1 after the
    command stages, 10.2 ns: 98.5 MHz)."""
    n = len(rem)
    k = min(chunk, n)
    lgk = k.bit_length() - 1
    parts = [rem[c * k:(c + 1) * k] for c in range(n // k)]
    nz = [Signal(name=f"low_nz{c}") for c in range(len(parts))]
    sel = [Signal(name=f"low_sel{c}") for c in range(len(parts))]
    idx = Signal(max(1, (n - 1).bit_length()))
    rest = Signal(n)
    left = Signal()
    lo_terms, left_terms, rest_parts = [], [], []
    for c, part in enumerate(parts):
        low = Signal(k, name=f"low_one{c}")
        clr = Signal(k, name=f"low_clr{c}")
        m.d.comb += [nz[c].eq(part.any()), sel[c].eq(nz[c] & ~Cat(*nz[:c], 0).any()),
                     low.eq(part & -part), clr.eq(part & (part - 1))]
        at = Cat(*[Cat(*[low[j] for j in range(k) if j >> b & 1]).any()
                   for b in range(lgk)]) if lgk else Signal(1)
        lo_terms.append(Mux(sel[c], at, 0))
        left_terms.append(Mux(sel[c], clr.any(), nz[c]))
        rest_parts.append(Mux(sel[c], clr, part))
    hi = [Cat(*[sel[c] for c in range(len(parts)) if c >> b & 1]).any()
          for b in range((len(parts) - 1).bit_length())]
    lo = lo_terms[0]
    for t in lo_terms[1:]:
        lo = lo | t
    m.d.comb += [idx.eq(Cat(lo[:lgk], *hi) if lgk else Cat(*hi)), rest.eq(Cat(*rest_parts)),
                 left.eq(Cat(*left_terms).any())]
    return idx, rest, left
