"""Python source -> IR (tracing, scopes, raising of reductions) and the rewrite rules."""

from __future__ import annotations

from cosynth.dtypes import DType, f64
from cosynth.ir.nodes import Kernel
from cosynth.ir.verify import verify
from cosynth.lang import set_tracer

from .raising import raise_reductions
from .scopes import resolve_scopes
from .trace import trace_source

__all__ = ["trace_kernel"]


def trace_kernel(fn, weight_dtype: DType = f64) -> Kernel:
    """The verified IR of the plain Python kernel ``fn``.

    Tracing reads ``fn``'s AST, types it, decides which scalars are private to a loop
    iteration, and raises read-modify-write idioms into named reductions.
    """
    raw = trace_source(fn, weight_dtype)
    k = verify(resolve_scopes(raw))
    return verify(raise_reductions(k))


set_tracer(trace_kernel)  # @cs.kernel's .ir traces through this frontend
