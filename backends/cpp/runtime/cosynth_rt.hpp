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
#include <malloc.h>
#include <omp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace cosynth {

// ------------------------------------------------------------------ errors
inline int g_rank = 0;
inline const char* g_source = "kernel";

// a blade failure ends the job with status 4 (the README's "a tool or blade failure")
[[noreturn]] inline void fail(int line, const std::string& msg) {
  std::fprintf(stderr, "%s:%d: error: blade %d: %s\n", g_source, line, g_rank, msg.c_str());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 4);
  std::exit(4);
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
// file <folder>/beat.<rank> holding one line "<step> <pid> <supersteps>", rewritten in
// place each time the blade finishes a loop nest or enters a collective (the driver shows
// the supersteps done while a long run goes on).  `step` counts those events, so
// a blade that stops making progress (suspended, or spinning in a loop) keeps its number
// while the others advance to the collective where they wait for it: the driver
// (backends/toolchain.py) names the blade whose step stays lowest.  Outside a parallel
// region only (nest ends and collectives are), so one thread writes; `in_team`: the caller
// is the one thread of a team that beats while the others wait at a barrier (a frontier).
struct Heartbeat {
  int fd = -1;  // -1: not opened yet, -2: disabled
  int64_t step = 0;
  int64_t supersteps = 0;  // distributed loop runs finished (set by nest_done)
};
inline Heartbeat g_beat;

inline void heartbeat(bool in_team = false) {
  if (!in_team && omp_in_parallel()) return;
  ++g_beat.step;  // counted with or without the file: the stall watch answers with it
  if (g_beat.fd == -2) return;
  if (g_beat.fd == -1) {
    const char* dir = std::getenv("COSYNTH_HEARTBEAT");
    if (!dir || !*dir) { g_beat.fd = -2; return; }
    std::string path = std::string(dir) + "/beat." + std::to_string(g_rank);
    g_beat.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (g_beat.fd < 0) { g_beat.fd = -2; return; }
  }
  char line[64];
  int len = std::snprintf(line, sizeof line, "%20lld %11d %20lld\n", (long long)g_beat.step,
                          (int)::getpid(), (long long)g_beat.supersteps);
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

// A relaxation's state table stored in 32 bits (frontend/rewrite/narrowstate.py has the
// legality: every value the program stores or compares is the top -- +inf, or an integer
// type's maximum -- or an integer in [0, INT32_MAX), which the planner checked on the
// graph).  `state_t<T>` is T itself unless the build defines COSYNTH_STATE32 (cosynth
// does when that check passes), so one emitted program compiles either way.  Codes: an
// integer is itself and the top is INT32_MIN, and the reductions compare codes as
// unsigned (`below`), where INT32_MIN lies above every integer of [0, INT32_MAX).  The map
// round-trips and keeps the order on that set, so a min of codes is the code of the min:
// loads widen, reductions narrow the candidate and compare codes.  A double narrows with
// one truncating conversion (cvttsd2si), which gives INT32_MIN for +inf -- the only value
// of the set outside the int32 range -- so the top needs no test of its own (it cost four
// instructions at every relaxed edge of SSSP).
template <class T> struct Narrow32 {
  int32_t v;
  static constexpr int32_t kTop = std::numeric_limits<int32_t>::min();
  static T top() {
    if constexpr (std::is_floating_point_v<T>) return std::numeric_limits<T>::infinity();
    else return std::numeric_limits<T>::max();
  }
  static bool below(int32_t a, int32_t b) { return (uint32_t)a < (uint32_t)b; }
  static int32_t pack(T x) {
#if defined(__x86_64__)
    // in asm: gcc folds _mm_cvttsd_si32 of a constant +inf to INT32_MAX, not the
    // instruction's INT32_MIN (gcc 12, measured), and (int32_t)x of +inf is undefined
    if constexpr (std::is_same_v<T, double>) {
      int32_t r;
#if defined(__AVX__)
      __asm__("vcvttsd2si %1, %0" : "=r"(r) : "x"(x));
#else
      __asm__("cvttsd2si %1, %0" : "=r"(r) : "x"(x));
#endif
      return r;
    }
#endif
    return x == top() ? kTop : (int32_t)x;
  }
  static T unpack(int32_t y) { return y == kTop ? top() : (T)y; }
  Narrow32() = default;
  Narrow32(T x) : v(pack(x)) {}
  operator T() const { return unpack(v); }
};
#ifdef COSYNTH_STATE32
template <class T> using state_t = Narrow32<T>;
#else
template <class T> using state_t = T;
#endif
template <class T> inline T load(const Narrow32<T>* p) {
  return Narrow32<T>::unpack(__atomic_load_n(&p->v, __ATOMIC_RELAXED));
}
template <class T> inline bool atomic_min(Narrow32<T>* p, T v) {
  int32_t nv = Narrow32<T>::pack(v), old = __atomic_load_n(&p->v, __ATOMIC_RELAXED);
  while (Narrow32<T>::below(nv, old)) {
    if (__atomic_compare_exchange_n(&p->v, &old, nv, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      return true;
  }
  return false;
}
template <class T> inline bool red_min(Narrow32<T>* p, T v) {
  const int32_t nv = Narrow32<T>::pack(v);
  if (Narrow32<T>::below(nv, p->v)) { p->v = nv; return true; }
  return false;
}

// `a < b` for two values of a state table (a candidate's code made once, and an entry):
// the codes' order is the values' (Narrow32), so the entry is not widened
template <class T> inline bool state_below(const T& a, const T& b) { return a < b; }
template <class T> inline bool state_below(const Narrow32<T>& a, const Narrow32<T>& b) {
  return Narrow32<T>::below(a.v, b.v);
}

// A table's every entry set to `v` (an Alloc) by all threads in equal static blocks: a
// serial fill of a 2 MB table between supersteps was part of what one thread did alone
// while the others waited (below 32k entries a region costs more than it saves)
template <class T> inline void fill_par(std::vector<T>& t, T v) {
  const int64_t k = (int64_t)t.size();
  T* p = t.data();
  #pragma omp parallel for schedule(static) if(k > 32768)
  for (int64_t i = 0; i < k; ++i) p[i] = v;
}

template <class T> inline void fill_par(std::vector<Narrow32<T>>& t, T v) {
  const int64_t k = (int64_t)t.size();
  // through the codes (a loop of Narrow32 stores was not vectorised: 5 instructions an
  // entry against 1 for the wide table); Narrow32 is standard-layout with the code its
  // only member, so its address is the code's
  const int32_t x = Narrow32<T>(v).v;
  int32_t* p = &t.data()->v;
  #pragma omp parallel for schedule(static) if(k > 32768)
  for (int64_t i = 0; i < k; ++i) p[i] = x;
}

// A table whose entries outside the blade's own range [lo, hi) no statement reads (its
// mirrors are never refreshed: frontend/rewrite/projection.py's ghost_reads): `unback`
// gives the pages wholly inside the ghost ranges back to the system once the table is
// made (they read as zeros and are mapped again only if something writes there), and its
// fills (an Alloc) set only [lo, hi).  So the blade holds memory for its own entries of
// such a table and its ghosts cost nothing.  Only whole pages inside [0, lo) and
// [hi, size) are dropped: no other object shares them.
template <class T> inline void unback(std::vector<T>& t, int64_t lo, int64_t hi) {
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  auto drop = [page](const T* a, const T* b) {
    const uintptr_t s = ((uintptr_t)a + page - 1) & ~(page - 1);
    const uintptr_t e = (uintptr_t)b & ~(page - 1);
    if (e > s) madvise((void*)s, e - s, MADV_DONTNEED);
  };
  drop(t.data(), t.data() + lo);
  drop(t.data() + hi, t.data() + t.size());
}
template <class T, class V> inline void fill_own(std::vector<T>& t, int64_t lo, int64_t hi,
                                                 V v) {
  const T x(v);
  T* p = t.data();
  #pragma omp parallel for schedule(static) if(hi - lo > 32768)
  for (int64_t i = lo; i < hi; ++i) p[i] = x;
}

// Per-thread copies of a node table a parallel nest only reduces into (private.py):
// `open` sets copies 1..P-1 to the reduction's identity (copy t by thread t, the memory
// kept from one execution to the next), the nest reduces into ptr[its thread] without
// atomics, `close` reduces every copy into the table, entry by entry in parallel
template <class T> struct Private {
  // Thread 0 of the team reduces into the table itself;
  // threads 1..P-1 into their own copies of the entries [lo, hi), the only ones the nest
  // writes through them (a sharded nest: the blade's owned range, remote entries go to
  // the outbox; otherwise the whole table); close() folds the copies into the table.  With
  // one thread there is no copy at all.  Legal because the nest never reads the table
  // (private.py): thread 0's plain reductions into it are the only writes it sees until
  // close(), so the result is the initial values reduced with every contribution, as the
  // atomics gave.  ptr[t] is indexed by local id: copy t's entry i is ptr[t][i], i in [lo, hi).
  std::vector<std::vector<T>> part;
  std::vector<T*> ptr;
  int64_t lo = 0, hi = 0;
  void open(std::vector<T>& table, int64_t lo_, int64_t hi_, T ident) {
    const int P = omp_get_max_threads();
    lo = lo_;
    hi = hi_;
    part.resize(P);
    ptr.assign(P, nullptr);
    ptr[0] = table.data();
    if (P <= 1) return;
    #pragma omp parallel for schedule(static, 1)
    for (int t = 1; t < P; ++t) {
      part[t].assign((size_t)(hi - lo), ident);
      // the copy's base shifted by lo through an integer (no out-of-range pointer
      // arithmetic): only entries lo..hi-1 are ever reached through it
      ptr[t] = reinterpret_cast<T*>(reinterpret_cast<uintptr_t>(part[t].data()) -
                                    (uintptr_t)lo * sizeof(T));
    }
  }
  template <class R> void close(std::vector<T>& table, R red) {
    const int P = (int)ptr.size();
    if (P <= 1) return;
    T* out = table.data();
    T* const* pp = ptr.data();
    const int64_t a = lo, b = hi;
    #pragma omp parallel for schedule(static) if(b - a > 32768)
    for (int64_t i = a; i < b; ++i)
      for (int t = 1; t < P; ++t) red(&out[i], pp[t][i]);
  }
};

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
  // an optional whole number: `fallback` when the key is absent
  int64_t i64_or(const std::string& k, int64_t fallback) const {
    auto it = kv.find(k);
    return it == kv.end() ? fallback : std::stoll(it->second);
  }
  double f64(const std::string& k) const { return std::stod(str(k)); }
  std::vector<int64_t> list(const std::string& k) const {
    std::vector<int64_t> out;
    std::stringstream ss(str(k));
    std::string item;
    while (std::getline(ss, item, ',')) out.push_back(std::stoll(item));
    return out;
  }
};

// ------------------------------------------------------------------ memory marks
// The blade's peak resident memory so far (VmHWM, bytes) at named points of its run: after
// MPI_Init and the configuration ("init"), with its shard loaded ("graph"), before the
// results are written ("run"), at the end ("end").  The stats file lists them, so that a
// blade's peak splits into the MPI/OpenMP process, the shard, and the run's tables.
inline std::vector<std::pair<std::string, int64_t>> g_rss_marks;
inline int64_t peak_rss_now() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  long long kib = -1;
  if (f) {
    char line[256];
    while (std::fgets(line, sizeof line, f))
      if (std::sscanf(line, "VmHWM: %lld kB", &kib) == 1) break;
    std::fclose(f);
  }
  if (kib < 0) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    kib = ru.ru_maxrss;
  }
  return (int64_t)kib * 1024;
}
inline void rss_mark(const char* name) { g_rss_marks.emplace_back(name, peak_rss_now()); }

// glibc raises its mmap threshold to the size of every large block freed (up to 32 MiB),
// after which blocks that size come from the heap and stay resident when freed: a
// blade's transient buffers (a superstep's messages, a worklist's copies) would then
// keep the peak up.  A fixed threshold keeps every block of 256 KiB or more mapped on
// its own, returned to the system when freed.
inline const bool g_malloc_fixed = [] {
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
  return true;
}();

