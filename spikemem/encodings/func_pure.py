"""Func-Pure: the dense kernel set, packed back to back; events fetch whole kernel slices."""

from __future__ import annotations

import numpy as np

from .bitfields import (
    check_weight_bits,
    check_weights,
    fields_per_word,
    from_signed_field,
    get_field,
    pack_fields,
    set_field,
    to_field,
)
from .functional import FunctionalEncoding
from .geometry import ConvGeometry
from .memories import Memory, MemoryImage, MemoryParams, TracedMemories


class FuncPure(FunctionalEncoding):
    """Kernel elements in ``[o][c][ky][kx]`` order, ``k`` to a word, with no padding.

    The controller has no boundary logic on the memory side: a forward event fetches all
    ``out_channels x K x K`` elements of its input channel (a backward event all
    ``in_channels x K x K`` of its output channel) and drops the taps that fall outside the layer
    at the output. Cheapest controller, most reads at the borders.
    """

    name = "func_pure"
    label = "Func-Pure"
    description = "dense kernels only; connectivity computed; whole slices fetched"
    templates = ("rtl/func_pure.v.j2", "rtl/_conv.v.j2")

    def __init__(self, image: MemoryImage, geometry: ConvGeometry, weight_bits: int, per_word: int):
        super().__init__(image, geometry, weight_bits)
        self.per_word = per_word

    @classmethod
    def from_conv(
        cls,
        kernels: np.ndarray,
        geometry: ConvGeometry,
        weight_bits: int,
        params: MemoryParams,
        max_nnz: int | None = None,
    ):
        check_weight_bits(weight_bits)
        geometry.check_kernels(kernels)
        kernels = check_weights(kernels, weight_bits)
        k = fields_per_word(weight_bits, params.word_bits, "a weight")
        raws = [to_field(w, weight_bits) for w in kernels.ravel()]
        mem = Memory("kernels", params.word_bits, pack_fields(raws, weight_bits, k), len(raws) * weight_bits, 0)
        return cls(MemoryImage({"kernels": mem.place(params)}), geometry, weight_bits, k)

    def walks_invalid_taps(self) -> bool:
        return True

    def read_tap(self, o, c, ky, kx, mem: TracedMemories) -> int:
        index = self.kernel_index(o, c, ky, kx)
        return from_signed_field(mem.read_field("kernels", index, self.per_word, self.weight_bits), self.weight_bits)

    def write_tap(self, o, c, ky, kx, value, mem: TracedMemories) -> None:
        word, slot = divmod(self.kernel_index(o, c, ky, kx), self.per_word)
        raw = set_field(mem.read("kernels", word), slot, self.weight_bits, to_field(value, self.weight_bits))
        mem.write("kernels", word, raw)

    def kernels(self) -> np.ndarray:
        g = self.geometry
        words = self.image.memories["kernels"].words
        n = g.n_kernels * g.kernel * g.kernel
        flat = [
            from_signed_field(
                get_field(words[f // self.per_word], f % self.per_word, self.weight_bits), self.weight_bits
            )
            for f in range(n)
        ]
        return np.array(flat, dtype=np.int64).reshape(g.out_channels, g.in_channels, g.kernel, g.kernel)

    def storage_formula(self) -> dict[str, int]:
        g = self.geometry
        return {"payload_bits": g.n_kernels * g.kernel**2 * self.weight_bits, "metadata_bits": 0}

    def rtl_params(self) -> dict:
        return {**super().rtl_params(), "per_word": self.per_word}
