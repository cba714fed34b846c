// cosynth: the host stub of an FPGA edge unit inside a blade program.
//
// The generated blade program calls a UnitHost where the plan puts a loop on the FPGA.
// One call (the same protocol as backends/rtl/host.py, which the tests check it against):
//   1. write the scalar parameters the rules read into their registers;
//   2. bring the unit's memories up to date with the blade's tables: the host keeps an
//      image of each memory and loads only the entries that differ (the first call loads
//      every entry);
//   3. per rule: stream the edges (CSR order for out-edge rules and edges(), CSC order for
//      in-edge rules; a single vertex's edges for a loop inside a sequential one; for a
//      rule guarded by a frontier table, backends/rtl/host.py stream_filter, only the
//      edges of the vertices whose frontier entry is set: the others change nothing), then
//      interleaved (first half's i-th edge, second half's i-th: the loops are proven
//      order-independent, and a vertex's edges would hit one entry back to back), start,
//      wait for done, read the status and counters;
//   4. read back the target entries the streamed edges could have changed: the blade's
//      own entries go into its table, entries other blades own into the outbox (their new
//      value, or for `add` the difference), exactly as the CPU code's remote reductions.
// Floats (only under the kernel's fixed-point policy Qm.n, cosynth/fixed.py) cross as
// words round(x * 2^n), refused when |x| >= 2^m, and come back as word / 2^n.
// The device is a cosynth_unit::Device: a Verilator model of the unit's Verilog in local
// simulation, or a real board (XdmaDevice) with the same register map.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cosynth_unit.hpp"

namespace cosynth {

struct FpgaStats {
  int64_t calls = 0, runs = 0, edges = 0;
  uint64_t run_cycles = 0;       // cycles of the runs (start to done)
  uint64_t stalls = 0, hazards = 0;
  uint64_t transfer_entries = 0; // memory entries loaded and read back (one per cycle)
  uint64_t compared_entries = 0; // table entries sync compared with the unit's image
  double seconds = 0;            // host wall time of the calls (simulation included)
  double sync_seconds = 0;       // of which sync's comparing and loading
};
inline FpgaStats g_fpga;

// a table as the unit sees it: memory `mem`, element type: 0 int64, 1 int32, 2 uint8 (bool),
// 3 double, 4 float (fixed-point words)
struct UnitTable {
  int mem;
  int type;
  void* data;
};

// The kernel's fixed-point policy Qm.n (m = int_bits, n = frac_bits): a float as the
// unit's word, and back (backends/rtl/host.py does the same, cosynth/fixed.py states it).
struct FixedPoint {
  int int_bits = 0, frac_bits = 0;
  int64_t encode(double x, const char* what) const {
    if (!std::isfinite(x) || std::fabs(x) >= std::ldexp(1.0, int_bits))
      throw cosynth_unit::DeviceFault(std::string(what) + " = " + std::to_string(x) +
                                      " does not fit the fixed-point policy Q" +
                                      std::to_string(int_bits) + "." +
                                      std::to_string(frac_bits));
    return (int64_t)std::nearbyint(std::ldexp(x, frac_bits));
  }
  double decode(int64_t v) const { return std::ldexp((double)v, -frac_bits); }
};

class UnitHost {
 public:
  UnitHost(cosynth_unit::Device* dev, int64_t depth, int memories, FixedPoint fixed = {})
      : dev_(dev), depth_(depth), fixed_(fixed), images_(memories), known_(memories, false) {
    if (dev_->read_reg(cosynth_unit::REG_ID) != cosynth_unit::ID_VALUE)
      throw cosynth_unit::DeviceFault("the FPGA unit does not identify itself as a cosynth unit");
    if ((int64_t)dev_->read_reg(cosynth_unit::REG_DEPTH) < depth_)
      throw cosynth_unit::DeviceFault("the FPGA unit holds fewer vertices than the graph has");
    for (auto& im : images_) im.assign(depth_, 0);
  }

