"""Crossbar: the dense weight matrix, row-major, every synapse stored (zeros included)."""

from __future__ import annotations

import math

import numpy as np

from .base import Encoding, Pairs, Triples
from .bitfields import (
    check_weight_bits,
    check_weights,
    fields_per_word,
    from_signed_field,
    get_field,
    pack_rows,
    set_field,
    to_field,
    to_fields,
)
from .memories import Memory, MemoryImage, MemoryParams, TracedMemories


class Crossbar(Encoding):
    """Row ``i`` occupies ``words_per_row`` consecutive words; ``k`` weights to a word.

    Forward reads the row's words; backward (the transposed access) reads one word of every row;
    an update is one read and one write. The row-stream backward reads, in every row, only the
    words that hold a column of the error mask (words whose columns carry no error are skipped).
    """

    name = "crossbar"
    label = "Crossbar"
    dense_reference = True
    layer_types = ("fc", "conv")
    description = "dense row-major matrix, all synapses stored"
    templates = ("rtl/crossbar.v.j2",)
    operations = ("forward", "backward", "update", "backward_row")

    def __init__(self, image: MemoryImage, n_pre: int, n_post: int, weight_bits: int, per_word: int):
        super().__init__(image, n_pre, n_post, weight_bits)
        self.per_word = per_word
        self.words_per_row = math.ceil(n_post / per_word)

    @classmethod
    def from_dense(
        cls, weights: np.ndarray, weight_bits: int, params: MemoryParams, max_nnz: int | None = None
    ) -> Crossbar:
        check_weight_bits(weight_bits)
        weights = check_weights(weights, weight_bits)
        n_pre, n_post = weights.shape
        k = fields_per_word(weight_bits, params.word_bits, "a weight")
        words = pack_rows(to_fields(weights, weight_bits), weight_bits, k)
        mem = Memory("weights", params.word_bits, words, n_pre * n_post * weight_bits, 0)
        image = MemoryImage({"weights": mem.place(params)})
        return cls(image, n_pre, n_post, weight_bits, k)

    def _address(self, pre: int, post: int) -> tuple[int, int]:
        word, slot = divmod(post, self.per_word)
        return pre * self.words_per_row + word, slot

    def _weight(self, word: int, slot: int) -> int:
        return from_signed_field(get_field(word, slot, self.weight_bits), self.weight_bits)

    def forward_event(self, pre: int, mem: TracedMemories) -> Pairs:
        out: Pairs = []
        for post in range(self.n_post):
            addr, slot = self._address(pre, post)
            w = self._weight(mem.read("weights", addr), slot)
            if w:
                out.append((post, w))
        return out

    def backward_event(self, post: int, mem: TracedMemories) -> Pairs:
        out: Pairs = []
        for pre in range(self.n_pre):
            addr, slot = self._address(pre, post)
            w = self._weight(mem.read("weights", addr), slot)
            if w:
                out.append((pre, w))
        return out

    def backward_row_event(self, posts: frozenset[int], mem: TracedMemories, rows: range | None = None) -> Triples:
        out: Triples = []
        masked = sorted(posts)
        for pre in rows or range(self.n_pre):
            for post in masked:
                addr, slot = self._address(pre, post)
                w = self._weight(mem.read("weights", addr), slot)
                if w:
                    out.append((pre, post, w))
        return out

    def update_row_event(self, pre: int, deltas: dict[int, int], mem: TracedMemories) -> int:
        by_word: dict[int, list[int]] = {}
        for post in sorted(deltas):
            by_word.setdefault(self._address(pre, post)[0], []).append(post)
        for addr, posts in by_word.items():
            word = mem.read("weights", addr)
            for post in posts:
                slot = self._address(pre, post)[1]
                w = self.saturate(self._weight(word, slot) + deltas[post])
                word = set_field(word, slot, self.weight_bits, to_field(w, self.weight_bits))
            mem.write("weights", addr, word)
        return len(deltas)

    def update_event(self, pre: int, post: int, delta: int, mem: TracedMemories) -> bool:
        addr, slot = self._address(pre, post)
        word = mem.read("weights", addr)
        w = self.saturate(self._weight(word, slot) + delta)
        mem.write("weights", addr, set_field(word, slot, self.weight_bits, to_field(w, self.weight_bits)))
        return True

    def dense(self) -> np.ndarray:
        words = self.image.memories["weights"].words
        out = np.zeros((self.n_pre, self.n_post), dtype=np.int64)
        for pre in range(self.n_pre):
            for post in range(self.n_post):
                addr, slot = self._address(pre, post)
                out[pre, post] = self._weight(words[addr], slot)
        return out

    def connectivity(self) -> np.ndarray:
        return np.ones((self.n_pre, self.n_post), dtype=bool)

    def storage_formula(self) -> dict[str, int]:
        return {"payload_bits": self.n_pre * self.n_post * self.weight_bits, "metadata_bits": 0}

    def rtl_params(self) -> dict:
        """Parameters the RTL template needs beyond the common ones."""
        return {"per_word": self.per_word, "words_per_row": self.words_per_row}
