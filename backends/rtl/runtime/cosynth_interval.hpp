// cosynth: an interval unit (backends/rtl/interval.py, several PEs: multi.py) as the
// blade program's cosynth_unit::Device, for graphs whose vertices do not fit on chip.
//
// The unit holds two intervals of I vertices on chip; every table lives in the card's
// memory (a cosynth_dram::Model in co-simulation, behind the unit's LiteDRAM native port)
// at the places backends/rtl/layout.py (MemoryLayout, version 7) says.  This device gives
// UnitHost (cosynth_host.hpp) the whole-graph protocol, as backends/rtl/interval_host.py
// does for the Python host (the two walk the same blocks in the same order):
//   load / readback   the host's DMA into / out of the tables' regions of card memory;
//   run(rule, edges)  group the edges into blocks by (target interval, other interval)
//                     (layout.encode_edges: interleaved halves inside a block, a
//                     gathering block's then by window-B entry; local addresses in
//                     windows A and B),
//                     write them into the edge region, and walk them with block commands:
//                     per target interval, the first block loads window A, a block whose
//                     other interval differs loads window B (whole, or only the entries
//                     its edges read after its gather map: layout.gathers), the last
//                     writes A back.  With
//                     P PEs the target intervals are dealt out balanced by their port
//                     words (interval_costs.py deal) and each PE walks its own list
//                     (multi.py's collision argument).
//   REG_DEPTH         answered as the graph's n (UnitHost checks it); REG_ID from the unit.
// Invariant: between block commands the memory holds the current tables.
#pragma once

#include <algorithm>
#include <climits>
#include <cstdint>
#include <numeric>
#include <vector>

#include "cosynth_dram.hpp"
#include "cosynth_unit.hpp"

namespace cosynth_unit {

// backends/rtl/interval.py ENGINE_REGS and FLAG_*, multi.py PE_SEL / PE_BUSY
enum : uint32_t {
  BLK_CTRL = 48, BLK_STATUS = 49, BLK_EDGES = 50, BLK_COUNT = 51, BLK_A = 52, BLK_B = 53,
  BLK_FLAGS = 54, BLK_CYCLES = 55, BLK_MEM_BASE = 56, PE_BUSY = 62, PE_SEL = 63
};
// multi.py READ_LATENCY: with several PEs a register's value is on csr_r_data this many
// clock edges after its address (one PE: at once)
enum : int { MULTI_READ_LATENCY = 3 };
enum : uint64_t {
  FLAG_LOAD_A = 1, FLAG_LOAD_B = 2, FLAG_WRITEBACK = 4, FLAG_PACKED = 8, FLAG_GATHER_B = 16,
  FLAG_DENSE = 32, FLAG_SRC_B = 64, FLAG_DST_B = 128
};

// the memory layout (layout.py MemoryLayout) and what the device needs of the unit
struct IntervalLayout {
  int64_t n;                    // vertices of the graph
  int64_t interval;             // I, a power of two
  int memories;                 // unit memories, one region each, in id order
  int pes;                      // engines behind the arbiter (1: no PE_SEL)
  std::vector<int> target_end;  // per rule: 0 the source is the target, 1 the destination

  int64_t intervals() const { return std::max<int64_t>(1, (n + interval - 1) / interval); }
  int64_t region_words() const { return intervals() * interval; }
  int64_t region_base(int mem) const { return (int64_t)mem * region_words(); }
  int64_t edge_base() const { return (int64_t)memories * region_words(); }
};

template <class V, bool HAS_WEIGHT>
class IntervalDevice : public Device {
 public:
  IntervalDevice(V* top, IntervalLayout lay, cosynth_dram::Config mem,
                 uint64_t max_cycles_per_block = 4000000000ull)
      : top_(top), lay_(lay), dram_(mem), pins_(cosynth_dram::port_pins(top)),
        max_cycles_(max_cycles_per_block) {
    if (dram_.ports() != pins_.size())
      throw std::runtime_error("the memory model's ports differ from the unit's");
    dram_.image.assign((size_t)lay_.edge_base(), 0);
    top_->clk = 0;
    top_->rst = 1;
    top_->csr_w_en = 0;
    top_->csr_addr = 0;
    top_->csr_w_data = 0;
    step();
    top_->rst = 0;
    top_->eval();
    ncycles_ = 0;
    for (int k = 0; k < lay_.memories; ++k)
      write_reg(BLK_MEM_BASE + (uint32_t)k, (uint64_t)lay_.region_base(k));
  }

