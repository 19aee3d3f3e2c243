"""Func-BMP: per-kernel bitmaps of the non-zero elements, kernel pointers, packed non-zeros."""

from __future__ import annotations

import numpy as np

from .bitfields import (
    check_weight_bits,
    check_weights,
    fields_per_word,
    from_signed_field,
    pack_fields,
    pointer_bits,
    set_field,
    to_field,
)
from .functional import FunctionalEncoding
from .geometry import ConvGeometry
from .memories import Memory, MemoryImage, MemoryParams, TracedMemories, packed_weights_memory


class FuncBmp(FunctionalEncoding):
    """Kernel ``(o, c)`` has a ``K*K``-bit bitmap in ``bitmaps`` and a pointer in ``pointers`` to its
    first non-zero element in ``weights``. An event walks the valid taps (as Func-RowCol does); a
    tap whose bit is clear costs no weight read, so sparse kernels are cheap. The stored elements
    are those non-zero at encoding time; updates modify them in place.
    """

    name = "func_bmp"
    label = "Func-BMP"
    description = "kernel bitmaps + kernel pointers + packed non-zero kernel weights"
    templates = ("rtl/func_bmp.v.j2", "rtl/_conv.v.j2")

    def __init__(self, image, geometry, weight_bits, tap_mask, ptr_bits, bmp_per_word, ptr_per_word, w_per_word):
        super().__init__(image, geometry, weight_bits)
        self.tap_mask = tap_mask
        self.ptr_bits = ptr_bits
        self.bmp_per_word, self.ptr_per_word, self.w_per_word = bmp_per_word, ptr_per_word, w_per_word
        self.bmp_bits = geometry.kernel**2

    @classmethod
    def kernel_word_misfit(cls, kernel: int, word_bits: int) -> str | None:
        """A kernel's bitmap is one field: its ``kernel**2`` bits must fit one word."""
        return f"a {kernel}x{kernel} kernel bitmap" if kernel**2 > word_bits else None

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
        wb = params.word_bits
        kk = geometry.kernel**2
        flat = kernels.reshape(geometry.n_kernels, kk)
        tap_mask = flat != 0
        nnz = int(tap_mask.sum())
        ptr_bits = pointer_bits(nnz, max_nnz)
        kb = fields_per_word(kk, wb, "a kernel bitmap")
        kp = fields_per_word(ptr_bits, wb, "a kernel pointer")
        bitmaps = [sum(1 << t for t in np.flatnonzero(row)) for row in tap_mask]
        starts = np.concatenate([[0], np.cumsum(tap_mask.sum(axis=1))])[:-1].tolist()
        packed = [to_field(w, weight_bits) for w in flat[tap_mask]]
        nk = geometry.n_kernels
        weight_mem, kw = packed_weights_memory(packed, weight_bits, wb)
        image = MemoryImage(
            {
                "bitmaps": Memory("bitmaps", wb, pack_fields(bitmaps, kk, kb), 0, nk * kk),
                "pointers": Memory("pointers", wb, pack_fields(starts, ptr_bits, kp), 0, nk * ptr_bits),
                "weights": weight_mem,
            }
        )
        for m in image.memories.values():
            m.place(params)
        return cls(image, geometry, weight_bits, tap_mask, ptr_bits, kb, kp, kw)

    def _locate(self, o, c, ky, kx, mem: TracedMemories) -> int | None:
        kernel = o * self.geometry.in_channels + c
        tap = ky * self.geometry.kernel + kx
        bitmap = mem.read_field("bitmaps", kernel, self.bmp_per_word, self.bmp_bits)
        if not (bitmap >> tap) & 1:
            return None
        ptr = mem.read_field("pointers", kernel, self.ptr_per_word, self.ptr_bits)
        return ptr + bin(bitmap & ((1 << tap) - 1)).count("1")

    def read_tap(self, o, c, ky, kx, mem: TracedMemories) -> int | None:
        offset = self._locate(o, c, ky, kx, mem)
        if offset is None:
            return None
        return from_signed_field(mem.read_field("weights", offset, self.w_per_word, self.weight_bits), self.weight_bits)

    def write_tap(self, o, c, ky, kx, value, mem: TracedMemories) -> None:
        offset = self._locate(o, c, ky, kx, mem)
        assert offset is not None, "write_tap follows a successful read_tap"
        word, slot = divmod(offset, self.w_per_word)
        raw = set_field(mem.read("weights", word), slot, self.weight_bits, to_field(value, self.weight_bits))
        mem.write("weights", word, raw)

    def kernels(self) -> np.ndarray:
        g = self.geometry
        mem = self.traced()
        out = np.zeros((g.out_channels, g.in_channels, g.kernel, g.kernel), dtype=np.int64)
        for o in range(g.out_channels):
            for c in range(g.in_channels):
                for ky in range(g.kernel):
                    for kx in range(g.kernel):
                        out[o, c, ky, kx] = self.read_tap(o, c, ky, kx, mem) or 0
        return out

    def connectivity(self) -> np.ndarray:
        g = self.geometry
        taps = self.tap_mask.reshape(g.out_channels, g.in_channels, g.kernel, g.kernel).astype(np.int64)
        return g.unroll(taps) != 0

    def storage_formula(self) -> dict[str, int]:
        g = self.geometry
        nnz = int(self.tap_mask.sum())
        return {
            "payload_bits": nnz * self.weight_bits,
            "metadata_bits": g.n_kernels * g.kernel**2 + g.n_kernels * self.ptr_bits,
        }

    def rtl_params(self) -> dict:
        return {
            **super().rtl_params(),
            "bmp_bits": self.bmp_bits,
            "bmp_per_word": self.bmp_per_word,
            "ptr_bits": self.ptr_bits,
            "ptr_per_word": self.ptr_per_word,
            "w_per_word": self.w_per_word,
        }