  // ----------------------------------------------------------- tracing a failing run
  // After a check failed, cosynth runs the blades again with the unit's waveform on
  // (Verilator --trace) and asks each FPGA blade to watch the table entry of the first
  // wrong vertex (`entry`, a local id; -1 when the blade holds none).  The host numbers
  // its calls (a call begins with params() or sync() after a run), notes the device
  // cycle each begins at, and which call last wrote the watched entry (its value changed
  // on read-back) or last streamed an edge to it; the destructor writes that as JSON to
  // `log` with `origin`, the cycle the waveform starts at (its time is 10 x the cycles
  // since then, in ps at 10 ns a cycle: cosynth_unit.hpp), so that the driver can cut
  // the failing call's part out of the waveform (backends/rtl/waves.py: window).
  void watch(int64_t entry, uint64_t origin, const std::string& log) {
    watch_ = entry;
    origin_ = origin;
    log_ = log;
  }

  ~UnitHost() {
    if (log_.empty()) return;
    std::string tmp = log_ + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "w");
    if (!f) return;
    std::fprintf(f, "{\"origin\": %llu, \"end\": %llu, \"last_write\": %lld, "
                    "\"last_touch\": %lld, \"starts\": [",
                 (unsigned long long)origin_, (unsigned long long)dev_->cycles(),
                 (long long)last_write_, (long long)last_touch_);
    for (size_t i = 0; i < starts_.size(); ++i)
      std::fprintf(f, "%s%llu", i ? ", " : "", (unsigned long long)starts_[i]);
    std::fprintf(f, "]}\n");
    std::fclose(f);
    std::rename(tmp.c_str(), log_.c_str());
  }

  // a float scalar as the register word of the fixed-point policy
  uint64_t fixed_word(double x, const char* what) const {
    return (uint64_t)fixed_.encode(x, what);
  }

  void params(const std::vector<uint64_t>& values) {
    begin_call();
    for (size_t i = 0; i < values.size(); ++i)
      dev_->write_reg(cosynth_unit::REG_PARAM_BASE + (uint32_t)i, values[i]);
  }