  // a unit register (or a region base): to every PE
  void write_reg(uint32_t addr, uint64_t value) override {
    for (int i = 0; i < lay_.pes; ++i) {
      if (lay_.pes > 1) csr_write(PE_SEL, (uint64_t)i);
      csr_write(addr, value);
    }
  }

  uint64_t read_reg(uint32_t addr) override {
    if (addr == REG_DEPTH) return (uint64_t)std::max<int64_t>(2, lay_.n);
    return csr_read(addr);
  }

  void load(size_t n, const uint32_t* mem, const uint32_t* addr,
            const int64_t* value) override {
    for (size_t i = 0; i < n; ++i) dram_.image[at(mem[i], addr[i])] = (uint64_t)value[i];
  }

  void readback(size_t n, const uint32_t* mem, const uint32_t* addr, int64_t* out) override {
    for (size_t i = 0; i < n; ++i) out[i] = (int64_t)dram_.image[at(mem[i], addr[i])];
  }

  RunResult run(uint32_t rule, size_t n, const uint32_t* src, const uint32_t* dst,
                const int64_t* weight) override {
    if (rule >= lay_.target_end.size()) throw DeviceFault("a run of an unknown rule");
    encode(lay_.target_end[rule], n, src, dst, weight);
    write_reg(REG_RULE, rule);
    RunResult res;
    res.done = true;
    // per target interval: its blocks with their flags (load A first, write back last)
    std::vector<std::vector<size_t>> groups;
    std::vector<uint64_t> flags(blocks_.size(), packed_ ? FLAG_PACKED : 0);
    for (size_t i = 0; i < blocks_.size(); ++i) {
      const Block& b = blocks_[i];
      // dense: the other endpoint's window bit (B off the diagonal; the target's is A)
      if (dense_)
        flags[i] = FLAG_DENSE | (b.s == b.d ? 0
                                 : lay_.target_end[rule] == 1 ? FLAG_SRC_B : FLAG_DST_B);
      if (i == 0 || blocks_[i - 1].d != b.d) {
        flags[i] |= FLAG_LOAD_A;
        groups.emplace_back();
      }
      if (b.s != b.d) flags[i] |= b.gathered ? FLAG_GATHER_B : FLAG_LOAD_B;
      if (i + 1 == blocks_.size() || blocks_[i + 1].d != b.d) flags[i] |= FLAG_WRITEBACK;
      groups.back().push_back(i);
    }
    // target intervals dealt out to the PEs balanced by their port words
    // (interval_costs.py group_words / deal: the largest first, each to the PE with the
    // fewest words so far, the lowest on a tie), each PE walks its own list in rising
    // order through its command queue (interval.py): a block is queued while the one
    // before it runs, and a finished block's results are read while the next runs
    // (interval_host.py IntervalDevice.run walks the same way)
    const int P = lay_.pes;
    const int64_t I = lay_.interval, nm = lay_.memories, mw = I / std::min<int64_t>(64, I);
    std::vector<int64_t> words(groups.size(), nm * I);  // window A
    for (size_t k = 0; k < groups.size(); ++k)
      for (size_t i : groups[k]) {
        const Block& b = blocks_[i];
        words[k] += (packed_ && !HAS_WEIGHT) || dense_
                        ? (b.count + 1) / 2
                        : b.count * (HAS_WEIGHT && !packed_ ? 2 : 1);
        if (b.s != b.d) words[k] += b.gathered ? mw + nm * b.gathered : nm * I;
      }
    std::vector<size_t> order(groups.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return words[a] > words[b]; });
    std::vector<int> owner(groups.size(), 0);
    std::vector<int64_t> load(P, 0);
    for (size_t k : order) {
      const int i = (int)(std::min_element(load.begin(), load.end()) - load.begin());
      owner[k] = i;
      load[i] += words[k];
    }
    std::vector<std::vector<size_t>> queues(P);
    for (size_t k = 0; k < groups.size(); ++k)
      for (size_t i : groups[k]) queues[owner[k]].push_back(i);
    std::vector<size_t> given(P, 0), taken(P, 0);
    const uint64_t t0 = ncycles_;
    // PE i's next block and BLK_CTRL = ctrl (bit 0: queue it), or only the BLK_CTRL
    // write of the other bits when its list is done
    auto give = [&](int i, uint64_t ctrl) {
      if (given[i] == queues[i].size()) {
        if (ctrl & ~1ull) csr_write(BLK_CTRL, ctrl & ~1ull);
        return;
      }
      size_t b = queues[i][given[i]++];
      block_regs(blocks_[b], flags[b]);
      csr_write(BLK_CTRL, ctrl);
    };
    for (int i = 0; i < P; ++i) {  // the first block starts, the second waits behind it
      if (P > 1) csr_write(PE_SEL, (uint64_t)i);
      give(i, 1);
      give(i, 1);
    }
    for (;;) {
      uint64_t mask = 0;
      for (int i = 0; i < P; ++i)
        if (taken[i] < given[i]) mask |= 1ull << i;
      if (!mask) break;
      uint64_t spins = 0, ready;
      while (!(ready = (csr_read(PE_BUSY) >> 16) & mask)) {
        step();
        if (++spins > max_cycles_) throw DeviceFault("no block command finished");
      }
      for (int i = 0; i < P; ++i) {
        if (!(ready >> i & 1)) continue;
        if (P > 1) csr_write(PE_SEL, (uint64_t)i);
        account(res, blocks_[queues[i][taken[i]++]], csr_read(BLK_CYCLES));
        give(i, 3);  // read (bit 1), and the next block queued behind the running one
      }
    }
    res.cycles = ncycles_ - t0;
    return res;
  }

