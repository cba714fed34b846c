// cosynth edge units: the host's device interface and its implementations.
//
// A host (a C++ blade program's stub, or the trace-replaying test bench) talks to an edge
// unit only through `cosynth_unit::Device`: register writes/reads, memory loads and
// readbacks, and runs (a rule over a stream of edges).  The register map is the one in
// backends/rtl/regmap.py (interface version 1).
//
//   VerilatorDevice<V>  drives a Verilator model of the Verilog that `cosynth rtl` emits,
//                       cycle by cycle, exactly as the Amaranth-simulator device does
//                       (so cycle counts agree between the two simulators);
//   XdmaDevice          drives a real board over Xilinx XDMA-style character devices
//                       (memory-mapped registers, host-to-card and card-to-host streams).
//                       It compiles on every host; it needs a board with a matching shell.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>
#if VM_TRACE
#include <verilated_vcd_c.h>
#endif

namespace cosynth_unit {

enum : uint32_t {
  REG_ID = 0, REG_CTRL = 1, REG_STATUS = 2, REG_RULE = 3, REG_EDGE_COUNT = 4,
  REG_CYCLES = 5, REG_EDGES_DONE = 6, REG_UPDATES = 7, REG_HAZARDS = 8, REG_DEPTH = 9,
  REG_STALLS = 10,
  REG_PARAM_BASE = 16
};
constexpr uint64_t ID_VALUE = 0xC05E0001ull;

struct RunResult {
  bool done = false, changed = false;
  uint64_t cycles = 0, edges = 0, updates = 0, hazards = 0, stalls = 0;
};

class Device {
 public:
  virtual ~Device() {}
  virtual void write_reg(uint32_t addr, uint64_t value) = 0;
  virtual uint64_t read_reg(uint32_t addr) = 0;
  virtual void load(size_t n, const uint32_t* mem, const uint32_t* addr,
                    const int64_t* value) = 0;
  virtual void readback(size_t n, const uint32_t* mem, const uint32_t* addr,
                        int64_t* out) = 0;
  // start a run of `rule` over n edges (weight may be null when the unit has none)
  virtual RunResult run(uint32_t rule, size_t n, const uint32_t* src, const uint32_t* dst,
                        const int64_t* weight) = 0;
  virtual uint64_t cycles() const = 0;  // every clock cycle the device ran, transfers too

 protected:
  // the status and counters of the run that just finished, from the register map
  RunResult finished() {
    RunResult r;
    uint64_t status = read_reg(REG_STATUS);
    r.done = status & 2;
    r.changed = status & 4;
    r.cycles = read_reg(REG_CYCLES);
    r.edges = read_reg(REG_EDGES_DONE);
    r.updates = read_reg(REG_UPDATES);
    r.hazards = read_reg(REG_HAZARDS);
    r.stalls = read_reg(REG_STALLS);
    return r;
  }
};

class DeviceFault : public std::runtime_error {
 public:
  explicit DeviceFault(const std::string& what) : std::runtime_error(what) {}
};

// ------------------------------------------------------------------ Verilator model
// V is the Verilated top (Vunit) with the flat ports of backends/rtl/unit.py TOP_PORTS.
// Inputs are set, the model settles (eval with the clock low), outputs are sampled, then
// the rising edge: the same order as Amaranth's `await ctx.tick().sample(...)`.
template <class V, bool HAS_WEIGHT>
class VerilatorDevice : public Device {
 public:
  explicit VerilatorDevice(V* top, uint64_t max_cycles_per_run = 4000000000ull)
      : top_(top), max_cycles_(max_cycles_per_run) {
    zero_inputs();
    top_->rst = 1;
    step();
    top_->rst = 0;
    top_->eval();
    ncycles_ = 0;
  }

  void write_reg(uint32_t addr, uint64_t value) override {
    top_->csr_w_en = 1;
    top_->csr_addr = addr;
    top_->csr_w_data = value;
    step();
    top_->csr_w_en = 0;
    top_->eval();
  }

  uint64_t read_reg(uint32_t addr) override {
    top_->csr_addr = addr;
    top_->eval();
    return (uint64_t)top_->csr_r_data;
  }

