"""PB-CSR: pointer-based compressed sparse rows, one (column index, weight) entry per synapse."""

from __future__ import annotations

import math

import numpy as np

from .base import (
    Encoding,
    Memory,
    MemoryImage,
    MemoryParams,
    Pairs,
    TracedMemories,
    bits_for,
    check_weight_bits,
    check_weights,
    fields_per_word,
    from_signed_field,
    get_field,
    pack_fields,
    pointer_bits,
    set_field,
    to_field,
)


class PbCsr(Encoding):
    """``pointers`` holds ``n_pre + 1`` row starts; ``entries`` the rows' entries back to back.

    An entry is ``index << weight_bits | weight``; entries never straddle words. The stored
    synapses are those non-zero when the layer was encoded; updates modify them in place (a weight
    that reaches zero stays stored). Forward reads the two row pointers and the row's entries.
    Backward walks every row, reading its pointers and scanning its sorted indices until it meets
    or passes the column: index-based formats pay for the transposed access with a search.
    """

    name = "pb_csr"
    layer_types = ("fc", "conv")
    description = "row pointers + (index, weight) entries of the non-zero synapses"
    templates = ("rtl/pb_csr.v.j2",)

    def __init__(self, image, n_pre, n_post, weight_bits, mask, ptr_bits, idx_bits, ptr_per_word, ent_per_word):
        super().__init__(image, n_pre, n_post, weight_bits)
        self.mask = mask
        self.ptr_bits, self.idx_bits = ptr_bits, idx_bits
        self.ptr_per_word, self.ent_per_word = ptr_per_word, ent_per_word
        self.entry_bits = idx_bits + weight_bits

    @classmethod
    def from_dense(
        cls, weights: np.ndarray, weight_bits: int, params: MemoryParams, max_nnz: int | None = None
    ) -> PbCsr:
        check_weight_bits(weight_bits)
        weights = check_weights(weights, weight_bits)
        n_pre, n_post = weights.shape
        mask = weights != 0
        nnz = int(mask.sum())
        idx_bits, ptr_bits = bits_for(n_post), pointer_bits(nnz, max_nnz)
        entry_bits = idx_bits + weight_bits
        kp = fields_per_word(ptr_bits, params.word_bits, "a row pointer")
        ke = fields_per_word(entry_bits, params.word_bits, "a PB-CSR entry (index + weight)")
        starts = np.concatenate([[0], np.cumsum(mask.sum(axis=1))]).tolist()
        entries = [
            (int(j) << weight_bits) | to_field(weights[i, j], weight_bits)
            for i in range(n_pre)
            for j in np.flatnonzero(mask[i])
        ]
        pointers = Memory("pointers", params.word_bits, pack_fields(starts, ptr_bits, kp), 0, (n_pre + 1) * ptr_bits)
        ent_words = pack_fields(entries, entry_bits, ke, max(1, math.ceil(nnz / ke)))
        ent = Memory("entries", params.word_bits, ent_words, nnz * weight_bits, nnz * idx_bits)
        image = MemoryImage({"pointers": pointers.place(params), "entries": ent.place(params)})
        return cls(image, n_pre, n_post, weight_bits, mask, ptr_bits, idx_bits, kp, ke)

    def _pointer(self, i: int, mem: TracedMemories) -> int:
        word, slot = divmod(i, self.ptr_per_word)
        return get_field(mem.read("pointers", word), slot, self.ptr_bits)

    def _entry(self, e: int, mem: TracedMemories) -> tuple[int, int]:
        word, slot = divmod(e, self.ent_per_word)
        raw = get_field(mem.read("entries", word), slot, self.entry_bits)
        return raw >> self.weight_bits, from_signed_field(raw, self.weight_bits)

    def _find(self, lo: int, hi: int, post: int, mem: TracedMemories) -> tuple[int, int] | None:
        """Scan entries ``lo..hi-1`` (sorted by index) for ``post``: (entry number, weight)."""
        for e in range(lo, hi):
            idx, w = self._entry(e, mem)
            if idx >= post:
                return (e, w) if idx == post else None
        return None

    def forward_event(self, pre: int, mem: TracedMemories) -> Pairs:
        lo, hi = self._pointer(pre, mem), self._pointer(pre + 1, mem)
        out: Pairs = []
        for e in range(lo, hi):
            idx, w = self._entry(e, mem)
            if w:
                out.append((idx, w))
        return out

    def backward_event(self, post: int, mem: TracedMemories) -> Pairs:
        out: Pairs = []
        lo = self._pointer(0, mem)
        for pre in range(self.n_pre):
            hi = self._pointer(pre + 1, mem)  # the next row's start is kept, so each pointer is read once
            found = self._find(lo, hi, post, mem)
            if found and found[1]:
                out.append((pre, found[1]))
            lo = hi
        return out

    def update_event(self, pre: int, post: int, delta: int, mem: TracedMemories) -> bool:
        lo, hi = self._pointer(pre, mem), self._pointer(pre + 1, mem)
        found = self._find(lo, hi, post, mem)
        if found is None:
            return False
        e, w = found
        word_addr, slot = divmod(e, self.ent_per_word)
        word = mem.read("entries", word_addr)
        raw = (post << self.weight_bits) | to_field(self.saturate(w + delta), self.weight_bits)
        mem.write("entries", word_addr, set_field(word, slot, self.entry_bits, raw))
        return True

    def dense(self) -> np.ndarray:
        mem = self.traced()
        out = np.zeros((self.n_pre, self.n_post), dtype=np.int64)
        for pre in range(self.n_pre):
            for e in range(self._pointer(pre, mem), self._pointer(pre + 1, mem)):
                idx, w = self._entry(e, mem)
                out[pre, idx] = w
        return out

    def connectivity(self) -> np.ndarray:
        return self.mask.copy()

    def storage_formula(self) -> dict[str, int]:
        nnz = int(self.mask.sum())
        return {
            "payload_bits": nnz * self.weight_bits,
            "metadata_bits": nnz * self.idx_bits + (self.n_pre + 1) * self.ptr_bits,
        }

    def rtl_params(self) -> dict:
        return {
            "ptr_bits": self.ptr_bits,
            "idx_bits": self.idx_bits,
            "entry_bits": self.entry_bits,
            "ptr_per_word": self.ptr_per_word,
            "ent_per_word": self.ent_per_word,
        }
