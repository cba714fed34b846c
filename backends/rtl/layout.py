"""Where an interval unit's data live in external memory: the memory layout, as data.

Like the register map (``regmap``), the layout is described once and read by everyone
who needs it: the unit's block engine (``interval.IntervalUnit``) is given its region
bases in registers, the host (``interval_host``) writes vertex tables and edge blocks
where it says, and the cost model (``interval_costs``) counts the bytes it moves.

Words are ``memport.WORD_BYTES`` = 8 bytes (one port word).  Vertices are split into
``q = ceil(n / I)`` *intervals* of ``I`` vertices (``I`` a power of two)::

    region k (one per unit memory, in ``RegisterMap.memories`` order):
        words [k * q * I, (k + 1) * q * I): entry v of memory k at word k * q * I + v,
        the value sign-extended to 64 bits; entries n .. q * I - 1 are padding
    edge region, from word ``edge_base`` = memories * q * I:
        blocks, one after another; a block holds the edges of one (target interval,
        other interval) pair of one rule, ``edge_words`` words per edge:
            word 0: bits 0..31 the source's *local* address, bits 32..63 the destination's
            word 1 (weighted units only): the weight, sign-extended to 64 bits
        or, a weighted run whose weights fit 32 bits with 2 I <= 65536 (``packs``), one
        word per edge: bits 0..15 source, 16..31 destination (local), 32..63 the weight;
        an unweighted run with 2 I <= 65536, two edges a word (``packs``);
        a weighted run whose weights all fit ``dense_bits`` = 32 - 2 log2 I bits
        unsigned (``dense``), two edges a word (``DENSE``), described below;
        a block off the diagonal that gathers window B (``gathers``) is preceded by its
        *gather map*: ``I / b`` words (``b = interval.gather_map_bits(I)``), bit j of
        word w set when an edge of the block reads window B's entry ``w b + j``

Local addresses (the unit holds ``2 I`` entries per memory): an edge's target endpoint
(the rule's ``target_end``) at ``v - d I`` in window A = [0, I); its other endpoint at
``I + u - s I`` in window B = [I, 2 I) -- or, when both fall in the same interval
(s == d), at ``u - d I`` in window A, so that the rule reads the value it is updating.

Dense weighted edges (``DENSE``, version 7), with ``L = log2 I`` (``I <= 2**15``) and
``F = 16 - L``: an edge is 32 bits, the low half of its word (bits 0..31) or the high
half (32..63), the block's edges in order, low half first; a half is two 16-bit fields::

    bits  0 .. L - 1        the source's index in its window (local address mod I)
    bits  L .. 15           the weight's bits 0 .. F - 1
    bits 16 .. 16 + L - 1   the destination's index in its window
    bits 16 + L .. 31       the weight's bits F .. 2 F - 1 (unsigned: 0 <= w < 2**(2 F))

The window bit of each endpoint (bit L of its local address) is not in the word: the
target's is 0 (window A), the other endpoint's is 1 off the diagonal (s != d, window B)
and 0 on it; the host writes them per block (``interval.FLAG_SRC_B``, ``FLAG_DST_B``),
and the engine wires them in as bit L -- the decode is a fixed selection of bits for a
given I (an elaboration-time constant), no arithmetic.  The index fields sit where the
packed one-a-word format has its 16-bit addresses (bits 0.. and 16..), so the engine's
selection of a low-half edge's addresses is the packed one.  An odd block's last word
has a pad in its high half (written as all ones); the engine knows it by position -- the
high half of the block's last word when its edge count is odd -- not by content, so any
real edge may hold any bits (an all-ones edge: both indices I - 1, weight 2**(2 F) - 1).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .memport import WORD_BYTES
from .regmap import RegisterMap

__all__ = ["MemoryLayout", "encode_edges", "encode_run", "packs", "dense", "dense_bits",
           "gathers", "map_words", "edges_per_word", "PACKED", "DENSE", "LAYOUT_VERSION"]

LAYOUT_VERSION = 7  # 2: the edges of a block interleaved (halves); 3: packed weighted
#                      edges; 4: a gather map before each block that gathers window B;
#                      5: unweighted edges packed two a word; 6: a gathering block's
#                      edges in the order of their window-B entry; 7: weighted edges
#                      two a word (``DENSE``)

#: how a run's edges went (``encode_run``'s third value): 0 unpacked, ``PACKED``
#: (``packs``: a weighted edge one word, unweighted edges two a word), ``DENSE`` (weighted
#: edges two a word: ``dense``)
PACKED, DENSE = 1, 2


@dataclass(frozen=True)
class MemoryLayout:
    """The layout of one graph of ``n`` vertices for a unit with ``memories`` tables."""

    n: int
    interval: int  # I: vertices per interval (a power of two)
    memories: tuple[tuple[int, str, str], ...]  # (id, table, role) in region order
    edge_words: int  # 1, or 2 when the unit reads a weight

    def __post_init__(self):
        if self.interval < 2 or self.interval & (self.interval - 1):
            raise ValueError(f"interval {self.interval} is not a power of two >= 2")

    @classmethod
    def of(cls, rm: RegisterMap, n: int, interval: int) -> MemoryLayout:
        return cls(n, interval, tuple((m.id, m.table, m.role) for m in rm.memories),
                   2 if rm.weight_bits else 1)

    @property
    def intervals(self) -> int:
        return max(1, math.ceil(self.n / self.interval))

    @property
    def region_words(self) -> int:
        return self.intervals * self.interval

    def region_base(self, mem_id: int) -> int:
        """First word of memory ``mem_id``'s region."""
        return mem_id * self.region_words

    @property
    def edge_base(self) -> int:
        return len(self.memories) * self.region_words

    @property
    def live(self) -> tuple[int, ...]:
        """Memories the engine writes back after a destination interval: the live ones."""
        return tuple(i for i, _, role in self.memories if role == "live")

    @property
    def bytes_per_edge(self) -> int:
        return self.edge_words * WORD_BYTES

    def interval_bytes(self) -> int:
        """Bytes of one window load (every memory's I entries)."""
        return len(self.memories) * self.interval * WORD_BYTES

    def writeback_bytes(self) -> int:
        return len(self.live) * self.interval * WORD_BYTES

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(version=LAYOUT_VERSION, word_bytes=WORD_BYTES, intervals=self.intervals,
                 region_words=self.region_words, edge_base=self.edge_base,
                 live=list(self.live),
                 edge_word0={"src_local": [0, 32], "dst_local": [32, 64]},
                 edge_word1="weight (signed 64)" if self.edge_words == 2 else None)
        if self.edge_words == 2 and dense_bits(self):
            L = self.interval.bit_length() - 1
            d["dense_half"] = {"src_index": [0, L], "weight_low": [L, 16],
                               "dst_index": [16, 16 + L], "weight_high": [16 + L, 32]}
        return d


