"""Differential checking of every rewrite: interpreter(before) == interpreter(after).

For each example kernel, every rule that applies at any loop (on the kernel as written
and on its ``par`` and ``async`` variants) is checked on

* the small set: every directed graph on up to 4 vertices up to isomorphism (self-loops
  on up to 3), with small integer weights;
* the large set: random graphs of a few hundred vertices, directed and undirected;

with the scalar interpreter in program order (exactly, unless a law was only assumed by
the float-sum policy), the scalar interpreter reordering (``interpret(..., order=seed)``:
``par``/``bsp``/``async`` loops in seeded random orders, ``async`` reads seeing any prefix
of the other iterations' writes) under several seeds, and the vectorised one (within
tolerance where float sums are reordered).  Every standard variant also runs reordered
against the kernel as written.  The
projected blade program of each parallel variant runs on 1, 2, 3 and 8 blades with uneven
shards and blades that own no vertex.
"""

from __future__ import annotations

import numpy as np
import pytest

import cosynth as cs
from cosynth.check import compare_results
from cosynth.frontend.rewrite import VARIANTS, apply_rule, projection, variant
from cosynth.frontend.rewrite.core import loops
from cosynth.ir.blades import run_blades
from cosynth.ir.interp import interpret
from cosynth.ir.nodes import Loop, Store
from cosynth.ir.walk import iter_stmts
from tests.helpers import ALGORITHMS, example, random_graph
from tests.smallgraphs import small_digraphs

ARGS = {"bfs": {"source": 0}, "sssp": {"source": 0}, "bc": {"normalized": True}}
SMALL = list(small_digraphs(4, 3))
_RULES = ("parallelize", "relax", "direction", "edge_centric", "fuse", "fission")
SEEDS_SMALL = (1, 2, 3)  # reordering seeds on the small graphs
SEEDS_LARGE = (1, 2)  # and on the large ones


def _large():
    out = []
    for i, (directed, n) in enumerate([(True, 300), (False, 250), (True, 120)]):
        rng = np.random.default_rng(100 + i)
        m = 3 * n
        src, dst = rng.integers(0, n, m), rng.integers(0, n, m)
        w = rng.integers(1, 20, m).astype(np.float64)
        out.append(cs.Graph.from_edges(src, dst, w, num_nodes=n + 5, directed=directed,
                                       dedupe=not directed))
    return out


LARGE = _large()


def _rewrites(k):
    """Every applied rewrite, with the kernel it was applied to."""
    out = []
    bases = [("seq", k)] + [(v, variant(k, v)[0]) for v in ("par", "async")]
    for vname, base in bases:
        for path, loop in loops(base):
            for rule in _RULES:
                opts = [{}]
                if rule == "relax":
                    opts = [{"to": "async"}, {"to": "bsp"}, {"to": "seq"}]
                if rule == "parallelize":
                    opts = [{}, {"to": "seq"}]
                for o in opts:
                    try:
                        r = apply_rule(rule, base, path, **o)
                    except TypeError:
                        continue
                    if r.applied and isinstance(loop, Loop):
                        out.append((f"{vname}:{rule}{o or ''}@{path}", base, r))
    return out


def _float_sums(k) -> bool:
    """Does a parallel loop reduce a float with add (reordered when vectorised)?"""
    tables = k.table_map
    for s, path in iter_stmts(k.body):
        if isinstance(s, Store) and s.op == "add" and tables[s.table].dtype.is_float and \
                any(lp.schedule != "seq" for lp in path if lp.is_data_loop):
            return True
    return False


def _compare(got, want, exact: bool, what: str):
    if exact:
        compare_results(got, want, rtol=0.0, atol=0.0, what=what)
    else:
        compare_results(got, want, what=what)


# bc and pagerank take 1.5-2.5 min each here, kcore 11 s on a quiet machine and over a
# minute under load (the default suite is at its 8-minute budget): they run with the slow
# set (and in bench/bench_rewrite.py); the other algorithms keep every rule differential by
# default, and kcore's projections stay in the default suite below; cc and tc (10-40 s
# each) joined them when the cold CI run reached 541 s of its 480 (their projections and
# the differential runs of bfs, sssp and the rest stay)
_HEAVY = ("bc", "pagerank", "kcore", "cc", "tc")


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in _HEAVY
                                  else n for n in ALGORITHMS])
def test_every_rewrite_preserves_results(name):
    kf = example(name)
    k = kf.ir
    rewrites = _rewrites(k)
    assert rewrites, f"no rule applies to {name}"
    small = SMALL if name != "bc" else [g for g in SMALL if g.n <= 3]
    large = {"bc": [LARGE[2]], "pagerank": [LARGE[0], LARGE[2]]}.get(name, LARGE)
    graphs = small + large
    checked = 0
    for g in graphs:
        bound = kf.bind(g, **ARGS.get(name, {}))
        want = interpret(k, g, bound, vectorize=False)
        cache = {}
        for label, base, r in rewrites:
            if id(base) not in cache:
                cache[id(base)] = interpret(base, g, bound, vectorize=False)
            before = cache[id(base)]
            after = interpret(r.kernel, g, bound, vectorize=False)
            _compare(after, before, r.exact, f"{name} {label} (scalar) on {g!r}")
            for seed in (SEEDS_SMALL if g.n <= 4 else SEEDS_LARGE):
                shuffled = interpret(r.kernel, g, bound, order=seed)
                _compare(shuffled, before, r.exact,
                         f"{name} {label} (reordered, seed {seed}) on {g!r}")
            vec = interpret(r.kernel, g, bound)
            _compare(vec, want, r.exact and not _float_sums(r.kernel),
                     f"{name} {label} (vectorised) on {g!r}")
            checked += 1
    assert checked >= len(rewrites) * len(graphs)


