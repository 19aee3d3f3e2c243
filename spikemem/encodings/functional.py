"""What the functional convolution encodings share: only kernels are stored, connectivity is
computed from the layer geometry, and one kernel element serves every synapse that shares it."""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from .base import Encoding, Pairs
from .geometry import ConvGeometry
from .memories import MemoryImage, TracedMemories


class FunctionalEncoding(Encoding):
    """Base of ``func_*`` encodings. Subclasses define the kernel store and how events walk it."""

    layer_types = ("conv",)
    backward_walks_rows = False  # a backward event walks its output channel's kernel taps

    def __init__(self, image: MemoryImage, geometry: ConvGeometry, weight_bits: int) -> None:
        super().__init__(image, geometry.n_pre, geometry.n_post, weight_bits)
        self.geometry = geometry

    def kernel_index(self, o: int, c: int, ky: int, kx: int) -> int:
        """Position of a kernel element in the flattened ``[o][c][ky][kx]`` kernel set."""
        k = self.geometry.kernel
        return ((o * self.geometry.in_channels + c) * k + ky) * k + kx

    @abstractmethod
    def kernels(self) -> np.ndarray:
        """Decode the stored kernel set, shape ``(out_channels, in_channels, k, k)``."""

    @abstractmethod
    def read_tap(self, o: int, c: int, ky: int, kx: int, mem: TracedMemories) -> int | None:
        """The weight of one kernel element, or None where the encoding stores none."""

    @abstractmethod
    def write_tap(self, o: int, c: int, ky: int, kx: int, value: int, mem: TracedMemories) -> None:
        """Write one kernel element (read-modify-write of its word)."""

    def walks_invalid_taps(self) -> bool:
        """Whether an event fetches the taps that fall outside the layer (no boundary logic)."""
        return False

    def forward_event(self, pre: int, mem: TracedMemories) -> Pairs:
        c = self.geometry.pre_coords(pre)[0]
        out: Pairs = []
        for o, ky, kx, post in self.geometry.forward_taps(pre):
            if post is None and not self.walks_invalid_taps():
                continue
            w = self.read_tap(o, c, ky, kx, mem)
            if post is not None and w:
                out.append((post, w))
        return out

    def backward_event(self, post: int, mem: TracedMemories) -> Pairs:
        o = self.geometry.post_coords(post)[0]
        out: Pairs = []
        for c, ky, kx, pre in self.geometry.backward_taps(post):
            if pre is None and not self.walks_invalid_taps():
                continue
            w = self.read_tap(o, c, ky, kx, mem)
            if pre is not None and w:
                out.append((pre, w))
        return out

    def update_event(self, pre: int, post: int, delta: int, mem: TracedMemories) -> bool:
        tap = self.geometry.tap_of(pre, post)
        if tap is None:
            return False
        w = self.read_tap(*tap, mem)
        if w is None:
            return False
        self.write_tap(*tap, self.saturate(w + delta), mem)
        return True

    def dense(self) -> np.ndarray:
        return self.geometry.unroll(self.kernels())

    def connectivity(self) -> np.ndarray:
        return self.geometry.connectivity()

    def rtl_params(self) -> dict:
        g = self.geometry
        return {
            "in_channels": g.in_channels,
            "height": g.height,
            "width": g.width,
            "out_channels": g.out_channels,
            "kernel": g.kernel,
            "stride": g.stride,
            "padding": g.padding,
            "out_height": g.out_height,
            "out_width": g.out_width,
            "walks_invalid_taps": self.walks_invalid_taps(),
        }