  uint64_t cycles() const override { return ncycles_; }
  uint64_t dram_bytes() const { return dram_.bytes; }
  uint64_t dram_words() const { return dram_.words; }

#if VM_TRACE
  void trace_to(const char* path) {
    Verilated::traceEverOn(true);
    vcd_ = new VerilatedVcdC;
    top_->trace(vcd_, 99);
    vcd_->open(path);
  }
  ~IntervalDevice() override {
    if (vcd_) {
      vcd_->close();
      delete vcd_;
    }
  }
#endif

 private:
  struct Block {
    int64_t d, s, first, count, gathered;  // gathered: window-B entries (0: none/whole)
  };

  size_t at(uint32_t mem, uint32_t addr) const {
    if ((int)mem >= lay_.memories || (int64_t)addr >= lay_.region_words())
      throw DeviceFault("a table entry outside the unit's memory layout");
    return (size_t)(lay_.region_base((int)mem) + addr);
  }

  // layout.encode_edges: blocks by (d, s), the edges of a block in their order
  void encode(int target_end, size_t n, const uint32_t* src, const uint32_t* dst,
              const int64_t* weight) {
    const int64_t I = lay_.interval, q = lay_.intervals();
    // layout.packs: a weighted run goes one word per edge when the local addresses fit
    // 16 bits and every weight 32 (bits 0..15 source, 16..31 destination, 32..63 weight);
    // an unweighted run two edges a word (the low half first; all ones pads)
    packed_ = 2 * I <= 65536;
    for (size_t i = 0; HAS_WEIGHT && packed_ && i < n; ++i)
      if (weight[i] < INT32_MIN || weight[i] > INT32_MAX) packed_ = false;
    // layout.dense: a weighted run two edges a word when every weight is in
    // [0, 2^(32 - 2 L)) (L = log2 I): per half two 16-bit fields, an L-bit index in its
    // window and weight bits (the low F = 16 - L bits in the first field); the window
    // bits go in the block's flags; an odd block's last high half pads (by position)
    int L = 0;
    while ((int64_t(1) << L) < I) ++L;
    const int F = 16 - L;
    dense_ = HAS_WEIGHT && packed_;
    for (size_t i = 0; dense_ && i < n; ++i)
      if (weight[i] < 0 || weight[i] >= (int64_t(1) << (2 * F))) dense_ = false;
    const int ew = HAS_WEIGHT && !packed_ ? 2 : 1;
    const bool pairs = (packed_ && !HAS_WEIGHT) || dense_;
    std::vector<int64_t> key(n);
    for (size_t i = 0; i < n; ++i) {
      int64_t tv = target_end == 0 ? src[i] : dst[i], ov = target_end == 0 ? dst[i] : src[i];
      key[i] = (tv / I) * q + ov / I;
    }
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return key[a] < key[b]; });
    // inside a block: 0, h, 1, h + 1, ... (h = ceil(k / 2)), layout.py _interleave_runs
    {
      std::vector<size_t> mixed(n);
      for (size_t a = 0; a < n;) {
        size_t b = a;
        while (b < n && key[order[b]] == key[order[a]]) ++b;
        size_t k = b - a, h = (k + 1) / 2;
        for (size_t i = 0; i < k; ++i) mixed[a + i] = order[a + (i % 2 == 0 ? i / 2 : h + i / 2)];
        a = b;
      }
      order.swap(mixed);
    }
    // blocks in order; a block off the diagonal that gathers (layout.gathers) is preceded
    // by its gather map: I / gb words, bit j of word w for window B's entry w gb + j
    const int64_t base = lay_.edge_base(), gb = std::min<int64_t>(64, I), gw = I / gb;
    const int64_t nm = lay_.memories;
    std::vector<uint64_t> out;
    out.reserve(n * (size_t)ew);
    blocks_.clear();
    std::vector<uint64_t> map((size_t)gw);
    for (size_t a = 0; a < n;) {
      size_t b = a;
      while (b < n && key[order[b]] == key[order[a]]) ++b;
      const int64_t d = key[order[a]] / q, s = key[order[a]] % q;
      int64_t used = 0;
      if (s != d) {
        std::fill(map.begin(), map.end(), 0);
        for (size_t j = a; j < b; ++j) {
          size_t i = order[j];
          int64_t e = (target_end == 0 ? dst[i] : src[i]) - s * I;
          map[(size_t)(e / gb)] |= 1ull << (e % gb);
        }
        for (uint64_t w : map) used += __builtin_popcountll(w);
      }
      const bool gather = s != d && nm * (used + gw) + gw < nm * I;
      if (gather) {
        out.insert(out.end(), map.begin(), map.end());
        // layout version 6: a gathering block's edges by their window-B entry (stable),
        // the order the engine gathers them in (its gate lets each follow its entry)
        auto other = [&](size_t i) { return target_end == 0 ? dst[i] : src[i]; };
        std::stable_sort(order.begin() + (std::ptrdiff_t)a, order.begin() + (std::ptrdiff_t)b,
                         [&](size_t x, size_t y) { return other(x) < other(y); });
      }
      blocks_.push_back(Block{d, s, base + (int64_t)out.size(), (int64_t)(b - a),
                              gather ? used : 0});
      for (size_t j = a; j < b; ++j) {
        size_t i = order[j];
        int64_t tv = target_end == 0 ? src[i] : dst[i], ov = target_end == 0 ? dst[i] : src[i];
        uint64_t tloc = (uint64_t)(tv - d * I), oloc = (uint64_t)(ov - s * I + (s == d ? 0 : I));
        uint64_t sloc = target_end == 0 ? tloc : oloc, dloc = target_end == 0 ? oloc : tloc;
        uint64_t half = (sloc & 0xFFFFull) | ((dloc & 0xFFFFull) << 16);
        if (dense_) {
          const uint64_t m = (uint64_t)I - 1, w = (uint64_t)weight[i];
          half = (sloc & m) | ((w & ((1ull << F) - 1)) << L) | ((dloc & m) << 16) |
                 ((w >> F) << (16 + L));
        }
        if (pairs) {
          if ((j - a) % 2 == 0)
            out.push_back(half | (j + 1 == b ? 0xFFFFFFFFull << 32 : 0));
          else
            out.back() = (out.back() & 0xFFFFFFFFull) | (half << 32);
        } else if (packed_)
          out.push_back((sloc & 0xFFFFull) | ((dloc & 0xFFFFull) << 16) |
                        ((uint64_t)weight[i] << 32));
        else
          out.push_back((sloc & 0xFFFFFFFFull) | (dloc << 32));
        if (ew == 2) out.push_back((uint64_t)weight[i]);
      }
      a = b;
    }
    dram_.image.resize((size_t)base + out.size(), 0);
    std::copy(out.begin(), out.end(), dram_.image.begin() + base);
  }

  void block_regs(const Block& b, uint64_t flags) {
    const int64_t I = lay_.interval;
    csr_write(BLK_EDGES, (uint64_t)b.first);
    csr_write(BLK_COUNT, (uint64_t)b.count);
    csr_write(BLK_A, (uint64_t)(b.d * I));
    csr_write(BLK_B, (uint64_t)(b.s * I));
    csr_write(BLK_FLAGS, flags);
  }

  // the finished block of the selected PE: check it and add its counters
  void account(RunResult& res, const Block& b, uint64_t cycles) {
    uint64_t status = csr_read(REG_STATUS), edges = csr_read(REG_EDGES_DONE);
    if (!(status & 2) || edges != (uint64_t)b.count)
      throw DeviceFault("an interval block finished without consuming its edges");
    (void)cycles;  // read as the Python host reads it (the same bus cycles); a run's
                   // cycles are its span (run)
    res.changed = res.changed || (status & 4);
    res.edges += edges;
    res.updates += csr_read(REG_UPDATES);
    res.hazards += csr_read(REG_HAZARDS);
    res.stalls += csr_read(REG_STALLS);
  }

  // one clock: the memory model drives the port, the unit's outputs are sampled, the edge
  // (backends/rtl/runtime/interval_server.cpp Sim::step)
  void step() {
    cosynth_dram::drive(dram_, pins_);
    top_->eval();
    cosynth_dram::sample(pins_, sampled_);
    trace_dump(0);
    top_->clk = 1;
    top_->eval();
    trace_dump(5);
    top_->clk = 0;
    if (!top_->rst) dram_.step_ports(sampled_.data());
    top_->eval();
    ++ncycles_;
  }

  void csr_write(uint32_t addr, uint64_t value) {
    top_->csr_w_en = 1;
    top_->csr_addr = addr;
    top_->csr_w_data = value;
    step();
    top_->csr_w_en = 0;
    held_ = -1;
  }

  // the address is held read_latency() clocks after a write or a change of address, then
  // read (a poll of one address reads every clock); interval_sim.py's host does the same
  uint64_t csr_read(uint32_t addr) {
    if (held_ != (int64_t)addr) {
      top_->csr_addr = addr;
      for (int k = 0; k < (lay_.pes > 1 ? (int)MULTI_READ_LATENCY : 0); ++k) step();
      held_ = (int64_t)addr;
    }
    cosynth_dram::drive(dram_, pins_);
    top_->eval();
    return (uint64_t)top_->csr_r_data;
  }

#if VM_TRACE
  VerilatedVcdC* vcd_ = nullptr;
  uint64_t trace_cycle_ = 0;
  void trace_dump(int at) {
    if (!vcd_) return;
    vcd_->dump(10 * trace_cycle_ + at);
    if (at) ++trace_cycle_;
  }
#else
  void trace_dump(int) {}
#endif

  V* top_;
  IntervalLayout lay_;
  cosynth_dram::Model dram_;
  std::vector<cosynth_dram::PortPins> pins_;
  std::vector<cosynth_dram::Pins> sampled_;
  uint64_t max_cycles_;
  uint64_t ncycles_ = 0;
  int64_t held_ = -1;  // the register address csr_r_data answers (-1: none, or a write since)
  std::vector<Block> blocks_;
  bool packed_ = false;  // the current run's weighted edges go one word each
  bool dense_ = false;   // ... two a word (layout.DENSE; FLAG_DENSE, not FLAG_PACKED)
};

}  // namespace cosynth_unit
