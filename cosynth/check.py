"""Comparing results of two executions: a mismatch is an error, never a warning.

Integers and bools must be equal exactly.  Floats are compared with
``|a - b| <= atol + rtol * |b|`` (``inf`` equals ``inf``, ``nan`` equals ``nan``); the
default tolerance (``rtol=1e-9, atol=1e-12``) absorbs the different summation orders of
cosynth and networkx and nothing more.
"""

from __future__ import annotations

import numpy as np

from .errors import MismatchError

__all__ = ["compare_results", "RTOL", "ATOL", "results_equal"]

RTOL = 1e-9
ATOL = 1e-12


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
