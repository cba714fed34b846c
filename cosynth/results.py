"""Reading a build directory's results without cosynth's run: ``cosynth results OUT/``.

A run of a build directory (``OUT/run.sh``, or ``cosynth simulate --keep``) leaves, for
the kernel's i-th result and blade R, the file ``OUT/out/result<i>.rank<R>.bin``: the raw
little-endian values, no header, of the result's dtype (the plan's blade program says
which: ``OUT/plan.yaml``).  A node array is split by vertex range (blade R wrote the
entries ``lo..hi`` of its range in ``plan.yaml``'s ``blades``), an edge array by the
blades' edges in CSR order (in rank order they concatenate to the whole array), and a
scalar is written whole by every blade (one value; all blades agree).

``convert`` reassembles each result, checks the sizes against the plan (and that the
blades agree on scalars), and writes ``OUT/results/<name>.npy`` (a directory output under
the marker rule of ``cosynth.outputs``) beside ``summary.json``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from cosynth.ir.nodes import TableRef
from cosynth.ir.printer import print_expr
from cosynth.planner import load_plan

from .errors import CosynthError
from .outputs import OutputDir

__all__ = ["Converted", "ResultFile", "convert_results", "read_results"]


@dataclass
class ResultFile:
    """One reassembled result: its name (the return expression), what it is over
    (node, edge, scalar), the value, and the ``.npy`` written (when written)."""

    index: int
    name: str
    space: str
    value: object
    npy: str = ""


@dataclass
class Converted:
    build_dir: str
    output: str
    kernel: str
    blades: int
    results: list[ResultFile] = field(default_factory=list)


def read_results(build_dir: str) -> tuple[object, list[ResultFile]]:
    """The plan of ``build_dir`` and its results, reassembled from the blades' files."""
    plan_path = os.path.join(build_dir, "plan.yaml")
    if not os.path.isdir(build_dir):
        raise CosynthError("no such build directory", path=build_dir,
                           hint="give the -o directory of 'cosynth build' (after a run)")
    if not os.path.isfile(plan_path):
        raise CosynthError("is not a cosynth build directory (no plan.yaml)",
                           path=build_dir, hint="give the -o directory of 'cosynth build'")
    plan = load_plan(plan_path)
    k = plan.program
    if k is None:
        raise CosynthError("holds no blade program", path=plan_path,
                           hint="rebuild the directory with 'cosynth build'")
    shards = plan.shards
    out = []
    for i, r in enumerate(k.returns):
        dt = r.dtype.np
        parts = []
        for rank in range(len(shards)):
            path = os.path.join(build_dir, "out", f"result{i}.rank{rank}.bin")
            if not os.path.isfile(path):
                raise CosynthError(f"blade {rank} wrote no result {i} ('{path}' is missing)",
                                   path=build_dir, hint="run the build directory first: "
                                   f"{build_dir}/run.sh")
            parts.append(np.fromfile(path, dtype=dt))
        name = print_expr(r)
        if isinstance(r, TableRef):
            space = k.table_map[r.table].space
            if space == "node":
                for rank, ((lo, hi), part) in enumerate(zip(shards, parts)):
                    if part.size != hi - lo:
                        raise CosynthError(f"blade {rank}'s result {i} has {part.size} "
                                           f"entries; its vertex range {lo}..{hi} has "
                                           f"{hi - lo}", path=build_dir)
            value = np.concatenate(parts) if parts else np.zeros(0, dt)
            want = plan.graph["n"] if space == "node" else plan.graph["m"]
            if value.size != want:
                raise CosynthError(f"result {i} ({name}) has {value.size} entries; the "
                                   f"graph has {want} {'vertices' if space == 'node' else 'edges'}",
                                   path=build_dir)
        else:
            space = "scalar"
            first = parts[0]
            for rank, p in enumerate(parts[1:], 1):
                if not np.array_equal(p, first, equal_nan=dt.kind == "f"):
                    raise CosynthError(f"blades disagree on result {i} ({name}): blade 0 "
                                       f"has {first[:1]!r}, blade {rank} has {p[:1]!r}",
                                       path=build_dir)
            if first.size != 1:
                raise CosynthError(f"result {i} ({name}) is a scalar but blade 0 wrote "
                                   f"{first.size} values", path=build_dir)
            value = first[0]
        out.append(ResultFile(i, name, space, value))
    return plan, out


def convert_results(build_dir: str, output: str | None = None, *,
                    force: bool = False) -> Converted:
    """Write each result of ``build_dir`` as ``<output>/<name>.npy`` (default output:
    ``build_dir/results``) with ``summary.json``; returns what was written."""
    build_dir = build_dir.rstrip("/") or "/"
    output = output or os.path.join(build_dir, "results")
    plan, got = read_results(build_dir)
    conv = Converted(build_dir, output, plan.kernel, len(plan.blades), got)
    used: set[str] = set()
    with OutputDir(output, force=force, what="results directory",
                   made_by="cosynth results") as d:
        for r in got:
            stem = _file_name(r.name, r.index, used)
            r.npy = os.path.join(output, stem + ".npy")
            np.save(os.path.join(d.path, stem + ".npy"), np.asarray(r.value))
        summary = {"kernel": plan.kernel, "blades": len(plan.blades),
                   "graph": plan.graph, "results": [_entry(r) for r in got]}
        with open(os.path.join(d.path, "summary.json"), "w") as f:
            f.write(json.dumps(summary, indent=2, default=_plain) + "\n")
    return conv


def _entry(r: ResultFile) -> dict:
    a = np.asarray(r.value)
    return {"index": r.index, "name": r.name, "space": r.space, "dtype": a.dtype.name,
            "size": int(a.size), "file": os.path.basename(r.npy)}


def _file_name(name: str, index: int, used: set[str]) -> str:
    """A result's file stem: its name when that is a plain identifier, else result<i>."""
    stem = name if name.isidentifier() else f"result{index}"
    if stem in used:
        stem = f"{stem}_{index}"
    used.add(stem)
    return stem


def _plain(x):
    if isinstance(x, np.generic):
        return x.item()
    return str(x)
