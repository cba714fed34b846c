"""Shared test helpers: example kernels and seeded random graphs of every flavour."""

from __future__ import annotations

import os

import networkx as nx
import numpy as np

import cosynth as cs
from cosynth.loader import load_kernels

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
ALGORITHMS = ("bfs", "sssp", "pagerank", "cc", "bc", "tc", "kcore")


def example(name: str) -> cs.KernelFunction:
    return load_kernels(os.path.join(EXAMPLES, f"{name}.py"))[name]


def random_graph(seed: int, *, directed: bool | None = None, weighted: bool | None = None,
                 self_loops: bool = True, max_n: int = 30, int_weights: bool = False):
    """A small networkx graph with isolated vertices and (optionally) self-loops."""
    rng = np.random.default_rng(seed)
    if directed is None:
        directed = bool(rng.integers(2))
    if weighted is None:
        weighted = bool(rng.integers(2))
    n = int(rng.integers(1, max_n + 1))
    most = n * (n - 1) // (1 if directed else 2)
    m = int(rng.integers(0, min(most, 3 * n) + 1)) if most else 0
    G = nx.gnm_random_graph(n, m, seed=int(rng.integers(1 << 30)), directed=directed)
    extra = int(rng.integers(0, 4))  # isolated vertices beyond the edges' range
    G.add_nodes_from(range(n, n + extra))
    if self_loops and n and rng.random() < 0.5:
        for v in rng.choice(n, size=min(n, 2), replace=False):
            G.add_edge(int(v), int(v))
    if weighted:
        for u, v in G.edges():
            G[u][v]["weight"] = float(rng.integers(1, 20)) if int_weights else \
                float(np.round(rng.uniform(0.1, 10.0), 3))
    return G


def random_graphs(count: int, seed: int = 0, **kw):
    for i in range(count):
        G = random_graph(seed * 1000 + i, **kw)
        yield i, cs.Graph.from_networkx(G)


def same(a, b) -> bool:
    """Exact equality of results (tuples of arrays/scalars), NaN equal to NaN."""
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape or x.dtype.kind != y.dtype.kind:
            return False
        if not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
            return False
    return True


_SRC_COUNTER = [0]


def kernel_from_source(tmp_path, src: str, name: str | None = None):
    """Write ``src`` (indented freely) to a file and load its kernel ``name``."""
    import textwrap

    from cosynth.loader import load_kernels
    _SRC_COUNTER[0] += 1
    path = tmp_path / f"k{_SRC_COUNTER[0]}.py"
    body = textwrap.dedent(src).strip("\n") + "\n"
    if "import cosynth" not in body:
        body = "import cosynth as cs\n" + body
    path.write_text(body)
    kernels = load_kernels(str(path))
    if name is None:
        (name,) = kernels
    return kernels[name], str(path)
