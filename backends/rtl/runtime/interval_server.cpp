// The co-simulation server of an interval unit: the Verilator model of its Verilog (flat
// ports, backends/rtl/interval.py INTERVAL_PORTS) wired to the external-memory model
// (cosynth_dram.hpp), driven by a host over stdin/stdout (backends/rtl/interval_verilator.py).
//
// Usage: server BYTES_PER_CLOCK LATENCY BURST_WORDS [PORTS]
// (PORTS: the unit's memory ports, default 1; port k > 0's pins are mem<k>_...,
// backends/rtl/multi.py port_pins, found at build time: cosynth_dram::port_pins)
// Protocol: little-endian uint64 words.  A command is {op, a, b} and its operands; every
// command is answered (at least one word) so the host never runs ahead:
//   1 WRITE   a pairs {addr, value}               -> {0}
//   2 READ    a addresses                         -> a values
//   4 POKE    a addresses, then a values (memory image) -> {0}
//   5 PEEK    a addresses                         -> a values
//   6 RESIZE  a = words of the image (grows only) -> {0}
//   7 FILL    a = first word, b = count, b values -> {0}
//   8 STATS   -> {cycles, burst bytes, port words}
//   9 WAITRES a = mask: run while no PE of the mask has unread results (PE_BUSY bit
//             16 + i, multi.py; one PE answers PE_BUSY too: interval.py) -> {PE_BUSY}
//   0 QUIT
// Exit status 0 after QUIT or end of input; 3 with a message on stderr on a model error.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#include COSYNTH_TOP_HEADER
#ifndef COSYNTH_READ_LATENCY
#define COSYNTH_READ_LATENCY 0
#endif
#include "cosynth_dram.hpp"
#include "verilated.h"

namespace {

enum : uint64_t { PE_BUSY = 62 };

struct Sim {
  COSYNTH_TOP* top;
  cosynth_dram::Model dram;
  std::vector<cosynth_dram::PortPins> pins;
  std::vector<cosynth_dram::Pins> sampled;
  uint64_t cycles = 0;
  int64_t held = -1;  // the register address csr_r_data answers (-1: none, or a write since)

  Sim(COSYNTH_TOP* t, cosynth_dram::Config c)
      : top(t), dram(c), pins(cosynth_dram::port_pins(t)) {
    if (dram.ports() != pins.size())
      throw std::runtime_error("the memory model's ports differ from the unit's");
    top->clk = 0;
    top->rst = 1;
    top->csr_w_en = 0;
    top->csr_addr = 0;
    top->csr_w_data = 0;
    step();
    top->rst = 0;
    top->eval();
    cycles = 0;
  }

  void step() {
    cosynth_dram::drive(dram, pins);
    top->eval();
    cosynth_dram::sample(pins, sampled);
    top->clk = 1;
    top->eval();
    top->clk = 0;
    if (!top->rst) dram.step_ports(sampled.data());
    top->eval();
    ++cycles;
  }

  void write(uint64_t a, uint64_t v) {
    top->csr_w_en = 1;
    top->csr_addr = (uint32_t)a;
    top->csr_w_data = v;
    step();
    top->csr_w_en = 0;
    held = -1;
  }

  // the address is held COSYNTH_READ_LATENCY clocks (the unit's read_latency: multi.py)
  // after a write or a change of address, then read; a poll of one address reads every
  // clock (interval_sim.py's host does the same)
  uint64_t read(uint64_t a) {
    if (held != (int64_t)a) {
      top->csr_addr = (uint32_t)a;
      for (int k = 0; k < COSYNTH_READ_LATENCY; ++k) step();
      held = (int64_t)a;
    }
    cosynth_dram::drive(dram, pins);
    top->eval();
    return (uint64_t)top->csr_r_data;
  }
};

std::vector<uint64_t> take(size_t n) {
  std::vector<uint64_t> v(n);
  if (n && std::fread(v.data(), 8, n, stdin) != n) throw std::runtime_error("truncated command");
  return v;
}

void give(const std::vector<uint64_t>& v) {
  if (!v.empty()) std::fwrite(v.data(), 8, v.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  Verilated::commandArgs(argc, argv);
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s BYTES_PER_CLOCK LATENCY BURST_WORDS\n", argv[0]);
    return 2;
  }
  cosynth_dram::Config cfg{std::atof(argv[1]), std::strtoull(argv[2], nullptr, 10),
                           std::strtoull(argv[3], nullptr, 10),
                           argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 1};
  COSYNTH_TOP* top = new COSYNTH_TOP;
  try {
    Sim sim(top, cfg);
    for (;;) {
      uint64_t hdr[3];
      if (std::fread(hdr, 8, 3, stdin) != 3) break;
      uint64_t op = hdr[0], a = hdr[1], b = hdr[2];
      if (op == 0) break;
      if (op == 1) {
        std::vector<uint64_t> p = take(2 * a);
        for (uint64_t i = 0; i < a; ++i) sim.write(p[2 * i], p[2 * i + 1]);
        give({0});
      } else if (op == 2 || op == 5) {
        std::vector<uint64_t> at = take(a), out(a);
        for (uint64_t i = 0; i < a; ++i) {
          if (op == 2) {
            out[i] = sim.read(at[i]);
          } else {
            if (at[i] >= sim.dram.image.size()) throw std::runtime_error("peek beyond the image");
            out[i] = sim.dram.image[at[i]];
          }
        }
        give(out);
      } else if (op == 4) {
        std::vector<uint64_t> at = take(a), val = take(a);
        for (uint64_t i = 0; i < a; ++i) {
          if (at[i] >= sim.dram.image.size()) throw std::runtime_error("poke beyond the image");
          sim.dram.image[at[i]] = val[i];
        }
        give({0});
      } else if (op == 6) {
        if (a > sim.dram.image.size()) sim.dram.image.resize(a, 0);
        give({0});
      } else if (op == 7) {
        std::vector<uint64_t> val = take(b);
        if (a + b > sim.dram.image.size()) throw std::runtime_error("fill beyond the image");
        for (uint64_t i = 0; i < b; ++i) sim.dram.image[a + i] = val[i];
        give({0});
      } else if (op == 9) {
        uint64_t spins = 0;
        while (!((sim.read(PE_BUSY) >> 16) & a)) {
          sim.step();
          if (++spins > 4000000000ull) throw std::runtime_error("no block finished");
        }
        give({sim.read(PE_BUSY)});
      } else if (op == 8) {
        give({sim.cycles, sim.dram.bytes, sim.dram.words});
      } else {
        throw std::runtime_error("unknown command");
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "interval server: %s\n", e.what());
    top->final();
    return 3;
  }
  top->final();
  delete top;
  return 0;
}