@pytest.mark.parametrize("name", ALGORITHMS)
def test_projection_on_blades(name):
    kf = example(name)
    k = kf.ir
    small = [g for g in SMALL[::17] if g.n <= 3] if name == "bc" else SMALL[::17]
    large = [] if name == "bc" else [LARGE[2]]
    for vname in ("par", "async", "pull"):
        kv, _ = variant(k, vname)
        r = projection.apply(kv)
        assert r.applied, f"{name} {vname}: {r.reason}"
        for g in small + large:
            bound = kf.bind(g, **ARGS.get(name, {}))
            want = interpret(k, g, bound, vectorize=False)
            n = g.n
            shard_maps = [[(0, n)], [(0, n // 2), (n // 2, n)],
                          [(0, 0), (0, n - n // 3), (n - n // 3, n)],  # an empty blade
                          _uneven(n, 8)]
            for shards in shard_maps:
                for vec in ((False, True) if g.n <= 4 else (True,)):
                    run = run_blades(r.kernel, g, bound, shards, vectorize=vec)
                    _compare(run.results, want, not _float_sums(kv) and r.exact,
                             f"{name} {vname} on {len(shards)} blades {shards}")


def _uneven(n: int, blades: int) -> list:
    cuts = sorted({0, n, *[(n * i * i) // (blades * blades) for i in range(1, blades)]})
    cuts = [0] + cuts[1:-1] + [n]
    while len(cuts) < blades + 1:
        cuts.insert(1, 0)
    return [(cuts[i], cuts[i + 1]) for i in range(blades)]


def test_random_graph_helper_is_used():
    # keep the shared helper exercised here too: a random graph runs through a variant
    G = random_graph(5, directed=True, weighted=True)
    g = cs.Graph.from_networkx(G)
    kf = example("cc")
    kv, _ = variant(kf.ir, "pull")
    compare_results(interpret(kv, g, {}), kf(g))


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in _HEAVY
                                  else n for n in ALGORITHMS])
def test_every_variant_reordered_equals_the_kernel_as_written(name):
    kf = example(name)
    small = [g for g in SMALL[::23] if name != "bc" or g.n <= 3]
    large = [] if name in ("bc", "kcore") else [LARGE[2]]
    for vname in VARIANTS:
        kv, done = variant(kf.ir, vname)
        exact = all(r.exact for r in done)
        for g in small + large:
            bound = kf.bind(g, **ARGS.get(name, {}))
            want = interpret(kf.ir, g, bound, vectorize=False)
            for seed in SEEDS_SMALL:
                _compare(interpret(kv, g, bound, order=seed), want, exact,
                         f"{name} {vname} (reordered, seed {seed}) on {g!r}")


_CARRIED = '''
import cosynth as cs


@cs.kernel
def shift(g: cs.Graph) -> cs.NodeArray[cs.i64]:
    n = g.num_nodes()
    t = g.node_array(cs.i64, 0)
    for v in g.nodes():
        if v + 1 < n:
            t[v] = t[v + 1] + 1
    return t
'''


def test_a_wrong_parallelize_is_caught_only_by_reordering(tmp_path):
    """A loop with a carried dependence (``t[v]`` reads ``t[v + 1]``, which iteration
    ``v + 1`` writes) made ``par`` without a proof: program order and NumPy lanes both
    read the old ``t[v + 1]`` and agree with the kernel as written, so the checks this
    harness had before pass it; a reordered run catches it."""
    from cosynth.errors import MismatchError
    from cosynth.frontend.rewrite import apply_rule
    from cosynth.frontend.rewrite.core import replace_at
    from cosynth.ir.nodes import replace
    from cosynth.loader import load_kernels
    path = tmp_path / "shift.py"
    path.write_text(_CARRIED)
    kf = load_kernels(str(path))["shift"]
    k = kf.ir
    (lpath, loop), = [(p, lp) for p, lp in loops(k) if lp.kind == "nodes"]
    assert not apply_rule("parallelize", k, lpath).applied  # the prover refuses it
    wrong = replace_at(k, lpath, [replace(loop, schedule="par")])
    for g in [SMALL[-1], LARGE[0]]:
        want = interpret(k, g, {}, vectorize=False)
        # the old checks: scalar in program order, and vectorised
        _compare(interpret(wrong, g, {}, vectorize=False), want, True, "scalar")
        _compare(interpret(wrong, g, {}), want, True, "vectorised")
        # the reordering oracle
        with pytest.raises(MismatchError):
            for seed in SEEDS_SMALL:
                _compare(interpret(wrong, g, {}, order=seed), want, True, "reordered")
