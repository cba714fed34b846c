"""The import graph, read from the sources, respects the layer map (cosynth/layers.py).

Every ``.py`` file of the packages that ``pyproject.toml`` maps under ``cosynth`` is parsed
with ``ast``; each ``import`` and ``from ... import`` (at module level, in class bodies and
inside functions; relative ones resolved against the file's package) becomes an edge from
the file's module to the module it names.  ``from P import x`` points at ``P.x`` when that
is a module, else at ``P``.  Importing ``P.x`` also runs ``P/__init__.py``; that implicit
edge is not counted (every package's ``__init__`` is checked by its own imports).

The checks: (a) no edge points up a layer; (b) no edge joins two peer packages (the
backends); (c) the graph, function-local edges included, has no cycle; (d) a function-local
import names a third-party package of ``LAZY`` and carries a comment at the import site.
Every message names the file and line.  ``python tests/test_layers.py`` prints the counts.
"""

from __future__ import annotations

import ast
import io
import os
import subprocess
import sys
import textwrap
import tokenize
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from cosynth import layers

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Edge:
    """One import statement's target: ``src`` imports ``dst`` at ``path:line``."""

    src: str
    dst: str  # full dotted module name if internal, else the top-level package name
    internal: bool
    local: bool  # inside a function body
    commented: bool  # a comment on the statement's lines or on the line just above
    path: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def source_modules(repo: Path) -> dict[str, Path]:
    """Every module of the distribution: import name -> file, through ``package-dir``."""
    cfg = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["setuptools"]
    package_dir = cfg["package-dir"]
    out = {}
    for pkg in cfg["packages"]:
        base = next(p for p in sorted(package_dir, key=len, reverse=True)
                    if pkg == p or pkg.startswith(p + "."))
        folder = repo / package_dir[base] / Path(*pkg[len(base):].split(".")[1:])
        for f in sorted(folder.glob("*.py")):
            out[pkg if f.stem == "__init__" else f"{pkg}.{f.stem}"] = f
    return out


def import_edges(repo: Path, modules: dict[str, Path]) -> list[Edge]:
    """All import edges of all ``modules`` (see the module docstring)."""
    edges = []
    for mod, path in modules.items():
        text = path.read_text()
        tree = ast.parse(text, filename=str(path))
        comments = _comment_lines(text)
        package = mod if path.stem == "__init__" else mod.rpartition(".")[0]
        rel = os.path.relpath(path, repo)
        for node, local in _imports(tree, False):
            lines = range(node.lineno - 1, (node.end_lineno or node.lineno) + 1)
            commented = any(n in comments for n in lines)
            for dst in _targets(node, package, modules):
                internal = dst in modules or dst.split(".")[0] == layers.ROOT
                if not internal:
                    dst = dst.split(".")[0]
                edges.append(Edge(mod, dst, internal, local, commented, rel, node.lineno))
    return edges


def problems(edges: list[Edge], modules: dict[str, Path]) -> list[str]:
    """Every violation of the rules (a)-(d), plus modules the layer map misses."""
    out = [f"{os.path.relpath(p, REPO)}:1: module {m} has no layer in cosynth/layers.py"
           for m, p in modules.items() if layers.layer_of(m) is None]
    for e in edges:
        if e.local and (e.internal or e.dst not in layers.LAZY):
            what = "an internal module" if e.internal else "a package not in layers.LAZY"
            out.append(f"{e.where}: function-local import of {e.dst}, {what}; "
                       "import it at module level")
        elif e.local and not e.commented:
            out.append(f"{e.where}: function-local import of {e.dst} needs a comment "
                       "saying why it is lazy")
        if not e.internal:
            continue
        a, b = layers.layer_of(e.src), layers.layer_of(e.dst)
        if a is None or b is None:
            if b is None:
                out.append(f"{e.where}: {e.dst} is not a module of cosynth")
            continue
        if layers.rank(b) > layers.rank(a):
            out.append(f"{e.where}: {e.src} ({a}) imports {e.dst} ({b}), a higher layer")
        for p, q in layers.PEERS:
            if (_under(e.src, p) and _under(e.dst, q)) or (_under(e.src, q)
                                                           and _under(e.dst, p)):
                out.append(f"{e.where}: {e.src} imports {e.dst}; {p} and {q} are peers")
    out += [_cycle_message(c, edges) for c in cycles(edges)]
    return out


