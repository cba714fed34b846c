"""A self-contained build directory for a planned kernel, and reading back its results.

Layout of ``OUT/``::

    blade.cpp          the generated blade program (one for every blade: code is replicated)
    cosynth_rt.hpp     the runtime header it includes
    Makefile           ``make`` builds ./blade with mpicxx (MPICXX=... to override)
    run.sh             ``./run.sh`` runs it locally; ``HOSTFILE=hosts ./run.sh`` on a cluster
                       (``./run.sh --help``; written by ``launch.run_script``)
    README.md          how to build and run it, by hand (``launch.readme``)
    .cosynth-output    the marker: cosynth made this directory and may replace it
    run.cfg            parameters, the shard map, file locations, the SHA-256 of every
                       blade's shard and input files (``sha256.graph.R=...``), and the
                       seconds a blade waits for the others before it names the blade
                       that stopped and ends the job (``stall=``, ``launch.stall_seconds``)
    plan.yaml          the plan the program implements
    shards/graph.R.bin the graph shard of blade R (cosynth's compact binary format)
    ...                with an offload device (``emit.Offload``, e.g. an FPGA edge unit:
                       unit_K.v, cosynth_unit.hpp, cosynth_host.hpp): the device's files;
                       its Makefile builds them into ./blade, which uses the device on
                       every blade whose entry in run.cfg's ``config_key`` list is 1
    inputs/NAME.R.bin  node-array arguments: blade R's entries, at its local vertices
    out/               results (result<i>.rank<R>.bin) and per-blade statistics

The directory is written beside its final name and renamed into place when complete;
an existing directory is replaced only when it holds the marker (``cosynth.outputs``).

A blade reads only its own files.  A sharded program's (``emit.replicated`` False) blade
R holds the rows of its own vertex range, and *ghost* entries for the other vertices its
edges touch (out-edge targets when it walks out-edges, in-edge sources when it walks
in-edges) and for the node parameters; its local ids are its range, then its ghosts in
order (``write_shards`` returns this local-to-global map).  A replicated program's blades
hold every row and every vertex (local id = global id).  Shard format (little-endian):
``CSYNSHD2``, sixteen int64 (n, m, glo, ghi, has_csc, nghost, lo, hi, replicated, P, R,
has_csr, streamed, omitted, weight type, 0), then int64 indptr[ghi-glo+1] (global edge
positions), with has_csr dst[e], src[e] (local ids) and w[e], then ghosts[nghost] (sorted
global ids), out_deg[nl], in_deg[nl] (of the local vertices), send_off[P+1],
ghost_off[P+1], send[] (the local ids of the owned vertices each other blade holds as
ghosts, in its order), and with has_csc in_indptr, in_src[c] (local), in_eid[c] (global
edge ids), in_w[c].
The weights w and in_w are stored in the type the header's word 14 names (``WEIGHT_CODE``:
float64, or the narrower type ``planner.narrow.weight_storage`` finds exact on this
graph's weights, e.g. float32 for Kronecker weights 1..255 under an f64 kernel, int16
under an i64 one), each block padded with zero bytes to a multiple of 8; the blade is
built with the matching ``COSYNTH_WEIGHT`` and converts each weight it loads to the
kernel's weight type, so the narrow file is exact by construction.
``omitted`` is a bit mask (``OMIT``) of the arrays the blade program never reads (found
in its text by ``omitted_arrays``): they are written with no entries, so a blade loads
only what its loops use -- BFS holds no weights, no CSR sources and no degrees.
When the plan streams the edges from the fileserver (``streamed``), the blade maps its
own shard file read-only and walks the edge arrays in place (pages read as the loops
reach them, droppable again) instead of reading them into DRAM; ids in the file are
int64, so such a program is built without ``COSYNTH_IDX32``.
The blade checks the file's SHA-256 against run.cfg before reading it, and its header's
P and R against its own: a missing, truncated or foreign shard stops it with an error
naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass

import numpy as np

from cosynth.dtypes import DType, f64, i64
from cosynth.errors import CosynthError
from cosynth.ir.nodes import Kernel, Loop, TableRef
from cosynth.ir.walk import iter_stmts
from cosynth.outputs import OutputDir, umask
from cosynth.planner.graphcounts import range_ghosts
from cosynth.planner.narrow import (
    WIDE,
    WeightStore,
    kernel_weights,
    state_storage,
    weight_storage,
)

from ..toolchain import FLAGS, RUNTIME
from . import layout, relabel
from .emit import Offload, emit_program, replicated
from .launch import readme, run_script, stall_seconds

__all__ = ["Bundle", "write_bundle", "write_shards", "ghost_lists", "gather", "read_stats",
           "omitted_arrays", "OMIT"]

#: The shard arrays a blade may go without: the bit the header's word 13 sets when the
#: file holds no entries of it (``cosynth_rt.hpp``'s ``SHARD_NO_*``), and the runtime's
#: names through which a program reads it (the ``Graph`` members and accessors).
OMIT = {"w": (1, r"\bG\.(w|weight)\b"),
        "src": (2, r"\bG\.(src|edge_src|edge_src_l)\b"),
        "out_deg": (4, r"\bG\.out_deg\b"),
        "in_deg": (8, r"\bG\.in_deg\b"),
        "in_w": (16, r"\bG\.in_w\b"),
        "in_eid": (32, r"\bG\.in_eid\b")}


#: the shard header's word 14 and the runtime's ``COSYNTH_WEIGHT`` of each weight storage
WEIGHT_CODE = {"f64": (0, "double"), "f32": (1, "float"), "i32": (2, "int32_t"),
               "i16": (3, "int16_t")}


def omitted_arrays(*texts: str) -> int:
    """The ``OMIT`` bits of the shard arrays none of ``texts`` (the blade program and the
    device files it includes) reads.  Decided on the program's text, not on the IR, so
    that whatever emitter wrote a loop, an array the loop reads is never left out."""
    mask = 0
    for bit, pattern in OMIT.values():
        if not any(re.search(pattern, t) for t in texts):
            mask |= bit
    return mask


@dataclass
class Bundle:
    path: str
    source: str
    shards: list[tuple[int, int]]
    program: Kernel
    full_graph: bool
    defines: tuple[str, ...] = ()
    hw: object = None  # the emit.Offload when some blade runs loops on a device
    moved_aside: str | None = None  # where --force put a directory cosynth did not make
    weights: WeightStore | None = None  # the edge weights' stored type (write_shards)
    state: tuple[str, str] | None = None  # narrowable state tables' stored type, reason


def ghost_lists(graph, shards: list[tuple[int, int]], out: bool, inn: bool,
                extra: tuple[int, ...] = ()) -> list[np.ndarray]:
    """Each blade's ghosts: the sorted vertices outside its range that the endpoints of its
    edges name (out-edge targets when ``out``, in-edge sources when ``inn``) or that
    ``extra`` names (node parameters, read by every blade).  The planner's counts of
    the same sets (``planner.graphcounts``): one n-byte bitmap per blade, O(m) in all,
    no sort or hash of the edges."""
    return range_ghosts(graph, shards, out, inn, extra)


def write_shards(folder: str, graph, shards: list[tuple[int, int]], full: bool, csc: bool,
                 integer_weights: bool, *, csr: bool = True,
                 extra: tuple[int, ...] = (), streamed: bool = False, omit: int = 0,
                 weight_dtype: DType | None = None,
                 ) -> tuple[list[str], list[np.ndarray], WeightStore]:
    """Write ``graph.R.bin`` of every blade (the format in the module docstring); returns
    their SHA-256 digests and every blade's local-to-global map (range, then ghosts).

    Sharded (``full`` False): blade R holds the rows of its own range and ghost entries
    for the vertices its edges touch; replicated: every row, every vertex (local id =
    global id).  ``csr``/``csc``: the program walks out-edges / in-edges; ``streamed``:
    the blades map their edge arrays from the file rather than read them; ``omit``: the
    ``OMIT`` bits of the arrays written with no entries (the program does not read them);
    ``weight_dtype``: the kernel's weight dtype (default f64, or i64 with
    ``integer_weights``).  Also returns the weights' storage, chosen here on the graph's
    weights (``planner.narrow``: the narrowest type every weight round-trips through
    exactly, the check that makes the narrow file legal; f64 when the program reads no
    weights)."""
    os.makedirs(folder, exist_ok=True)
    g = graph
    P = len(shards)
    if [lo for lo, _ in shards] != sorted(lo for lo, _ in shards):
        raise CosynthError("the plan's shards are not in vertex order")
    store, w = _stored_weights(g, integer_weights, weight_dtype,
                               (omit & OMIT["w"][0] or not (csr or full)) and
                               (omit & OMIT["in_w"][0] or not csc))
    out_deg, in_deg = g.out_degrees(), g.in_degrees()
    ghosts = ([np.zeros(0, np.int64)] * P if full else
              ghost_lists(g, shards, csr, csc, extra))
    los = np.array([lo for lo, _ in shards] + [g.n], dtype=np.int64)
    digests, maps = [], []
    for r, (lo, hi) in enumerate(shards):
        glo, ghi = (0, g.n) if full else (lo, hi)
        gh = ghosts[r]
        nrange = ghi - glo

        def local(x, glo=glo, ghi=ghi, gh=gh, nrange=nrange):
            x = np.asarray(x, dtype=np.int64)
            inside = (x >= glo) & (x < ghi)
            return np.where(inside, x - glo, nrange + np.searchsorted(gh, x)).astype(np.int64)

        l2g = np.concatenate([np.arange(glo, ghi, dtype=np.int64), gh])
        e0, e1 = int(g.out_indptr[glo]), int(g.out_indptr[ghi])
        c0, c1 = int(g.in_indptr[glo]), int(g.in_indptr[ghi])
        has_csr = csr or full
        send_off, send = [0], []
        for q in range(P):
            mine = (ghosts[q][(ghosts[q] >= lo) & (ghosts[q] < hi)] - glo) if q != r else \
                np.zeros(0, np.int64)
            send.append(mine)
            send_off.append(send_off[-1] + len(mine))
        ghost_off = np.searchsorted(gh, los)
        ghost_off[-1] = len(gh)
        path = os.path.join(folder, f"graph.{r}.bin")
        h = hashlib.sha256()
        with open(path + ".tmp", "wb") as f:
            def put(a, dtype=np.int64, h=h, f=f):
                b = np.ascontiguousarray(a, dtype=dtype).tobytes()
                h.update(b)
                f.write(b)

            def put_weights(a, put=put):  # in the stored type, padded to 8 bytes
                put(a, w.dtype)
                put(np.zeros(-a.size * w.dtype.itemsize % 8, np.uint8), np.uint8)
            put(np.frombuffer(b"CSYNSHD2", dtype=np.uint8), np.uint8)
            put([g.n, g.m, glo, ghi, int(csc), len(gh), lo, hi, int(full), P, r, int(has_csr),
                 int(streamed), omit, WEIGHT_CODE[store.name][0], 0])
            put(g.out_indptr[glo:ghi + 1])
            if has_csr:
                put(local(g.out_dst[e0:e1]))
                if not omit & OMIT["src"][0]:
                    put(local(g.edge_src[e0:e1]))
                if not omit & OMIT["w"][0]:
                    put_weights(w[e0:e1])
            put(gh)
            if not omit & OMIT["out_deg"][0]:
                put(out_deg[l2g])
            if not omit & OMIT["in_deg"][0]:
                put(in_deg[l2g])
            put(send_off)
            put(ghost_off)
            put(np.concatenate(send) if send else np.zeros(0, np.int64))
            if csc:
                put(g.in_indptr[glo:ghi + 1])
                put(local(g.in_src[c0:c1]))
                if not omit & OMIT["in_eid"][0]:
                    put(g.in_eid[c0:c1])
                if not omit & OMIT["in_w"][0]:
                    put_weights(w[g.in_eid[c0:c1]])
        os.replace(path + ".tmp", path)
        digests.append(h.hexdigest())
        maps.append(l2g)
    return digests, maps, store


def _stored_weights(g, integer_weights: bool, d: DType | None, unread: bool):
    """The weights' storage and the weights in it: as the kernel (weight dtype ``d``)
    reads them, narrowed where ``weight_storage`` found every one exact (``unread``: the
    program reads no weights; they are written with no entries, float64 as before)."""
    if d is None:
        d = i64 if integer_weights else f64
    if unread:
        return WeightStore(WIDE, "the program reads no weights"), np.zeros(0, np.float64)
    w = kernel_weights(d, g)
    store = weight_storage(d, w)
    if store.name == WIDE:  # as before the rule: int weights as float64
        return store, np.asarray(w, dtype=np.float64)
    return store, w.astype(store.np)


def write_bundle(out_dir: str, program: Kernel, graph, args: dict,
                 shards: list[tuple[int, int]], *, source_name: str, plan=None,
                 weight_int: bool = False, hw: Offload | None = None,
                 fpga_blades: list[bool] | None = None, force: bool = False) -> Bundle:
    """Write the build directory atomically (``cosynth.outputs.OutputDir``: built beside
    ``out_dir``, renamed in when complete; an existing ``out_dir`` is replaced only when
    cosynth made it, else refused -- or with ``force`` moved aside, never deleted);
    returns its description.  With ``hw`` (an offload device), ``fpga_blades`` says which
    blades use it."""
    with OutputDir(out_dir, force=force, what="build directory",
                   made_by="cosynth build") as staged:
        tmp = staged.path
        source = emit_program(program, source_name, hw)
        _text(tmp, "blade.cpp", source)
        shutil.copy(os.path.join(RUNTIME, "cosynth_rt.hpp"), tmp)
        if hw is not None:
            for name, text in hw.files().items():
                _text(tmp, name, text)
        full = replicated(program, hw)
        streamed = bool(plan is not None and plan.predicted.get("streamed"))
        kinds = {s.kind for s, _ in iter_stmts(program.body) if isinstance(s, Loop)}
        csc = "in_edges" in kinds
        extra = tuple(int(args[p.name]) for p in program.params
                      if p.kind == "scalar" and p.node and p.name in args)
        omit = omitted_arrays(source, *(hw.files().values() if hw is not None else ()))
        perm = None
        if layout.chosen(plan) and relabel.layout_legal(program) and len(shards) == 1:
            perm = layout.degree_order(graph)  # the plan's layout (backends/cpp/layout.py)
            graph = layout.renamed(graph, perm)
        digests, maps, store = write_shards(
            os.path.join(tmp, "shards"), graph, shards, full, csc, weight_int,
            csr=bool(kinds & {"out_edges", "edges"}), extra=extra, streamed=streamed,
            omit=omit, weight_dtype=program.weight_dtype)
        cfg = ["graph=shards/graph", "out=out",
               "shard_lo=" + ",".join(str(lo) for lo, _ in shards),
               "shard_hi=" + ",".join(str(hi) for _, hi in shards),
               "edge_lo=" + ",".join(str(int(graph.out_indptr[lo])) for lo, _ in shards),
               "edge_hi=" + ",".join(str(int(graph.out_indptr[hi])) for _, hi in shards)]
        cfg += [f"sha256.graph.{r}={d}" for r, d in enumerate(digests)]
        # the blades' own stall watch (COSYNTH_STALL_TIMEOUT overrides it at run time)
        cfg.append(f"stall={stall_seconds(plan.makespan if plan is not None else 0):g}")
        cfg.append(f"relabel={int(_relabel(plan))}")
        if perm is not None:
            data = np.ascontiguousarray(perm, dtype=np.int64).tobytes()
            with open(os.path.join(tmp, "shards", layout.FILE), "wb") as f:
                f.write(data)
            cfg += [f"layout=shards/{layout.FILE}",
                    f"sha256.layout={hashlib.sha256(data).hexdigest()}"]
        if hw is not None:
            cfg.append(f"{hw.config_key}=" + ",".join("1" if f else "0" for f in fpga_blades))
        delta = plan.predicted.get("delta") if plan is not None else None
        if delta is not None:  # the bucket width of bucketed relaxations (frontier.py)
            cfg.append(f"sched.delta={float(delta)!r}")
            if plan.predicted.get("keyed"):  # its frontier without pending bytes
                cfg.append("sched.keyed=1")
            if plan.predicted.get("logkeys"):  # bins of doubling width
                cfg.append("sched.logkeys=1")
        os.makedirs(os.path.join(tmp, "inputs"))
        for p in program.params:
            if p.kind == "scalar":
                v = args[p.name]
                v = int(v) if p.dtype.is_bool else v
                cfg.append(f"param.u_{p.name}={float(v).hex() if p.dtype.is_float else v}")
            elif p.kind == "array":  # each blade's entries at its local vertices
                arr = np.asarray(args[p.name], dtype=p.dtype.np)
                cfg.append(f"input.u_{p.name}=inputs/{p.name}")
                for r, l2g in enumerate(maps):
                    data = np.ascontiguousarray(arr[l2g]).tobytes()
                    with open(os.path.join(tmp, "inputs", f"{p.name}.{r}.bin"), "wb") as f:
                        f.write(data)
                    cfg.append(f"sha256.input.u_{p.name}.{r}={hashlib.sha256(data).hexdigest()}")
        _text(tmp, "run.cfg", "\n".join(cfg) + "\n")
        # 32-bit ids in memory halve an edge's bytes; a streamed shard's int64 ids are used
        # in place
        defines = ("COSYNTH_IDX32",) if max(graph.n, graph.m) < 2**31 - 1 and \
            not streamed else ()
        if store.name != WIDE:  # the weights' stored type (write_shards chose it)
            defines += (f"COSYNTH_WEIGHT={WEIGHT_CODE[store.name][1]}",)
        state = state_storage(program, graph) if "state_t<" in source else None
        if state is not None and state[0] == "i32":  # narrow state tables (planner/narrow.py)
            defines += ("COSYNTH_STATE32",)
        dflags = " ".join(f"-D{d}" for d in defines)
        if hw is None:
            _text(tmp, "Makefile", f"MPICXX ?= mpicxx\nblade: blade.cpp cosynth_rt.hpp\n"
                                   f"\t$(MPICXX) {' '.join(FLAGS)} {dflags} -I. blade.cpp "
                                   "-o blade\n")
        else:
            _text(tmp, "Makefile", hw.makefile(" ".join(FLAGS), dflags))
        _text(tmp, "run.sh", run_script(len(shards)))
        os.chmod(os.path.join(tmp, "run.sh"), 0o777 & ~umask())
        _text(tmp, "README.md", readme(program.name, source_name, len(shards), hw is not None))
        os.makedirs(os.path.join(tmp, "out"))
        if plan is not None:
            plan.save(os.path.join(tmp, "plan.yaml"))
    return Bundle(out_dir, source, shards, program, full, defines, hw, staged.moved_aside,
                  store, state)


def _text(folder: str, name: str, text: str) -> None:
    """A file of the staging directory (the directory as a whole is renamed in)."""
    with open(os.path.join(folder, name), "w") as f:
        f.write(text)


def gather(bundle: Bundle, graph) -> tuple:
    """The kernel's results from every blade's files (all must be there)."""
    out = os.path.join(bundle.path, "out")
    k = bundle.program
    edge_ranges = [(int(graph.out_indptr[lo]), int(graph.out_indptr[hi]))
                   for lo, hi in bundle.shards]
    results = []
    for i, r in enumerate(k.returns):
        dt = r.dtype.np
        parts = []
        for rank in range(len(bundle.shards)):
            path = os.path.join(out, f"result{i}.rank{rank}.bin")
            if not os.path.exists(path):
                raise CosynthError(f"blade {rank} wrote no result {i}; the run is incomplete",
                                   hint="no partial result is presented")
            parts.append(np.fromfile(path, dtype=dt))
        if isinstance(r, TableRef):
            space = k.table_map[r.table].space
            ranges = bundle.shards if space == "node" else edge_ranges
            for (lo, hi), part in zip(ranges, parts):
                if part.size != hi - lo:
                    raise CosynthError(f"blade result {i} has {part.size} entries, "
                                       f"expected {hi - lo}")
            results.append(np.concatenate(parts) if parts else np.zeros(0, dt))
        else:
            first = parts[0]
            for rank, p in enumerate(parts[1:], 1):
                if not np.array_equal(p, first, equal_nan=dt.kind == "f"):
                    raise CosynthError(f"blades disagree on result {i}: blade 0 has "
                                       f"{first[0]!r}, blade {rank} has {p[0]!r}")
            results.append(first[0].item())
    return tuple(results)


def read_stats(bundle: Bundle) -> list[dict]:
    """Every blade's statistics; with FPGA units, their figures under ``"fpga"``."""
    stats = []
    for rank in range(len(bundle.shards)):
        with open(os.path.join(bundle.path, "out", f"stats.rank{rank}.json")) as f:
            st = json.load(f)
        fpga = os.path.join(bundle.path, "out", f"fpga.rank{rank}.json")
        if os.path.exists(fpga):
            with open(fpga) as f:
                st["fpga"] = json.load(f)
        stats.append(st)
    return stats


def _relabel(plan) -> bool:
    """The plan chose to rename the vertices by degree (``relabel`` in run.cfg)."""
    return plan is not None and any(c.what == "relabel" and c.chosen == "degree order"
                                    for c in plan.choices)
