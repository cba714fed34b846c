// cosynth runtime for generated blade programs: graph shards, run configuration, timers,
// MPI collectives (exchange, refresh, allreduce), atomics, errors and results.
//
// Hand-written once; every generated program includes it.  Vertex and edge ids are
// int64_t.  A blade holds a *structure range* [glo, ghi) of CSR/CSC rows (its own vertices,
// or the whole graph when a loop may visit any vertex) and owns [lo, hi).  Edge ids are
// global: the CSR positions of rows [glo, ghi) are the edge ids [elo, ehi).
#pragma once

#include <mpi.h>
#include <fcntl.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace cosynth {

// ------------------------------------------------------------------ errors
inline int g_rank = 0;
inline const char* g_source = "kernel";

[[noreturn]] inline void fail(int line, const std::string& msg) {
  std::fprintf(stderr, "%s:%d: error: blade %d: %s\n", g_source, line, g_rank, msg.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 3);
  std::exit(3);
}

inline int64_t check(int64_t i, int64_t size, int line, const char* what) {
  if (i < 0 || i >= size) {
    fail(line, std::string(what) + " " + std::to_string(i) + " is out of range (" +
                   std::to_string(size) + " entries)");
  }
  return i;
}

// ------------------------------------------------------------------ heartbeat
// When $COSYNTH_HEARTBEAT names a folder (cosynth's mpirun sets it), each blade keeps the
// file <folder>/beat.<rank> holding one line "<step> <pid>", rewritten in place each time
// the blade finishes a loop nest or enters a collective.  `step` counts those events, so
// a blade that stops making progress (suspended, or spinning in a loop) keeps its number
// while the others advance to the collective where they wait for it: the driver
// (backends/toolchain.py) names the blade whose step stays lowest.  Outside a parallel
// region only (nest ends and collectives are), so one thread writes.
struct Heartbeat {
  int fd = -1;  // -1: not opened yet, -2: disabled
  int64_t step = 0;
};
inline Heartbeat g_beat;

inline void heartbeat() {
  if (g_beat.fd == -2 || omp_in_parallel()) return;
  if (g_beat.fd == -1) {
    const char* dir = std::getenv("COSYNTH_HEARTBEAT");
    if (!dir || !*dir) { g_beat.fd = -2; return; }
    std::string path = std::string(dir) + "/beat." + std::to_string(g_rank);
    g_beat.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (g_beat.fd < 0) { g_beat.fd = -2; return; }
  }
  char line[64];
  int len = std::snprintf(line, sizeof line, "%20lld %11d\n", (long long)++g_beat.step,
                          (int)::getpid());
  if (::pwrite(g_beat.fd, line, (size_t)len, 0) != len) g_beat.fd = -2;
}