// ------------------------------------------------------------------ SHA-256
// The content hash of a shard file (run.cfg records each blade's; bundle.py computes it
// with hashlib), streamed so that hashing costs no memory beyond one buffer.
struct Sha256 {
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  unsigned char buf[64];
  size_t fill = 0;
  uint64_t total = 0;
  static uint32_t ror(uint32_t x, int r) { return (x >> r) | (x << (32 - r)); }
  void block(const unsigned char* p) {
    static const uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};
    uint32_t w[64];
    for (int i = 0; i < 16; ++i)
      w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
             (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 64; ++i) {
      uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; ++i) {
      uint32_t t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  void update(const unsigned char* p, size_t len) {
    total += len;
    if (fill) {
      size_t take = std::min(len, 64 - fill);
      std::memcpy(buf + fill, p, take);
      fill += take; p += take; len -= take;
      if (fill == 64) { block(buf); fill = 0; }
    }
    for (; len >= 64; p += 64, len -= 64) block(p);
    if (len) { std::memcpy(buf, p, len); fill = len; }
  }
  std::string hex() {
    uint64_t bits = total * 8;
    unsigned char pad = 0x80, zero = 0;
    update(&pad, 1);
    while (fill != 56) update(&zero, 1);
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = (unsigned char)(bits >> (56 - 8 * i));
    update(len, 8);
    char out[65];
    for (int i = 0; i < 8; ++i) std::snprintf(out + 8 * i, 9, "%08x", h[i]);
    return std::string(out, 64);
  }
};

// ------------------------------------------------------------------ graph shard
// Vertex and edge ids in the adjacency arrays: 32-bit when the graph is small enough
// (COSYNTH_IDX32, set by cosynth when n and m are below 2^31), which halves the bytes
// each edge costs; every accessor returns int64_t.
#ifdef COSYNTH_IDX32
using idx_t = int32_t;
#else
using idx_t = int64_t;
#endif

// The stored type of the edge weights (COSYNTH_WEIGHT, set by cosynth from the shard
// writer's choice: planner/narrow.py): double unless every weight of the graph is exact
// in a narrower type (float for a float kernel, int16_t/int32_t for an integer one); the
// generated code converts each weight it loads to the kernel's weight type, so a narrow
// store is exact by construction.  The shard header's word 14 names the type the file
// holds (weight_code), checked against the build's.
#ifndef COSYNTH_WEIGHT
#define COSYNTH_WEIGHT double
#endif
using wt_t = COSYNTH_WEIGHT;
template <class T> constexpr int64_t weight_code() {
  if constexpr (std::is_same_v<T, double>) return 0;
  else if constexpr (std::is_same_v<T, float>) return 1;
  else if constexpr (std::is_same_v<T, int32_t>) return 2;
  else if constexpr (std::is_same_v<T, int16_t>) return 3;
  else static_assert(sizeof(T) == 0, "COSYNTH_WEIGHT: double, float, int32_t or int16_t");
}
inline const char* weight_name(int64_t code) {
  static const char* names[] = {"float64", "float32", "int32", "int16"};
  return code >= 0 && code < 4 ? names[code] : "an unknown type";
}

// Reads a shard file's arrays in order; any short read, bad magic or trailing byte stops
// the blade with an error naming the file (fail: the job ends, the blade is reported).
struct ShardReader {
  std::ifstream f;
  std::string path;
  explicit ShardReader(const std::string& p) : f(p, std::ios::binary), path(p) {
    if (!f) fail(0, "cannot read the shard file " + path);
  }
  template <class T> std::vector<T> raw(int64_t count) {
    if (count < 0) fail(0, "the shard file " + path + " is corrupt (negative size)");
    std::vector<T> v(count);
    if (count) f.read(reinterpret_cast<char*>(v.data()), (std::streamsize)(sizeof(T) * count));
    if (!f) fail(0, "the shard file " + path + " is truncated");
    return v;
  }
  // the next `count` int64 entries, each handed to f(index, value) through one small
  // buffer (64 KiB)
  template <class F> void each(int64_t count, F fn) {
    if (count < 0) fail(0, "the shard file " + path + " is corrupt (negative size)");
    int64_t part[8192];
    for (int64_t at = 0; at < count; at += 8192) {
      int64_t k = std::min<int64_t>(count - at, 8192);
      f.read(reinterpret_cast<char*>(part), (std::streamsize)(8 * k));
      if (!f) fail(0, "the shard file " + path + " is truncated");
      for (int64_t i = 0; i < k; ++i) fn(at + i, part[i]);
    }
  }
  // int64 on disk, T in memory: converted through one small buffer (64 KiB), so that
  // loading a shard never holds an int64 copy of an array beside its narrow one
  template <class T> std::vector<T> as(int64_t count) {
    if constexpr (std::is_same_v<T, int64_t>) return raw<int64_t>(count);
    if (count < 0) fail(0, "the shard file " + path + " is corrupt (negative size)");
    std::vector<T> v(count);
    int64_t part[8192];
    for (int64_t at = 0; at < count; at += 8192) {
      int64_t k = std::min<int64_t>(count - at, 8192);
      f.read(reinterpret_cast<char*>(part), (std::streamsize)(8 * k));
      if (!f) fail(0, "the shard file " + path + " is truncated");
      for (int64_t i = 0; i < k; ++i) v[at + i] = (T)part[i];
    }
    return v;
  }
  void end() {
    char c;
    if (f.read(&c, 1)) fail(0, "the shard file " + path + " has trailing bytes (not this build's)");
  }
};

// Checks that `path` hashes to `want` (run.cfg's record of the build); a missing file, or
// one of another length or content, stops the blade with an error naming it.
inline void verify_file(const std::string& path, const std::string& want) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(0, "the shard file " + path + " is missing or unreadable");
  Sha256 h;
  std::vector<char> buf(1 << 16);
  while (f) {
    f.read(buf.data(), (std::streamsize)buf.size());
    h.update(reinterpret_cast<unsigned char*>(buf.data()), (size_t)f.gcount());
  }
  if (h.hex() != want)
    fail(0, "the shard file " + path + " does not match this build (content hash " +
                h.hex().substr(0, 12) + "..., run.cfg records " + want.substr(0, 12) +
                "...): truncated, damaged or from another build; rebuild");
}

// An edge array of the shard: read into memory, or -- the fileserver-streamed layout
// (the shard header's word 12) -- a view into a read-only mapping of the blade's own
// shard file, whose pages the kernel reads from the file as the loops walk them and may
// drop again (clean file pages, advised sequential): the edges need not fit in DRAM.
// Copies keep pointing at their own storage (or at the shared mapping, or at a shared
// adopted buffer: `adopt`, an array the caller filled without value-initialising it).
template <class T> struct Arr {
  std::vector<T> own;
  std::shared_ptr<const T> held;  // an adopted buffer (adopt), shared by the copies
  const T* p = nullptr;
  int64_t n = 0;
  bool mapped = false;
  Arr() = default;
  Arr(const Arr& o)
      : own(o.own), held(o.held), p(o.mapped ? o.p : own.data()), n(o.n), mapped(o.mapped) {}
  Arr(Arr&& o) noexcept
      : own(std::move(o.own)), held(std::move(o.held)), p(o.mapped ? o.p : own.data()),
        n(o.n), mapped(o.mapped) {}
  Arr& operator=(Arr o) {
    own.swap(o.own);
    held.swap(o.held);
    mapped = o.mapped;
    n = o.n;
    p = mapped ? o.p : own.data();
    return *this;
  }
  explicit Arr(std::vector<T>&& v) : own(std::move(v)), p(own.data()), n((int64_t)own.size()) {}
  static Arr view(const T* q, int64_t k) {
    Arr a;
    a.p = q;
    a.n = k;
    a.mapped = true;
    return a;
  }
  static Arr adopt(std::unique_ptr<T[]> q, int64_t k) {
    Arr a = view(q.get(), k);
    a.held = std::shared_ptr<const T>(q.release(), std::default_delete<const T[]>());
    return a;
  }
  const T& operator[](int64_t i) const { return p[i]; }
  const T* data() const { return p; }
  int64_t size() const { return n; }
};

// The read-only mapping of a shard file (unmapped when the last Graph holding it goes).
struct Mapping {
  const char* base = nullptr;
  int64_t size = 0;
  Mapping(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) fail(0, "cannot read the shard file " + path);
    struct stat st;
    if (fstat(fd, &st) != 0) { ::close(fd); fail(0, "cannot read the shard file " + path); }
    size = (int64_t)st.st_size;
    void* m = size ? mmap(nullptr, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0) : nullptr;
    ::close(fd);
    if (m == MAP_FAILED) fail(0, "cannot map the shard file " + path);
    base = static_cast<const char*>(m);
    if (base) madvise(const_cast<char*>(base), (size_t)size, MADV_SEQUENTIAL);
  }
  ~Mapping() { if (base) munmap(const_cast<char*>(base), (size_t)size); }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
};

// One blade's part of the graph, with *local* vertex ids.  The blade holds the rows of
// its structure range [glo, ghi) (its own vertices [lo, hi), or the whole graph when the
// program is replicated: then glo = 0, ghi = n) and the sorted list `ghosts` of the other
// vertices its edges (or its node parameters) touch.  Local id l < nrange is vertex
// glo + l; l >= nrange is ghosts[l - nrange].  Every node table of the program has nl
// entries in this order; the blade's owned entries are the local ids [olo, ohi).
// Edge ids stay global: the CSR positions of rows [glo, ghi) are [elo, ehi).
// `send` holds the local ids of the owned vertices blade r holds as ghosts (in r's ghost
// order; SendSet: a list or a bitmap per peer); this blade's ghosts owned by blade r are the
// ghosts [ghost_off[r], ghost_off[r+1]).  The shard file (bundle.py's write_shards):
// "CSYNSHD2", int64 header[16] (n, m, glo, ghi, has_csc, nghost, lo, hi, replicated, P,
// rank, has_csr, streamed, omitted, weight type, 0), indptr, [dst, src (local), w],
// ghosts, out_deg, in_deg, send_off, ghost_off, send, and with has_csc: in_indptr, in_src
// (local), in_eid, in_w.  Weights are stored as the header's word 14 says (weight_code:
// 0 float64, 1 float32, 2 int32, 3 int16), each weight block padded with zero bytes to a
// multiple of 8 (so that every later array stays 8-byte aligned in a mapping).  `omitted` (a bit mask, SHARD_NO_*) names the arrays the program never reads
// (bundle.py finds them in its text): they are stored with no entries, so a blade holds
// only what its loops use (BFS: no weights, no CSR sources, no degrees).
// `streamed`: the edge arrays (dst, src, w, in_src, in_eid, in_w) are views of the mapped
// file (Arr), not read; the program is then built without COSYNTH_IDX32 (the file's ids
// are int64).
// The degrees of a blade's local vertices, stored in idx_t (a degree is below m, which
// COSYNTH_IDX32 bounds by 2^31); read as int64_t like every other count.
struct Degrees {
  std::vector<idx_t> v;
  Degrees() = default;
  explicit Degrees(std::vector<idx_t>&& d) : v(std::move(d)) {}
  int64_t operator[](int64_t i) const { return v[i]; }
  size_t size() const { return v.size(); }
};

// The owned vertices each other blade holds as ghosts, peer r's in r's ghost order (which
// is ascending local id): entries [off[r], off[r+1]) of the send side.  Each peer's set is
// kept as the smaller of a list of local ids (an idx_t each) and a bitmap over the owned
// range (a bit per owned vertex): at 8 blades on kron most owned vertices are sent to most
// peers, and a list costs 32 times the bitmap's bits; at many blades a peer's set is
// small and the list wins.  `each(r, fn)` calls fn(local id, position in r's list) in
// order; the k-th set bit is the k-th entry, so both forms give the same positions.
struct SendSet {
  std::vector<int64_t> off;    // P + 1: each peer's entries
  std::vector<int64_t> start;  // P: where peer r's ids (list) or words (bitmap) begin
  std::vector<uint8_t> bitmap; // P: 1 when peer r's set is a bitmap
  std::vector<idx_t> list;
  std::vector<uint64_t> bits;
  int64_t olo = 0, words = 0;  // the owned range's first local id, bitmap words per peer
  int64_t count(int r) const { return off[r + 1] - off[r]; }
  template <class F> void each(int r, F fn) const {
    if (!bitmap[r]) {
      const idx_t* p = list.data() + start[r];
      for (int64_t j = 0, c = count(r); j < c; ++j) fn((int64_t)p[j], j);
      return;
    }
    const uint64_t* b = bits.data() + start[r];
    int64_t j = 0;
    for (int64_t w = 0; w < words; ++w)
      for (uint64_t x = b[w]; x; x &= x - 1)
        fn(olo + w * 64 + __builtin_ctzll(x), j++);
  }
  // bytes held (the memory model's figure: planner/memory.py)
  int64_t bytes() const {
    return (int64_t)(list.size() * sizeof(idx_t) + bits.size() * sizeof(uint64_t));
  }
  // from the file: the offsets `off` (P + 1, read), then every peer's local ids (int64,
  // ascending)
  static SendSet read(ShardReader& rd, std::vector<int64_t>&& off, int64_t olo,
                      int64_t owned) {
    SendSet s;
    const int size = (int)off.size() - 1;
    s.off = std::move(off);
    s.olo = olo;
    s.words = (owned + 63) / 64;
    s.start.assign(size, 0);
    s.bitmap.assign(size, 0);
    int64_t nl = 0, nw = 0;
    for (int r = 0; r < size; ++r) {
      const int64_t c = s.count(r);
      if (c < 0) fail(0, "the shard file " + rd.path + " is corrupt (negative size)");
      s.bitmap[r] = c * (int64_t)sizeof(idx_t) > s.words * 8;
      s.start[r] = s.bitmap[r] ? nw : nl;
      (s.bitmap[r] ? nw : nl) += s.bitmap[r] ? s.words : c;
    }
    s.list.resize(nl);
    s.bits.assign(nw, 0);
    for (int r = 0; r < size; ++r) {
      const int64_t c = s.count(r), at = s.start[r];
      if (!s.bitmap[r]) {
        rd.each(c, [&](int64_t i, int64_t l) { s.list[at + i] = (idx_t)l; });
        continue;
      }
      int64_t last = -1;
      rd.each(c, [&](int64_t, int64_t l) {
        const int64_t k = l - olo;
        if (k < 0 || k >= owned || l <= last)
          fail(0, "the shard file " + rd.path + " is corrupt (a send list out of order)");
        last = l;
        s.bits[at + k / 64] |= uint64_t(1) << (k % 64);
      });
    }
    return s;
  }
};

