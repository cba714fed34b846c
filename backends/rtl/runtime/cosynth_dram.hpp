// cosynth: the external-memory model of an interval unit's co-simulation.
//
// The same cycle behaviour as backends/rtl/dram.py DramModel (keep the two in step):
// a bandwidth credit of bytes_per_clock per cycle (capped at two bursts), a command is
// accepted only while the credit covers a burst; an access that continues the previous
// one of its port inside an aligned burst of burst_words words costs nothing more, any
// other pays a whole burst; read data return `latency` cycles after the command, in
// order, one word per cycle; write data (always accepted) go to the oldest write command
// of their port.  `ports` native ports share the one credit: each cycle they are served
// in order 0, 1, ... and all see the ready of the cycle's start (the credit may go below
// zero by up to ports - 1 bursts; the next cycles repay it).
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
  uint64_t ports = 1;
};

// one port's pins just before a clock edge
struct Pins {
  bool cmd_valid, cmd_we;
  uint64_t cmd_addr;
  bool wdata_valid;
  uint64_t wdata;
  bool rdata_ready;
};

class Model {
 public:
  explicit Model(Config c) : cfg_(c), credit_(burst_bytes()), ports_(c.ports ? c.ports : 1) {}

  std::vector<uint64_t> image;
  uint64_t bytes = 0, words = 0;

  uint64_t ports() const { return ports_.size(); }
  bool cmd_ready() const { return credit_ >= burst_bytes(); }
  bool rdata_valid(size_t k = 0) const {
    return !ports_[k].reads.empty() && ports_[k].reads.front().first <= now_;
  }
  uint64_t rdata(size_t k = 0) const { return rdata_valid(k) ? ports_[k].reads.front().second : 0; }

  void step(bool cmd_valid, bool cmd_we, uint64_t cmd_addr, bool wdata_valid,
            uint64_t wdata, bool rdata_ready) {
    Pins p{cmd_valid, cmd_we, cmd_addr, wdata_valid, wdata, rdata_ready};
    step_ports(&p);
  }

  // every port's pins, port 0 first (ports() of them)
  void step_ports(const Pins* pins) {
    bool ready = cmd_ready();
    for (size_t k = 0; k < ports_.size(); ++k) {
      Port& port = ports_[k];
      const Pins& p = pins[k];
      bool due = rdata_valid(k);
      if (p.cmd_valid && ready) {
        if (!(p.cmd_addr == port.last + 1 && p.cmd_addr % cfg_.burst_words)) {
          credit_ -= burst_bytes();
          bytes += (uint64_t)burst_bytes();
        }
        port.last = p.cmd_addr;
        ++words;
        if (p.cmd_addr >= image.size()) throw std::runtime_error("memory access beyond the image");
        if (p.cmd_we)
          port.writes.push_back(p.cmd_addr);
        else
          port.reads.emplace_back(now_ + cfg_.latency, image[p.cmd_addr]);
      }
      if (p.wdata_valid) {
        if (port.writes.empty()) throw std::runtime_error("write data ahead of its command");
        image[port.writes.front()] = p.wdata;
        port.writes.pop_front();
      }
      if (due && p.rdata_ready) port.reads.pop_front();
    }
    ++now_;
    double cap = 2.0 * (burst_bytes() > cfg_.bytes_per_clock ? burst_bytes()
                                                              : cfg_.bytes_per_clock);
    credit_ = credit_ + cfg_.bytes_per_clock < cap ? credit_ + cfg_.bytes_per_clock : cap;
  }

 private:
  struct Port {
    uint64_t last = ~0ull - 1;  // no access continues it
    std::deque<std::pair<uint64_t, uint64_t>> reads;
    std::deque<uint64_t> writes;
  };
  double burst_bytes() const { return 8.0 * (double)cfg_.burst_words; }
  Config cfg_;
  double credit_;
  uint64_t now_ = 0;
  std::vector<Port> ports_;
};

// one memory port's pins on a Verilator model (CData, IData, QData: uint8/32/64)
struct PortPins {
  uint8_t *cmd_valid, *cmd_ready, *cmd_we;
  uint32_t* cmd_addr;
  uint8_t *wdata_valid, *wdata_ready;
  uint64_t* wdata_data;
  uint8_t *rdata_valid, *rdata_ready;
  uint64_t* rdata_data;
};

#define COSYNTH_PINS(t, p)                                                                 \
  PortPins {                                                                               \
    &t->p##cmd_valid, &t->p##cmd_ready, &t->p##cmd_we, &t->p##cmd_addr, &t->p##wdata_valid, \
        &t->p##wdata_ready, &t->p##wdata_data, &t->p##rdata_valid, &t->p##rdata_ready,     \
        &t->p##rdata_data                                                                  \
  }
// port k > 0 is there when the model has its pins (mem<k>_..., multi.py port_pins)
#define COSYNTH_PORT_K(k)                                                                  \
  template <class T>                                                                       \
  auto add_port##k(std::vector<PortPins>& v, T* t, int)->decltype((void)t->mem##k##_cmd_valid) { \
    v.push_back(COSYNTH_PINS(t, mem##k##_));                                               \
  }                                                                                        \
  template <class T>                                                                       \
  void add_port##k(std::vector<PortPins>&, T*, long) {}
COSYNTH_PORT_K(1)
COSYNTH_PORT_K(2)
COSYNTH_PORT_K(3)
COSYNTH_PORT_K(4)
COSYNTH_PORT_K(5)
COSYNTH_PORT_K(6)
COSYNTH_PORT_K(7)

// every memory port of a model: mem_ first (at most 8: dram.MAX_PORTS)
template <class T>
std::vector<PortPins> port_pins(T* t) {
  std::vector<PortPins> v{COSYNTH_PINS(t, mem_)};
  add_port1(v, t, 0);
  add_port2(v, t, 0);
  add_port3(v, t, 0);
  add_port4(v, t, 0);
  add_port5(v, t, 0);
  add_port6(v, t, 0);
  add_port7(v, t, 0);
  return v;
}

// drive every port for the coming cycle (the unit's inputs), and sample its outputs
inline void drive(const Model& m, const std::vector<PortPins>& pins) {
  bool ready = m.cmd_ready();
  for (size_t k = 0; k < pins.size(); ++k) {
    *pins[k].cmd_ready = ready;
    *pins[k].wdata_ready = 1;
    *pins[k].rdata_valid = m.rdata_valid(k);
    *pins[k].rdata_data = m.rdata(k);
  }
}

inline void sample(const std::vector<PortPins>& pins, std::vector<Pins>& out) {
  out.resize(pins.size());
  for (size_t k = 0; k < pins.size(); ++k) {
    const PortPins& p = pins[k];
    out[k] = {*p.cmd_valid != 0, *p.cmd_we != 0, (uint64_t)*p.cmd_addr, *p.wdata_valid != 0,
              (uint64_t)*p.wdata_data, *p.rdata_ready != 0};
  }
}

}  // namespace cosynth_dram
