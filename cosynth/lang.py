"""The language users import: ``@cs.kernel``, ``cs.NodeArray`` and argument binding.

A kernel is an ordinary Python function.  Decorating it with ``@cs.kernel`` keeps it
callable as plain Python (the reference semantics) and makes it traceable:

>>> import cosynth as cs
>>> @cs.kernel
... def degree_sum(g: cs.Graph) -> int:
...     total = 0
...     for v in g.nodes():
...         total += g.out_degree(v)
...     return total

``degree_sum(g)`` runs the Python; ``degree_sum.ir`` is the traced IR;
``degree_sum.interpret(g)`` runs the IR interpreter on the same arguments.

The language sits below the frontend that traces it: ``cosynth.frontend`` registers its
tracer here (``set_tracer``) when it is imported, and ``import cosynth`` imports it, so
``.ir`` works for every user while this module imports no stage.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import replace

import numpy as np

from .dtypes import DType, can_store, f64, from_numpy
from .errors import ArgumentError, CosynthError, NoReference
from .fixed import parse_fixed
from .graph import Graph, _check_graph
from .ir.interp import interpret

__all__ = ["kernel", "KernelFunction", "NodeArray", "EdgeArray", "bind_args", "set_tracer"]

_tracer = None  # fn, weight dtype -> verified Kernel; cosynth.frontend registers it


def set_tracer(trace) -> None:
    """Register ``trace(fn, weight_dtype) -> Kernel``, the function ``.ir`` calls.

    ``cosynth.frontend`` registers ``trace_kernel`` when it is imported (and
    ``import cosynth`` imports it); the last registration wins."""
    global _tracer
    _tracer = trace


class _ArrayAnn:
    """``cs.NodeArray[cs.f64]``: an annotation for node-array parameters and results."""

    def __init__(self, space: str, dtype: DType | None):
        self.space = space
        self.dtype = dtype
        self.__cosynth_node_array__ = dtype if space == "node" else None

    def __repr__(self) -> str:
        name = "NodeArray" if self.space == "node" else "EdgeArray"
        d = self.__cosynth_node_array__
        return f"cs.{name}[{d}]" if d else f"cs.{name}"


class NodeArray:
    """Annotation: a node array (a NumPy array with one entry per vertex).

    ``cs.NodeArray[cs.i64]`` fixes the element type (``cs.NodeArray`` alone means f64).
    """

    def __class_getitem__(cls, dtype: DType):
        if not isinstance(dtype, DType):
            raise TypeError("cs.NodeArray[...] takes a cosynth dtype such as cs.f64")
        return _ArrayAnn("node", dtype)


class EdgeArray:
    """Annotation for edge-array results (one entry per edge id)."""

    def __class_getitem__(cls, dtype: DType):
        return _ArrayAnn("edge", dtype)


class KernelFunction:
    """A plain Python graph kernel that cosynth can trace, interpret and compile."""

    def __init__(self, fn, weight: DType = f64, reference=None, fixed=None):
        if not callable(fn) or not inspect.isfunction(fn):
            raise TypeError("@cs.kernel decorates a function")
        if not isinstance(weight, DType):
            raise TypeError("@cs.kernel(weight=...) takes a cosynth dtype such as cs.i64")
        self.fn = fn
        self.weight_dtype = weight
        self.reference = reference
        self.fixed = parse_fixed(fixed)
        self.name = fn.__name__
        self._ir = None
        functools.update_wrapper(self, fn)

    @property
    def ir(self):
        """The verified IR (traced on first use)."""
        if self._ir is None:
            if _tracer is None:
                raise CosynthError("no tracer is registered",
                                   hint="import cosynth (or cosynth.frontend) first")
            ir = _tracer(self.fn, self.weight_dtype)
            self._ir = ir if self.fixed is None else replace(ir, fixed=self.fixed)
        return self._ir

    def with_fixed(self, fixed) -> KernelFunction:
        """The same kernel under another fixed-point policy (``cosynth.fixed``; None:
        none), as ``--fixed`` on the command line declares it."""
        return KernelFunction(self.fn, self.weight_dtype, self.reference, fixed)

    @property
    def source_file(self) -> str:
        return inspect.getsourcefile(self.fn) or "<unknown>"

    def bind(self, g: Graph, *args, **kwargs) -> dict:
        """Check and convert the arguments of a call (raises ArgumentError)."""
        return bind_args(self.ir, _check_graph(g), args, kwargs)

    def __call__(self, g: Graph, *args, **kwargs):
        """Run the kernel as plain Python (the reference semantics)."""
        bound = self.bind(g, *args, **kwargs)
        py_args = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in bound.items()}
        return self.fn(g.with_weight_dtype(self.weight_dtype), **py_args)

    def interpret(self, g: Graph, *args, while_limit: int | None = None, **kwargs):
        """Run the kernel's IR in the interpreter; results as the plain call returns them."""
        bound = self.bind(g, *args, **kwargs)
        out = interpret(self.ir, g, bound, while_limit=while_limit)
        return out[0] if len(out) == 1 else out

    def expected(self, g: Graph, bound: dict) -> tuple:
        """The reference result (networkx) for ``bound`` arguments, as a tuple.

        Raises ``NoReference`` (``cosynth.errors``, also ``cosynth.nxref.NoReference``)
        when the kernel has no reference or the reference does not cover this graph.
        """
        if self.reference is None:
            raise NoReference(f"kernel '{self.name}' declares no networkx reference")
        out = self.reference(g, **bound)
        return out if isinstance(out, tuple) else (out,)

    def __repr__(self) -> str:
        return f"<cs.kernel {self.name}>"