enum : int64_t {
  SHARD_NO_W = 1, SHARD_NO_SRC = 2, SHARD_NO_OUT_DEG = 4, SHARD_NO_IN_DEG = 8,
  SHARD_NO_IN_W = 16, SHARD_NO_IN_EID = 32
};

// The accessors the generated code calls on `G`, shared by Graph and by GraphView (the
// copy a parallel region holds): written once over the derived type's members, which
// are std::vectors in Graph and Spans (base pointer and length) in GraphView.
template <class D> struct GraphAccess {
  const D& g() const { return static_cast<const D&>(*this); }
  // local <-> global vertex ids (the only translation the generated code uses)
  int64_t global(int64_t l) const {
    return l < g().nrange ? g().glo + l : (int64_t)g().ghosts[l - g().nrange];
  }
  int64_t local(int64_t v) const {  // -1 when the blade holds no entry of v
    if (v >= g().glo && v < g().ghi) return v - g().glo;
    const idx_t* b = g().ghosts.data(), * e = b + g().ghosts.size();
    const idx_t* it = std::lower_bound(b, e, (idx_t)v);
    return it != e && (int64_t)*it == v ? g().nrange + (it - b) : -1;
  }
  int64_t local_at(int64_t v, int line) const {
    check(v, g().n, line, "vertex");
    int64_t l = local(v);
    if (l < 0)
      fail(line, "vertex " + std::to_string(v) + " is neither owned by this blade nor a ghost "
                 "of its edges");
    return l;
  }
  // out-edge positions of vertex v (global edge ids)
  int64_t out_begin(int64_t v) const { return g().indptr[v - g().glo]; }
  int64_t out_end(int64_t v) const { return g().indptr[v - g().glo + 1]; }
  int64_t in_begin(int64_t v) const { return g().in_indptr[v - g().glo]; }
  int64_t in_end(int64_t v) const { return g().in_indptr[v - g().glo + 1]; }
  int64_t edge_dst_l(int64_t e) const { return g().dst[e - g().elo]; }
  int64_t edge_src_l(int64_t e) const { return g().src[e - g().elo]; }
  int64_t edge_dst(int64_t e) const { return global(g().dst[e - g().elo]); }
  int64_t edge_src(int64_t e) const { return global(g().src[e - g().elo]); }
  wt_t weight(int64_t e) const { return g().w[e - g().elo]; }
  bool has_edge(int64_t u, int64_t v) const {  // replicated programs only (local == global)
    const idx_t* b = g().dst.data() + (out_begin(u) - g().elo);
    const idx_t* e = g().dst.data() + (out_end(u) - g().elo);
    const idx_t* p = std::lower_bound(b, e, (idx_t)v);
    return p != e && (int64_t)*p == v;
  }
  void need_row(int64_t v, int line) const {
    if (v < g().glo || v >= g().ghi)
      fail(line, "vertex " + std::to_string(v) + " is not in this blade's shard");
  }
};

struct Graph : GraphAccess<Graph> {
  int64_t omitted = 0;  // SHARD_NO_* bits: arrays the file holds no entries of
  int64_t n = 0, m = 0, glo = 0, ghi = 0, lo = 0, hi = 0, elo = 0, ehi = 0, clo = 0;
  int64_t nrange = 0, nghost = 0, nl = 0, olo = 0, ohi = 0;
  bool has_csc = false, replicated = false, streamed = false;
  std::vector<int64_t> indptr;                    // CSR rows [glo, ghi): global positions
  Arr<idx_t> dst, src;                            // local ids of positions [elo, ehi)
  Arr<wt_t> w;                                    // weights of those positions
  std::vector<int64_t> in_indptr;                 // CSC rows [glo, ghi)
  Arr<idx_t> in_src, in_eid;                      // local source ids, global edge ids
  Arr<wt_t> in_w;
  std::shared_ptr<Mapping> map;                   // the shard file, when streamed
  std::vector<idx_t> ghosts;                      // global ids, sorted
  Degrees out_deg, in_deg;                        // degrees of the local vertices
  std::vector<int64_t> ghost_off;                 // per blade (P + 1 entries)
  SendSet send;                                   // what each blade holds of ours

  static Graph read(const std::string& path, int rank, int size) {
    rss_mark("init");
    ShardReader rd(path);
    char magic[8];
    rd.f.read(magic, 8);
    if (!rd.f || std::memcmp(magic, "CSYNSHD2", 8) != 0)
      fail(0, "the shard file " + path + " is not a cosynth graph shard (bad magic)");
    Graph g;
    auto h = rd.raw<int64_t>(16);
    g.n = h[0]; g.m = h[1]; g.glo = h[2]; g.ghi = h[3]; g.has_csc = h[4] != 0;
    g.nghost = h[5]; g.lo = h[6]; g.hi = h[7]; g.replicated = h[8] != 0;
    if (h[9] != size || h[10] != rank)
      fail(0, "the shard file " + path + " is blade " + std::to_string(h[10]) + " of " +
                  std::to_string(h[9]) + ", not blade " + std::to_string(rank) + " of " +
                  std::to_string(size));
    g.nrange = g.ghi - g.glo;
    g.nl = g.nrange + g.nghost;
    g.olo = g.lo - g.glo;
    g.ohi = g.hi - g.glo;
    g.indptr = rd.raw<int64_t>(g.nrange + 1);
    g.elo = g.indptr.front();
    g.ehi = g.indptr.back();
    const int64_t ne = h[11] ? g.ehi - g.elo : 0;  // no out-edge arrays: the program pulls
    g.streamed = h[12] != 0;
    g.omitted = h[13];
    if (h[14] != weight_code<wt_t>())
      fail(0, "the shard file " + path + " stores edge weights as " + weight_name(h[14]) +
                  ", but the blade was built for " + weight_name(weight_code<wt_t>()) +
                  " (COSYNTH_WEIGHT): rebuild with cosynth build");
    auto keep = [&](int64_t bit, int64_t count) { return (g.omitted & bit) ? 0 : count; };
    if (g.streamed) {
      if (sizeof(idx_t) != sizeof(int64_t))
        fail(0, "the shard file " + path + " is streamed: the blade must be built without "
                "COSYNTH_IDX32 (rebuild with cosynth build)");
      g.map = std::make_shared<Mapping>(path);
    }
    g.dst = g.edges<idx_t>(rd, ne);
    g.src = g.edges<idx_t>(rd, keep(SHARD_NO_SRC, ne));
    g.w = g.weights(rd, keep(SHARD_NO_W, ne));
    g.ghosts = rd.as<idx_t>(g.nghost);
    g.out_deg = Degrees(rd.as<idx_t>(keep(SHARD_NO_OUT_DEG, g.nl)));
    g.in_deg = Degrees(rd.as<idx_t>(keep(SHARD_NO_IN_DEG, g.nl)));
    std::vector<int64_t> send_off = rd.raw<int64_t>(size + 1);
    g.ghost_off = rd.raw<int64_t>(size + 1);
    g.send = SendSet::read(rd, std::move(send_off), g.olo, g.ohi - g.olo);
    if (g.has_csc) {
      g.in_indptr = rd.raw<int64_t>(g.nrange + 1);
      g.clo = g.in_indptr.front();
      int64_t cn = g.in_indptr.back() - g.clo;
      g.in_src = g.edges<idx_t>(rd, cn);
      g.in_eid = g.edges<idx_t>(rd, keep(SHARD_NO_IN_EID, cn));
      g.in_w = g.weights(rd, keep(SHARD_NO_IN_W, cn));
    }
    rd.end();
    rss_mark("graph");
    return g;
  }
  // the next `count` entries of the file: read (int64 on disk for ids), or, streamed, a
  // view of the mapping at the reader's position (which then skips them)
  template <class T> Arr<T> edges(ShardReader& rd, int64_t count, bool raw = false) {
    if (!streamed) return Arr<T>(raw ? rd.raw<T>(count) : rd.as<T>(count));
    const int64_t at = (int64_t)rd.f.tellg(), bytes = count * (int64_t)sizeof(T);
    if (count < 0 || at < 0 || at + bytes > map->size)
      fail(0, "the shard file " + rd.path + " is truncated");
    rd.f.seekg(bytes, std::ios::cur);
    return Arr<T>::view(reinterpret_cast<const T*>(map->base + at), count);
  }
  // the next `count` weights, stored as wt_t, then the block's padding to 8 bytes
  Arr<wt_t> weights(ShardReader& rd, int64_t count) {
    Arr<wt_t> a = edges<wt_t>(rd, count, true);
    const int64_t pad = (8 - (count * (int64_t)sizeof(wt_t)) % 8) % 8;
    if (pad) {
      char skip[8];
      rd.f.read(skip, pad);
      if (!rd.f) fail(0, "the shard file " + rd.path + " is truncated");
    }
    return a;
  }
  // every row of the shard lists the same neighbours, in the same order, as its vertex's
  // in-edges (the graph is symmetric on this blade): then an in-edge loop that mirrors
  // its vertex's out-edge loop repeats it (frontend/rewrite/mirror.py); O(rows + edges),
  // read once before the clock starts; false when either side is not stored
  bool mirrored() const {
    if (!has_csc || dst.n != ehi - elo || in_src.n != in_indptr.back() - clo) return false;
    int bad = 0;
    #pragma omp parallel for schedule(static) reduction(|:bad)
    for (int64_t r = 0; r < nrange; ++r) {
      const int64_t a = indptr[r] - elo, c = in_indptr[r] - clo;
      const int64_t d = indptr[r + 1] - indptr[r];
      if (d != in_indptr[r + 1] - in_indptr[r]) { bad = 1; continue; }
      for (int64_t i = 0; i < d; ++i)
        if (dst[a + i] != in_src[c + i]) { bad = 1; break; }
    }
    return !bad;
  }
};

// A read-only span of a graph array: its base pointer and length, copied by value.
template <class T> struct Span {
  const T* p = nullptr;
  int64_t n = 0;
  const T& operator[](int64_t i) const { return p[i]; }
  const T* data() const { return p; }
  int64_t size() const { return n; }
  const T& back() const { return p[n - 1]; }
};

// The graph as a parallel region reads it (backends/cpp/loops.py, `region_locals`): the
// same accessors as Graph's hot ones, over base pointers and bounds held by value.  Each
// thread of a region holds its own copy (firstprivate), whose address is never taken, so
// the compiler keeps its pointers and bounds in registers across the atomics and stores
// of an edge loop; reached through the shared Graph, they were reloaded after each one
// (an atomic builtin, or a store that may alias, may change any escaped memory).  Legal:
// nothing writes the graph while a kernel runs, so the copy equals the Graph throughout.
struct GraphView : GraphAccess<GraphView> {
  int64_t n = 0, m = 0, glo = 0, ghi = 0, elo = 0, ehi = 0, clo = 0;
  int64_t nrange = 0, nl = 0, olo = 0, ohi = 0;
  int64_t cend = 0;  // the end of the CSC positions (in_indptr.back(), or clo without one)
  Span<int64_t> indptr, in_indptr;
  Span<idx_t> dst, src, in_src, in_eid, ghosts, out_deg, in_deg;
  Span<wt_t> w, in_w;
  GraphView() = default;
  explicit GraphView(const Graph& g)
      : n(g.n), m(g.m), glo(g.glo), ghi(g.ghi), elo(g.elo), ehi(g.ehi), clo(g.clo),
        nrange(g.nrange), nl(g.nl), olo(g.olo), ohi(g.ohi),
        cend(g.in_indptr.empty() ? g.clo : g.in_indptr.back()),
        indptr{g.indptr.data(), (int64_t)g.indptr.size()},
        in_indptr{g.in_indptr.data(), (int64_t)g.in_indptr.size()},
        dst{g.dst.data(), g.dst.size()}, src{g.src.data(), g.src.size()},
        in_src{g.in_src.data(), g.in_src.size()}, in_eid{g.in_eid.data(), g.in_eid.size()},
        ghosts{g.ghosts.data(), (int64_t)g.ghosts.size()},
        out_deg{g.out_deg.v.data(), (int64_t)g.out_deg.v.size()},
        in_deg{g.in_deg.v.data(), (int64_t)g.in_deg.v.size()},
        w{g.w.data(), g.w.size()}, in_w{g.in_w.data(), g.in_w.size()} {}
};

// The first position of a sorted row [b, e) whose entry satisfies `cut` (false ... false
// true ... true), found by galloping from one end (the ordered intersection's hoisted
// bounds, backends/cpp/intersect.py): probes 1, 2, 4, ... entries in from that end, then a
// binary search inside the last step, so it costs O(log d) in the distance d from that
// end and reads only the cache lines there, while a binary search over the whole row
// starts in its middle (a miss per halving on a long row).  `from_end`: probe from e
// (the kept part [p, e) is expected short), else from b (the kept part [b, p)).
// The first position of [lo, hi) whose entry satisfies `cut` (false ... false true ...
// true), by a binary search whose step is a select, not a branch: which half holds it
// depends on the data, and a branch on it was mispredicted about every other probe (TC on
// kron-16: 5.5 M of the merge nest's 42.6 M mispredicts, in std::partition_point).
// Invariant: the answer lies in [lo, lo + n].
template <class Cut> inline const idx_t* first_cut(const idx_t* lo, const idx_t* hi, Cut cut) {
  std::ptrdiff_t n = hi - lo;
  if (n <= 0) return lo;
  while (n > 1) {
    const std::ptrdiff_t half = n >> 1;
    lo = cut(lo[half - 1]) ? lo : lo + half;
    n -= half;
  }
  return lo + (cut(*lo) ? 0 : 1);
}

