"""``cosynth bitstream``: a kernel's edge unit on a real FPGA part, and what it costs.

``write_bitstream(kfn, out_dir, family)`` builds the unit for as many vertices as the part's
block RAM comfortably holds (``default_depth``), wraps it in the I/O shell
(``backends.rtl.shell``: every port behind flip-flops, so Fmax is the unit's own), runs
synthesis, place and route and packing (``backends.rtl.flow``, the YoWASP tools), and
writes the bitstream with ``bitstream.json``: the flow's report (LUTs, FFs, BRAM, DSP,
Fmax from nextpnr's timing analysis) plus the unit (kernel, variant, vertices) and the
implied throughput, ``Fmax x edges per clock`` (one edge per clock once streaming).

Every result is also recorded in the cost table (``costs.record``), keyed by the unit's
structure and the part, from which the planner takes its FPGA figures
(``costs.fpga_profile``) instead of its defaults.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from cosynth.errors import ArgumentError, ToolError
from cosynth.outputs import OutputDir, check_dir

from . import costs
from .build import build_unit, unit_for
from .flow import FAMILIES, run_flow
from .kernel import UnitSpec
from .regmap import RegisterMap
from .shell import shell_verilog
from .unit import _port_keys

__all__ = ["write_bitstream", "BitstreamResult", "default_depth", "PART_DEVICES",
           "bram_blocks"]

#: planner part name -> (flow family, flow device)
PART_DEVICES = {
    "ICE40HX8K": ("ice40", "hx8k"),
    "ICE40UP5K": ("ice40", "up5k"),
    "ICE40HX1K": ("ice40", "hx1k"),
    "ECP5-25F": ("ecp5", "25k"),
    "ECP5-45F": ("ecp5", "45k"),
    "ECP5-85F": ("ecp5", "85k"),
}
#: flow family -> (device, block RAMs, data bits of one block at 64-bit width)
_BRAM = {"ice40": {"hx8k": 32, "hx1k": 16, "up5k": 30},
         "ecp5": {"25k": 56, "45k": 108, "85k": 208}}
_BLOCK_SHAPE = {"ice40": (16, 256), "ecp5": (36, 512)}  # (width, entries) of one block
#: the share of a part's block RAM a default unit takes (routing and the shell need room)
BRAM_SHARE = 0.6


@dataclass
class BitstreamResult:
    out_dir: str
    bitstream: str
    depth: int
    report: dict


def bram_blocks(spec: UnitSpec, depth: int, family: str) -> int:
    """Block RAMs the unit's memories take: every read port is a copy of its memory;
    iCE40 blocks are used as 256 x 16 bits, ECP5 blocks as 512 x 36."""
    rm = RegisterMap.of(spec, depth)
    width, entries = _BLOCK_SHAPE[family]
    total = 0
    for mem in rm.memories:
        lanes = -(-mem.bits // width)  # blocks side by side for the width
        total += len(_port_keys(spec, mem)) * lanes * -(-depth // entries)
    return total


def default_depth(spec: UnitSpec, family: str, device: str | None = None) -> int:
    """The largest power of two of vertices whose memories fit in ``BRAM_SHARE`` of the
    part's block RAM."""
    fam = FAMILIES[family]
    dev = device or fam.default
    blocks = _BRAM[family].get(dev, _BRAM[family][fam.default])
    depth = 16
    while bram_blocks(spec, depth * 2, family) <= BRAM_SHARE * blocks and depth < 1 << 20:
        depth *= 2
    return depth


def write_bitstream(kfn, out_dir: str, family: str, *, variant: str | None = None,
                    depth: int | None = None, device: str | None = None, seed: int = 1,
                    progress=None, force: bool = False) -> BitstreamResult:
    """Synthesize, place and route the unit of ``kfn`` for ``family``; write the
    bitstream and ``bitstream.json`` into ``out_dir`` and record the costs.  ``out_dir``
    follows the marker rule of ``cosynth.outputs`` (checked before any work; ``force``
    moves a directory cosynth did not make aside); a failed flow still writes it with the
    run's inputs and logs, which the error names."""
    say = progress or (lambda msg: None)
    check_dir(out_dir, force=force, parents=True)
    if family not in FAMILIES:
        raise ArgumentError(f"unknown FPGA family '{family}'",
                            hint=f"choose one of {', '.join(FAMILIES)}")
    k = getattr(kfn, "ir", kfn)
    spec = unit_for(k, variant)
    dev = device or FAMILIES[family].default
    if depth is None:
        depth = default_depth(spec, family, dev)
    blocks = bram_blocks(spec, depth, family)
    have = _BRAM[family].get(dev, _BRAM[family][FAMILIES[family].default])
    if blocks > have:
        raise ArgumentError(
            f"{depth} vertices need {blocks} block RAMs of the {family} part ({dev}); it "
            f"has {have}: the unit's tables do not fit the part's memory",
            hint=f"use --depth {default_depth(spec, family, dev)} (the planner shards "
                 "larger graphs over more blades) or a larger part")
    unit, spec = build_unit(kfn, variant=variant, depth=depth)
    say(f"unit {spec.name}: variant {spec.variant}, {len(spec.rules)} "
        f"rule{'s' * (len(spec.rules) != 1)}, {depth} "
        f"vertices on chip ({blocks} block RAMs)")
    verilog = shell_verilog(unit)
    out = OutputDir(out_dir, force=force, what="bitstream directory",
                    made_by="cosynth bitstream", parents=True)
    with out:
        try:
            flow = run_flow(verilog, "top", family, out.path, device=device, seed=seed,
                            progress=say, shown=out_dir)
        except ToolError:
            out.commit()  # the failed run's inputs and logs, which the message names
            raise
        rep = _report(flow, spec, unit, depth, blocks)
        with open(os.path.join(out.path, "bitstream.json"), "w") as f:
            json.dump(rep, f, indent=2)
            f.write("\n")
    if out.moved_aside:
        say(f"moved the directory that was at {out_dir} (not cosynth's) aside to "
            f"{out.moved_aside}")
    costs.record(spec, family, flow.device, rep)
    return BitstreamResult(out_dir, flow.bitstream, depth, rep)


def _report(flow, spec: UnitSpec, unit, depth: int, blocks: int) -> dict:
    """``bitstream.json``: the flow's report, the unit, and the implied throughput."""
    rep = flow.as_dict()
    # edges per clock as measured in simulation (``cosynth rtl``, the co-simulations);
    # never simulated: the pipeline's peak, one edge per clock, and the report says so
    measured = costs.throughput(spec, None)
    edges_per_clock = measured["edges_per_clock"] if measured else 1.0
    rep["edges_per_clock_source"] = measured["source"] if measured else \
        "assumed: the pipeline's peak (the unit was never simulated; cosynth rtl measures it)"
    fmax = rep["fmax_mhz"] or 0.0
    rep.update({
        "kernel": spec.kernel.name, "unit": spec.name, "variant": spec.variant,
        "depth": depth, "rules": len(spec.rules), "eval_stages": unit.eval_stages,
        "forwarding_depth": unit.history + 1, "block_rams_estimated": blocks,
        "edges_per_clock": edges_per_clock,
        "edges_per_second": fmax * 1e6 * edges_per_clock,
        "signature": costs.unit_signature(spec),
    })
    return rep
