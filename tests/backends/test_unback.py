"""Tables whose ghost entries the blade program never reads (``projection.ghost_reads``)
hold memory for their owned entries only: the runtime's ``unback`` gives the ghost
ranges' pages back and ``fill_own`` fills the owned range only.  Checked with the real
toolchain and the kernel's page table (``mincore``); the emitter uses them exactly for
the tables no statement reads at a ghost."""

from __future__ import annotations

from cosynth import procs
from cosynth.backends.cpp.emit import emit_program
from cosynth.backends.toolchain import compile_program
from cosynth.frontend.rewrite import projection, variant
from tests.helpers import example

SOURCE = r"""
#include "cosynth_rt.hpp"
using namespace cosynth;
static int64_t resident(const void* a, const void* b) {
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t s = (uintptr_t)a & ~(page - 1), e = ((uintptr_t)b + page - 1) & ~(page - 1);
  std::vector<unsigned char> v((e - s) / page);
  if (mincore((void*)s, e - s, v.data()) != 0) return -1;
  int64_t n = 0;
  for (unsigned char c : v) n += c & 1;
  return n;
}
int main() {
  const int64_t n = 1 << 20, lo = 300000, hi = 700000;
  std::vector<double> t(n);  // value-initialised: every page touched
  const int64_t before = resident(t.data(), t.data() + n);
  unback(t, lo, hi);
  fill_own(t, lo, hi, 2.5);
  const int64_t low = resident(t.data() + 1024, t.data() + lo - 1024);
  const int64_t high = resident(t.data() + hi + 1024, t.data() + n - 1024);
  const int64_t own = resident(t.data() + lo, t.data() + hi);
  for (int64_t i = lo; i < hi; ++i)
    if (t[i] != 2.5) { std::printf("fill %lld\n", (long long)i); return 1; }
  for (int64_t i = 0; i < n; i += 4096) if ((i < lo || i >= hi) && t[i] != 0.0) {
    std::printf("ghost %lld not zero\n", (long long)i); return 1; }
  std::printf("%lld %lld %lld %lld\n", (long long)before, (long long)low, (long long)high,
              (long long)own);
  return 0;
}
"""


def test_unback_drops_the_ghost_pages_and_keeps_the_owned_ones():
    binary, _ = compile_program(SOURCE, name="unback")
    r = procs.run([binary], timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    before, low, high, own = (int(x) for x in r.stdout.split())
    page_doubles = 4096 // 8
    assert before >= (1 << 20) // page_doubles  # all of it was resident
    assert low == 0 and high == 0  # the ghost ranges: given back (reads see zeros)
    assert own >= (700000 - 300000) // page_doubles  # the owned range: filled


def test_only_tables_never_read_at_ghosts_are_unbacked():
    push, _ = variant(example("pagerank").ir, "bsp")
    src = emit_program(projection.apply(push).kernel, "examples/pagerank.py")
    assert "unback(u_rank, G.olo, G.ohi);" in src and "unback(u_contrib, G.olo, G.ohi);" in src
    assert "fill_own(u_rank, G.olo, G.ohi," in src and "fill_par<" not in src
    pull, _ = variant(example("sssp").ir, "pull")  # dist[e.src]: read at ghosts, refreshed
    src = emit_program(projection.apply(pull).kernel, "examples/sssp.py")
    assert "unback(u_dist" not in src and "refresh(u_dist" in src
