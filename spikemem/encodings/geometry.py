"""The geometry of a 2-D convolution layer: neuron numbering, kernel taps and the unrolled matrix."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import EncodingError


@dataclass(frozen=True)
class ConvGeometry:
    """A 2-D convolution layer: ``in_channels x height x width`` -> ``out_channels x oh x ow``.

    Neurons are numbered channel-major, row-major: input ``(c, y, x)`` is
    ``(c * height + y) * width + x``; output ``(o, y, x)`` likewise with the output sizes.
    """

    in_channels: int
    height: int
    width: int
    out_channels: int
    kernel: int
    stride: int = 1
    padding: int = 0

    def __post_init__(self) -> None:
        for name in ("in_channels", "height", "width", "out_channels", "kernel", "stride"):
            if getattr(self, name) < 1:
                raise EncodingError(f"conv geometry: {name} must be >= 1")
        if self.padding < 0 or self.padding >= self.kernel:
            raise EncodingError("conv geometry: padding must be within 0..kernel-1")
        if self.out_height < 1 or self.out_width < 1:
            raise EncodingError("conv geometry: the kernel does not fit the padded input")

    @property
    def out_height(self) -> int:
        return (self.height + 2 * self.padding - self.kernel) // self.stride + 1

    @property
    def out_width(self) -> int:
        return (self.width + 2 * self.padding - self.kernel) // self.stride + 1

    @property
    def n_pre(self) -> int:
        return self.in_channels * self.height * self.width

    @property
    def n_post(self) -> int:
        return self.out_channels * self.out_height * self.out_width

    @property
    def n_kernels(self) -> int:
        return self.out_channels * self.in_channels

    def pre_coords(self, pre: int) -> tuple[int, int, int]:
        c, rest = divmod(pre, self.height * self.width)
        y, x = divmod(rest, self.width)
        return c, y, x

    def post_coords(self, post: int) -> tuple[int, int, int]:
        o, rest = divmod(post, self.out_height * self.out_width)
        y, x = divmod(rest, self.out_width)
        return o, y, x

    def pre_index(self, c: int, y: int, x: int) -> int:
        return (c * self.height + y) * self.width + x

    def post_index(self, o: int, y: int, x: int) -> int:
        return (o * self.out_height + y) * self.out_width + x

    def _out_coord(self, i: int, k: int, size: int) -> int | None:
        """Output coordinate fed by input coordinate ``i`` through kernel tap ``k``, or None."""
        num = i + self.padding - k
        if num < 0 or num % self.stride or num // self.stride >= size:
            return None
        return num // self.stride

    def _in_coord(self, o: int, k: int, size: int) -> int | None:
        i = o * self.stride + k - self.padding
        return i if 0 <= i < size else None

    def forward_taps(self, pre: int) -> list[tuple[int, int, int, int | None]]:
        """Every tap ``(o, ky, kx, post)`` of input neuron ``pre``'s channel, in the walk order
        ``o, ky, kx``; ``post`` is None where the tap falls outside the output."""
        c, iy, ix = self.pre_coords(pre)
        taps = []
        for o in range(self.out_channels):
            for ky in range(self.kernel):
                oy = self._out_coord(iy, ky, self.out_height)
                for kx in range(self.kernel):
                    ox = self._out_coord(ix, kx, self.out_width)
                    post = None if oy is None or ox is None else self.post_index(o, oy, ox)
                    taps.append((o, ky, kx, post))
        return taps

    def backward_taps(self, post: int) -> list[tuple[int, int, int, int | None]]:
        """Every tap ``(c, ky, kx, pre)`` of output neuron ``post``'s channel, in the walk order
        ``c, ky, kx``; ``pre`` is None where the tap falls into the padding."""
        o, oy, ox = self.post_coords(post)
        taps = []
        for c in range(self.in_channels):
            for ky in range(self.kernel):
                iy = self._in_coord(oy, ky, self.height)
                for kx in range(self.kernel):
                    ix = self._in_coord(ox, kx, self.width)
                    pre = None if iy is None or ix is None else self.pre_index(c, iy, ix)
                    taps.append((c, ky, kx, pre))
        return taps

    def tap_of(self, pre: int, post: int) -> tuple[int, int, int, int] | None:
        """The kernel element ``(o, c, ky, kx)`` behind synapse (pre, post), or None."""
        c, iy, ix = self.pre_coords(pre)
        o, oy, ox = self.post_coords(post)
        ky = iy - oy * self.stride + self.padding
        kx = ix - ox * self.stride + self.padding
        if 0 <= ky < self.kernel and 0 <= kx < self.kernel:
            return o, c, ky, kx
        return None

    def unroll(self, kernels: np.ndarray) -> np.ndarray:
        """The dense ``n_pre x n_post`` matrix equivalent to ``kernels[o, c, ky, kx]``."""
        self.check_kernels(kernels)
        dense = np.zeros((self.n_pre, self.n_post), dtype=np.int64)
        s, p = self.stride, self.padding
        for o in range(self.out_channels):
            for oy in range(self.out_height):
                for ox in range(self.out_width):
                    post = self.post_index(o, oy, ox)
                    for c in range(self.in_channels):
                        for ky in range(self.kernel):
                            iy = oy * s + ky - p
                            if not 0 <= iy < self.height:
                                continue
                            for kx in range(self.kernel):
                                ix = ox * s + kx - p
                                if 0 <= ix < self.width:
                                    dense[self.pre_index(c, iy, ix), post] = kernels[o, c, ky, kx]
        return dense

    def connectivity(self) -> np.ndarray:
        """Boolean ``n_pre x n_post`` mask of the synapses the geometry creates."""
        ones = np.ones((self.out_channels, self.in_channels, self.kernel, self.kernel), np.int64)
        return self.unroll(ones) != 0

    def check_kernels(self, kernels: np.ndarray) -> None:
        shape = (self.out_channels, self.in_channels, self.kernel, self.kernel)
        if kernels.shape != shape:
            raise EncodingError(f"kernels must have shape {shape}, got {kernels.shape}")