  // `frontiers`: memories some rule's stream is filtered by (stream_filter); the same
  // pass over their entries lists the set ones (ascending), which run() streams from
  void sync(const std::vector<UnitTable>& tables, int64_t n,
            const std::vector<int>& frontiers = {}) {
    begin_call();
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<uint32_t> mem, addr;
    std::vector<int64_t> val;
    for (const UnitTable& t : tables) {
      std::vector<int64_t>& im = images_[t.mem];
      const bool listed =
          std::find(frontiers.begin(), frontiers.end(), t.mem) != frontiers.end();
      if (listed) {
        if ((int)frontier_.size() <= t.mem) frontier_.resize(t.mem + 1);
        frontier_[t.mem].clear();
      }
      for (int64_t i = 0; i < n; ++i) {
        int64_t v = value(t, i);
        if (listed && v) frontier_[t.mem].push_back((uint32_t)i);
        if (!known_[t.mem] || im[i] != v) {
          mem.push_back((uint32_t)t.mem);
          addr.push_back((uint32_t)i);
          val.push_back(v);
          im[i] = v;
        }
      }
      known_[t.mem] = true;
    }
    if (!mem.empty()) dev_->load(mem.size(), mem.data(), addr.data(), val.data());
    g_fpga.transfer_entries += mem.size();
    g_fpga.compared_entries += (uint64_t)n * tables.size();
    g_fpga.sync_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  // kind: 0 out-edges of [lo, hi) (and edges() with sources there), 1 in-edges of [lo, hi);
  // frontier >= 0: only the edges of the vertices of [lo, hi) whose entry of that memory
  // the last sync found set (the rule's stream filter), in the same order
  cosynth_unit::RunResult run(int rule, int kind, int64_t lo, int64_t hi, const Graph& G,
                              bool weighted, int target_end, std::vector<uint32_t>& touched,
                              bool fixed_weights = false, int frontier = -1) {
    src_.clear();
    dst_.clear();
    w_.clear();
    auto in_edges = [&](int64_t v) {
      for (int64_t p = G.in_begin(v); p < G.in_end(v); ++p) {
        src_.push_back((uint32_t)G.in_src[p - G.clo]);
        dst_.push_back((uint32_t)v);
        if (weighted) w_.push_back(weight_word(G.in_w[p - G.clo], fixed_weights));
      }
    };
    auto out_edges = [&](int64_t b, int64_t e) {  // edge positions [b, e)
      for (int64_t p = b; p < e; ++p) {
        src_.push_back((uint32_t)G.edge_src(p));
        dst_.push_back((uint32_t)G.edge_dst(p));
        if (weighted) w_.push_back(weight_word(G.weight(p), fixed_weights));
      }
    };
    if (frontier >= 0) {
      if ((int)frontier_.size() <= frontier)
        throw cosynth_unit::DeviceFault("a filtered run before its frontier was synced");
      const std::vector<uint32_t>& f = frontier_[frontier];
      auto it = std::lower_bound(f.begin(), f.end(), (uint32_t)std::max<int64_t>(lo, 0));
      for (; it != f.end() && (int64_t)*it < hi; ++it) {
        if (kind == 1) in_edges(*it);
        else out_edges(G.out_begin(*it), G.out_end(*it));
      }
    } else if (kind == 1) {
      for (int64_t v = lo; v < hi; ++v) in_edges(v);
    } else if (hi > lo) {
      out_edges(G.out_begin(lo), G.out_begin(hi));
    }
    interleave(src_);
    interleave(dst_);
    if (weighted) interleave(w_);
    cosynth_unit::RunResult r = dev_->run((uint32_t)rule, src_.size(), src_.data(),
                                          dst_.data(), weighted ? w_.data() : nullptr);
    if (!r.done || r.edges != src_.size())
      throw cosynth_unit::DeviceFault("the FPGA unit did not finish its run");
    const std::vector<uint32_t>& t = target_end == 0 ? src_ : dst_;
    touched.insert(touched.end(), t.begin(), t.end());
    ran_ = true;
    g_fpga.runs += 1;
    g_fpga.edges += (int64_t)src_.size();
    g_fpga.run_cycles += r.cycles;
    g_fpga.stalls += r.stalls;
    g_fpga.hazards += r.hazards;
    return r;
  }

  // the endpoints (0 src, 1 dst) of the last run's edges, for a further table its rule
  // reduces into
  void touched_end(int target_end, std::vector<uint32_t>& touched) const {
    const std::vector<uint32_t>& t = target_end == 0 ? src_ : dst_;
    touched.insert(touched.end(), t.begin(), t.end());
  }

  // Read back the touched entries of live memory `t.mem` into the table; with an owned
  // range [lo, hi) (a blade program's distributed loop), entries outside it go into
  // `box` instead, combined with `red`.  Returns whether an owned entry changed.
  template <class T, class Box, class Red>
  bool readback(const UnitTable& t, std::vector<uint32_t>& touched, bool projected,
                int64_t lo, int64_t hi, Box* box, Red red, bool add) {
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    size_t n = touched.size();
    if (!n) return false;
    std::vector<uint32_t> mem(n, (uint32_t)t.mem);
    std::vector<int64_t> got(n);
    dev_->readback(n, mem.data(), touched.data(), got.data());
    g_fpga.transfer_entries += n;
    std::vector<int64_t>& im = images_[t.mem];
    T* table = static_cast<T*>(t.data);
    const bool fx = t.type >= 3;  // a float table: fixed-point words
    bool changed = false;
    for (size_t j = 0; j < n; ++j) {
      int64_t i = touched[j], nv = got[j], ov = im[i];
      im[i] = nv;
      if (i == watch_) {
        last_touch_ = (int64_t)starts_.size();
        if (nv != ov) last_write_ = last_touch_;
      }
      if (!projected || (i >= lo && i < hi)) {
        if (nv != ov) changed = true;
        table[i] = fx ? (T)fixed_.decode(nv) : (T)nv;
      } else if (nv != ov && box) {
        // another blade owns it: the mirror keeps its value until the refresh (the next
        // call reloads it into the unit); the contribution goes to the owner
        int64_t word = add ? (int64_t)((uint64_t)nv - (uint64_t)ov) : nv;
        T c = fx ? (T)fixed_.decode(word) : (T)word;
        red(&box->val[i], c);
        box->touched[i] = 1;
      }
    }
    touched.clear();
    return changed;
  }

 private:
  void begin_call() {
    if (!ran_) return;  // the same call (its parameters came first)
    ran_ = false;
    starts_.push_back(dev_->cycles());
  }
  // 0, h, 1, h+1, ... with h = ceil(k/2): backends/rtl/host.py interleave()
  template <class T> void interleave(std::vector<T>& v) {
    size_t k = v.size(), h = (k + 1) / 2;
    std::vector<T> out(k);
    for (size_t i = 0; i < k; ++i) out[i] = (i % 2 == 0) ? v[i / 2] : v[h + i / 2];
    v.swap(out);
  }
  int64_t value(const UnitTable& t, int64_t i) const {
    switch (t.type) {
      case 0: return static_cast<const int64_t*>(t.data)[i];
      case 1: return static_cast<const int32_t*>(t.data)[i];
      case 3: return fixed_.encode(static_cast<const double*>(t.data)[i], "a table entry");
      case 4: return fixed_.encode(static_cast<const float*>(t.data)[i], "a table entry");
      default: return static_cast<const uint8_t*>(t.data)[i] ? 1 : 0;
    }
  }
  template <class W> int64_t weight_word(W w, bool fixed_weights) const {
    return fixed_weights ? fixed_.encode((double)w, "an edge weight") : (int64_t)w;
  }
  cosynth_unit::Device* dev_;
  int64_t depth_;
  FixedPoint fixed_;
  std::vector<std::vector<int64_t>> images_;
  std::vector<bool> known_;
  std::vector<uint32_t> src_, dst_;
  std::vector<int64_t> w_;
  std::vector<std::vector<uint32_t>> frontier_;  // per memory: set entries at the last sync
  // tracing a failing run (watch)
  bool ran_ = true;  // a run since the current call began: the next params/sync begins one
  std::vector<uint64_t> starts_;  // device cycle at the start of each call
  int64_t watch_ = -1, last_write_ = 0, last_touch_ = 0;  // calls numbered from 1; 0: none
  uint64_t origin_ = 0;
  std::string log_;
};

// the FPGA figures of one blade, beside its stats.rank<R>.json
inline void write_fpga_stats(const std::string& path, bool used, uint64_t device_cycles) {
  std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) return;
  std::fprintf(f, "{\"fpga\": %s, \"calls\": %lld, \"runs\": %lld, \"edges\": %lld, "
                  "\"run_cycles\": %llu, \"stalls\": %llu, \"hazards\": %llu, "
                  "\"transfer_entries\": %llu, \"compared_entries\": %llu, "
                  "\"device_cycles\": %llu, \"seconds\": %.9f, \"sync_seconds\": %.9f}\n",
               used ? "true" : "false", (long long)g_fpga.calls, (long long)g_fpga.runs,
               (long long)g_fpga.edges, (unsigned long long)g_fpga.run_cycles,
               (unsigned long long)g_fpga.stalls, (unsigned long long)g_fpga.hazards,
               (unsigned long long)g_fpga.transfer_entries,
               (unsigned long long)g_fpga.compared_entries,
               (unsigned long long)device_cycles, g_fpga.seconds, g_fpga.sync_seconds);
  std::fclose(f);
  std::rename(tmp.c_str(), path.c_str());
}

}  // namespace cosynth
