"""FPGA parts cosynth knows: resources per device, from the vendors' data sheets.

``lookup("ECP5-25F")`` -> ``Part``; unknown names raise KeyError and the manifest loader
lists the known ones.  Open-toolchain families (iCE40, ECP5) are the ones cosynth can take
to a bitstream here (yosys + nextpnr); the large parts are for planning larger clusters.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Part", "PARTS", "lookup"]


@dataclass(frozen=True)
class Part:
    name: str
    family: str  # ice40 | ecp5 | ultrascale+
    luts: int
    ffs: int
    bram_bits: int
    dsps: int
    max_clock_hz: float  # a practical ceiling for simple pipelined logic on the part


PARTS: dict[str, Part] = {p.name.upper(): p for p in [
    # Lattice iCE40 (iCE40 family data sheet FPGA-DS-02008): HX8K, UP5K
    Part("iCE40HX8K", "ice40", 7680, 7680, 32 * 4096, 0, 150e6),
    Part("iCE40UP5K", "ice40", 5280, 5280, 30 * 4096 + 1024 * 1024, 8, 60e6),
    # Lattice ECP5 (ECP5 family data sheet FPGA-DS-02012): LFE5U-25F/45F/85F
    Part("ECP5-25F", "ecp5", 24288, 24288, 56 * 18432, 28, 200e6),
    Part("ECP5-45F", "ecp5", 43848, 43848, 108 * 18432, 72, 200e6),
    Part("ECP5-85F", "ecp5", 83640, 83640, 208 * 18432, 156, 200e6),
    # AMD/Xilinx UltraScale+ (DS890): the VU9P of the Alveo U200/U250 and F1 instances
    Part("XCVU9P", "ultrascale+", 1182240, 2364480, 2160 * 36864 + 960 * 294912, 6840, 300e6),
]}


def lookup(name: str) -> Part:
    return PARTS[name.replace(" ", "").upper()]