template <class Cut> inline const idx_t* gallop(const idx_t* b, const idx_t* e, bool from_end,
                                                Cut cut) {
  std::ptrdiff_t step = 1;
  if (from_end) {
    const idx_t* hi = e;  // every entry of [hi, e) satisfies cut
    while (hi > b) {
      const idx_t* lo = hi - b > step ? hi - step : b;
      if (!cut(*lo)) return first_cut(lo + 1, hi, cut);
      hi = lo;
      step <<= 1;
    }
    return b;
  }
  const idx_t* lo = b;  // no entry of [b, lo) satisfies cut
  while (lo < e) {
    const idx_t* hi = e - lo > step ? lo + step : e;
    if (cut(hi[-1])) return first_cut(lo, hi - 1, cut);
    lo = hi;
    step <<= 1;
  }
  return e;
}

// Vertex relabelling by ascending out-degree (ties by id), for a program that holds the
// whole graph on one blade (replicated, not streamed): the rows are rebuilt under the new
// ids and sorted, the degrees renamed; weights and in-edges are dropped (a program the
// relabelling rule admits reads neither).  Returns p (p[old] = new), or an empty vector
// when the graph is not such a graph (the program then runs on the ids as given).
// The order is a counting sort by degree (stable: ties stay in id order, the order a
// stable comparison sort gives); the new rows are not value-initialised but written by
// the parallel loop that fills them (each thread first-touches the rows it fills), and
// that loop takes the rows from the largest degree down, so that the last chunks a
// thread picks up are the short rows (no hub row left to one thread at the end).
inline std::vector<int64_t> relabel_by_degree(Graph& g) {
  const int64_t n = g.n;
  if (!g.replicated || g.streamed || g.glo != 0 || g.ghi != n || g.elo != 0 || g.ehi != g.m ||
      g.nghost != 0)
    return {};
  std::vector<int64_t> order(n), p(n), indptr(n + 1, 0);
  // degrees from the rows: the shard may leave the degree arrays out (SHARD_NO_OUT_DEG)
  auto deg = [&](int64_t v) { return g.indptr[v + 1] - g.indptr[v]; };
  int64_t dmax = 0;
  for (int64_t v = 0; v < n; ++v) dmax = std::max(dmax, deg(v));
  std::vector<int64_t> at_deg(dmax + 2, 0);
  for (int64_t v = 0; v < n; ++v) ++at_deg[deg(v) + 1];
  for (int64_t d = 0; d <= dmax; ++d) at_deg[d + 1] += at_deg[d];
  for (int64_t v = 0; v < n; ++v) order[at_deg[deg(v)]++] = v;
  for (int64_t i = 0; i < n; ++i) p[order[i]] = i;
  for (int64_t i = 0; i < n; ++i) indptr[i + 1] = indptr[i] + deg(order[i]);
  std::unique_ptr<idx_t[]> dst(new idx_t[g.m]), src(new idx_t[g.m]);
  #pragma omp parallel for schedule(dynamic, 64)
  for (int64_t r = 0; r < n; ++r) {
    const int64_t i = n - 1 - r;
    const int64_t o = order[i], b = g.indptr[o], e = g.indptr[o + 1], at = indptr[i];
    for (int64_t k = b; k < e; ++k) {
      dst[at + k - b] = (idx_t)p[g.dst[k]];
      src[at + k - b] = (idx_t)i;
    }
    std::sort(dst.get() + at, dst.get() + at + (e - b));
  }
  // the degree arrays follow the renaming where the shard holds them (else stay empty)
  auto renamed = [&](const Degrees& d) {
    if ((int64_t)d.size() != n) return d;
    std::vector<idx_t> out(n);
    for (int64_t i = 0; i < n; ++i) out[i] = d.v[order[i]];
    return Degrees(std::move(out));
  };
  Degrees od = renamed(g.out_deg), id = renamed(g.in_deg);
  g.indptr = std::move(indptr);
  g.dst = Arr<idx_t>::adopt(std::move(dst), g.m);
  g.src = Arr<idx_t>::adopt(std::move(src), g.m);
  g.w = Arr<wt_t>();
  g.has_csc = false;
  g.out_deg = std::move(od);
  g.in_deg = std::move(id);
  return p;
}

// A node table of a relabelled run under the user's ids: out[x] = t[p[x]]
template <class T> inline std::vector<T> unrelabel(const std::vector<T>& t,
                                                   const std::vector<int64_t>& p) {
  if (p.empty()) return t;
  std::vector<T> out(t.size());
  for (size_t x = 0; x < p.size(); ++x) out[x] = t[p[x]];
  return out;
}

// A node array argument's entries at the blade's local vertices (inputs/NAME.R.bin)
template <class T> inline std::vector<T> read_input(const std::string& path, int64_t nl) {
  ShardReader rd(path);
  std::vector<T> v = rd.raw<T>(nl);
  rd.end();
  return v;
}

// The renaming of a degree-ordered layout (backends/cpp/bundle.py wrote the shards of the
// graph renamed by p and p[user id] = layout id to run.cfg's `layout` file, checked by its
// SHA-256): read before the clock, used by `unrelabel` on the results; empty when the
// shards keep the user's ids
inline std::vector<int64_t> read_layout(const Config& cfg, int64_t n) {
  auto it = cfg.kv.find("layout");
  if (it == cfg.kv.end() || it->second.empty()) return {};
  verify_file(it->second, cfg.str("sha256.layout"));
  return read_input<int64_t>(it->second, n);
}

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
  int64_t dense = 0, sparse = 0;  // refreshes sent whole / sent as changed entries (per peer)
  std::vector<double> superstep;  // seconds of each distributed loop run, with its exchange
  // per superstep (for the HTML report): the communication seconds up to its end, taken
  // when its nest reports (nest_done), and the FPGA cycles of that run (0 on a CPU)
  std::vector<double> step_comm_mark;
  std::vector<uint64_t> step_cycles;
  std::vector<int64_t> sent_to;  // bytes this blade sent to each blade
  std::vector<int64_t> step_bytes;  // bytes sent since the previous superstep, at each one
  int64_t bytes_mark = 0;
  void step(double dt) {
    superstep.push_back(dt);
    step_bytes.push_back(bytes - bytes_mark);
    bytes_mark = bytes;
  }
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
// Beside its wall seconds, a nest's CPU seconds on the thread that timed it (the
// thread's own clock, CLOCK_THREAD_CPUTIME_ID): on a shared machine a run gets a share of
// a core, which the wall clock counts and the CPU clock does not.  The nests are timed as
// `t0 = nest_start(); ...; nest_done(..., now() - t0)`: nest_start pushes its reading of
// both clocks on this thread's stack of open nests, every now() keeps its reading as the
// latest, and nest_done finds the open nest whose start is the latest reading's wall time
// less the nest's seconds (exact in doubles: the two times are close, Sterbenz), takes
// the CPU seconds between the two and closes it with every nest opened after it (one
// left by an early exit).  The stack is as deep as the nests are nested, however many
// inner nests run inside an outer one (bc: a BFS per source inside the loop over the
// sources).  A start not on the stack makes the nest's CPU seconds unknown (-1).
struct ClockReading {
  double wall = -1, cpu = 0;
};
inline thread_local ClockReading t_clock_last;
inline thread_local std::vector<ClockReading> t_open_nests;

inline double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

inline double now() {
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
  t_clock_last = {wall, cpu_now()};
  return wall;
}

// now(), and the reading opens a nest (see above)
inline double nest_start() {
  const double wall = now();
  t_open_nests.push_back(t_clock_last);
  return wall;
}

// the CPU seconds since the open nest that started `seconds` before the latest reading
// (and that nest closed); 0 for a nest of no time (reported without a start)
inline double cpu_since_last(double seconds) {
  if (seconds <= 0) return 0.0;
  const ClockReading& end = t_clock_last;
  const double start = end.wall - seconds;
  for (size_t i = t_open_nests.size(); i-- > 0;) {
    const ClockReading r = t_open_nests[i];
    if (r.wall == start) {
      t_open_nests.resize(i);
      return end.cpu - r.cpu;
    }
    if (r.wall < start) break;  // older than the start: the start was never opened
  }
  return -1;
}

struct NestStat {
  int64_t runs = 0, edges = 0, nodes = 0;
  double seconds = 0;
  double cpu = 0;  // CPU seconds of the timing thread; < 0: some run's start was lost
  uint64_t cycles = 0;
  bool fpga = false;
};
inline std::map<int, NestStat> g_nests;