def encode_edges(layout: MemoryLayout, target_end: str, src: np.ndarray, dst: np.ndarray,
                 weight: np.ndarray | None, pack: bool = True):
    """``encode_run`` without saying whether it packed: ``(words, blocks)``."""
    return encode_run(layout, target_end, src, dst, weight, pack)[:2]


def packs(layout: MemoryLayout, weight) -> bool:
    """Does a run pack (``PACKED``)?  Local addresses (below ``2 I``) fit 16 bits, and
    a weighted run's every weight a signed 32-bit field (one word an edge); an
    unweighted run goes two edges a word (bits 0..31 the first, 32..63 the second,
    each 16-bit source then destination; all ones pads an odd block's last word --
    never an edge: its target's address is below ``I``)."""
    if 2 * layout.interval > 1 << 16:
        return False
    if layout.edge_words == 1:  # unweighted: two edges a word
        return True
    if weight is None:
        return False
    w = np.asarray(weight, dtype=np.int64)
    return not w.size or bool(w.min() >= -(1 << 31) and w.max() < 1 << 31)


def dense_bits(layout: MemoryLayout) -> int:
    """Weight bits of a dense edge (``DENSE``): ``32 - 2 log2 I``; 0 when the layout has
    none (unweighted, or ``2 I > 65536``)."""
    if layout.edge_words != 2 or 2 * layout.interval > 1 << 16:
        return 0
    return 32 - 2 * (layout.interval.bit_length() - 1)


def dense(layout: MemoryLayout, weight) -> bool:
    """Does a weighted run go two edges a word (``DENSE``)?  When every weight is an
    integer in ``[0, 2**dense_bits)`` (unsigned; Kronecker's 1..255 fit at I <= 4096)."""
    b = dense_bits(layout)
    if not b or weight is None:
        return False
    w = np.asarray(weight, dtype=np.int64)  # as ``packs`` and the encoder read them
    return not w.size or bool(w.min() >= 0 and w.max() < 1 << b)