  void load(size_t n, const uint32_t* mem, const uint32_t* addr,
            const int64_t* value) override {
    if (!n) return;
    top_->eval();
    if (!top_->load_ready) throw DeviceFault("the unit refuses loads (is it running?)");
    top_->load_valid = 1;
    for (size_t i = 0; i < n; ++i) {
      top_->load_mem = mem[i];
      top_->load_addr = addr[i];
      top_->load_data = (uint64_t)value[i];
      step();
    }
    top_->load_valid = 0;
    top_->eval();
  }

  void readback(size_t n, const uint32_t* mem, const uint32_t* addr, int64_t* out) override {
    size_t i = 0, got = 0, spins = 0;
    top_->rd_resp_ready = 1;
    while (got < n) {
      if (i < n) {
        top_->rd_req_valid = 1;
        top_->rd_req_mem = mem[i];
        top_->rd_req_addr = addr[i];
      } else {
        top_->rd_req_valid = 0;
      }
      top_->eval();
      bool req_ready = top_->rd_req_ready, resp_valid = top_->rd_resp_valid;
      int64_t data = (int64_t)(uint64_t)top_->rd_resp_data;
      step();
      if (resp_valid) out[got++] = data;
      if (i < n && req_ready) ++i;
      if (++spins > 4 * n + 16) throw DeviceFault("readback stalled");
    }
    top_->rd_req_valid = 0;
    top_->rd_resp_ready = 0;
    top_->eval();
  }

  RunResult run(uint32_t rule, size_t n, const uint32_t* src, const uint32_t* dst,
                const int64_t* weight) override {
    write_reg(REG_RULE, rule);
    write_reg(REG_EDGE_COUNT, n);
    write_reg(REG_CTRL, 1);
    size_t i = 0;
    uint64_t spins = 0;
    top_->edges_valid = n ? 1 : 0;
    while (i < n) {
      top_->edges_src = src[i];
      top_->edges_dst = dst[i];
      set_weight(weight ? weight[i] : 0);
      top_->eval();
      bool ready = top_->edges_ready;
      step();
      if (ready) ++i;
      if (++spins > max_cycles_) throw DeviceFault("the unit stopped accepting edges");
    }
    top_->edges_valid = 0;
    top_->csr_addr = REG_STATUS;
    top_->eval();
    while (top_->csr_r_data & 1) {
      step();
      top_->eval();
      if (++spins > max_cycles_) throw DeviceFault("the unit did not finish its run");
    }
    return finished();
  }

  uint64_t cycles() const override { return ncycles_; }

 private:
  void step() {
    trace_dump(0);
    top_->clk = 1;
    top_->eval();
    trace_dump(5);
    top_->clk = 0;
    top_->eval();
    ++ncycles_;
  }

 public:
  // ----------------------------------------------------------------- waveforms
  // A model verilated with --trace (VM_TRACE) can write every later cycle to a VCD file:
  // inputs settled with the clock low at 10 ns per cycle, the rising edge at +5 ns.
#if VM_TRACE
  void trace_to(const char* path) {
    Verilated::traceEverOn(true);
    vcd_ = new VerilatedVcdC;
    top_->trace(vcd_, 99);
    vcd_->open(path);
  }
  void trace_close() {
    if (vcd_) {
      vcd_->close();
      delete vcd_;
      vcd_ = nullptr;
    }
  }
  ~VerilatorDevice() override { trace_close(); }

 private:
  VerilatedVcdC* vcd_ = nullptr;
  uint64_t trace_cycle_ = 0;
  void trace_dump(int at) {
    if (!vcd_) return;
    vcd_->dump(10 * trace_cycle_ + at);
    if (at) ++trace_cycle_;
  }
#else
 private:
  void trace_dump(int) {}
#endif

 private:
  void zero_inputs() {
    top_->clk = 0;
    top_->rst = 0;
    top_->csr_addr = 0;
    top_->csr_w_en = 0;
    top_->csr_w_data = 0;
    top_->edges_valid = 0;
    top_->edges_src = 0;
    top_->edges_dst = 0;
    set_weight(0);
    top_->load_valid = 0;
    top_->load_mem = 0;
    top_->load_addr = 0;
    top_->load_data = 0;
    top_->rd_req_valid = 0;
    top_->rd_req_mem = 0;
    top_->rd_req_addr = 0;
    top_->rd_resp_ready = 0;
    top_->eval();
  }
  template <bool W = HAS_WEIGHT>
  typename std::enable_if<W>::type set_weight(int64_t w) {
    top_->edges_weight = (uint64_t)w;
  }
  template <bool W = HAS_WEIGHT>
  typename std::enable_if<!W>::type set_weight(int64_t) {}

