"""cosynth: hardware/software co-synthesis for graph algorithms written in plain Python.

>>> import cosynth as cs
>>> g = cs.Graph.kronecker(6, seed=1)
>>> g.num_nodes()
64
"""

# The façade (layer "api" in cosynth/layers.py): importing the frontend registers its
# tracer with cosynth.lang, so ``f.ir`` works for users while the language imports no stage.
from . import frontend  # noqa: F401
from .dtypes import INF, DType, boolean, f32, f64, i32, i64
from .errors import CosynthError
from .fixed import FixedPoint, fixed
from .graph import Edge, Graph
from .graphio import load_graph, parse_graph_spec
from .lang import EdgeArray, KernelFunction, NodeArray, kernel

__all__ = [
    "Graph", "Edge", "load_graph", "parse_graph_spec", "kernel", "KernelFunction",
    "NodeArray", "EdgeArray", "DType", "i32", "i64", "f32", "f64", "boolean", "INF",
    "CosynthError", "fixed", "FixedPoint",
]
__version__ = "0.1.0"