def cycles(edges: list[Edge]) -> list[list[str]]:
    """The strongly connected components of more than one module (or a self-import)."""
    succ: dict[str, set[str]] = {}
    for e in edges:
        if e.internal:
            succ.setdefault(e.src, set()).add(e.dst)
            succ.setdefault(e.dst, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out = []
    for root in sorted(succ):  # Tarjan's algorithm, iterative
        if root in index:
            continue
        work = [(root, iter(sorted(succ[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(succ[w]))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1 or v in succ[v]:
                    out.append(sorted(comp))
    return out


def _cycle_message(comp: list[str], edges: list[Edge]) -> str:
    inside = set(comp)
    links = sorted({f"{e.where} ({e.src} -> {e.dst})" for e in edges
                    if e.internal and e.src in inside and e.dst in inside})
    return "import cycle among " + ", ".join(comp) + ": " + "; ".join(links)


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _imports(node: ast.AST, local: bool):
    """(import statement, inside a function?) for every import under ``node``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, local
        inner = local or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        yield from _imports(child, inner)


def _targets(node: ast.Import | ast.ImportFrom, package: str, modules) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if node.level:
        parts = package.split(".")
        base = ".".join(parts[:len(parts) - node.level + 1])
        base = f"{base}.{node.module}" if node.module else base
    else:
        base = node.module
    return sorted({f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                   for a in node.names})


def _comment_lines(text: str) -> set[int]:
    return {tok.start[0] for tok in tokenize.generate_tokens(io.StringIO(text).readline)
            if tok.type == tokenize.COMMENT}


# --------------------------------------------------------------------------------------

_MODULES = source_modules(REPO)
_EDGES = import_edges(REPO, _MODULES)


def test_the_sources_are_found():
    # the checker reads the real tree: the façade, a stage of each layer, both backends
    for m in ("cosynth", "cosynth.lang", "cosynth.ir.nodes", "cosynth.frontend.trace",
              "cosynth.frontend.rewrite.core", "cosynth.planner.workload",
              "cosynth.backends.cpp.emit", "cosynth.backends.rtl.unit", "cosynth.cli"):
        assert m in _MODULES, m
    assert any(e.src == "cosynth.cli" and e.dst == "cosynth.pipeline" for e in _EDGES)


def test_imports_respect_the_layers():
    found = problems(_EDGES, _MODULES)
    assert not found, "\n".join(found)


def test_core_imports_no_stage():
    """The same rule spelled out for the layer users touch first."""
    bad = [e.where for e in _EDGES if e.internal and layers.layer_of(e.src) == "core"
           and layers.layer_of(e.dst) != "core"]
    assert not bad, bad


def test_import_cosynth_is_light():
    """``import cosynth`` (which makes ``f.ir`` work) loads no solver and no HDL."""
    code = ("import sys, cosynth\n"
            "heavy = {'z3', 'amaranth', 'pulp', 'highspy', 'lxml', 'click', 'rich', 'yaml'}\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"


def test_facade_traces_kernels(tmp_path):
    """A user's ``import cosynth as cs`` alone makes ``f.ir`` work (the frontend's tracer
    is registered with the language by the façade)."""
    code = textwrap.dedent("""
        import cosynth as cs
        @cs.kernel
        def deg(g: cs.Graph) -> int:
            t = 0
            for v in g.nodes():
                t += g.out_degree(v)
            return t
        print(type(deg.ir).__name__)
        """)
    (tmp_path / "user.py").write_text(code)
    out = subprocess.run([sys.executable, str(tmp_path / "user.py")], capture_output=True,
                         text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Kernel"


_FAKE = {
    "pyproject.toml": """
        [tool.setuptools.package-dir]
        cosynth = "cosynth"
        "cosynth.planner" = "planner"
        "cosynth.backends" = "backends"

        [tool.setuptools]
        packages = ["cosynth", "cosynth.planner", "cosynth.backends",
                    "cosynth.backends.cpp", "cosynth.backends.rtl"]
        """,
    "cosynth/__init__.py": "from .graph import Graph\n",
    "cosynth/graph.py": "import numpy as np\n\nfrom .planner import plan\n",
    "cosynth/lang.py": ("def f():\n    from . import graph\n    import z3\n"
                        "    import pulp  # only the ILP needs it\n    import yaml  # light\n"),
    "cosynth/cli.py": "from . import graph\n",
    "planner/__init__.py": "",
    "planner/plan.py": "from ..graph import Graph\nfrom cosynth import lang\n",
    "backends/__init__.py": "",
    "backends/cpp/__init__.py": "",
    "backends/cpp/emit.py": "from ..rtl import unit\n",
    "backends/rtl/__init__.py": "",
    "backends/rtl/unit.py": "from cosynth.cli import main\n",
}


def test_the_checker_catches_each_kind_of_violation(tmp_path):
    for name, text in _FAKE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    mods = source_modules(tmp_path)
    found = "\n".join(problems(import_edges(tmp_path, mods), mods))
    expect = [
        "cosynth/graph.py:3: cosynth.graph (core) imports cosynth.planner.plan (planner)",
        "backends/rtl/unit.py:1: cosynth.backends.rtl.unit (backends) imports cosynth.cli",
        "backends/cpp/emit.py:1: cosynth.backends.cpp.emit imports cosynth.backends.rtl.unit;",
        "cosynth/lang.py:2: function-local import of cosynth.graph, an internal module",
        "cosynth/lang.py:3: function-local import of z3 needs a comment",
        "cosynth/lang.py:5: function-local import of yaml, a package not in layers.LAZY",
        "import cycle among cosynth.graph, cosynth.lang, cosynth.planner.plan: cosynth/graph.py:3",
    ]
    for line in expect:
        assert line in found, f"missing: {line}\n--- got:\n{found}"
    assert "cosynth/lang.py:4" not in found  # lazy, listed and commented: allowed
    assert "cosynth/cli.py" not in found  # the driver may import the core


def _counts() -> dict[str, int]:
    found = problems(_EDGES, _MODULES)
    return {
        "function-local imports": sum(e.local for e in _EDGES),
        "  of internal modules": sum(e.local and e.internal for e in _EDGES),
        "upward imports": sum("a higher layer" in p for p in found),
        "backend cross-imports": sum("are peers" in p for p in found),
        "import cycles": len(cycles(_EDGES)),
    }


if __name__ == "__main__":
    for p in problems(_EDGES, _MODULES):
        print(p)
    for k, v in _counts().items():
        print(f"{k}: {v}")
    if len(sys.argv) > 1:
        pytest.main([__file__, "-q"])