def kernel(fn=None, *, weight: DType = f64, reference=None, fixed=None):
    """Decorator: ``@cs.kernel`` or ``@cs.kernel(weight=cs.i64, reference=...)``.

    ``weight`` is the type of ``e.weight`` inside the kernel (f64 unless declared); a
    graph whose weights are not exact integers is refused by an integer-weight kernel.
    ``reference(g, **args)`` computes the expected result another way (networkx), for
    the checks every run makes.  ``fixed`` (``cs.fixed("Q16.47", atol=1e-9)`` or the text
    ``"Q16.47,atol=1e-9"``) lets loops that compute with floats go to an FPGA in that
    fixed-point format, their results checked against the float kernel within the stated
    tolerance (``cosynth.fixed``).
    """
    if fn is None:
        return lambda f: KernelFunction(f, weight, reference, fixed)
    return KernelFunction(fn, weight, reference, fixed)


def bind_args(k, g: Graph, args: tuple, kwargs: dict, nan_free: bool = True) -> dict:
    """Match a call's arguments to the kernel's parameters, checking each.

    Returns ``{name: value}`` with ints, floats and bools as Python values and node
    arrays as NumPy arrays of the declared dtype.  Vertex parameters (those the kernel
    uses as a vertex) must lie in ``0 .. n-1``.  Under the ``nan-free`` policy (the
    default, assumed by every proof about float data; ``nan_free=False`` only for runs of
    the kernel as written) a NaN in a float array or scalar is refused with the argument's
    name and index; the graph refuses non-finite edge weights itself.
    """
    params = list(k.params)
    if len(args) > len(params):
        raise ArgumentError(f"kernel '{k.name}' takes {len(params)} "
                            f"argument{'s' * (len(params) != 1)} after the graph, but "
                            f"{len(args)} {'were' if len(args) != 1 else 'was'} given",
                            hint=_signature_hint(k))
    given = dict(zip((p.name for p in params), args))
    for name, v in kwargs.items():
        if name in given:
            raise ArgumentError(f"argument '{name}' of kernel '{k.name}' is given twice")
        if name not in {p.name for p in params}:
            raise ArgumentError(f"kernel '{k.name}' has no parameter '{name}'",
                                hint=_signature_hint(k))
        given[name] = v
    out = {}
    for p in params:
        if p.name not in given:
            if not p.has_default:
                raise ArgumentError(f"kernel '{k.name}' needs a value for '{p.name}'",
                                    hint=_signature_hint(k))
            if nan_free and isinstance(p.default, float) and p.default != p.default:
                raise ArgumentError(f"the default of '{p.name}' is NaN, which the nan-free "
                                    "policy refuses", hint=f"pass a number for '{p.name}'")
            out[p.name] = p.default
            continue
        out[p.name] = _check_value(k, p, given[p.name], g, nan_free)
    return out


def _check_value(k, p, v, g: Graph, nan_free: bool = True):
    d = p.dtype
    if p.kind == "array":
        if not isinstance(v, np.ndarray) or v.ndim != 1 or v.shape[0] != g.n:
            shape = getattr(v, "shape", type(v).__name__)
            raise ArgumentError(f"'{p.name}' must be a 1-D NumPy array with one entry per "
                                f"vertex ({g.n}), got {shape}")
        try:
            src = from_numpy(v.dtype)
        except ValueError:
            raise ArgumentError(f"'{p.name}' has dtype {v.dtype}; expected {d}") from None
        if not can_store(src, d):
            raise ArgumentError(f"'{p.name}' holds {src} values; the kernel declares {d}",
                                hint=f"convert it with .astype(np.{d.np})")
        out = v.astype(d.np)
        if nan_free and d.is_float and np.isnan(out).any():
            bad = int(np.flatnonzero(np.isnan(out))[0])
            raise ArgumentError(f"'{p.name}'[{bad}] is NaN; every proof of this kernel's "
                                "rewrites assumes float data are never NaN (the nan-free "
                                "policy)", hint=f"replace the NaN entries of '{p.name}' "
                                                "(e.g. with cs.INF or 0.0) before the call")
        return out
    if d.is_bool:
        if not isinstance(v, bool | np.bool_):
            raise ArgumentError(f"'{p.name}' must be a bool, got {v!r}")
        return bool(v)
    if isinstance(v, bool | np.bool_) or not isinstance(v, int | float | np.integer |
                                                        np.floating):
        raise ArgumentError(f"'{p.name}' must be {'an int' if d.is_int else 'a number'}, "
                            f"got {v!r}")
    if d.is_int:
        if isinstance(v, float | np.floating):
            if float(v) != int(v):
                raise ArgumentError(f"'{p.name}' must be an int, got {v!r}")
        v = int(v)
        if not d.min <= v <= d.max:
            raise ArgumentError(f"'{p.name}'={v} does not fit in {d}")
        if p.node and not 0 <= v < g.n:
            raise ArgumentError(
                f"'{p.name}'={v} is not a vertex of the graph, which has {g.n} vertices "
                f"(0..{g.n - 1})", hint=f"pass a vertex id between 0 and {g.n - 1}")
        return v
    out = d(v)
    if nan_free and d.is_float and out != out:
        raise ArgumentError(f"'{p.name}' is NaN; every proof of this kernel's rewrites "
                            "assumes float data are never NaN (the nan-free policy)",
                            hint=f"pass a number for '{p.name}'")
    return out


def _signature_hint(k) -> str:
    parts = []
    for p in k.params:
        t = f"NodeArray[{p.dtype}]" if p.kind == "array" else str(p.dtype)
        parts.append(f"{p.name}: {t}" + (f" = {p.default!r}" if p.has_default else ""))
    return f"call {k.name}(g, {', '.join(parts)})"
