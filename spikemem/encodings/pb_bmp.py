"""PB-BMP: row pointers, a connectivity bitmap with a rank directory, and the non-zero weights packed."""

from __future__ import annotations

import math

import numpy as np

from .base import Encoding, Pairs, Triples
from .bitfields import (
    bits_for,
    check_weight_bits,
    check_weights,
    fields_per_word,
    from_signed_field,
    get_field,
    pack_fields,
    pack_rows,
    pointer_bits,
    set_field,
    to_field,
    to_fields,
)
from .memories import Memory, MemoryImage, MemoryParams, TracedMemories, packed_weights_memory


class PbBmp(Encoding):
    """``pointers[i]`` is the offset of row ``i``'s first weight in ``weights``; ``bitmap`` holds one
    bit per potential synapse, each row aligned to ``bitmap_words_per_row`` words; where a row spans
    several bitmap words, ``ranks`` (the rank directory) holds for every bitmap word after a row's
    first the number of set bits before it in its row.

    Forward reads the pointer, the row's bitmap words and the weights of its set bits. Backward
    reads, in every row, the one bitmap word holding the column's bit; only when the bit is set
    does it read that word's rank, the pointer and the weight: at most four reads per row, however
    long the row (the rank of a bit is its word's rank plus a popcount inside the word).

    The row-stream backward needs neither pointers nor ranks: it reads every bitmap word in order,
    counts the set bits it passes (the weights are packed row after row from offset 0) and reads a
    weight word only where a set bit of a masked column falls in it.
    """

    name = "pb_bmp"
    label = "PB-BMP"
    layer_types = ("fc", "conv")
    description = "row pointers + connectivity bitmap with a rank directory + packed non-zero weights"
    templates = ("rtl/pb_bmp.v.j2",)
    operations = ("forward", "backward", "update", "backward_row")

    def __init__(self, image, n_pre, n_post, weight_bits, mask, ptr_bits, ptr_per_word, w_per_word, word_bits):
        super().__init__(image, n_pre, n_post, weight_bits)
        self.mask = mask
        self.ptr_bits, self.ptr_per_word, self.w_per_word = ptr_bits, ptr_per_word, w_per_word
        self.word_bits = word_bits
        self.bitmap_words_per_row = math.ceil(n_post / word_bits)
        self.rank_bits = self.rank_field_bits(n_post)
        self.rank_per_word = word_bits // self.rank_bits

    @staticmethod
    def rank_field_bits(n_post: int) -> int:
        """A rank counts the set bits before a bitmap word in its row: at most ``n_post - 1``."""
        return bits_for(n_post)

    @property
    def ranks_per_row(self) -> int:
        """Rank-directory entries per row: one per bitmap word after the first (whose rank is 0)."""
        return self.bitmap_words_per_row - 1

    @classmethod
    def from_dense(
        cls, weights: np.ndarray, weight_bits: int, params: MemoryParams, max_nnz: int | None = None
    ) -> PbBmp:
        check_weight_bits(weight_bits)
        weights = check_weights(weights, weight_bits)
        n_pre, n_post = weights.shape
        wb = params.word_bits
        mask = weights != 0
        nnz = int(mask.sum())
        ptr_bits = pointer_bits(nnz, max_nnz)
        kp = fields_per_word(ptr_bits, wb, "a row pointer")
        starts = np.concatenate([[0], np.cumsum(mask.sum(axis=1))])[:-1].tolist()
        bpr = math.ceil(n_post / wb)
        bitmap = pack_rows(mask.astype(np.uint64), 1, wb)
        # Set bits per bitmap word, then the count before each word of a row (the first's is 0).
        per_word = np.zeros((n_pre, bpr * wb), dtype=np.int64)
        per_word[:, :n_post] = mask
        before = np.cumsum(per_word.reshape(n_pre, bpr, wb).sum(axis=2), axis=1)[:, :-1]
        weight_mem, kw = packed_weights_memory(to_fields(weights[mask], weight_bits), weight_bits, wb)
        memories = {
            "pointers": Memory("pointers", wb, pack_fields(starts, ptr_bits, kp), 0, n_pre * ptr_bits),
            "bitmap": Memory("bitmap", wb, bitmap, 0, n_pre * n_post),
        }
        if bpr > 1:
            rank_bits = cls.rank_field_bits(n_post)
            kr = fields_per_word(rank_bits, wb, "a rank-directory entry")
            memories["ranks"] = Memory("ranks", wb, pack_fields(before, rank_bits, kr), 0, before.size * rank_bits)
        memories["weights"] = weight_mem
        image = MemoryImage(memories)
        for m in image.memories.values():
            m.place(params)
        return cls(image, n_pre, n_post, weight_bits, mask, ptr_bits, kp, kw, wb)

    def _pointer(self, i: int, mem: TracedMemories) -> int:
        return mem.read_field("pointers", i, self.ptr_per_word, self.ptr_bits)

    def _rank(self, pre: int, b: int, mem: TracedMemories) -> int:
        """Set bits of row ``pre`` before its bitmap word ``b`` (the directory has no entry for 0)."""
        if b == 0:
            return 0
        return mem.read_field("ranks", pre * self.ranks_per_row + b - 1, self.rank_per_word, self.rank_bits)

    def _bitmap_word(self, pre: int, b: int, mem: TracedMemories) -> int:
        return mem.read("bitmap", pre * self.bitmap_words_per_row + b)

    def _weight(self, offset: int, mem: TracedMemories) -> int:
        return from_signed_field(mem.read_field("weights", offset, self.w_per_word, self.weight_bits), self.weight_bits)

    def _locate(self, pre: int, post: int, mem: TracedMemories) -> int | None:
        """Offset in ``weights`` of synapse (pre, post), or None where its bit is clear."""
        b, bit = divmod(post, self.word_bits)
        word = self._bitmap_word(pre, b, mem)
        if not (word >> bit) & 1:
            return None
        inside = (word & ((1 << bit) - 1)).bit_count()
        return self._pointer(pre, mem) + self._rank(pre, b, mem) + inside

    def forward_event(self, pre: int, mem: TracedMemories) -> Pairs:
        offset = self._pointer(pre, mem)
        out: Pairs = []
        for b in range(self.bitmap_words_per_row):
            word = self._bitmap_word(pre, b, mem)
            for bit in range(self.word_bits):
                if (word >> bit) & 1:
                    w = self._weight(offset, mem)
                    offset += 1
                    if w:
                        out.append((b * self.word_bits + bit, w))
        return out

    def backward_event(self, post: int, mem: TracedMemories) -> Pairs:
        out: Pairs = []
        for pre in range(self.n_pre):
            offset = self._locate(pre, post, mem)
            if offset is not None:
                w = self._weight(offset, mem)
                if w:
                    out.append((pre, w))
        return out

    def backward_row_event(self, posts: frozenset[int], mem: TracedMemories, rows: range | None = None) -> Triples:
        out: Triples = []
        rows = rows or range(self.n_pre)
        # The weights are packed from offset 0; a block that starts later starts at its first weight.
        offset = int(self.mask[: rows.start].sum())
        for pre in rows:
            for b in range(self.bitmap_words_per_row):
                word = self._bitmap_word(pre, b, mem)
                while word:  # the set bits, lowest first
                    low = word & -word
                    post = b * self.word_bits + low.bit_length() - 1
                    word ^= low
                    if post in posts:
                        w = self._weight(offset, mem)
                        if w:
                            out.append((pre, post, w))
                    offset += 1
        return out

    def update_row_event(self, pre: int, deltas: dict[int, int], mem: TracedMemories) -> int:
        offset = self._pointer(pre, mem)
        targets: dict[int, int] = {}  # offset in weights -> delta, of the stored synapses changed
        for b in range(self.bitmap_words_per_row):
            word = self._bitmap_word(pre, b, mem)
            while word:
                low = word & -word
                post = b * self.word_bits + low.bit_length() - 1
                word ^= low
                if post in deltas:
                    targets[offset] = deltas[post]
                offset += 1
        by_word: dict[int, list[int]] = {}
        for off in sorted(targets):
            by_word.setdefault(off // self.w_per_word, []).append(off)
        for addr, offsets in by_word.items():
            word = mem.read("weights", addr)
            for off in offsets:
                slot, wb = off % self.w_per_word, self.weight_bits
                w = self.saturate(from_signed_field(get_field(word, slot, wb), wb) + targets[off])
                word = set_field(word, slot, wb, to_field(w, wb))
            mem.write("weights", addr, word)
        return len(targets)

    def update_event(self, pre: int, post: int, delta: int, mem: TracedMemories) -> bool:
        offset = self._locate(pre, post, mem)
        if offset is None:
            return False
        w = self._weight(offset, mem)
        addr, slot = divmod(offset, self.w_per_word)
        word = mem.read("weights", addr)
        raw = to_field(self.saturate(w + delta), self.weight_bits)
        mem.write("weights", addr, set_field(word, slot, self.weight_bits, raw))
        return True

    def dense(self) -> np.ndarray:
        mem = self.traced()
        out = np.zeros((self.n_pre, self.n_post), dtype=np.int64)
        for pre in range(self.n_pre):
            for post, w in self.forward_event(pre, mem):
                out[pre, post] = w
        return out

    def connectivity(self) -> np.ndarray:
        return self.mask.copy()

    def storage_formula(self) -> dict[str, int]:
        nnz = int(self.mask.sum())
        return {
            "payload_bits": nnz * self.weight_bits,
            "metadata_bits": self.n_pre * self.n_post
            + self.n_pre * self.ptr_bits
            + self.n_pre * self.ranks_per_row * self.rank_bits,
        }

    def rtl_params(self) -> dict:
        return {
            "ptr_bits": self.ptr_bits,
            "ptr_per_word": self.ptr_per_word,
            "w_per_word": self.w_per_word,
            "bitmap_words_per_row": self.bitmap_words_per_row,
            "rank_bits": self.rank_bits,
            "rank_per_word": self.rank_per_word,
            "ranks_per_row": self.ranks_per_row,
        }
