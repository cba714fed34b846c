// The test bench of a cosynth edge unit: replays a recorded device trace (trace.txt,
// format in backends/rtl/trace.py) against the Verilator model of the unit's Verilog
// and checks every answer.  Exit status 0 when all agree; 1 with the first difference,
// reported as "trace line L (unit call N from cycle C): what", where the unit's calls are
// numbered as backends/rtl/waves.py's CallLog numbers them (a call is parameters, loads,
// runs and read-backs: a write or a load after a run or a read-back begins the next, and
// so does a run after a read-back; the reads of ID and DEPTH before the first are call
// 0) and C counts the cycles since the waveform began (waves.py cuts the call out).
//
// Build (the Makefile that `cosynth rtl` writes does this):
//   verilator --cc --exe --build -O3 UNIT.v unit_tb.cpp -CFLAGS "-DCOSYNTH_TOP=VUNIT
//       -DCOSYNTH_TOP_HEADER='\"VUNIT.h\"' -DCOSYNTH_HAS_WEIGHT=0|1"
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include COSYNTH_TOP_HEADER
#include "cosynth_unit.hpp"
#include "verilated.h"

using cosynth_unit::RunResult;

static long g_call = 0;           // the unit call being replayed (0: before the first)
static uint64_t g_call_cycle = 0;  // the cycle it began at, since the waveform's start

static int fail(long line, const std::string& what) {
  std::fprintf(stderr, "trace line %ld (unit call %ld from cycle %llu): %s\n", line, g_call,
               (unsigned long long)g_call_cycle, what.c_str());
  return 1;
}

int main(int argc, char** argv) {
  Verilated::commandArgs(argc, argv);
  const char* path = argc > 1 ? argv[1] : "trace.txt";
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "cannot open %s\n", path);
    return 2;
  }
  COSYNTH_TOP* top = new COSYNTH_TOP;
  cosynth_unit::VerilatorDevice<COSYNTH_TOP, COSYNTH_HAS_WEIGHT> dev(top);
#if VM_TRACE
  if (argc > 2) dev.trace_to(argv[2]);  // a model built with --trace: the VCD file
#endif
  const uint64_t origin = dev.cycles();
  bool ran = true, read = false;  // a run / a read-back since the current call began
  auto begin_call = [&](bool after_run) {
    if (!((after_run && ran) || read)) return;
    ran = read = false;
    ++g_call;
    g_call_cycle = dev.cycles() - origin;
  };
  std::string text;
  long line = 0, runs = 0, checks = 0;
  auto next = [&](std::istringstream& ss) -> bool {
    if (!std::getline(in, text)) return false;
    ++line;
    ss.clear();
    ss.str(text);
    return true;
  };
  std::istringstream ss;
  while (next(ss)) {
    std::string op;
    if (!(ss >> op) || op[0] == '#') continue;
    if (op == "W") {
      uint64_t a, v;
      if (!(ss >> a >> v)) return fail(line, "malformed register write");
      begin_call(true);
      dev.write_reg((uint32_t)a, v);
    } else if (op == "R") {
      uint64_t a, want;
      if (!(ss >> a >> want)) return fail(line, "malformed register read");
      uint64_t got = dev.read_reg((uint32_t)a);
      ++checks;
      if (got != want)
        return fail(line, "register " + std::to_string(a) + " reads " + std::to_string(got) +
                              ", expected " + std::to_string(want));
    } else if (op == "L" || op == "B") {
      size_t n;
      if (!(ss >> n)) return fail(line, "malformed count");
      std::vector<uint32_t> mem(n), addr(n);
      std::vector<int64_t> val(n);
      long first = line + 1;
      for (size_t i = 0; i < n; ++i) {
        std::istringstream s2;
        if (!next(s2)) return fail(line, "truncated trace");
        if (!(s2 >> mem[i] >> addr[i] >> val[i])) return fail(line, "malformed entry");
      }
      if (op == "L") {
        begin_call(true);
        dev.load(n, mem.data(), addr.data(), val.data());
      } else {
        read = true;
        std::vector<int64_t> got(n);
        dev.readback(n, mem.data(), addr.data(), got.data());
        for (size_t i = 0; i < n; ++i, ++checks)
          if (got[i] != val[i])
            return fail(first + (long)i, "memory " + std::to_string(mem[i]) + " entry " +
                                             std::to_string(addr[i]) + " reads " +
                                             std::to_string(got[i]) + ", expected " +
                                             std::to_string(val[i]));
      }
    } else if (op == "X") {
      uint64_t rule, n, done, changed, cycles, edges, updates, hazards, stalls;
      if (!(ss >> rule >> n >> done >> changed >> cycles >> edges >> updates >> hazards >>
            stalls))
        return fail(line, "malformed run");
      long at = line;
      std::vector<uint32_t> src(n), dst(n);
      std::vector<int64_t> w(n, 0);
      for (size_t i = 0; i < n; ++i) {
        std::istringstream s2;
        if (!next(s2)) return fail(line, "truncated trace");
        if (!(s2 >> src[i] >> dst[i])) return fail(line, "malformed edge");
        if (COSYNTH_HAS_WEIGHT && !(s2 >> w[i])) return fail(line, "malformed weight");
      }
      begin_call(false);
      RunResult r = dev.run((uint32_t)rule, n, src.data(), dst.data(), w.data());
      ran = true;
      ++runs;
      checks += 6;
      char buf[512];
      std::snprintf(buf, sizeof buf,
                    "run of rule %" PRIu64 " over %" PRIu64 " edges: done %d changed %d "
                    "cycles %" PRIu64 " edges %" PRIu64 " updates %" PRIu64 " hazards %" PRIu64
                    " stalls %" PRIu64 "; expected %" PRIu64 " %" PRIu64 " %" PRIu64
                    " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64,
                    rule, n, (int)r.done, (int)r.changed, r.cycles, r.edges, r.updates,
                    r.hazards, r.stalls, done, changed, cycles, edges, updates, hazards,
                    stalls);
      if (r.done != (bool)done || r.changed != (bool)changed || r.cycles != cycles ||
          r.edges != edges || r.updates != updates || r.hazards != hazards ||
          r.stalls != stalls)
        return fail(at, buf);
    } else {
      return fail(line, "unknown command '" + op + "'");
    }
  }
  std::printf("trace %s: %ld runs, %ld checks, %" PRIu64 " cycles: all agree\n", path, runs,
              checks, dev.cycles());
#if VM_TRACE
  dev.trace_close();
#endif
  top->final();
  delete top;
  return 0;
}