// ------------------------------------------------------------------ IR arithmetic
// The helpers the operator table (cosynth/ops.py, CPP_HELPERS) names in its C++
// spellings; tests/test_ops.py checks them against the interpreter on every dtype.
// Integer arithmetic wraps (the program is compiled with -fwrapv); // and % floor as in
// Python; min(a, b) is b < a ? b : a.  Float // and % are NumPy's (Python's away from a
// zero divisor: x // 0 is x / 0, x % 0 is NaN), and float // % ** on float operands are
// evaluated in double and rounded once to float.
inline double py_floordiv(double a, double b, double* mod_out) {
  double mod = std::fmod(a, b);
  if (b == 0) { *mod_out = mod; return a / b; }
  double div = (a - mod) / b;
  if (mod != 0) {
    if ((b < 0) != (mod < 0)) { mod += b; div -= 1.0; }
  } else {
    mod = std::copysign(0.0, b);
  }
  double floordiv;
  if (div != 0) {
    floordiv = std::floor(div);
    if (div - floordiv > 0.5) floordiv += 1.0;
  } else {
    floordiv = std::copysign(0.0, a / b);
  }
  *mod_out = mod;
  return floordiv;
}
template <class T> inline T fdiv(T a, T b, int line) {
  if constexpr (std::is_integral_v<T>) {
    if (b == 0) fail(line, "integer division by zero");
    if (b == -1) return (T)(0 - (std::make_unsigned_t<T>)a);
    T q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1;
    return q;
  } else {
    double mod;
    return (T)py_floordiv((double)a, (double)b, &mod);
  }
}
template <class T> inline T fmod_(T a, T b, int line) {
  if constexpr (std::is_integral_v<T>) {
    if (b == 0) fail(line, "integer division by zero");
    if (b == -1) return 0;
    T r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
  } else {
    if (b == 0) return NAN;
    double mod;
    py_floordiv((double)a, (double)b, &mod);
    return (T)mod;
  }
}
template <class T> inline T ipow(T a, T b, int line) {
  if constexpr (std::is_integral_v<T>) {
    if (b < 0) fail(line, "integer raised to a negative power");
    std::make_unsigned_t<T> r = 1, x = (std::make_unsigned_t<T>)a;
    while (b) { if (b & 1) r *= x; x *= x; b >>= 1; }
    return (T)r;
  } else {
    return (T)std::pow((double)a, (double)b);
  }
}
template <class T> inline T shl(T a, T b, int line) {
  if (b < 0 || b >= (T)(8 * sizeof(T))) fail(line, "shift out of range");
  return (T)((std::make_unsigned_t<T>)a << b);
}
template <class T> inline T shr(T a, T b, int line) {
  if (b < 0 || b >= (T)(8 * sizeof(T))) fail(line, "shift out of range");
  return a >> b;
}
template <class T> inline T vmin(T a, T b) { return b < a ? b : a; }
template <class T> inline T vmax(T a, T b) { return b > a ? b : a; }
template <class T> inline T vabs(T a) {
  if constexpr (std::is_integral_v<T>) return a < 0 ? (T)(0 - (std::make_unsigned_t<T>)a) : a;
  else return std::fabs(a);
}
template <class To, class From> inline To f2i(From x, int line) {
  // the bounds are -2^(bits-1) and 2^(bits-1), both exact in every float type
  if (!std::isfinite(x) || std::trunc(x) < (From)std::numeric_limits<To>::min() ||
      std::trunc(x) >= -(From)std::numeric_limits<To>::min())
    fail(line, "cannot convert a float to an integer: out of range");
  return (To)x;
}

