"""The memory model's per-thread copies (``planner.memory.private_tables``, a restatement
of ``backends/cpp/private.py``'s rule, since the planner does not import a backend)
against the tables the C++ emitter actually gives ``Private`` copies, on every example
kernel and variant; and what the copies cost: nothing with one thread, one copy of the
owned entries per further thread."""

from __future__ import annotations

import re

import pytest

import cosynth as cs
from cosynth.backends.cpp.emit import emit_program
from cosynth.frontend.rewrite import VARIANTS, projection, variant
from cosynth.planner.memory import footprint, private_tables
from cosynth.planner.stats import GraphStats
from cosynth.planner.workload import no_fpga, profile
from tests.helpers import example

KERNELS = ("bfs", "sssp", "cc", "pagerank", "tc", "kcore", "bc")


def _programs():
    for name in KERNELS:
        for v in VARIANTS:
            try:
                kv, _ = variant(example(name).ir, v)
            except Exception:  # a variant the kernel does not have
                continue
            r = projection.apply(kv)
            yield name, v, (r.kernel if r.applied else kv)


@pytest.mark.parametrize("name", KERNELS)
def test_the_model_names_the_tables_the_emitter_copies_per_thread(name):
    seen = 0
    for kname, v, prog in _programs():
        if kname != name:
            continue
        src = emit_program(prog, f"examples/{name}.py")
        emitted = {m.group(1) for m in re.finditer(r"\bu_(\w+)__priv\.open\(", src)}
        assert private_tables(prog) == emitted, (name, v)
        seen += 1
    assert seen > 0


def test_copies_cost_nothing_with_one_thread_and_the_owned_entries_per_further_thread():
    kv, _ = variant(example("pagerank").ir, "bsp")
    prog = projection.apply(kv).kernel
    assert private_tables(prog) == {"contrib"}
    g = cs.Graph.kronecker(6, seed=1)
    w = profile(kv, "bsp", GraphStats.of(g), fpga=no_fpga)
    assert w.memory.private == 8  # contrib: float64
    args = (g.n, g.m, 1000, 3000, 0.125)
    one = w.blade_dram(*args, False, 8, threads=1)
    assert w.blade_dram(*args, False, 8, threads=4) - one == 3 * 8 * 1000
    assert w.memory.blade_bytes(*args, sharded=True, blades=8) == one
    assert footprint(prog, w.nests).private == 8
