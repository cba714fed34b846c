"""Comparing results of two executions: a mismatch is an error, never a warning.

Integers and bools must be equal exactly.  Floats are compared with
``|a - b| <= atol + rtol * |b|`` (``inf`` equals ``inf``, ``nan`` equals ``nan``); the
default tolerance (``rtol=1e-9, atol=1e-12``) absorbs the different summation orders of
cosynth and networkx and nothing more.

``oracle`` computes what a run of a rewritten kernel must reproduce: the kernel *as
written* (its ``seq`` IR) in the scalar interpreter, so that a wrong rewrite cannot vouch
for itself; ``tolerance`` says how closely: exactly when every rewrite's certificate is
exact, within ``RTOL``/``ATOL`` only when a law was assumed by a policy
(``reassociate-float-sums``).
"""

from __future__ import annotations

import time

import numpy as np

from .errors import MismatchError
from .ir.interp import BudgetExhausted, interpret

__all__ = ["compare_results", "RTOL", "ATOL", "results_equal", "oracle", "tolerance",
           "SEQ_BUDGET", "Oracle"]

RTOL = 1e-9
ATOL = 1e-12

#: Node/edge loop iterations the scalar interpreter may spend on the kernel as written
#: (2.5-5 s at 0.6-1.2 M iterations/s); past it the oracle falls back to the vectorised
#: interpreter of the proved variant, whose cost is that of the run being checked.
SEQ_BUDGET = 3_000_000


class Oracle:
    """An oracle's result: ``results``; ``source`` says what computed them; ``as_written``
    is True when that was the kernel as written; ``seconds`` what it cost."""

    def __init__(self, results: tuple, source: str, as_written: bool, seconds: float):
        self.results, self.source = results, source
        self.as_written, self.seconds = as_written, seconds


def oracle(seq_ir, variant_ir, variant: str, graph, bound: dict, *,
           budget: int = SEQ_BUDGET) -> Oracle:
    """The result the blades running ``variant_ir`` (the ``variant`` rewrite of
    ``seq_ir``) must reproduce on ``graph`` with arguments ``bound``.

    The scalar interpreter runs ``seq_ir``, the kernel as written, when its node and edge
    loops take at most ``budget`` iterations on this graph (cost: O(iterations) Python
    steps, at most ``budget`` before giving up; skipped at once when ``n + m`` alone
    exceeds it).  Past the budget, the vectorised interpreter of ``variant_ir`` answers:
    the same cost as the check before the oracle existed; the source says so.
    """
    t0 = time.perf_counter()
    if variant_ir is None or variant_ir == seq_ir:
        out = interpret(seq_ir, graph, bound)
        return Oracle(out, "the kernel as written", True, time.perf_counter() - t0)
    if graph.n + graph.m <= budget:
        try:
            out = interpret(seq_ir, graph, bound, vectorize=False, budget=budget)
            return Oracle(out, "the kernel as written", True, time.perf_counter() - t0)
        except BudgetExhausted:
            pass
    out = interpret(variant_ir, graph, bound)
    return Oracle(out, f"the {variant} variant, vectorised (the kernel as written would take "
                  f"over {budget:,} loop iterations)", False, time.perf_counter() - t0)


def tolerance(rewrites) -> dict:
    """``compare_results`` keywords for a run made by ``rewrites`` (certificates as
    dicts with ``exact``, or ``Rewrite`` objects): exact unless a law was assumed."""
    exact = all((r["exact"] if isinstance(r, dict) else r.exact) for r in rewrites)
    return {"rtol": 0.0, "atol": 0.0} if exact else {"rtol": RTOL, "atol": ATOL}


def fixed_tolerance(tol: dict, fx) -> dict:
    """``compare_results`` keywords when an FPGA unit computed floats under the
    fixed-point policy ``fx`` (``cosynth.fixed``): the policy's stated tolerance, never
    tighter than ``tol``, the check's own."""
    return {"rtol": max(tol.get("rtol", 0.0), fx.rtol),
            "atol": max(tol.get("atol", 0.0), fx.atol)}


def _as_tuple(x) -> tuple:
    return x if isinstance(x, tuple) else (x,)


def results_equal(got, want, *, rtol: float = RTOL, atol: float = ATOL) -> bool:
    try:
        compare_results(got, want, rtol=rtol, atol=atol)
    except MismatchError:
        return False
    return True


def compare_results(got, want, *, what: str = "result", against: str = "reference",
                    names: tuple | None = None, rtol: float = RTOL, atol: float = ATOL):
    """Raise MismatchError naming the first differing vertices if ``got`` != ``want``."""
    got, want = _as_tuple(got), _as_tuple(want)
    if len(got) != len(want):
        raise MismatchError(f"{what} has {len(got)} values, {against} has {len(want)}")
    for k, (a, b) in enumerate(zip(got, want)):
        label = names[k] if names and k < len(names) else f"value {k}"
        a_arr, b_arr = np.asarray(a), np.asarray(b)
        if a_arr.shape != b_arr.shape:
            raise MismatchError(f"{what} {label} has shape {a_arr.shape}, {against} has "
                                f"{b_arr.shape}")
        bad = _differing(a_arr, b_arr, rtol, atol)
        if bad.size:
            if a_arr.ndim == 0:
                raise MismatchError(f"{what} {label} is {a_arr.item()!r} but {against} "
                                    f"gives {b_arr.item()!r}")
            show = ", ".join(f"[{i}] {a_arr[i]!r} vs {b_arr[i]!r}" for i in bad[:5])
            raise MismatchError(
                f"{what} {label} differs from {against} at {bad.size} of {a_arr.size} "
                f"entries; first: {show}",
                hint="this is a cosynth bug if both sides ran the same kernel; please "
                     "report it with the kernel and graph")


def _differing(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        af, bf = a.astype(np.float64), b.astype(np.float64)
        same_inf = np.isinf(af) & np.isinf(bf) & (np.sign(af) == np.sign(bf))
        both_nan = np.isnan(af) & np.isnan(bf)
        with np.errstate(invalid="ignore"):
            close = np.abs(af - bf) <= atol + rtol * np.abs(bf)
        ok = close | same_inf | both_nan
    else:
        ok = a == b
    return np.flatnonzero(~np.atleast_1d(ok))
