"""Block-RAM output registers: move a register that follows an ECP5 block RAM into it.

An ECP5 ``DP16KD`` has an optional register on each port's data output (``REGMODE_A`` /
``REGMODE_B`` = ``OUTREG``).  Without it the block's clock-to-out is 5.8 ns (nextpnr's
timing database) and the route to the fabric flip-flop that samples the data comes on
top of it: the edge unit's ``q1`` registers (``unit``: a register whose only input is the
block RAM's output) were the P = 1 critical path whenever the placer put one a few tiles
from its block (CC, seed 1: 5.83 ns clock-to-out + 5.25 ns of routing = 90.2 MHz).  With
the register in the block the path from the block ends at the register, and what
follows it starts from a flip-flop's clock-to-out.

yosys (``synth_ecp5``) does not fold such a register into the block, so this pass does it
on the synthesised JSON netlist, before nextpnr (``flow.run_flow``): for each port of each
``DP16KD``, when every data output bit the port drives goes to exactly one cell -- a
``TRELLIS_FF`` on its ``DI``, clocked by the port's clock (``CLKMUX`` ``CLK``), always
enabled (``CEMUX`` 1), without a set / reset (``LSR`` not connected, or constant 0) and
with no other load on the net (no module port, no second sink) -- the flip-flops are
removed, their ``Q`` nets are driven by the port's outputs, the port's ``REGMODE`` becomes
``OUTREG`` and its output clock enable ``OCE`` 1.  A port where any used bit fails a
condition is left as it was (the mode is per port).  The register's value before the
first clock is 0 in both forms (``REGSET`` ``RESET``, the block's output register after
configuration); a flip-flop that sets (``REGSET`` ``SET``) is not moved.

The pass keeps the data's timing: the same clock edge that loaded the flip-flop loads the
output register, from the same block output.  ``absorb`` returns the netlist and the
number of registers moved per block.
"""

from __future__ import annotations

__all__ = ["absorb", "VERSION"]

#: part of the flow's cache key: a change to what the pass moves changes it
VERSION = 1

_PORTS = ("A", "B")


def _const(bits) -> bool:
    return all(isinstance(b, str) for b in bits)


def absorb(netlist: dict, top: str) -> tuple[dict, dict[str, int]]:
    """Fold every eligible flip-flop after a ``DP16KD`` output into the block (module
    docstring); returns ``(netlist, {block cell: registers moved})``.  ``netlist`` is
    yosys' JSON (``write_json``) with ``top`` flattened; it is changed in place."""
    mod = netlist["modules"][top]
    cells = mod["cells"]
    # every net bit's loads: (cell, port), and the bits a module port uses
    loads: dict[int, list[tuple[str, str]]] = {}
    for name, c in cells.items():
        dirs = c.get("port_directions", {})
        for port, bits in c["connections"].items():
            if dirs.get(port) != "output":
                for b in bits:
                    if isinstance(b, int):
                        loads.setdefault(b, []).append((name, port))
    at_ports = {b for p in mod.get("ports", {}).values() for b in p["bits"]
                if isinstance(b, int)}
    moved: dict[str, int] = {}
    for name in sorted(n for n, c in cells.items() if c["type"] == "DP16KD"):
        c = cells[name]
        conn, params = c["connections"], c["parameters"]
        for x in _PORTS:
            if str(params.get(f"REGMODE_{x}", "NOREG")).strip() != "NOREG":
                continue
            clk = conn.get(f"CLK{x}")
            outs = [(p, bits[0]) for p, bits in conn.items()
                    if p.startswith(f"DO{x}") and bits and isinstance(bits[0], int)]
            used = [(p, b) for p, b in outs if b in loads or b in at_ports]
            if not used or clk is None or _const(clk):
                continue
            ffs = []
            for p, b in used:
                ff = _sole_plain_ff(b, loads, at_ports, cells, clk)
                if ff is None:
                    break
                ffs.append((p, ff))
            else:
                for p, ff in ffs:
                    conn[p] = list(cells[ff]["connections"]["Q"])
                    del cells[ff]
                params[f"REGMODE_{x}"] = "OUTREG"
                conn[f"OCE{x}"] = ["1"]
                moved[name] = moved.get(name, 0) + len(ffs)
    return netlist, moved


def _sole_plain_ff(bit: int, loads: dict, at_ports: set, cells: dict, clk) -> str | None:
    """The flip-flop that is the only load of ``bit`` and may become the output register
    of a block port clocked by ``clk`` (module docstring), or None."""
    sinks = loads.get(bit, [])
    if bit in at_ports or len(sinks) != 1:
        return None
    ff, port = sinks[0]
    c = cells[ff]
    if c["type"] != "TRELLIS_FF" or port != "DI":
        return None
    p, conn = c["parameters"], c["connections"]
    if conn.get("CLK") != clk or str(p.get("CLKMUX", "CLK")).strip() != "CLK":
        return None
    if str(p.get("CEMUX", "1")).strip() != "1":
        return None
    lsr = conn.get("LSR")
    if lsr is not None and not (_const(lsr) and all(b == "0" for b in lsr)):
        return None
    if str(p.get("REGSET", "RESET")).strip() != "RESET":
        return None
    q = conn.get("Q")
    if not q or not isinstance(q[0], int):
        return None
    return ff