inline void nest_done(int line, int64_t edges, int64_t nodes, double seconds,
                      uint64_t cycles = 0, bool fpga = false) {
  const double cpu = cpu_since_last(seconds);
  g_beat.supersteps = (int64_t)g_stats.superstep.size();
  heartbeat();
  NestStat& s = g_nests[line];
  s.runs += 1;
  s.edges += edges;
  s.nodes += nodes;
  s.seconds += seconds;
  s.cpu = (s.cpu < 0 || cpu < 0) ? -1 : s.cpu + cpu;
  s.cycles += cycles;
  s.fpga = s.fpga || fpga;
  if (g_stats.superstep.size() > g_stats.step_comm_mark.size()) {  // a superstep ended
    g_stats.step_comm_mark.push_back(g_stats.comm);
    g_stats.step_cycles.push_back(cycles);
  }
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

// ------------------------------------------------------------------ stall watch
// Every blade bounds how long it waits for the others in a collective (barrier, exchange,
// refresh, allreduce), whatever launched it (cosynth, run.sh, a hostfile on a cluster):
// the limit is $COSYNTH_STALL_TIMEOUT seconds when set (0 turns the watch off), else
// run.cfg's `stall` (cosynth writes max(30 s, 20 x the plan's predicted makespan)).
// A blade that has waited that long asks every other blade (tag kAsk, the question's
// number); blades answer from inside their own waits (tag kAnswer: the number and their
// step), so a blade that is suspended, spinning in a loop nest or gone does not.  After
// kGrace seconds the lowest-ranked blade that is still answering prints one line naming
// the blades that did not answer and ends the job with MPI_Abort(4); when every blade
// answered (the last one had just arrived) the wait goes on.  Without a limit, or with one
// blade, the blocking MPI calls run unchanged.
struct StallWatch {
  double limit = 0;       // seconds; 0: no watch
  int size = 1;
  int64_t asked = 0;      // number of this blade's last question
  struct Sent { int64_t msg[2]; MPI_Request req; };
  std::vector<std::unique_ptr<Sent>> sent;  // questions and answers in flight
};
inline StallWatch g_watch;
constexpr int kAsk = 47, kAnswer = 48;
constexpr double kGrace = 2.0;

// the watch's limit: $COSYNTH_STALL_TIMEOUT, else run.cfg's `stall`, else none
inline void watch_stalls(const Config& cfg, int nblades) {
  g_watch.size = nblades;
  const char* env = std::getenv("COSYNTH_STALL_TIMEOUT");
  auto it = cfg.kv.find("stall");
  const char* text = env && *env ? env : it != cfg.kv.end() ? it->second.c_str() : nullptr;
  if (text) {
    char* end = nullptr;
    double v = std::strtod(text, &end);
    g_watch.limit = end != text && std::isfinite(v) && v > 0 ? v : 0;
  }
}

inline void watch_send(int to, int tag, int64_t a, int64_t b) {
  auto& list = g_watch.sent;
  list.erase(std::remove_if(list.begin(), list.end(), [](const auto& s) {
               int done = 0;
               MPI_Test(&s->req, &done, MPI_STATUS_IGNORE);
               return done != 0;
             }), list.end());
  list.push_back(std::make_unique<StallWatch::Sent>());
  auto& s = *list.back();
  s.msg[0] = a;
  s.msg[1] = b;
  MPI_Isend(s.msg, 2, MPI_INT64_T, to, tag, MPI_COMM_WORLD, &s.req);
}

// answer every question waiting for this blade; record answers to question `seq`
inline void watch_poll(std::vector<int64_t>* answers, int64_t seq) {
  for (int tag : {kAsk, kAnswer}) {
    for (;;) {
      int flag = 0;
      MPI_Status st;
      MPI_Iprobe(MPI_ANY_SOURCE, tag, MPI_COMM_WORLD, &flag, &st);
      if (!flag) break;
      int64_t msg[2];
      MPI_Recv(msg, 2, MPI_INT64_T, st.MPI_SOURCE, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      if (tag == kAsk) watch_send(st.MPI_SOURCE, kAnswer, msg[0], g_beat.step);
      else if (answers && msg[0] == seq) (*answers)[st.MPI_SOURCE] = msg[1];
    }
  }
}

// wait for `n` requests of the collective `what`, under the watch (see above)
inline void await_all(int n, MPI_Request* req, const char* what) {
  if (g_watch.limit <= 0 || g_watch.size <= 1) {
    if (n) MPI_Waitall(n, req, MPI_STATUSES_IGNORE);
    return;
  }
  const double t0 = now();
  double ask_at = t0 + g_watch.limit, verdict_at = 0;
  std::vector<int64_t> answers;
  for (unsigned spin = 1;; ++spin) {
    int done = 0;
    MPI_Testall(n, req, &done, MPI_STATUSES_IGNORE);
    if (done) return;
    if (spin % 64) continue;
    watch_poll(verdict_at ? &answers : nullptr, g_watch.asked);
    const double t = now();
    if (t - t0 > 0.01) usleep(t - t0 > 1 ? 1000 : 50);  // a long wait need not spin
    if (!verdict_at && t >= ask_at) {
      answers.assign(g_watch.size, -1);
      answers[g_rank] = g_beat.step;
      ++g_watch.asked;
      for (int r = 0; r < g_watch.size; ++r)
        if (r != g_rank) watch_send(r, kAsk, g_watch.asked, 0);
      verdict_at = t + kGrace;
    } else if (verdict_at && t >= verdict_at) {
      std::string silent;
      int reporter = -1, count = 0;
      for (int r = 0; r < g_watch.size; ++r) {
        if (answers[r] < 0) {
          silent += (count++ ? ", " : "") + std::to_string(r);
        } else if (reporter < 0) {
          reporter = r;
        }
      }
      if (count == 0) {  // everyone answered: the last blade has just arrived
        verdict_at = 0;
        ask_at = t + g_watch.limit;
        continue;
      }
      // the lowest answering blade reports; the others wait for it to end the job (and
      // report themselves only if it does not, a grace later)
      if (reporter == g_rank || t >= verdict_at + kGrace * 2) {
        std::fprintf(stderr,
                     "cosynth: %s %s stopped making progress: blade %d waited %.0f s at "
                     "step %lld (%s) and %s did not answer within %.0f s; every blade is "
                     "stopped (a suspended, looping or dead blade; COSYNTH_STALL_TIMEOUT="
                     "SECONDS allows a longer superstep, 0 turns this check off)\n",
                     count == 1 ? "blade" : "blades", silent.c_str(), g_rank, t - t0,
                     (long long)g_beat.step, what, count == 1 ? "it" : "they", kGrace);
        std::fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 4);
        std::exit(4);
      }
    }
  }
}

// MPI_Barrier under the watch
inline void barrier() {
  heartbeat();
  if (g_watch.limit <= 0 || g_watch.size <= 1) {
    MPI_Barrier(MPI_COMM_WORLD);
    return;
  }
  MPI_Request req;
  MPI_Ibarrier(MPI_COMM_WORLD, &req);
  await_all(1, &req, "barrier");
}

// ------------------------------------------------------------------ 64-bit transfers
// Every message size is an int64_t byte count; a message longer than the chunk size goes
// as several MPI messages of at most g_chunk bytes (MPI's counts are int).  The chunk
// size is COSYNTH_CHUNK_BYTES from the environment, else the compile-time COSYNTH_CHUNK.
#ifndef COSYNTH_CHUNK
#define COSYNTH_CHUNK (1 << 30)
#endif
inline int64_t chunk_bytes() {
  static int64_t c = [] {
    const char* e = std::getenv("COSYNTH_CHUNK_BYTES");
    int64_t v = e && *e ? std::atoll(e) : (int64_t)COSYNTH_CHUNK;
    return std::max<int64_t>(1, std::min<int64_t>(v, (int64_t)1 << 30));
  }();
  return c;
}

// every blade's int64 to every blade (one int64 per pair: no count limit)
inline std::vector<int64_t> alltoall_counts(const std::vector<int64_t>& s) {
  std::vector<int64_t> r(s.size());
  if (g_watch.limit > 0 && g_watch.size > 1) {
    MPI_Request req;
    MPI_Ialltoall(s.data(), 1, MPI_INT64_T, r.data(), 1, MPI_INT64_T, MPI_COMM_WORLD, &req);
    await_all(1, &req, "counts");
  } else {
    MPI_Alltoall(s.data(), 1, MPI_INT64_T, r.data(), 1, MPI_INT64_T, MPI_COMM_WORLD);
  }
  for (int to = 0; to < (int)s.size(); ++to) if (to != g_rank) note_sent(to, 8);
  g_stats.messages += (int64_t)s.size() - 1;
  g_stats.bytes += 8 * ((int64_t)s.size() - 1);
  return r;
}

// Sends sbuf[r][0 .. sn[r]) to every blade r != rank and receives rn[r] bytes from it
// into rbuf[r], in chunks; both sides know the sizes.  Returns the bytes sent.
inline int64_t xfer(const std::vector<const char*>& sbuf, const std::vector<int64_t>& sn,
                    const std::vector<char*>& rbuf, const std::vector<int64_t>& rn, int rank) {
  const int64_t chunk = chunk_bytes();
  std::vector<MPI_Request> req;
  int64_t sent = 0;
  int P = (int)sn.size();
  for (int r = 0; r < P; ++r) {
    if (r == rank) continue;
    for (int64_t at = 0; at < rn[r]; at += chunk) {
      req.emplace_back();
      MPI_Irecv(rbuf[r] + at, (int)std::min(chunk, rn[r] - at), MPI_BYTE, r, 41,
                MPI_COMM_WORLD, &req.back());
    }
  }
  for (int r = 0; r < P; ++r) {
    if (r == rank) continue;
    for (int64_t at = 0; at < sn[r]; at += chunk) {
      req.emplace_back();
      MPI_Isend(sbuf[r] + at, (int)std::min(chunk, sn[r] - at), MPI_BYTE, r, 41,
                MPI_COMM_WORLD, &req.back());
      g_stats.messages += 1;
    }
    sent += sn[r];
    note_sent(r, sn[r]);
  }
  await_all((int)req.size(), req.data(), "transfer");
  g_stats.bytes += sent;
  return sent;
}

// ------------------------------------------------------------------ exchange
// An outbox: contributions to entries other blades own, combined with the reduction's
// operator until the table's next exchange.  Indexed by local id, but stored only for
// the ids another blade owns: a sharded blade's ghosts [nrange, nl) (its own range never
// goes to the outbox), every vertex on a replicated program.  `list` holds each touched
// id once (a local id: idx_t, as the edges hold them), so draining costs O(touched).  (A device may mark `touched` without `list` on
// a replicated program: the drain then scans, which is O(n) only where the tables are
// O(n) anyway.)
template <class T> struct Slots {  // entries [base, base + size) of a local-id table
  std::vector<T> v;
  int64_t base = 0;
  T& operator[](int64_t l) { return v[l - base]; }
  const T& operator[](int64_t l) const { return v[l - base]; }
};
template <class T> struct Outbox {
  Slots<T> val;
  Slots<uint8_t> touched;
  std::vector<idx_t> list;
  int64_t count = 0;
  T identity{};
  void init(const Graph& G, T ident) {
    const bool ghosts_only = !G.replicated && G.olo == 0 && G.ohi == G.nrange;
    const int64_t base = ghosts_only ? G.nrange : 0, size = G.nl - base;
    val.base = touched.base = base;
    val.v.assign(size, ident);
    touched.v.assign(size, 0);
    list.assign(G.nl - (G.ohi - G.olo), 0);
    identity = ident;
  }
  void touch(int64_t l) {
    if (!__atomic_exchange_n(&touched[l], (uint8_t)1, __ATOMIC_RELAXED))
      list[__atomic_fetch_add(&count, (int64_t)1, __ATOMIC_RELAXED)] = (idx_t)l;
  }
};

// exchange: send every touched remote entry (global id, value) to its owner and apply
// it there with `red`; entries go in local-id order, so the result is deterministic.
// The counts go in one all-to-all; the records then in P - 1 rounds, round k to blade
// rank + k and from blade rank - k (mod P), each through one buffer sized to that pair's
// records: a blade holds one peer's records at a time, not every peer's (a superstep
// that touches most ghosts would otherwise hold two records per ghost beside its
// tables).  Bytes and messages are the same; the records from each blade are applied in
// its local-id order, the blades in round order.
template <class T, class Red>
inline bool exchange(std::vector<T>& table, Outbox<T>& box, const Graph& G, const Shards& sh,
                     Red red) {
  heartbeat();
  double t0 = now();
  const int P = sh.size, me = sh.rank;
  if (G.replicated) {  // a device may have set flags only: collect them
    box.count = 0;
    for (int64_t l = 0; l < G.nl; ++l)
      if (box.touched[l] && (l < G.olo || l >= G.ohi)) box.list[box.count++] = (idx_t)l;
  }
  std::sort(box.list.begin(), box.list.begin() + box.count);
  struct Rec { int64_t v; T x; };
  // the sorted list is grouped by owner (ghosts are sorted by global id, owners' ranges
  // ascend): blade r's records are list[at[r] .. at[r + 1])
  std::vector<int64_t> at(P + 1, 0);
  for (int64_t i = 0; i < box.count; ++i) ++at[sh.owner(G.global(box.list[i])) + 1];
  for (int r = 0; r < P; ++r) at[r + 1] += at[r];
  std::vector<int64_t> sn(P), rn;
  for (int r = 0; r < P; ++r) sn[r] = (at[r + 1] - at[r]) * (int64_t)sizeof(Rec);
  rn = alltoall_counts(sn);
  bool changed = false;
  std::vector<Rec> out, in;
  std::vector<int64_t> s1(P, 0), r1(P, 0);
  std::vector<const char*> sp(P, nullptr);
  std::vector<char*> rp(P, nullptr);
  for (int k = 1; k < P; ++k) {
    const int to = (me + k) % P, from = (me - k + P) % P;
    out.resize((size_t)(at[to + 1] - at[to]));
    for (int64_t i = at[to]; i < at[to + 1]; ++i) {
      const int64_t l = box.list[i];
      out[i - at[to]] = Rec{G.global(l), box.val[l]};
      box.touched[l] = 0;
      box.val[l] = box.identity;
    }
    in.resize((size_t)(rn[from] / (int64_t)sizeof(Rec)));
    s1[to] = sn[to];
    r1[from] = rn[from];
    sp[to] = reinterpret_cast<const char*>(out.data());
    rp[from] = reinterpret_cast<char*>(in.data());
    xfer(sp, s1, rp, r1, me);
    s1[to] = r1[from] = 0;
    for (const Rec& e : in) changed |= red(&table[e.v - G.glo], e.x);
  }
  for (int64_t i = at[me]; i < at[me + 1]; ++i) {  // none: a blade's own ids never queue
    box.touched[box.list[i]] = 0;
    box.val[box.list[i]] = box.identity;
  }
  box.count = 0;
  g_stats.comm += now() - t0;
  return changed;
}

// ------------------------------------------------------------------ refresh
// What a blade last sent of a table (its owned entries at the last refresh), so that the
// next refresh sends only what changed.  `valid` is false before the first refresh and
// after a fill of the whole table: the next refresh is then dense.
template <class T> struct Mirror {
  std::vector<T> prev;
  bool valid = false;
};

// refresh: every blade's ghost entries of `table` get their owners' values.  Per pair of
// blades, by count, the owner sends either the changed entries it holds in the receiver's
// ghost list (position, value: sparse) or all of them (values: dense), whichever is fewer
// bytes; a replicated program's tables are gathered whole (every vertex is a ghost).
// Sharded: the sparse/dense choices go in one all-to-all, the values in P - 1 rounds as
// in `exchange` (one peer's buffer at a time; dense values received in place).
template <class T>
inline void refresh(std::vector<T>& table, Mirror<T>& mir, const Graph& G, const Shards& sh) {
  heartbeat();
  double t0 = now();
  int P = sh.size, me = sh.rank;
  if (P > 1 && G.replicated) {
    std::vector<const char*> sp(P, reinterpret_cast<const char*>(table.data() + G.olo));
    std::vector<int64_t> sn(P, (G.ohi - G.olo) * (int64_t)sizeof(T)), rn(P);
    std::vector<char*> rp(P);
    for (int r = 0; r < P; ++r) {
      rn[r] = (sh.hi[r] - sh.lo[r]) * (int64_t)sizeof(T);
      rp[r] = reinterpret_cast<char*>(table.data() + (sh.lo[r] - G.glo));
    }
    xfer(sp, sn, rp, rn, me);
    g_stats.dense += 1;
  } else if (P > 1) {
    const int64_t own = G.ohi - G.olo;
    auto moved = [&](int64_t l) {
      return std::memcmp(&table[l], &mir.prev[l - G.olo], sizeof(T)) != 0;
    };
    // per receiver: the changed entries it holds as ghosts (sparse), or -1 (dense)
    std::vector<int64_t> header(P, 0);
    for (int r = 0; r < P; ++r) {
      if (r == me) continue;
      const int64_t cnt = G.send.count(r);
      int64_t k = 0;
      if (mir.valid) G.send.each(r, [&](int64_t l, int64_t) { k += moved(l); });
      const bool sparse = mir.valid && k * (8 + (int64_t)sizeof(T)) < cnt * (int64_t)sizeof(T);
      header[r] = sparse ? k : -1;
      g_stats.sparse += sparse;
      g_stats.dense += !sparse;
    }
    std::vector<int64_t> got = alltoall_counts(header);
    // the values in P - 1 rounds (to rank + k, from rank - k), one peer's buffer at a
    // time; dense values land in the ghost entries themselves
    std::vector<char> out, in;
    std::vector<int64_t> s1(P, 0), r1(P, 0);
    std::vector<const char*> sp(P, nullptr);
    std::vector<char*> rp(P, nullptr);
    for (int k = 1; k < P; ++k) {
      const int to = (me + k) % P, from = (me - k + P) % P;
      if (header[to] >= 0) {
        const int64_t c = header[to];
        out.resize((size_t)c * (8 + sizeof(T)));
        int64_t* pos = reinterpret_cast<int64_t*>(out.data());
        T* vals = reinterpret_cast<T*>(out.data() + c * 8);
        int64_t j = 0;
        G.send.each(to, [&](int64_t l, int64_t i) {
          if (moved(l)) { pos[j] = i; vals[j] = table[l]; ++j; }
        });
      } else {
        out.resize((size_t)G.send.count(to) * sizeof(T));
        T* vals = reinterpret_cast<T*>(out.data());
        G.send.each(to, [&](int64_t l, int64_t i) { vals[i] = table[l]; });
      }
      T* base = table.data() + G.nrange + G.ghost_off[from];
      const int64_t ghosts = G.ghost_off[from + 1] - G.ghost_off[from];
      s1[to] = (int64_t)out.size();
      r1[from] = got[from] < 0 ? ghosts * (int64_t)sizeof(T) : got[from] * (8 + (int64_t)sizeof(T));
      sp[to] = out.data();
      if (got[from] < 0) {
        rp[from] = reinterpret_cast<char*>(base);
      } else {
        in.resize((size_t)r1[from]);
        rp[from] = in.data();
      }
      xfer(sp, s1, rp, r1, me);
      if (got[from] >= 0) {
        const int64_t* pos = reinterpret_cast<const int64_t*>(in.data());
        const T* vals = reinterpret_cast<const T*>(in.data() + got[from] * 8);
        for (int64_t j = 0; j < got[from]; ++j) base[pos[j]] = vals[j];
      }
      s1[to] = r1[from] = 0;
    }
    mir.prev.assign(table.begin() + G.olo, table.begin() + G.olo + own);
    mir.valid = true;
  }
  g_stats.comm += now() - t0;
}

// refresh of an edge table (replicated programs only): every blade gets the owners'
// entries (the edge ranges of the blades).
template <class T>
inline void refresh_edges(std::vector<T>& table, const std::vector<int64_t>& lo,
                          const std::vector<int64_t>& hi, int rank) {
  heartbeat();
  double t0 = now();
  int P = (int)lo.size();
  if (P > 1) {
    std::vector<const char*> sp(P, reinterpret_cast<const char*>(table.data() + lo[rank]));
    std::vector<int64_t> sn(P, (hi[rank] - lo[rank]) * (int64_t)sizeof(T)), rn(P);
    std::vector<char*> rp(P);
    for (int r = 0; r < P; ++r) {
      rn[r] = (hi[r] - lo[r]) * (int64_t)sizeof(T);
      rp[r] = reinterpret_cast<char*>(table.data() + lo[r]);
    }
    xfer(sp, sn, rp, rn, rank);
  }
  g_stats.comm += now() - t0;
}

// ------------------------------------------------------------------ frontiers
// The work list of a relaxed (async) node loop over the range [lo, hi) (global ids): the
// vertices whose state changed since they last ran, and nothing else.  A change pushes
// the vertex (`push`, from any thread: the loop's own reductions and the exchange that
// applies other blades' contributions) into the pushing thread's bin of its new value's
// key, floor(value / delta); `delta` = infinity (today's async) keeps one bin.  A sweep
// drains the bins lowest key first (delta-stepping: buckets of width delta).
//
// A sweep is one parallel region: every thread of the team calls `next` for its next
// part of the work and `take` for each position of the part.  A round runs the lowest
// key of all threads' bins.  At a round's one barrier each thread offers its lowest bin
// (moved out of its bins, so the others read it while the owner pushes on); the offers of
// the lowest key are the round, read side by side in chunks of a shared cursor (a sparse
// round), or, when the round holds more than range / kDense vertices, the whole range is
// walked in chunks and the vertices pending at that key run (a dense round: `pend` is the
// bitmap); an offer of a higher key goes back to its owner's bins.  A thread that has
// finished its share of the round then runs its own bin of the round's key (what its
// relaxations of the round queued there) alone while that bin is smaller than kLocal,
// before it waits for the others: a light edge's re-insertion into the running bucket
// costs no barrier.  Offers and cursors alternate between two slots by round parity, so
// that a slot is reused only after everyone has passed the next round's barrier.
//
// Which entries run.  Keyed (`begin`'s keyed_by: the plan's choice when it expects no
// vertex to be queued twice at one key; only under a finite delta, i.e. a bucketed loop
// with one min state table, so a vertex's value only decreases and its key
// floor(value / delta) never rises), an entry carries no mark of its own: an entry of bin
// b runs its vertex when the vertex's key, read now from the state (`take`'s `value`),
// is b, and is stale when the key is below b.  A stale entry may be dropped: the change
// that took the key below b pushed the vertex after it into the bin of the lower key,
// and that entry runs (or ran) after the change, seeing it (same thread, or the round's
// barrier).  A vertex pushed twice at one key may run twice, which the relaxation allows
// (a run with unchanged state re-applies the same contributions: idempotent min).  So a
// push is a plain append to the pushing thread's bin and a take a plain read: no atomic
// read-modify-write on a shared per-vertex table besides the state's own min, whose
// cache lines two threads would otherwise pass to and fro (a byte per vertex: 64
// vertices per line) twice per queued vertex.
//
// Otherwise (e.g. delta = infinity, one bin: label propagation, whose labels fall many
// times before a vertex runs) `pend[v]` is the code (1 + key mod 255) of the bin v last went
// to, 0 when not pending; a vertex runs from an entry of that code only (`take` clears
// it): a vertex that moved to a lower bin is not run again from the higher one, and it
// sits at most once in the bins of one key.  Every change is followed by a run of the
// vertex that sees it: the push either finds the vertex pending under the same code (an
// entry that has not run yet will take it, after the change) or adds an entry under the
// new code.  A stale entry of another key with the same code (keys 255 apart) runs the
// vertex early, which any order allows (the relaxation proof), and consumes it.  Only
// this mode has dense rounds (`pend` is their bitmap).
//
// The first sweep after `reset` (the fixed point was entered anew) starts from every
// vertex of the range, except, when `skip_top` and delta is finite, the vertices whose
// state is at the top of the order (the min reduction's identity: +inf, the integer
// maximum).  The emitter passes `skip_top` only when `relax_order` is proved (every
// contribution is >= the running vertex's own value, for non-negative weights), and the
// planner gives a finite delta only on a graph without negative weights: such a vertex
// contributes values >= the top, i.e. the top (or NaN), which min leaves unapplied, so
// running it changes nothing and it need not be queued.
struct Frontier {
  static constexpr int64_t kMaxBin = 1 << 16;  // keys beyond share the far bin
  static constexpr int64_t kDense = 16;        // dense round: > range / kDense vertices
  static constexpr int64_t kLocal = 1024;      // a thread runs its own bin alone below this
  static constexpr int64_t kChunk = 64;        // positions per part of a sparse round
  static constexpr int64_t kDenseChunk = 1024; // vertices per part of a dense round
  static constexpr int64_t kAhead = 12;        // edges ahead the relaxation prefetches
  static uint8_t code(int64_t k) { return (uint8_t)(1 + k % 255); }
  static constexpr size_t kKeep = 1 << 13;     // a drained bin keeps up to this capacity
  struct alignas(64) Local {                   // one thread's bins
    // The live keys [base, base + span) (span 0: none); key k's bin is ring[k & mask], a
    // slot of a power-of-two ring at least span long, so a push indexes its bin with one
    // subtraction, one compare and one mask (a std::deque's indexing cost 43 instructions
    // a push).  Every slot outside the live window is empty; a drained slot keeps its
    // storage (up to kKeep entries) for the keys that come round to it again.
    std::vector<std::vector<int32_t>> ring;
    uint64_t mask = 0;
    int64_t base = 0;
    uint64_t span = 0;
    std::vector<int32_t> far;                  // key kMaxBin (e.g. an infinite value)
    std::vector<int32_t> mine;                 // the bin this thread runs alone
    std::vector<int32_t> offer[2];             // its lowest bin, offered to a round
    int64_t key[2] = {-1, -1};                 // the offer's key (-1: none)
    std::vector<int32_t>* at(int64_t k) {
      if (k >= kMaxBin) return &far;
      return (uint64_t)(k - base) < span ? &ring[(size_t)k & mask] : nullptr;
    }
    // queue offset o at key k (the pushing thread's own bins)
    void put(int64_t k, int32_t o) {
      if ((uint64_t)(k - base) < span) { ring[(size_t)k & mask].push_back(o); return; }
      widen(k, o);
    }
    // k is outside the live window: the far bin, or the window grows to cover k (the
    // ring doubles when the window outgrows it; the live bins move to their new slots)
    void widen(int64_t k, int32_t o) {
      if (k >= kMaxBin) { far.push_back(o); return; }
      const int64_t nb = span ? std::min(base, k) : k;
      const int64_t ne = span ? std::max(base + (int64_t)span, k + 1) : k + 1;
      const uint64_t need = (uint64_t)(ne - nb);
      if (need > ring.size()) {
        size_t cap = std::max<size_t>(ring.size(), 16);
        while (cap < need) cap *= 2;
        std::vector<std::vector<int32_t>> r(cap);
        for (uint64_t j = 0; j < span; ++j)
          r[(size_t)(base + (int64_t)j) & (cap - 1)].swap(ring[(size_t)(base + (int64_t)j) & mask]);
        ring.swap(r);
        mask = cap - 1;
      }
      base = nb;
      span = need;
      ring[(size_t)k & mask].push_back(o);
    }
    // the drained keys at the bottom leave the window (between rounds), so it covers the
    // live keys only however far they travel (up to kMaxBin)
    void drop_drained() {
      while (span && ring[(size_t)base & mask].empty()) {
        std::vector<int32_t>& b = ring[(size_t)base & mask];
        if (b.capacity() > kKeep) std::vector<int32_t>().swap(b);
        ++base;
        --span;
      }
    }
  };
  // a thread's place in a sweep: its part is positions [a, b) of `ids` (nullptr: vertex
  // offsets of a dense round) of the round whose key is `bin`
  struct Part {
    const int32_t* ids = nullptr;
    Local* me = nullptr;     // the calling thread's bins (set by `next`)
    int64_t a = 0, b = 0;
    int64_t bin = -1, round = 0, total = 0;
    uint8_t want = 0;        // the code of `bin`
    bool shared = false;     // taking chunks of the round
    bool dense = false;
    int64_t ra = 0, rb = 0;  // the rest of the chunk taken (round positions)
    std::vector<int64_t> seg;  // where each thread's offer starts in the round
  };
  int64_t lo = 0, hi = 0, lbase = 0;           // range; local id of lo
  double delta = INFINITY, inv = 0;            // bucket width and its inverse
  bool have = false;
  bool keyed = false;                          // finite delta: entries checked by key
  bool logkeys = false;                        // keys by log2 of value / delta (below)
  int mode = 0;                                // key: 0 one bin, 1 linear, 2 log (begin)
  std::vector<uint8_t> pend;                   // per vertex of the range: code, or 0
                                               // (delta = infinity only)
  std::vector<Local> loc;                      // per thread
  alignas(64) int64_t pos[2] = {0, 0};         // chunk cursors, by round parity
  int64_t rounds = 0, queued = 0;              // statistics of the last sweep

  // a vertex's bin: floor(x / delta), or with logkeys 0 below delta and 1 + floor(log2(x /
  // delta)) from it (bins [delta, 2 delta), [2 delta, 4 delta), ...); either key is
  // non-decreasing in x, so lower values still run first (any bin order is legal)
  int64_t key(double x) const {
    if (mode == 0) return 0;
    if (!(x > 0)) return 0;
    double k = x * inv;
    if (mode == 2) k = k < 1.0 ? 0.0 : 1.0 + (double)std::ilogb(k);
    return k < (double)kMaxBin ? (int64_t)k : kMaxBin;
  }
  void reset() { have = false; }
  int team() const { return (int)loc.size(); }
  // local id `l` changed to `value`: queue it (no-op outside the range), in the bins of
  // `L`, the calling thread's
  void push(Local& L, int64_t l, double value) {
    const int64_t o = l - lbase;
    if ((uint64_t)o >= (uint64_t)(hi - lo)) return;
    const int64_t k = key(value);
    if (!keyed) {
      const uint8_t c = code(k);
      if (__atomic_exchange_n(&pend[(size_t)o], c, __ATOMIC_ACQ_REL) == c) return;
    }
    L.put(k, (int32_t)o);
  }
  // the same from a thread of a sweep's region, whose bins its part knows
  void push(const Part& p, int64_t l, double value) { push(*p.me, l, value); }
  // the same from any thread (the exchange's, the first sweep's)
  void push(int64_t l, double value) { push(loc[(size_t)omp_get_thread_num()], l, value); }
  // open a sweep of [lo_, hi_) whose local ids start at lbase_ (outside a parallel
  // region); `value(l)` is the state that keys local id l and `top(l)` whether it is at
  // the top of the order (both read for the first sweep, which queues every vertex)
  template <class F, class Top>
  void begin(int64_t lo_, int64_t hi_, int64_t lbase_, double delta_, bool keyed_by, F value,
             bool skip_top, Top top) {
    delta = delta_;
    inv = delta < INFINITY ? 1.0 / delta : 0.0;
    mode = !(delta < INFINITY) ? 0 : logkeys ? 2 : 1;
    rounds = queued = 0;
    pos[0] = pos[1] = 0;
    const bool keyed_ = keyed_by && delta < INFINITY;
    if (have && lo_ == lo && hi_ == hi && lbase_ == lbase && keyed_ == keyed) return;
    lo = lo_; hi = std::max(hi_, lo_); lbase = lbase_;
    keyed = keyed_;
    if (hi - lo > (int64_t)std::numeric_limits<int32_t>::max())
      fail(0, "a frontier covers at most 2^31 - 1 vertices per blade: use more blades");
    loc.assign((size_t)omp_get_max_threads(), Local());
    if (keyed) std::vector<uint8_t>().swap(pend);
    else pend.assign((size_t)(hi - lo), 0);
    const bool skip = skip_top && delta < INFINITY;
    #pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < hi - lo; ++o)
      if (!(skip && top(o + lbase))) push(o + lbase, (double)value(o + lbase));
    have = true;
  }
  // the calling thread's next part of the sweep (every thread of the team calls it until
  // it returns false, which it does for all of them at the same round)
  bool next(Part& p) {
    if (!p.me) p.me = &loc[(size_t)omp_get_thread_num()];
    Local& L = *p.me;
    for (;;) {
      if (p.shared) {  // the round's positions, a chunk at a time
        if (p.ra >= p.rb) {
          const int64_t step = p.dense ? kDenseChunk : kChunk;
          const int64_t lim = p.dense ? hi - lo : p.total;
          const int64_t a = __atomic_fetch_add(&pos[p.round & 1], step, __ATOMIC_RELAXED);
          if (a >= lim) { p.shared = false; continue; }
          p.ra = a;
          p.rb = std::min(a + step, lim);
        }
        if (p.dense) {
          p.ids = nullptr; p.a = p.ra; p.b = p.rb; p.ra = p.rb;
          return true;
        }
        size_t s = 0;  // the offer holding position ra (a chunk may span two)
        while (p.seg[s + 1] <= p.ra) ++s;
        const int64_t end = std::min(p.rb, p.seg[s + 1]);
        p.ids = loc[s].offer[p.round & 1].data();
        p.a = p.ra - p.seg[s];
        p.b = end - p.seg[s];
        p.ra = end;
        return true;
      }
      if (p.bin >= 0) {  // the calling thread's own bin of the round's key, while small
        std::vector<int32_t>* b = L.at(p.bin);
        if (b && !b->empty() && (int64_t)b->size() < kLocal) {
          L.mine.swap(*b);
          b->clear();
          p.ids = L.mine.data(); p.a = 0; p.b = (int64_t)L.mine.size();
          return true;
        }
      }
      if (!choose(p, L)) return false;
    }
  }
  // the vertex (global id) at position i of part p, or -1: it moved to another bin
  // since it was queued here (it runs from there), or another entry took it; `value(l)`
  // reads the state that keys local id l (as `begin`'s)
  template <class F> int64_t take(const Part& p, int64_t i, F value) {
    const int32_t o = p.ids ? p.ids[i] : (int32_t)i;
    if (keyed) return key((double)value(o + lbase)) == p.bin ? o + lo : -1;
    uint8_t want = p.want;
    if (__atomic_load_n(&pend[(size_t)o], __ATOMIC_RELAXED) != want) return -1;
    if (!__atomic_compare_exchange_n(&pend[(size_t)o], &want, (uint8_t)0, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      return -1;
    return o + lo;
  }

 private:
  // every thread: offer its lowest bin and agree on the next round at one barrier; false
  // (for every thread) when every bin is empty
  bool choose(Part& p, Local& L) {
    const int t = omp_get_thread_num(), T = omp_get_num_threads();
    if (T != team()) fail(0, "a frontier's sweep runs on another team than it was opened for");
    const int slot = (int)(++p.round & 1);
    L.offer[slot].clear();  // round - 2's: everyone has passed round - 1's barrier
    L.drop_drained();
    const int64_t k = L.span ? L.base : !L.far.empty() ? kMaxBin : -1;
    if (k >= 0) L.offer[slot].swap(*L.at(k));
    L.key[slot] = k;
    #pragma omp barrier
    int64_t low = -1;
    for (int s = 0; s < T; ++s) {
      const int64_t ks = loc[(size_t)s].key[slot];
      if (ks >= 0 && (low < 0 || ks < low)) low = ks;
    }
    if (low < 0) return false;
    p.seg.assign((size_t)T + 1, 0);
    for (int s = 0; s < T; ++s) {
      const Local& S = loc[(size_t)s];
      p.seg[(size_t)s + 1] = p.seg[(size_t)s] + (S.key[slot] == low ? (int64_t)S.offer[slot].size() : 0);
    }
    if (k > low) L.at(k)->swap(L.offer[slot]);  // not this round's: back to the bins
    if (t == 0) {
      pos[(p.round + 1) & 1] = 0;  // everyone has finished the round before this one
      ++rounds;
      queued += p.seg[(size_t)T];
      if ((rounds & 63) == 1) heartbeat(true);  // the others do not beat in the region
    }
    p.bin = low;
    p.want = code(low);
    p.total = p.seg[(size_t)T];
    p.dense = !keyed && p.total * kDense > hi - lo;
    p.shared = true;
    p.ra = p.rb = 0;
    return true;
  }
};

template <class T> inline T allreduce(T v, MPI_Op op) {
  heartbeat();
  double t0 = now();
  T out;
  if (g_watch.limit > 0 && g_watch.size > 1) {
    MPI_Request req;
    MPI_Iallreduce(&v, &out, 1, mpi_type<T>(), op, MPI_COMM_WORLD, &req);
    await_all(1, &req, "allreduce");
  } else {
    MPI_Allreduce(&v, &out, 1, mpi_type<T>(), op, MPI_COMM_WORLD);
  }
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
  if (g_rss_marks.empty() || g_rss_marks.back().first != "run") rss_mark("run");
  std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) { std::fprintf(stderr, "cannot write %s\n", tmp.c_str()); MPI_Abort(MPI_COMM_WORLD, 2); }
  if (count) std::fwrite(data, sizeof(T), count, f);
  std::fclose(f);
  std::rename(tmp.c_str(), path.c_str());
}

// a narrow state table's entries are written widened: the result file is the kernel's type
template <class T>
inline void write_result(const std::string& path, const Narrow32<T>* data, int64_t count) {
  // the run's mark before the widened copy: it is the result file's buffer, not the run's
  if (g_rss_marks.empty() || g_rss_marks.back().first != "run") rss_mark("run");
  std::vector<T> wide((size_t)count);
  for (int64_t i = 0; i < count; ++i) wide[(size_t)i] = data[i];
  write_result(path, wide.data(), count);
}

// Trials in one process (run.cfg's `trials`, a benchmark setting; default 1): each trial
// declares the tables anew, as a fresh process would; the graph is read once (as GAP's
// `-n` trials share theirs) unless the program renames it inside its clock, which reads it
// again each trial.  The stats file is the last trial's counters (the memory marks
// accumulate), with every trial's kernel time in `trials`.
inline std::vector<double> g_trials;
inline void begin_trial() {
  g_stats = Stats{};
  g_nests.clear();
}

inline void write_stats(const std::string& path, double total, const Graph& G) {
  std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  rss_mark("end");
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);  // ru_maxrss: KiB on Linux
  const int64_t peak = std::max<int64_t>((int64_t)ru.ru_maxrss * 1024, g_rss_marks.back().second);
  if (g_stats.bytes > g_stats.bytes_mark) g_stats.step_bytes.push_back(g_stats.bytes - g_stats.bytes_mark);
  std::fprintf(f, "{\"rank\": %d, \"threads\": %d, \"total\": %.9f, \"compute\": %.9f, "
                  "\"comm\": %.9f, \"messages\": %lld, \"bytes\": %lld, "
                  "\"peak_rss\": %lld, \"owned\": %lld, \"ghosts\": %lld, "
                  "\"local_edges\": %lld, \"replicated\": %s, \"dense\": %lld, "
                  "\"sparse\": %lld, \"streamed\": %s, \"send_bitmaps\": %lld, "
                  "\"send_bytes\": %lld, \"step_bytes\": [",
               g_rank, omp_get_max_threads(), total, g_stats.compute, g_stats.comm,
               (long long)g_stats.messages, (long long)g_stats.bytes,
               (long long)peak, (long long)(G.hi - G.lo), (long long)G.nghost,
               (long long)(G.ehi - G.elo), G.replicated ? "true" : "false",
               (long long)g_stats.dense, (long long)g_stats.sparse,
               G.streamed ? "true" : "false",
               (long long)std::count(G.send.bitmap.begin(), G.send.bitmap.end(), 1),
               (long long)G.send.bytes());
  for (size_t i = 0; i < g_stats.step_bytes.size(); ++i)
    std::fprintf(f, "%s%lld", i ? ", " : "", (long long)g_stats.step_bytes[i]);
  std::fprintf(f, "], \"supersteps\": [");
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
  std::fprintf(f, "], \"rss_marks\": {");
  for (size_t i = 0; i < g_rss_marks.size(); ++i)
    std::fprintf(f, "%s\"%s\": %lld", i ? ", " : "", g_rss_marks[i].first.c_str(),
                 (long long)g_rss_marks[i].second);
  std::fprintf(f, "}, \"trials\": [");
  for (size_t i = 0; i < g_trials.size(); ++i)
    std::fprintf(f, "%s%.9f", i ? ", " : "", g_trials[i]);
  std::fprintf(f, "], \"nests\": {");
  bool first = true;
  for (const auto& [line, s] : g_nests) {
    std::fprintf(f, "%s\"%d\": {\"runs\": %lld, \"edges\": %lld, \"nodes\": %lld, "
                    "\"seconds\": %.9f, \"cpu_seconds\": %.9f, \"cycles\": %llu, \"fpga\": %s}",
                 first ? "" : ", ", line, (long long)s.runs, (long long)s.edges,
                 (long long)s.nodes, s.seconds, s.cpu, (unsigned long long)s.cycles,
                 s.fpga ? "true" : "false");
    first = false;
  }
  std::fprintf(f, "}}\n");
  std::fclose(f);
  std::rename(tmp.c_str(), path.c_str());
}

// The queue of a level frontier (frontend/rewrite/levels.py, backends/cpp/sparse.py): the
// vertices of the blade's range [lo, hi) whose guarded entry changed during the previous
// iteration of the while loop.  `enter` checks the invariant on every entry of the range
// (once per entry of the while loop; when it fails every iteration runs over all
// vertices) and, with `first`, queues the vertices whose guard holds for the first
// iteration (else that one runs over all vertices); `push` queues a changed local id once
// (no-op outside the range); `advance` (at the top of each iteration) makes the queued
// vertices this iteration's.  `mu` is the count the queue keeps; `counts` says whether it
// holds one (from the second iteration on).  `enter_with` also sums, in the same pass, the
// first iteration's counts (its function adds vertex l's shares to t0 .. t3): `tallied`
// says, in that first iteration only, that `sum` holds them.
struct LevelQueue {
  int64_t lo = 0, hi = 0, lbase = 0;
  bool ok = false, first = true, sparse = false, counts = false, from_entry = false;
  bool scan = false;                         // some vertex was queued by its mark only
  bool sorted = false;                       // cur[0 .. ncur) ascends (built from the marks)
  bool solo = false;                         // at most one thread (set by enter)
  bool summed = false, tallied = false;      // `sum`: the first iteration's counts
  int64_t mu = 0;
  int64_t sum[4] = {0, 0, 0, 0};
  std::vector<uint8_t> mark;                 // per vertex of the range: queued
  std::vector<uint8_t> qbits;                // the queue as bits (offset o: byte o / 8,
                                             // bit o % 8), when `bits` (see advance)
  bool bits = false;
  std::vector<std::vector<uint32_t>> next;   // per thread: offsets queued by `push`
  std::unique_ptr<uint32_t[]> cur;           // this iteration's offsets: cur[0 .. ncur)
  int64_t cap = 0;                           // cur's length (cur left uninitialised by
                                             // `reset`: first written by all threads in
                                             // `advance`, not zeroed by one)
  int64_t ncur = 0;
  // The buffers for a range of up to `cap_` vertices, allocated and written once here, at
  // the queue's declaration (with the tables, before the kernel's clock starts) so that no
  // superstep takes their pages' first-touch faults: `mark`, `cur`, and each thread's
  // `next` with room for the whole range (kept by `reset` and `advance`'s `clear`).  The
  // queue's behaviour is unchanged; without it `reset` allocates as before.  (kron-18 BFS,
  // one blade: 243 minor faults inside the kernel -> 25; a fault here costs ~4 us.)
  void prepare(int64_t cap_) {
    cap_ = std::max<int64_t>(cap_, 1);
    if (cap_ > (int64_t)UINT32_MAX) return;  // (`reset` refuses such a range)
    mark.assign(cap_, 0);
    qbits.assign((cap_ + 7) / 8, 0);
    cur.reset(new uint32_t[cap_]);
    std::memset(cur.get(), 0, sizeof(uint32_t) * cap_);
    cap = cap_;
    next.resize(omp_get_max_threads());
    for (auto& q : next) { q.resize(cap_); q.clear(); }  // written once: its pages are in
  }
  template <class F, class G> void enter(int64_t lo_, int64_t hi_, int64_t lbase_, F inv,
                                         bool first_, G guard) {
    enter_with(lo_, hi_, lbase_, first_,
               [=](int64_t l, int64_t&, int64_t&, int64_t&, int64_t&) {
                 return inv(l) ? (guard(l) ? 3 : 1) : 0; });
    summed = false;
  }
  // `enter` with one function of a vertex l that tells (bit 0) whether the invariant
  // holds there and (bit 1) whether the guard holds, and adds l's shares of the first
  // iteration's counts to t0 .. t3 (`tally`): one closure, so what it captured is held
  // once and the entry read once per vertex (three lambdas read it three times, and
  // spilled their copies of the captures)
  template <class E> void enter_with(int64_t lo_, int64_t hi_, int64_t lbase_, bool first_,
                                     E entry) {
    reset(lo_, hi_, lbase_);
    int64_t bad = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;
    // each thread its own copy of the closure: what it captured stays in registers
    // (through the shared closure it was reloaded for every vertex: `push`'s byte store
    // may alias anything)
    #pragma omp parallel for schedule(static) reduction(+:bad, t0, t1, t2, t3) \
        firstprivate(entry)
    for (int64_t o = 0; o < hi - lo; ++o) {
      const int r = entry(o + lbase, t0, t1, t2, t3);
      if (!(r & 1)) ++bad;
      else if (first_ && (r & 2)) push(o + lbase);
    }
    entered(bad, first_, t0, t1, t2, t3);
  }
  // `enter_with` when every entry of the range holds the fill value except, at most, those
  // at the local ids `pts[0 .. npts)` (levels: `points`; ids outside the range are
  // ignored, repeats counted once): `filled` is the entry function with the fill value for
  // the entry.  Its invariant and guard bits do not depend on the vertex, so one call
  // gives them for every vertex but the points; when the invariant holds there and the
  // guard does not (nothing to queue), the pass reads no entry: it sums `filled`'s tally
  // (whose tests on the entry are then loop-invariant) and corrects it at the points by
  // `entry`'s.  Otherwise (every vertex would be queued, or none may run from the queue)
  // it is `enter_with`'s pass.
  template <class E, class F> void enter_filled(int64_t lo_, int64_t hi_, int64_t lbase_,
                                                bool first_, E entry, F filled,
                                                const int64_t* pts, int64_t npts) {
    int64_t z0 = 0, z1 = 0, z2 = 0, z3 = 0;
    const int rf = hi_ > lo_ ? filled(lbase_, z0, z1, z2, z3) : 0;  // (its tally discarded)
    if (!(rf & 1) || (rf & 2)) { enter_with(lo_, hi_, lbase_, first_, entry); return; }
    reset(lo_, hi_, lbase_);
    int64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0;
    #pragma omp parallel for schedule(static) reduction(+:t0, t1, t2, t3) firstprivate(filled)
    for (int64_t o = 0; o < hi - lo; ++o) (void)filled(o + lbase, t0, t1, t2, t3);
    std::vector<int64_t> at;
    for (int64_t i = 0; i < npts; ++i)
      if (pts[i] >= lbase && pts[i] < lbase + (hi - lo)) at.push_back(pts[i]);
    std::sort(at.begin(), at.end());
    at.erase(std::unique(at.begin(), at.end()), at.end());
    int64_t bad = 0;
    for (int64_t l : at) {  // the point's own shares for the fill value's
      int64_t f0 = 0, f1 = 0, f2 = 0, f3 = 0;
      (void)filled(l, f0, f1, f2, f3);
      t0 -= f0; t1 -= f1; t2 -= f2; t3 -= f3;
      const int r = entry(l, t0, t1, t2, t3);
      if (!(r & 1)) ++bad;
      else if (first_ && (r & 2)) push(l);
    }
    entered(bad, first_, t0, t1, t2, t3);
  }
  // (the start and the end of every entry check)
  void reset(int64_t lo_, int64_t hi_, int64_t lbase_) {
    lo = lo_; hi = std::max(lo_, hi_); lbase = lbase_;
    if (hi - lo > (int64_t)UINT32_MAX) fail(0, "a level frontier holds at most 2^32 vertices per blade");
    mark.assign(hi - lo, 0);  // (within `prepare`'s capacity: no allocation)
    qbits.resize((hi - lo + 7) / 8);
    bits = false;
    next.resize(omp_get_max_threads());
    for (auto& q : next) q.clear();  // (their capacity kept)
    solo = next.size() == 1;
    if (cap < hi - lo) { cur.reset(new uint32_t[std::max<int64_t>(hi - lo, 1)]); cap = hi - lo; }
    ncur = 0;
  }
  void entered(int64_t bad, bool first_, int64_t t0, int64_t t1, int64_t t2, int64_t t3) {
    sum[0] = t0; sum[1] = t1; sum[2] = t2; sum[3] = t3;
    summed = true;
    ok = bad == 0;
    from_entry = ok && first_;
    scan = sorted = false;
    first = true;
    sparse = counts = false;
    mu = 0;
  }
  // (a team of one -- `solo`: no thread beyond the one `next` has a queue for -- marks
  // without the atomic exchange, which cost a locked instruction per queued vertex on
  // top of the entry's own atomic)
  void push(int64_t l) {
    const int64_t o = l - lbase;
    if (o < 0 || o >= hi - lo) return;
    if (solo) {
      if (mark[o]) return;
      mark[o] = 1;
      next[0].push_back((uint32_t)o);
      return;
    }
    if (__atomic_load_n(&mark[o], __ATOMIC_RELAXED) ||
        __atomic_exchange_n(&mark[o], (uint8_t)1, __ATOMIC_ACQ_REL))
      return;
    next[omp_get_thread_num()].push_back((uint32_t)o);
  }
  // `push` for an entry no other thread may queue meanwhile (the running iteration's own
  // entry, or sequential code): only its mark, no atomic read-modify-write; `advance`
  // then collects the queue from the marks (in vertex order)
  void push_own(int64_t l) {
    const int64_t o = l - lbase;
    if (o < 0 || o >= hi - lo || mark[o]) return;
    mark[o] = 1;
    if (!scan) __atomic_store_n(&scan, true, __ATOMIC_RELAXED);
  }
  // this iteration's queue from the last one's pushes, by all threads when it is large
  // (a serial pass over every mark after a pull step, or over the per-thread queues after
  // a push step, was one thread's work between supersteps while the other waited).
  // `advance_tally(f)` also sums, while it writes the queue, each queued vertex l's shares
  // f(l, t0, t1, t2, t3) into `qsum` when this iteration's counts come from the queue
  // (`counts`): the counts' own pass over the queue -- a parallel region, a barrier and a
  // second read of `cur` -- is then not made (backends/cpp/sparse.py, `fused`)
  void advance() { advance_impl<false>([](int64_t, int64_t&, int64_t&, int64_t&, int64_t&) {}); }
  template <class F> void advance_tally(F f) { advance_impl<true>(f); }
  int64_t qsum[4] = {0, 0, 0, 0};
  template <bool Tally, class F> void advance_impl(F f) {
    int64_t k = 0;
    const int64_t R = hi - lo;
    const bool tally = Tally && ok && !first;  // `counts` below
    int64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    if (scan) {  // the marks hold every queued vertex (those in `next` too)
      for (auto& q : next) q.clear();
      uint32_t* c = cur.get();
      uint8_t* m = mark.data();
      const int T = R > 2048 ? omp_get_max_threads() : 1;  // (a region costs ~2 us)
      std::vector<int64_t> cnt(T + 1, 0);
      uint8_t* qb = qbits.data();
      #pragma omp parallel num_threads(T) reduction(+:s0, s1, s2, s3) firstprivate(f)
      {  // each thread its static block: count its marks, then write them at its offset
        // (the blocks start at multiples of 8: each byte of `qbits` is one thread's)
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        const int64_t b = t == 0 ? 0 : (R * t / nt) & ~(int64_t)7;
        const int64_t e = t == nt - 1 ? R : (R * (t + 1) / nt) & ~(int64_t)7;
        int64_t own = 0;
        for (int64_t o = b; o < e; ++o) own += m[o];
        cnt[t + 1] = own;
        #pragma omp barrier
        int64_t at = 0;
        for (int i = 0; i <= t; ++i) at += cnt[i];
        // eight marks (bytes 0 or 1) at a time: a word without one is skipped, a word
        // with some is gathered into a byte of bits (each mark's bit moved to its lane by
        // one multiplication: the shifted copies land on distinct bits, no carries) whose
        // set bits are written in order (after a pull step most words of the sparse steps
        // hold no mark; a byte per vertex cost ~5 instructions)
        // The byte of bits is also the queue's byte of `qbits` (written for every 8
        // marks, zero or not: a pull step's bitmap then takes the queue's bits a byte at a
        // time, `or_bits`, instead of a read-modify-write of a word per queued vertex)
        int64_t o = b;
        for (; o + 8 <= e; o += 8) {
          uint64_t w;
          std::memcpy(&w, m + o, 8);
          if (!w) { qb[o >> 3] = 0; continue; }
          std::memset(m + o, 0, 8);
          uint64_t bits = ((w & UINT64_C(0x0101010101010101)) *
                           UINT64_C(0x0102040810204080)) >> 56;
          qb[o >> 3] = (uint8_t)bits;
          while (bits) {
            const int64_t x = o + __builtin_ctzll(bits);
            c[at++] = (uint32_t)x;
            if (Tally && tally) f(x + lbase, s0, s1, s2, s3);
            bits &= bits - 1;
          }
        }
        if (o < e) {  // the range's last (partial) byte: the last thread's
          uint8_t tail = 0;
          for (; o < e; ++o)
            if (m[o]) {
              c[at++] = (uint32_t)o; m[o] = 0; tail |= (uint8_t)(1u << (o & 7));
              if (Tally && tally) f(o + lbase, s0, s1, s2, s3);
            }
          qb[(e - 1) >> 3] = tail;
        }
      }
      for (int i = 1; i <= T; ++i) k += cnt[i];
      scan = false;
      sorted = true;
      bits = true;
    } else {
      const int64_t Q = (int64_t)next.size();
      std::vector<int64_t> at(Q + 1, 0);
      for (int64_t i = 0; i < Q; ++i) at[i + 1] = at[i] + (int64_t)next[i].size();
      k = at[Q];
      #pragma omp parallel for schedule(static, 1) if(k > 2048) reduction(+:s0, s1, s2, s3) \
          firstprivate(f)
      for (int64_t i = 0; i < Q; ++i) {  // queue i at its offset, in the order pushed
        uint32_t* c = cur.get() + at[i];
        for (uint32_t o : next[i]) {
          *c++ = o; mark[o] = 0;
          if (Tally && tally) f((int64_t)o + lbase, s0, s1, s2, s3);
        }
        next[i].clear();
      }
      sorted = false;  // each thread's pushes in the order they came
      bits = false;
    }
    qsum[0] = s0; qsum[1] = s1; qsum[2] = s2; qsum[3] = s3;
    ncur = k;
    sparse = ok && (!first || from_entry);
    counts = ok && !first;
    tallied = first && summed;
    first = false;
  }
  int64_t span() const { return sparse ? ncur : hi - lo; }
  // Thread t's share [b, e) of a `sorted` queue for a pass that sets one bit per queued
  // vertex in a bitmap of local ids (word = (cur[i] + lbase) / 64): the equal static
  // shares with each end moved forward past the entries of the word it splits, so every
  // word's entries fall in one share and each thread owns the words it writes (no atomic
  // or: with one per queued vertex the kron-18 pass took 0.79 ms of process CPU at two
  // threads against 0.16 ms at one).  The shares of threads 0 .. nt-1 cover [0, ncur)
  // without overlap.
  void word_share(int t, int nt, int64_t& b, int64_t& e) const {
    auto cut = [&](int64_t i) {
      if (i <= 0 || i >= ncur) return i <= 0 ? (int64_t)0 : ncur;
      const int64_t w = ((int64_t)cur[i - 1] + lbase) >> 6;
      while (i < ncur && (((int64_t)cur[i] + lbase) >> 6) == w) ++i;
      return i;
    };
    b = cut(ncur * t / nt);
    e = cut(ncur * (t + 1) / nt);
  }
  int64_t at(int64_t i) const { return sparse ? (int64_t)cur[i] + lo : lo + i; }
  // When `bits` (this queue was collected from the marks): or the queue's bits into the
  // bitmap `bm` of local ids (local id l = offset + lbase; bit l % 64 of word l / 64) and
  // say true; else false (set them from `cur`).  A byte at a time when lbase is a
  // multiple of 8 (byte k of the range is byte lbase / 8 + k of the little-endian words),
  // or-ed so that the bits of other vertices sharing the range's end bytes stay.
  bool or_bits(uint64_t* bm) const {
    if (!bits || (lbase & 7) || !sparse) return false;
    static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "bytes of a word in order");
    // (eight bytes at a time through restrict pointers: with the bitmap a vector of the
    // declarations the byte loop was no longer vectorised, 0.2 M instructions at kron-18)
    uint8_t* __restrict d = reinterpret_cast<uint8_t*>(bm) + (lbase >> 3);
    const uint8_t* __restrict q = qbits.data();
    const int64_t nb = (hi - lo + 7) / 8;
    int64_t k = 0;
    for (; k + 8 <= nb; k += 8) {
      uint64_t a, b;
      std::memcpy(&a, d + k, 8);
      std::memcpy(&b, q + k, 8);
      a |= b;
      std::memcpy(d + k, &a, 8);
    }
    for (; k < nb; ++k) d[k] |= q[k];
    return true;
  }
};

}  // namespace cosynth
