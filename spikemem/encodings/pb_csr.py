"""PB-CSR: pointer-based compressed sparse rows, one (column index, weight) entry per synapse."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from .base import Encoding, Pairs, Triples
from .bitfields import (
    bits_for,
    check_weight_bits,
    check_weights,
    fields_per_word,
    from_signed_field,
    pack_fields,
    pointer_bits,
    set_field,
    to_field,
    to_fields,
)
from .memories import Memory, MemoryImage, MemoryParams, TracedMemories


class PbCsr(Encoding):
    """``pointers`` holds ``n_pre + 1`` row starts; ``entries`` the rows' entries back to back.

    An entry is ``index << weight_bits | weight``; entries never straddle words. The stored
    synapses are those non-zero when the layer was encoded; updates modify them in place (a weight
    that reaches zero stays stored). Forward reads the two row pointers and the row's entries.
    Backward (the transposed access) walks every row, reading each pointer once, and finds the
    column in the row's sorted indices by binary search: no extra storage, about ``log2(row length)``
    entry reads per row. An update finds its synapse the same way. The row-stream backward reads
    every pointer and every entry once, in order (the entries' indices decide which are emitted).
    """

    name = "pb_csr"
    label = "PB-CSR"
    conv_reference = True
    layer_types = ("fc", "conv")
    description = "row pointers + (index, weight) entries of the non-zero synapses; binary search for columns"
    templates = ("rtl/pb_csr.v.j2",)
    operations = ("forward", "backward", "update", "backward_row")
    # How a column is found: "binary_search" in every row, or "column_index" (see PbCsrCsc).
    transposed_access: ClassVar[str] = "binary_search"

    def __init__(self, image, n_pre, n_post, weight_bits, mask, ptr_bits, idx_bits, ptr_per_word, ent_per_word):
        super().__init__(image, n_pre, n_post, weight_bits)
        self.mask = mask
        self.ptr_bits, self.idx_bits = ptr_bits, idx_bits
        self.ptr_per_word, self.ent_per_word = ptr_per_word, ent_per_word
        self.entry_bits = idx_bits + weight_bits

    @classmethod
    def _csr_memories(
        cls, weights: np.ndarray, weight_bits: int, params: MemoryParams, max_nnz: int | None
    ) -> tuple[dict[str, Memory], tuple]:
        """The row pointers and entries, and the constructor's field parameters."""
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
        _, cols = np.nonzero(mask)  # row-major: the rows' entries back to back, indices ascending
        entries = (cols.astype(np.uint64) << np.uint64(weight_bits)) | to_fields(weights[mask], weight_bits)
        pointers = Memory("pointers", params.word_bits, pack_fields(starts, ptr_bits, kp), 0, (n_pre + 1) * ptr_bits)
        ent_words = pack_fields(entries, entry_bits, ke, max(1, math.ceil(nnz / ke)))
        ent = Memory("entries", params.word_bits, ent_words, nnz * weight_bits, nnz * idx_bits)
        args = (n_pre, n_post, weight_bits, mask, ptr_bits, idx_bits, kp, ke)
        return {"pointers": pointers, "entries": ent}, args

    @classmethod
    def from_dense(
        cls, weights: np.ndarray, weight_bits: int, params: MemoryParams, max_nnz: int | None = None
    ) -> PbCsr:
        memories, args = cls._csr_memories(weights, weight_bits, params, max_nnz)
        image = MemoryImage({name: m.place(params) for name, m in memories.items()})
        return cls(image, *args)

    def _pointer(self, i: int, mem: TracedMemories) -> int:
        return mem.read_field("pointers", i, self.ptr_per_word, self.ptr_bits)

    def _entry(self, e: int, mem: TracedMemories) -> tuple[int, int]:
        raw = mem.read_field("entries", e, self.ent_per_word, self.entry_bits)
        return raw >> self.weight_bits, from_signed_field(raw, self.weight_bits)

    def _find(self, lo: int, hi: int, post: int, mem: TracedMemories) -> tuple[int, int] | None:
        """Binary search of entries ``lo..hi-1`` (sorted by index) for ``post``: (entry, weight).

        The probe is the midpoint rounded down; the search stops at a hit or an empty range."""
        while lo < hi:
            mid = (lo + hi) // 2
            idx, w = self._entry(mid, mem)
            if idx == post:
                return mid, w
            if idx < post:
                lo = mid + 1
            else:
                hi = mid
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

    def backward_row_event(self, posts: frozenset[int], mem: TracedMemories, rows: range | None = None) -> Triples:
        out: Triples = []
        rows = rows or range(self.n_pre)
        lo = self._pointer(rows.start, mem)
        for pre in rows:
            hi = self._pointer(pre + 1, mem)
            for e in range(lo, hi):
                idx, w = self._entry(e, mem)
                if w and idx in posts:
                    out.append((pre, idx, w))
            lo = hi
        return out

    def update_row_event(self, pre: int, deltas: dict[int, int], mem: TracedMemories) -> int:
        lo, hi = self._pointer(pre, mem), self._pointer(pre + 1, mem)
        updated = 0
        for word_addr in range(lo // self.ent_per_word, (hi - 1) // self.ent_per_word + 1 if hi > lo else 0):
            word, changed = mem.read("entries", word_addr), False
            for slot in range(self.ent_per_word):
                e = word_addr * self.ent_per_word + slot
                if not lo <= e < hi:
                    continue
                idx, w = self._entry(e, mem)  # the word just read: a lookup, no access
                if idx in deltas:
                    raw = (idx << self.weight_bits) | to_field(self.saturate(w + deltas[idx]), self.weight_bits)
                    word, changed, updated = set_field(word, slot, self.entry_bits, raw), True, updated + 1
            if changed:
                mem.write("entries", word_addr, word)
        return updated

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
            "transposed_access": self.transposed_access,
            "ptr_bits": self.ptr_bits,
            "idx_bits": self.idx_bits,
            "entry_bits": self.entry_bits,
            "ptr_per_word": self.ptr_per_word,
            "ent_per_word": self.ent_per_word,
        }


class PbCsrCsc(PbCsr):
    """PB-CSR with a second, column-major index for the transposed access.

    Besides the CSR memories, ``col_pointers`` holds ``n_post + 1`` column starts and
    ``col_entries`` one reference ``row << ptr_bits | entry`` per synapse, column by column, rows
    ascending: the row index to emit and the number of the synapse's entry in ``entries``, which
    stays the only copy of the weight (an update writes one place). Backward reads the two column
    pointers, the column's references and one entry per synapse: no search. Forward and update are
    PB-CSR's (binary search in the row).
    """

    name = "pb_csr_csc"
    label = "PB-CSR+CSC"
    conv_reference = False  # PB-CSR is the reference, not its extension
    description = "PB-CSR + column pointers and (row, entry) references for direct column access"
    transposed_access = "column_index"
    backward_walks_rows = False

    def __init__(self, image, *args, row_bits: int, col_ref_bits: int, ref_per_word: int):
        super().__init__(image, *args)
        self.row_bits, self.col_ref_bits, self.ref_per_word = row_bits, col_ref_bits, ref_per_word

    @classmethod
    def from_dense(
        cls, weights: np.ndarray, weight_bits: int, params: MemoryParams, max_nnz: int | None = None
    ) -> PbCsrCsc:
        memories, args = cls._csr_memories(weights, weight_bits, params, max_nnz)
        n_pre, n_post, _, mask, ptr_bits, _, kp, _ = args
        wb = params.word_bits
        row_bits = bits_for(n_pre)
        ref_bits = row_bits + ptr_bits
        kr = fields_per_word(ref_bits, wb, "a column reference (row + entry)")
        entry_number = np.zeros(mask.shape, dtype=np.int64)
        entry_number[mask] = np.arange(int(mask.sum()))  # row-major order, as the entries are stored
        col_starts = np.concatenate([[0], np.cumsum(mask.sum(axis=0))]).tolist()
        cols, rows = np.nonzero(mask.T)  # column by column, rows ascending
        refs = (rows.astype(np.uint64) << np.uint64(ptr_bits)) | entry_number[rows, cols].astype(np.uint64)
        nnz = refs.size
        memories["col_pointers"] = Memory(
            "col_pointers", wb, pack_fields(col_starts, ptr_bits, kp), 0, (n_post + 1) * ptr_bits
        )
        memories["col_entries"] = Memory(
            "col_entries", wb, pack_fields(refs, ref_bits, kr, max(1, math.ceil(nnz / kr))), 0, nnz * ref_bits
        )
        image = MemoryImage({name: m.place(params) for name, m in memories.items()})
        return cls(image, *args, row_bits=row_bits, col_ref_bits=ref_bits, ref_per_word=kr)

    def _col_pointer(self, j: int, mem: TracedMemories) -> int:
        # Column pointers have the row pointers' width, so they pack alike.
        return mem.read_field("col_pointers", j, self.ptr_per_word, self.ptr_bits)

    def _col_ref(self, k: int, mem: TracedMemories) -> tuple[int, int]:
        raw = mem.read_field("col_entries", k, self.ref_per_word, self.col_ref_bits)
        return raw >> self.ptr_bits, raw & ((1 << self.ptr_bits) - 1)

    def backward_event(self, post: int, mem: TracedMemories) -> Pairs:
        out: Pairs = []
        for k in range(self._col_pointer(post, mem), self._col_pointer(post + 1, mem)):
            pre, e = self._col_ref(k, mem)
            _, w = self._entry(e, mem)
            if w:
                out.append((pre, w))
        return out

    def storage_formula(self) -> dict[str, int]:
        nnz = int(self.mask.sum())
        csr = super().storage_formula()
        return {
            "payload_bits": csr["payload_bits"],
            "metadata_bits": csr["metadata_bits"] + (self.n_post + 1) * self.ptr_bits + nnz * self.col_ref_bits,
        }

    def rtl_params(self) -> dict:
        return {
            **super().rtl_params(),
            "row_bits": self.row_bits,
            "col_ref_bits": self.col_ref_bits,
            "ref_per_word": self.ref_per_word,
        }
