// cosynth: the external-memory model of an interval unit's co-simulation.
//
// The same cycle behaviour as backends/rtl/dram.py DramModel (keep the two in step):
// a bandwidth credit of bytes_per_clock per cycle (capped at two bursts), a command is
// accepted only while the credit covers a burst; an access that continues the previous
// one inside an aligned burst of burst_words words costs nothing more, any other pays a
// whole burst; read data return `latency` cycles after the command, in order, one word
// per cycle; write data (always accepted) go to the oldest write command.
#pragma once

#include <cstdint>
#include <deque>
#include <stdexcept>
#include <utility>
#include <vector>

namespace cosynth_dram {

struct Config {
  double bytes_per_clock;
  uint64_t latency;
  uint64_t burst_words;
};

class Model {
 public:
  explicit Model(Config c) : cfg_(c), credit_(burst_bytes()) {}

  std::vector<uint64_t> image;
  uint64_t bytes = 0, words = 0;

  bool cmd_ready() const { return credit_ >= burst_bytes(); }
  bool rdata_valid() const { return !reads_.empty() && reads_.front().first <= now_; }
  uint64_t rdata() const { return rdata_valid() ? reads_.front().second : 0; }

  void step(bool cmd_valid, bool cmd_we, uint64_t cmd_addr, bool wdata_valid,
            uint64_t wdata, bool rdata_ready) {
    bool due = rdata_valid();
    if (cmd_valid && cmd_ready()) {
      if (!(cmd_addr == last_ + 1 && cmd_addr % cfg_.burst_words)) {
        credit_ -= burst_bytes();
        bytes += (uint64_t)burst_bytes();
      }
      last_ = cmd_addr;
      ++words;
      if (cmd_addr >= image.size()) throw std::runtime_error("memory access beyond the image");
      if (cmd_we)
        writes_.push_back(cmd_addr);
      else
        reads_.emplace_back(now_ + cfg_.latency, image[cmd_addr]);
    }
    if (wdata_valid) {
      if (writes_.empty()) throw std::runtime_error("write data ahead of its command");
      image[writes_.front()] = wdata;
      writes_.pop_front();
    }
    if (due && rdata_ready) reads_.pop_front();
    ++now_;
    double cap = 2.0 * (burst_bytes() > cfg_.bytes_per_clock ? burst_bytes()
                                                              : cfg_.bytes_per_clock);
    credit_ = credit_ + cfg_.bytes_per_clock < cap ? credit_ + cfg_.bytes_per_clock : cap;
  }

 private:
  double burst_bytes() const { return 8.0 * (double)cfg_.burst_words; }
  Config cfg_;
  double credit_;
  uint64_t last_ = ~0ull - 1;  // no access continues it
  uint64_t now_ = 0;
  std::deque<std::pair<uint64_t, uint64_t>> reads_;
  std::deque<uint64_t> writes_;
};

}  // namespace cosynth_dram
