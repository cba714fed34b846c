"""Storage narrowing of edge weights: keep them in fewer bytes than the kernel declares
when every weight of the graph is exactly representable there -- checked on the data.

A kernel reads an edge weight only as a value of its weight dtype ``K`` (the IR's
``weight`` table; the C++ backend converts the stored value to ``K`` where it loads it).
Storing the weights in a type ``S`` and widening on load is therefore exact -- the kernel
sees the very values it would have seen -- when, for every weight ``w`` of the graph::

    K(S(w)) == K(w)          (the legality, checked on the graph's weights)

``S`` ranges over the narrower candidates of ``K``'s kind, narrowest first (``f32`` for a
float kernel; ``i16`` then ``i32`` for an integer kernel), and the first that passes is
chosen; a graph whose weights do not all pass keeps the wide type the shard format has
always used (``f64``).  An integer ``S`` must also hold ``w`` without wrapping (numpy's
conversion wraps, so the range is checked before the round trip); a NaN never passes
(NaN != NaN), which only keeps such a graph wide.

The decision is made on the data twice, from the same function: by the planner (the plan
says which width it chose, ``weight_choice``) and by the shard writer when it writes the
weights (``backends/cpp/bundle.py``), which is what makes the files legal whatever graph
a saved plan is later built on.

Example (Kronecker weights 1..255)::

    >>> import numpy as np
    >>> from cosynth.dtypes import f64, i64
    >>> weight_storage(f64, np.array([1.0, 255.0])).name
    'f32'
    >>> weight_storage(i64, np.array([1, 255])).name
    'i16'
    >>> weight_storage(f64, np.array([0.1])).name  # 0.1 is not a float32
    'f64'
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cosynth.dtypes import DType
from cosynth.frontend.rewrite.narrowstate import LIMIT, narrow_states
from cosynth.ir.nodes import Kernel
from cosynth.ir.walk import loads_role

__all__ = ["WeightStore", "weight_storage", "kernel_weights", "reads_weights",
           "weight_choice", "WIDE"]

#: the storage every graph may use: the shard format's float64 (exact for any float
#: kernel and for integer weights below 2**53, as before this rule)
WIDE = "f64"

#: narrower candidates per kind of kernel weight dtype, narrowest first
_CANDIDATES = {"float": ("f32",), "int": ("i16", "i32")}
_NP = {"f32": np.float32, "f64": np.float64, "i16": np.int16, "i32": np.int32}


@dataclass(frozen=True)
class WeightStore:
    """The stored type of the edge weights (``name``: f64, f32, i32 or i16), its bytes
    per weight, and why it was chosen."""
    name: str
    reason: str

    @property
    def bytes(self) -> int:
        return np.dtype(_NP[self.name]).itemsize

    @property
    def np(self):
        return _NP[self.name]


def kernel_weights(d: DType, graph) -> np.ndarray:
    """The weights as kernel dtype ``d`` reads them (an unweighted graph's are ones; an
    integer kernel's are ``Graph.integer_weights``, which refuses a fractional one)."""
    w = graph.integer_weights() if d.is_int else graph.weights_or_ones()
    return np.asarray(w).astype(d.np)


def weight_storage(d: DType, w: np.ndarray) -> WeightStore:
    """The narrowest storage of weights ``w`` (as kernel dtype ``d`` reads them) in which
    every one round-trips exactly to ``d`` (the module docstring's legality), else f64."""
    w = np.asarray(w).astype(d.np)
    kind = "int" if d.is_int else "float"
    for s in _CANDIDATES[kind]:
        st = np.dtype(_NP[s])
        if not w.size:
            return WeightStore(s, "the graph has no edges")
        if kind == "int":
            info = np.iinfo(st)
            lo, hi = int(w.min()), int(w.max())
            if lo < info.min or hi > info.max:
                continue
            return WeightStore(s, f"every weight is an integer in [{lo}, {hi}], within "
                                  f"{s} (widened to {d.name} on load: exact)")
        with np.errstate(over="ignore", invalid="ignore"):  # overflow: inf, not equal
            back = w.astype(st).astype(d.np)
        if np.array_equal(back, w):
            return WeightStore(s, f"every weight is exactly a {s} (widened to {d.name} on "
                                  "load: exact)")
    why = (f"a weight does not fit a narrower type than {d.name}" if w.size else
           "no narrower type")
    return WeightStore(WIDE, why)


def reads_weights(k: Kernel) -> bool:
    """Does kernel ``k`` read the edge weights?"""
    return loads_role(k.body, k.table_map, "weight")


def stored_weight_bytes(k: Kernel, stats) -> int:
    """Bytes of one stored edge weight of kernel ``k`` on the graph ``stats`` measured
    (what the shard writer will choose; 8 without the graph).  Decided once per graph and
    weight type."""
    g = getattr(stats, "_graph", None)
    if g is None or "weight" not in k.table_map:
        return 8
    d = k.table_map["weight"].dtype
    key = ("weight bytes", d.name)
    if key not in stats._cuts:
        stats._cuts[key] = weight_storage(d, kernel_weights(d, g)).bytes
    return stats._cuts[key]


def weight_choice(k: Kernel, graph) -> tuple[str, str] | None:
    """The plan's choice of weight storage for kernel ``k`` on ``graph`` (chosen, reason),
    or None when ``k`` reads no weights."""
    if not reads_weights(k):
        return None
    d = k.table_map["weight"].dtype
    st = weight_storage(d, kernel_weights(d, graph))
    return f"{st.name} ({st.bytes} bytes per edge)", st.reason


# ------------------------------------------------------------------ state tables
def state_storage(k: Kernel, graph) -> tuple[str, str] | None:
    """The stored width of the narrowable state tables of program ``k`` on ``graph``:
    ("i32", reason) when every one passes the graph check of
    ``cosynth.frontend.rewrite.narrowstate`` (every weight the kernel reads an integer in
    ``[0, W]``; every constant stored an integer ``>= 0``; ``c + (n - 1) * S + S`` below
    ``2**31 - 1`` with ``S = a * W + c'`` the law's step), (the table's dtype, why not)
    when one fails, None when ``k`` has none.  Decided on the data, like the weights: by
    the planner (the plan's choice) and again by the shard writer that sets the build's
    ``COSYNTH_STATE32``."""
    states = narrow_states(k)
    if not states:
        return None
    wide = k.table_map[next(iter(states))].dtype.name
    w_max = 1
    if reads_weights(k):
        d = k.table_map["weight"].dtype
        w = np.asarray(kernel_weights(d, graph), dtype=np.float64)
        if w.size:
            if not np.all(np.isfinite(w)) or np.any(w < 0) or np.any(w != np.floor(w)):
                return wide, "a weight is not a non-negative integer"
            w_max = max(1, int(w.max()))
    if w_max >= LIMIT:
        return wide, f"the largest weight {w_max} does not fit 31 bits"
    worst = 0
    for st in states.values():
        if any(float(c) != int(c) or c < 0 for c in st.consts):
            return wide, f"{st.table} starts from a constant that is not a whole number >= 0"
        a, c = st.step
        step = a * w_max + c
        top = max((int(c) for c in st.consts), default=0) + max(graph.n - 1, 0) * step + step
        worst = max(worst, top)
    # a law that reads no weight (a == 0: a level counter's table, e.g. BFS's depth)
    # holds level numbers, one step a superstep; one that reads weights holds path sums
    levels = all(st.step[0] == 0 for st in states.values())
    what = "levels" if levels else "path sums"
    steps = (f"n - 1 supersteps of {max(st.step[1] for st in states.values())} each"
             if levels else f"n - 1 steps of up to {w_max} each")
    if worst >= LIMIT:
        return wide, f"{what} may reach {worst} ({steps}), not below 2**31 - 1"
    names = ", ".join(sorted(states))
    return "i32", (f"{names}: every value is +inf or a whole "
                   f"{'level' if levels else 'path sum'} <= {worst} ({steps}), exact in int32")


def state_bytes_saved(k: Kernel, stats) -> int:
    """Bytes per vertex the build saves by storing ``k``'s state tables in 32 bits on the
    graph ``stats`` measured (4 per 8-byte table; 0 without the graph or when the check
    keeps them wide).  Decided once per graph and program."""
    g = getattr(stats, "_graph", None)
    if g is None:
        return 0
    key = ("state bytes", k.name, tuple(sorted(narrow_states(k))))
    if key not in stats._cuts:
        st = state_storage(k, g)
        stats._cuts[key] = 4 * len(key[2]) if st is not None and st[0] == "i32" else 0
    return stats._cuts[key]


def state_choice(k: Kernel, graph) -> tuple[str, str] | None:
    """The plan's choice of state storage (chosen, reason), or None when ``k`` has no
    narrowable state table."""
    st = state_storage(k, graph)
    if st is None:
        return None
    name, why = st
    return f"{name} ({4 if name == 'i32' else 8} bytes per vertex)", why
