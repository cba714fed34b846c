"""Load user kernels from ``FILE.py[:KERNEL]`` specs, with errors that name the file."""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback

from .errors import CosynthError, KernelError
from .lang import KernelFunction

__all__ = ["load_kernels", "resolve_kernel", "split_spec"]

_counter = 0


def split_spec(spec: str) -> tuple[str, str | None]:
    """``"path/to/file.py:name"`` -> (path, name); the name is optional."""
    path, sep, name = spec.rpartition(":")
    if sep and path.endswith(".py") and name.isidentifier():
        return path, name
    return spec, None


def load_kernels(path: str) -> dict[str, KernelFunction]:
    """Import ``path`` as a fresh module and return its ``@cs.kernel`` functions by name."""
    global _counter
    if not path.endswith(".py"):
        raise KernelError(f"'{path}' is not a Python file",
                          hint="give FILE.py or FILE.py:KERNEL")
    if not os.path.isfile(path):
        raise KernelError("no such file", loc=None, path=path,
                          hint="check the path of the kernel file")
    _counter += 1
    modname = f"_cosynth_user_{_counter}_{os.path.splitext(os.path.basename(path))[0]}"
    spec = importlib.util.spec_from_file_location(modname, os.path.abspath(path))
    module = importlib.util.module_from_spec(spec)
    folder = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, folder)
    sys.modules[modname] = module
    try:
        spec.loader.exec_module(module)
    except CosynthError:
        raise
    except SyntaxError as exc:
        raise KernelError(f"syntax error: {exc.msg}", path=exc.filename or path,
                          line=exc.lineno or 0) from None
    except Exception as exc:  # noqa: BLE001 - report the user's own failure, no traceback
        tb = traceback.extract_tb(exc.__traceback__)
        frames = [f for f in tb if os.path.abspath(f.filename) == os.path.abspath(path)]
        line = frames[-1].lineno if frames else 0
        raise KernelError(f"importing the file failed: {type(exc).__name__}: {exc}",
                          path=path, line=line,
                          hint="run 'python FILE.py' to see the full error") from None
    finally:
        sys.path.remove(folder)
    return {name: obj for name, obj in vars(module).items()
            if isinstance(obj, KernelFunction)}


def resolve_kernel(spec: str) -> KernelFunction:
    """The one kernel a ``FILE.py[:KERNEL]`` spec names."""
    path, name = split_spec(spec)
    kernels = load_kernels(path)
    if not kernels:
        raise KernelError("defines no @cs.kernel function", path=path,
                          hint="decorate the kernel with @cs.kernel")
    if name is None:
        if len(kernels) > 1:
            raise KernelError(f"defines {len(kernels)} kernels ({', '.join(sorted(kernels))})",
                              path=path, hint=f"name one: {path}:{sorted(kernels)[0]}")
        return next(iter(kernels.values()))
    if name not in kernels:
        have = ", ".join(sorted(kernels))
        raise KernelError(f"has no kernel named '{name}' (it has: {have})", path=path,
                          hint=f"use one of: {have}")
    return kernels[name]