// ------------------------------------------------------------------ atomics
// Reductions into entries other iterations may share.  Each returns whether the entry
// changed (what a change flag needs).
template <class T> inline T load(const T* p) {
  T out;
  __atomic_load(p, &out, __ATOMIC_RELAXED);
  return out;
}
template <class T> inline bool atomic_min(T* p, T v) {
  T old = load(p);
  while (v < old) {
    if (__atomic_compare_exchange(p, &old, &v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      return true;
  }
  return false;
}
template <class T> inline bool atomic_max(T* p, T v) {
  T old = load(p);
  while (v > old) {
    if (__atomic_compare_exchange(p, &old, &v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      return true;
  }
  return false;
}
template <class T> inline bool atomic_add(T* p, T v) {
  if constexpr (std::is_integral_v<T>) {
    T old = __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
    return v != 0 || old != old + v;
  } else {
    T old = load(p);
    T nv;
    do { nv = old + v; } while (!__atomic_compare_exchange(p, &old, &nv, true,
                                                            __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return nv != old;
  }
}
inline bool atomic_or(uint8_t* p, uint8_t v) {
  return v && !__atomic_fetch_or(p, (uint8_t)1, __ATOMIC_RELAXED);
}
inline bool atomic_and(uint8_t* p, uint8_t v) {
  return !v && __atomic_fetch_and(p, (uint8_t)0, __ATOMIC_RELAXED);
}
// the same reductions, not shared (one thread owns the entry)
template <class T> inline bool red_min(T* p, T v) { if (v < *p) { *p = v; return true; } return false; }
template <class T> inline bool red_max(T* p, T v) { if (v > *p) { *p = v; return true; } return false; }
template <class T> inline bool red_add(T* p, T v) { T o = *p; *p = o + v; return *p != o; }
inline bool red_or(uint8_t* p, uint8_t v) { if (v && !*p) { *p = 1; return true; } return false; }
inline bool red_and(uint8_t* p, uint8_t v) { if (!v && *p) { *p = 0; return true; } return false; }

// ------------------------------------------------------------------ configuration
struct Config {
  std::map<std::string, std::string> kv;
  static Config read(const std::string& path) {
    Config c;
    std::ifstream f(path);
    if (!f) { std::fprintf(stderr, "cannot read %s\n", path.c_str()); std::exit(2); }
    std::string line;
    while (std::getline(f, line)) {
      auto eq = line.find('=');
      if (eq == std::string::npos || line[0] == '#') continue;
      c.kv[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return c;
  }
  std::string str(const std::string& k) const {
    auto it = kv.find(k);
    if (it == kv.end()) { std::fprintf(stderr, "config: missing %s\n", k.c_str()); std::exit(2); }
    return it->second;
  }
  int64_t i64(const std::string& k) const { return std::stoll(str(k)); }
  double f64(const std::string& k) const { return std::stod(str(k)); }
  std::vector<int64_t> list(const std::string& k) const {
    std::vector<int64_t> out;
    std::stringstream ss(str(k));
    std::string item;
    while (std::getline(ss, item, ',')) out.push_back(std::stoll(item));
    return out;
  }
};

template <class T> inline std::vector<T> read_array(std::ifstream& f, int64_t count) {
  std::vector<T> v(count);
  if (count) f.read(reinterpret_cast<char*>(v.data()), sizeof(T) * count);
  if (!f) { std::fprintf(stderr, "graph file is truncated\n"); std::exit(2); }
  return v;
}

// ------------------------------------------------------------------ graph shard
// Vertex and edge ids in the adjacency arrays: 32-bit when the graph is small enough
// (COSYNTH_IDX32, set by cosynth when n and m are below 2^31), which halves the bytes
// each edge costs; every accessor returns int64_t.
#ifdef COSYNTH_IDX32
using idx_t = int32_t;
#else
using idx_t = int64_t;
#endif

template <class T> inline std::vector<T> read_as(std::ifstream& f, int64_t count) {
  std::vector<int64_t> raw = read_array<int64_t>(f, count);
  if constexpr (std::is_same_v<T, int64_t>) return raw;
  else return std::vector<T>(raw.begin(), raw.end());
}

struct Graph {
  int64_t n = 0, m = 0, glo = 0, ghi = 0, elo = 0, ehi = 0, clo = 0;
  std::vector<int64_t> indptr;                    // CSR rows [glo, ghi)
  std::vector<idx_t> dst, src;                    // positions [elo, ehi)
  std::vector<double> w;                          // weights of those positions
  std::vector<int64_t> in_indptr;                 // CSC rows [glo, ghi)
  std::vector<idx_t> in_src, in_eid;
  std::vector<double> in_w;
  std::vector<int64_t> out_deg, in_deg;           // every vertex's degrees
  bool has_csc = false;

  static Graph read(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) { std::fprintf(stderr, "cannot read graph shard %s\n", path.c_str()); std::exit(2); }
    char magic[8];
    f.read(magic, 8);
    if (std::memcmp(magic, "CSYNGRPH", 8) != 0) {
      std::fprintf(stderr, "%s is not a cosynth graph shard\n", path.c_str());
      std::exit(2);
    }
    Graph g;
    auto h = read_array<int64_t>(f, 8);
    g.n = h[0]; g.m = h[1]; g.glo = h[2]; g.ghi = h[3]; g.has_csc = h[4] != 0;
    g.indptr = read_array<int64_t>(f, g.ghi - g.glo + 1);
    g.elo = g.indptr.front();
    g.ehi = g.indptr.back();
    g.dst = read_as<idx_t>(f, g.ehi - g.elo);
    g.src = read_as<idx_t>(f, g.ehi - g.elo);
    g.w = read_array<double>(f, g.ehi - g.elo);
    g.out_deg = read_array<int64_t>(f, g.n);
    g.in_deg = read_array<int64_t>(f, g.n);
    if (g.has_csc) {
      g.in_indptr = read_array<int64_t>(f, g.ghi - g.glo + 1);
      g.clo = g.in_indptr.front();
      int64_t cn = g.in_indptr.back() - g.clo;
      g.in_src = read_as<idx_t>(f, cn);
      g.in_eid = read_as<idx_t>(f, cn);
      g.in_w = read_array<double>(f, cn);
    }
    return g;
  }
  // out-edge positions of vertex v (global edge ids)
  int64_t out_begin(int64_t v) const { return indptr[v - glo]; }
  int64_t out_end(int64_t v) const { return indptr[v - glo + 1]; }
  int64_t in_begin(int64_t v) const { return in_indptr[v - glo]; }
  int64_t in_end(int64_t v) const { return in_indptr[v - glo + 1]; }
  int64_t edge_dst(int64_t e) const { return dst[e - elo]; }
  int64_t edge_src(int64_t e) const { return src[e - elo]; }
  double weight(int64_t e) const { return w[e - elo]; }
  bool has_edge(int64_t u, int64_t v) const {
    const idx_t* b = dst.data() + (out_begin(u) - elo);
    const idx_t* e = dst.data() + (out_end(u) - elo);
    const idx_t* p = std::lower_bound(b, e, (idx_t)v);
    return p != e && (int64_t)*p == v;
  }
  void need_row(int64_t v, int line) const {
    if (v < glo || v >= ghi) fail(line, "vertex " + std::to_string(v) + " is not in this blade's shard");
  }
};

// ------------------------------------------------------------------ MPI helpers
template <class T> inline MPI_Datatype mpi_type() {
  if constexpr (std::is_same_v<T, double>) return MPI_DOUBLE;
  else if constexpr (std::is_same_v<T, float>) return MPI_FLOAT;
  else if constexpr (std::is_same_v<T, int64_t>) return MPI_INT64_T;
  else if constexpr (std::is_same_v<T, int32_t>) return MPI_INT32_T;
  else return MPI_UINT8_T;
}

struct Stats {
  double compute = 0, comm = 0;
  int64_t messages = 0, bytes = 0;
  std::vector<double> superstep;  // seconds of each distributed loop run, with its exchange
  // per superstep (for the HTML report): the communication seconds up to its end, taken
  // when its nest reports (nest_done), and the FPGA cycles of that run (0 on a CPU)
  std::vector<double> step_comm_mark;
  std::vector<uint64_t> step_cycles;
  std::vector<int64_t> sent_to;  // bytes this blade sent to each blade
};
inline Stats g_stats;

// bytes this blade sends to blade `to` (exchanges, refreshes, reductions)
inline void note_sent(int to, int64_t bytes) {
  if ((int)g_stats.sent_to.size() <= to) g_stats.sent_to.resize(to + 1, 0);
  g_stats.sent_to[to] += bytes;
}

// The work of each loop nest, by the source line of its outermost loop: how often it ran,
// the edges and vertices it visited, its seconds, and (FPGA) the unit's clock cycles.
// What the cost model predicts is compared against this after a run.
struct NestStat {
  int64_t runs = 0, edges = 0, nodes = 0;
  double seconds = 0;
  uint64_t cycles = 0;
  bool fpga = false;
};
inline std::map<int, NestStat> g_nests;

inline void nest_done(int line, int64_t edges, int64_t nodes, double seconds,
                      uint64_t cycles = 0, bool fpga = false) {
  heartbeat();
  NestStat& s = g_nests[line];
  s.runs += 1;
  s.edges += edges;
  s.nodes += nodes;
  s.seconds += seconds;
  s.cycles += cycles;
  s.fpga = s.fpga || fpga;
  if (g_stats.superstep.size() > g_stats.step_comm_mark.size()) {  // a superstep ended
    g_stats.step_comm_mark.push_back(g_stats.comm);
    g_stats.step_cycles.push_back(cycles);
  }
}

inline double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Shards {
  std::vector<int64_t> lo, hi;  // vertex range of every blade
  int rank = 0, size = 1;
  int owner(int64_t v) const {
    int r = (int)(std::upper_bound(lo.begin(), lo.end(), v) - lo.begin()) - 1;
    while (r > 0 && !(lo[r] <= v && v < hi[r])) --r;
    return r;
  }
};

// A dense outbox: contributions to entries other blades own, combined with the
// reduction's operator until the table's next exchange.
template <class T> struct Outbox {
  std::vector<T> val;
  std::vector<uint8_t> touched;
  T identity{};
  void init(int64_t n, T ident) { val.assign(n, ident); touched.assign(n, 0); identity = ident; }
};

// exchange: send every touched remote entry to its owner, apply it there with `red`
template <class T, class Red>
inline bool exchange(std::vector<T>& table, Outbox<T>& box, const Shards& sh, Red red) {
  heartbeat();
  double t0 = now();
  int P = sh.size;
  std::vector<int> scount(P, 0), rcount(P, 0), sdisp(P, 0), rdisp(P, 0);
  std::vector<int64_t> sidx;
  std::vector<T> sval;
  for (int r = 0; r < P; ++r) {
    if (r == sh.rank) continue;
    for (int64_t i = sh.lo[r]; i < sh.hi[r]; ++i) {
      if (box.touched[i]) {
        sidx.push_back(i);
        sval.push_back(box.val[i]);
        box.touched[i] = 0;
        box.val[i] = box.identity;
        scount[r]++;
      }
    }
  }
  for (int r = 0; r < P; ++r) note_sent(r, (int64_t)scount[r] * (8 + (int64_t)sizeof(T)));
  MPI_Alltoall(scount.data(), 1, MPI_INT, rcount.data(), 1, MPI_INT, MPI_COMM_WORLD);
  int stotal = 0, rtotal = 0;
  for (int r = 0; r < P; ++r) { sdisp[r] = stotal; stotal += scount[r]; rdisp[r] = rtotal; rtotal += rcount[r]; }
  std::vector<int64_t> ridx(rtotal);
  std::vector<T> rval(rtotal);
  MPI_Alltoallv(sidx.data(), scount.data(), sdisp.data(), MPI_INT64_T, ridx.data(),
                rcount.data(), rdisp.data(), MPI_INT64_T, MPI_COMM_WORLD);
  MPI_Alltoallv(sval.data(), scount.data(), sdisp.data(), mpi_type<T>(), rval.data(),
                rcount.data(), rdisp.data(), mpi_type<T>(), MPI_COMM_WORLD);
  bool changed = false;
  for (int i = 0; i < rtotal; ++i) changed |= red(&table[ridx[i]], rval[i]);
  g_stats.messages += stotal;
  g_stats.bytes += (int64_t)stotal * (8 + (int64_t)sizeof(T));
  g_stats.comm += now() - t0;
  return changed;
}

// refresh: every blade gets the owners' entries (ranges: vertex or edge ranges per blade)
template <class T>
inline void refresh(std::vector<T>& table, const std::vector<int64_t>& lo,
                    const std::vector<int64_t>& hi, int rank) {
  heartbeat();
  double t0 = now();
  int P = (int)lo.size();
  if (P > 1) {
    std::vector<int> counts(P), displs(P);
    for (int r = 0; r < P; ++r) { counts[r] = (int)(hi[r] - lo[r]); displs[r] = (int)lo[r]; }
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, table.data(), counts.data(),
                   displs.data(), mpi_type<T>(), MPI_COMM_WORLD);
    int64_t mine = hi[rank] - lo[rank];
    for (int r = 0; r < P; ++r) if (r != rank) note_sent(r, mine * (int64_t)sizeof(T));
    g_stats.messages += P - 1;
    g_stats.bytes += (int64_t)(table.size() - mine) * (int64_t)sizeof(T);
  }
  g_stats.comm += now() - t0;
}

template <class T> inline T allreduce(T v, MPI_Op op) {
  heartbeat();
  double t0 = now();
  T out;
  MPI_Allreduce(&v, &out, 1, mpi_type<T>(), op, MPI_COMM_WORLD);
  int P = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  for (int r = 0; r < P; ++r) if (r != g_rank) note_sent(r, (int64_t)sizeof(T));
  g_stats.messages += 1;
  g_stats.bytes += sizeof(T);
  g_stats.comm += now() - t0;
  return out;
}

// ------------------------------------------------------------------ results
template <class T>
inline void write_result(const std::string& path, const T* data, int64_t count) {
  std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) { std::fprintf(stderr, "cannot write %s\n", tmp.c_str()); MPI_Abort(MPI_COMM_WORLD, 2); }
  if (count) std::fwrite(data, sizeof(T), count, f);
  std::fclose(f);
  std::rename(tmp.c_str(), path.c_str());
}

inline void write_stats(const std::string& path, double total) {
  std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  std::fprintf(f, "{\"rank\": %d, \"threads\": %d, \"total\": %.9f, \"compute\": %.9f, "
                  "\"comm\": %.9f, \"messages\": %lld, \"bytes\": %lld, \"supersteps\": [",
               g_rank, omp_get_max_threads(), total, g_stats.compute, g_stats.comm,
               (long long)g_stats.messages, (long long)g_stats.bytes);
  for (size_t i = 0; i < g_stats.superstep.size(); ++i)
    std::fprintf(f, "%s%.9f", i ? ", " : "", g_stats.superstep[i]);
  // communication of superstep i: from its end to the next one's (the last: to the end)
  std::fprintf(f, "], \"superstep_comm\": [");
  const auto& mark = g_stats.step_comm_mark;
  for (size_t i = 0; i < mark.size(); ++i)
    std::fprintf(f, "%s%.9f", i ? ", " : "",
                 (i + 1 < mark.size() ? mark[i + 1] : g_stats.comm) - mark[i]);
  std::fprintf(f, "], \"superstep_cycles\": [");
  for (size_t i = 0; i < g_stats.step_cycles.size(); ++i)
    std::fprintf(f, "%s%llu", i ? ", " : "", (unsigned long long)g_stats.step_cycles[i]);
  std::fprintf(f, "], \"sent_to\": [");
  for (size_t i = 0; i < g_stats.sent_to.size(); ++i)
    std::fprintf(f, "%s%lld", i ? ", " : "", (long long)g_stats.sent_to[i]);
  std::fprintf(f, "], \"nests\": {");
  bool first = true;
  for (const auto& [line, s] : g_nests) {
    std::fprintf(f, "%s\"%d\": {\"runs\": %lld, \"edges\": %lld, \"nodes\": %lld, "
                    "\"seconds\": %.9f, \"cycles\": %llu, \"fpga\": %s}",
                 first ? "" : ", ", line, (long long)s.runs, (long long)s.edges,
                 (long long)s.nodes, s.seconds, (unsigned long long)s.cycles,
                 s.fpga ? "true" : "false");
    first = false;
  }
  std::fprintf(f, "}}\n");
  std::fclose(f);
  std::rename(tmp.c_str(), path.c_str());
}

}  // namespace cosynth