def edges_per_word(layout: MemoryLayout, packed: int) -> float:
    """Edges a port word carries for a run that went ``packed`` (``encode_run``'s third
    value): two when unweighted packed or ``DENSE``, one when weighted ``PACKED`` or
    unweighted unpacked, a half when weighted unpacked."""
    if packed == DENSE or (packed and layout.edge_words == 1):
        return 2.0
    return 1.0 / (1 if packed else layout.edge_words)


def map_words(layout: MemoryLayout) -> int:
    """Words of a block's gather map: ``I / b`` of ``b = min(64, I)`` bits."""
    return layout.interval // min(64, layout.interval)


def gathers(layout: MemoryLayout, used: int) -> bool:
    """Does a block off the diagonal whose edges read ``used`` distinct entries of window
    B load them one by one (``interval.FLAG_GATHER_B``) rather than the whole window?
    When it takes fewer cycles: the map's words once, then per memory a cycle per map
    word and one read per entry, against ``I`` reads per memory."""
    k, w = len(layout.memories), map_words(layout)
    return k * (used + w) + w < k * layout.interval


def encode_run(layout: MemoryLayout, target_end: str, src: np.ndarray, dst: np.ndarray,
               weight: np.ndarray | None, pack: bool = True, gather: bool = True,
               dense_ok: bool = True):
    """Group one rule's edges into blocks: ``(words, blocks, packed)`` where ``words``
    (uint64) is the edge region's content, ``packed`` how the run's edges went: ``DENSE``
    (2) when a weighted run's weights fit ``dense_bits`` (``dense``: two edges a word,
    the block engine's ``FLAG_DENSE``; ``dense_ok`` False never), else ``PACKED`` (1,
    True) when ``packs`` (a weighted edge one word: bits 0..15 source, 16..31
    destination, 32..63 the weight; unweighted edges two a word; ``FLAG_PACKED``), else
    0 (``pack`` False: never packed nor dense), and ``blocks`` a list
    of ``(d, s, first_word, edges, gathered)`` in the order the host walks them
    (``gathered``: the entries of window B the block gathers, preceded by its map
    (``gathers``), or 0 when it loads the window whole or is on the diagonal; ``gather``
    False never gathers) (by target interval d, then other interval s).  Inside
    a block the edges go in the order 0, h, 1, h + 1, ... (h = ceil(k / 2)) of the order
    they came in, as the host interleaves a whole run (``host.interleave``): a vertex's
    edges that target one entry (in-edges of one vertex; a block keeps only part of an
    interleaved run, so the host's interleave alone does not separate them) would
    otherwise follow each other and cost the pipeline a bubble each (unit.py's
    ``STALLS``); the unit's loops are proved order-independent.  A block that gathers
    then orders its edges by their window-B entry (stable: the interleaved order within
    one entry): the engine gathers the entries in rising order beside the run and lets
    an edge go once its entry is written (``interval``'s gate), so the edges follow the
    gather instead of waiting for all of it; edges of one source target distinct
    entries, so only parallel edges meet a bubble."""
    I = layout.interval
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    tv, ov = (src, dst) if target_end == "src" else (dst, src)
    d, s = tv // I, ov // I
    key = d * layout.intervals + s
    order = np.argsort(key, kind="stable")
    order = order[_interleave_runs(key[order])]
    tloc = tv - d * I
    oloc = ov - s * I + np.where(s == d, 0, I)
    ks = key[order]
    packed = (DENSE if dense_ok and dense(layout, weight) else PACKED) \
        if pack and packs(layout, weight) else 0
    if not ks.size:
        return np.zeros(0, dtype=np.uint64), [], packed
    cuts = np.flatnonzero(np.diff(ks)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [ks.size]])
    # distinct window-B entries per block (off the diagonal), and which blocks gather
    nb = starts.size
    bid = np.repeat(np.arange(nb), ends - starts)
    bk = ks[starts]
    off = bk % layout.intervals != bk // layout.intervals
    oo = (oloc - I)[order]
    pair = np.unique(bid[off[bid]] * I + oo[off[bid]])
    used = np.bincount(pair // I, minlength=nb)
    gw = map_words(layout)
    g = np.array([bool(gather) and bool(o) and gathers(layout, int(u))
                  for o, u in zip(off.tolist(), used.tolist())], dtype=bool)
    # a gathering block's edges in the order of their window-B entry (stable), the
    # order its gather loads them, so the engine's gate lets them follow the gather
    sub = np.argsort(bid * I + np.where(g[bid], oo, 0), kind="stable")
    order = order[sub]
    sloc, dloc = (tloc, oloc) if target_end == "src" else (oloc, tloc)
    # two edges a word: unweighted packed, or weighted dense
    pairs = packed == DENSE or (bool(packed) and layout.edge_words == 1)
    ew = 1 if packed else layout.edge_words
    if packed == DENSE:  # two 16-bit fields: an index and part of the weight each
        L = I.bit_length() - 1
        F = 16 - L
        m = np.uint64(I - 1)
        wt = np.asarray(weight, dtype=np.int64).astype(np.uint64)
        w0 = (sloc.astype(np.uint64) & m) | ((wt & np.uint64((1 << F) - 1)) << np.uint64(L)) | \
            ((dloc.astype(np.uint64) & m) << np.uint64(16)) | \
            ((wt >> np.uint64(F)) << np.uint64(16 + L))
    elif pairs:
        w0 = (sloc.astype(np.uint64) & np.uint64(0xFFFF)) | \
            ((dloc.astype(np.uint64) & np.uint64(0xFFFF)) << np.uint64(16))
    elif packed:
        w0 = (sloc.astype(np.uint64) & np.uint64(0xFFFF)) | \
            ((dloc.astype(np.uint64) & np.uint64(0xFFFF)) << np.uint64(16)) | \
            ((np.asarray(weight, dtype=np.int64).astype(np.uint64) & np.uint64(0xFFFFFFFF))
             << np.uint64(32))
    else:
        w0 = (sloc.astype(np.uint64) & np.uint64(0xFFFFFFFF)) | \
            (dloc.astype(np.uint64) << np.uint64(32))
    w0 = w0[order]
    if ew == 2:
        words = np.empty(2 * src.size, dtype=np.uint64)
        words[0::2] = w0
        words[1::2] = np.asarray(weight, dtype=np.int64)[order].astype(np.uint64)
    else:
        words = w0
    blocks = []
    # each block's first edge word: the blocks in order, a map before a gathering one
    lens = ends - starts
    sizes = ((lens + 1) // 2 if pairs else lens * ew) + np.where(g, gw, 0)
    at = np.concatenate([[0], np.cumsum(sizes)[:-1]]) + np.where(g, gw, 0)
    out = np.zeros(int(sizes.sum()), dtype=np.uint64)
    pos = (np.repeat(at - starts * ew, lens) + np.arange(ks.size) * ew)
    if pairs:  # edge i of a block in half i % 2 of word i // 2; an odd block padded
        #       (all ones: unweighted, a pad by content; dense, by position)
        i_in = np.arange(ks.size) - np.repeat(starts, lens)
        pos = np.repeat(at, lens) + i_in // 2
        lo = i_in % 2 == 0
        out[pos[lo]] = words[lo]
        out[pos[~lo]] |= words[~lo] << np.uint64(32)
        odd = lens % 2 == 1
        out[(at + lens // 2)[odd]] |= np.uint64(0xFFFFFFFF) << np.uint64(32)
    elif ew == 2:
        out[pos] = words[0::2]
        out[pos + 1] = words[1::2]
    else:
        out[pos] = words
    if g.any():
        gb = min(64, I)
        pb = pair // I
        keep = g[pb]
        e = pair[keep] % I
        np.bitwise_or.at(out, at[pb[keep]] - gw + e // gb,
                         np.left_shift(np.uint64(1), (e % gb).astype(np.uint64)))
    for i in range(nb):
        k = int(bk[i])
        blocks.append((k // layout.intervals, k % layout.intervals,
                       layout.edge_base + int(at[i]), int(ends[i] - starts[i]),
                       int(used[i]) if g[i] else 0))
    return out, blocks, packed


def _interleave_runs(keys: np.ndarray) -> np.ndarray:
    """The positions that interleave each run of equal ``keys`` (sorted): within a run
    of k starting at a, a, a + h, a + 1, a + h + 1, ... with h = ceil(k / 2)."""
    k = keys.size
    if not k:
        return np.zeros(0, dtype=np.int64)
    cuts = np.flatnonzero(np.diff(keys)) + 1
    starts = np.concatenate([[0], cuts]).astype(np.int64)
    lens = np.diff(np.concatenate([starts, [k]]))
    a = np.repeat(starts, lens)
    i = np.arange(k, dtype=np.int64) - a
    h = np.repeat((lens + 1) // 2, lens)
    return a + np.where(i % 2 == 0, i // 2, h + i // 2)
