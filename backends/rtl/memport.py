"""The external-memory port of an interval unit: LiteDRAM's *native port*.

Why this bus (and not AXI4 or Wishbone)
    The open-source DRAM controller that drives DDR3 on ECP5 boards (and DDR4 on the
    larger parts) is LiteDRAM; its native user port is what every LiteDRAM front end
    (DMA reader/writer, Wishbone and AXI bridges) is built on, so a unit speaking it
    connects to the controller with no adapter and no extra latency.  It is also the
    simplest bus that still pipelines: a command stream, a write-data stream and a
    read-data stream, reads answered in order, any number in flight.  AXI4 bursts would
    need an ID/length/response layer the unit never uses; Wishbone pipelined bursts need
    the ``cti``/``bte`` cycle types and give no more throughput.  A board with an AXI
    controller reaches it through LiteDRAM's own ``LiteDRAMAXI2Native`` or the reverse
    bridge, one cycle of latency.

The port (``NativePortSignature``; directions as the unit, the master, sees them)::

    cmd    out valid, in ready, out we, out addr[aw]   one command per handshake; ``addr``
                                                       counts data words, not bytes
    wdata  out valid, in ready, out data[dw]           the data of write commands, in
                                                       command order
    rdata  in valid, out ready, in data[dw]            the data of read commands, in
                                                       command order

Invariants the unit keeps (LiteDRAM's, as its ``LiteDRAMDMAReader`` keeps them): read data
is always accepted (``rdata.ready`` is 1): before issuing a read the unit reserves a
place in its own FIFO, so at most ``fifo_depth`` reads are outstanding; a write command
is presented together with its data and both complete in the same cycle or the second
waits for the first (``wdata`` never runs ahead of ``cmd``).  Bursts are not a field of
the port: consecutive word addresses form a DRAM burst inside the controller (the DRAM
model in co-simulation charges a burst per non-sequential access; ``dram.DramModel``).
"""

from __future__ import annotations

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["NativePortSignature", "WORD_BYTES", "PORT_PINS", "port_pins"]

#: bytes in one data word of the port (a 64-bit port: one vertex value or half an edge)
WORD_BYTES = 8


class NativePortSignature(wiring.Signature):
    """A LiteDRAM native port of ``data_width`` bits addressing ``addr_width``-bit words."""

    def __init__(self, addr_width: int = 32, data_width: int = 64):
        self.addr_width, self.data_width = addr_width, data_width
        super().__init__({
            "cmd": Out(wiring.Signature({"valid": Out(1), "ready": In(1), "we": Out(1),
                                         "addr": Out(addr_width)})),
            "wdata": Out(wiring.Signature({"valid": Out(1), "ready": In(1),
                                           "data": Out(data_width)})),
            "rdata": In(wiring.Signature({"valid": Out(1), "ready": In(1),
                                          "data": Out(data_width)})),
        })


#: the flat top-level pins of the port (``mem_<stream>_<field>``), as a host drives them
PORT_PINS = ("mem_cmd_valid", "mem_cmd_ready", "mem_cmd_we", "mem_cmd_addr",
             "mem_wdata_valid", "mem_wdata_ready", "mem_wdata_data",
             "mem_rdata_valid", "mem_rdata_ready", "mem_rdata_data")


def port_pins(k: int) -> tuple[str, ...]:
    """The flat pins of a unit's memory port ``k`` (``multi.MultiUnit(ports=...)``):
    ``PORT_PINS`` for port 0, the same with ``mem<k>_`` for the others."""
    return PORT_PINS if k == 0 else tuple(f"mem{k}_" + p[4:] for p in PORT_PINS)