  V* top_;
  uint64_t max_cycles_;
  uint64_t ncycles_ = 0;
};

// --------------------------------------------------------------------- a real board
// The same unit behind a PCIe shell in the XDMA style: registers memory-mapped at
// `regs` (64-bit words), streams as DMA transfers of packed little-endian records on the
// host-to-card channel (edges and loads) and the card-to-host channel (readback data).
// Record formats: edge = {u32 src, u32 dst, i64 weight}; load = {u32 mem, u32 addr, i64
// value}; readback request = {u32 mem, u32 addr}, answered by one i64 each.  A stream
// selector register in the shell (SHELL_STREAM_SEL) routes the host-to-card channel.
class XdmaDevice : public Device {
 public:
  enum : uint32_t { SHELL_STREAM_SEL = 63 };
  enum : uint64_t { SEL_EDGES = 0, SEL_LOAD = 1, SEL_RDREQ = 2 };

  XdmaDevice(volatile uint64_t* regs, int h2c_fd, int c2h_fd)
      : regs_(regs), h2c_(h2c_fd), c2h_(c2h_fd) {}

  void write_reg(uint32_t addr, uint64_t value) override { regs_[addr] = value; }
  uint64_t read_reg(uint32_t addr) override { return regs_[addr]; }

  void load(size_t n, const uint32_t* mem, const uint32_t* addr,
            const int64_t* value) override {
    std::vector<unsigned char> buf(n * 16);
    for (size_t i = 0; i < n; ++i) {
      std::memcpy(&buf[16 * i], &mem[i], 4);
      std::memcpy(&buf[16 * i + 4], &addr[i], 4);
      std::memcpy(&buf[16 * i + 8], &value[i], 8);
    }
    write_reg(SHELL_STREAM_SEL, SEL_LOAD);
    h2c(buf.data(), buf.size());
  }

  void readback(size_t n, const uint32_t* mem, const uint32_t* addr, int64_t* out) override {
    std::vector<unsigned char> buf(n * 8);
    for (size_t i = 0; i < n; ++i) {
      std::memcpy(&buf[8 * i], &mem[i], 4);
      std::memcpy(&buf[8 * i + 4], &addr[i], 4);
    }
    write_reg(SHELL_STREAM_SEL, SEL_RDREQ);
    h2c(buf.data(), buf.size());
    c2h(out, n * 8);
  }

  RunResult run(uint32_t rule, size_t n, const uint32_t* src, const uint32_t* dst,
                const int64_t* weight) override {
    write_reg(REG_RULE, rule);
    write_reg(REG_EDGE_COUNT, n);
    write_reg(SHELL_STREAM_SEL, SEL_EDGES);
    write_reg(REG_CTRL, 1);
    std::vector<unsigned char> buf(n * 16);
    for (size_t i = 0; i < n; ++i) {
      int64_t w = weight ? weight[i] : 0;
      std::memcpy(&buf[16 * i], &src[i], 4);
      std::memcpy(&buf[16 * i + 4], &dst[i], 4);
      std::memcpy(&buf[16 * i + 8], &w, 8);
    }
    h2c(buf.data(), buf.size());
    while (read_reg(REG_STATUS) & 1) {
    }
    RunResult r = finished();
    total_ += r.cycles;
    return r;
  }

  uint64_t cycles() const override { return total_; }

 private:
  void h2c(const void* p, size_t bytes);
  void c2h(void* p, size_t bytes);
  volatile uint64_t* regs_;
  int h2c_, c2h_;
  uint64_t total_ = 0;
};

}  // namespace cosynth_unit

#ifdef COSYNTH_UNIT_XDMA_IMPL
#include <unistd.h>
inline void cosynth_unit::XdmaDevice::h2c(const void* p, size_t bytes) {
  const char* c = static_cast<const char*>(p);
  while (bytes) {
    ssize_t k = ::write(h2c_, c, bytes);
    if (k <= 0) throw DeviceFault("host-to-card DMA failed");
    c += k;
    bytes -= (size_t)k;
  }
}
inline void cosynth_unit::XdmaDevice::c2h(void* p, size_t bytes) {
  char* c = static_cast<char*>(p);
  while (bytes) {
    ssize_t k = ::read(c2h_, c, bytes);
    if (k <= 0) throw DeviceFault("card-to-host DMA failed");
    c += k;
    bytes -= (size_t)k;
  }
}
#endif
