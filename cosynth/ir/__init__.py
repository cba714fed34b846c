"""The cosynth IR: node types, printer, verifier and interpreter (the oracle)."""

from .nodes import *  # noqa: F403
from .nodes import __all__ as _nodes_all

__all__ = list(_nodes_all)
