"""Common machinery of the synaptic-memory encodings (golden models).

Every encoding stores one synaptic layer, with ``n_pre`` presynaptic and ``n_post`` postsynaptic
neurons, in one or more *logical memories* of fixed-width words. A golden model

* builds the exact memory image (words, widths, depths, which SRAM macro or flops),
* performs the three event operations the hardware performs, reading and writing only through
  :class:`TracedMemories`, so that the access trace is exact by construction:

  - ``forward_event(pre)``: a presynaptic spike reads its row and yields ``(post, weight)`` pairs
    for the non-zero synapses, in the order the hardware walks them;
  - ``backward_event(post)``: a postsynaptic error reads its column (the transposed access) and
    yields ``(pre, weight)`` pairs;
  - ``update_event(pre, post, delta)``: a saturating read-modify-write of one synapse.

Weights are signed integers in ``[-(2**(b-1) - 1), 2**(b-1) - 1]`` (the symmetric range of WAGE
quantization), stored in ``b``-bit two's complement. The vector operations of :class:`Encoding`
(``forward``, ``backward``, ``update``) are compositions of the event operations and must equal
dense matrix algebra on :meth:`Encoding.dense`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np


class EncodingError(ValueError):
    """A weight matrix, geometry or memory parameter that an encoding cannot represent."""


MIN_WEIGHT_BITS = 2
MAX_WEIGHT_BITS = 12


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class SramMacro:
    """One SRAM hard macro: its name and its native word width and depth."""

    name: str
    word_bits: int
    depth: int

    @property
    def bits(self) -> int:
        return self.word_bits * self.depth


@dataclass(frozen=True)
class MemoryParams:
    """How logical memories map onto hardware.

    ``word_bits`` is the logical word width every encoding packs into. A logical memory is
    implemented as a bank of ``macro`` instances (side by side for width, stacked for depth)
    unless it holds no more than ``flop_threshold_bits`` bits, in which case it is a flop array:
    a few hundred bits in an SRAM macro would waste most of the macro's area and leakage.
    """

    word_bits: int
    macro: SramMacro
    flop_threshold_bits: int = 1024

    def __post_init__(self) -> None:
        if not 8 <= self.word_bits <= 64:
            raise EncodingError(f"word_bits must be within 8..64, got {self.word_bits}")


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


# --------------------------------------------------------------------------- bit packing


def pointer_bits(nnz: int, max_nnz: int | None) -> int:
    """Width of a pointer into ``max_nnz`` (or ``nnz``) stored synapses: values ``0..max``."""
    if max_nnz is not None and max_nnz < nnz:
        raise EncodingError(f"max_nnz={max_nnz} is below the {nnz} synapses to store")
    return bits_for((nnz if max_nnz is None else max_nnz) + 1)


def bits_for(n_values: int) -> int:
    """Bits of an unsigned field that can hold ``0 .. n_values - 1`` (at least 1)."""
    return max(1, math.ceil(math.log2(max(n_values, 2))))


def weight_range(weight_bits: int) -> tuple[int, int]:
    """The symmetric range of a ``weight_bits``-bit weight."""
    check_weight_bits(weight_bits)
    top = 2 ** (weight_bits - 1) - 1
    return -top, top


def check_weight_bits(weight_bits: int) -> None:
    if not MIN_WEIGHT_BITS <= int(weight_bits) <= MAX_WEIGHT_BITS:
        raise EncodingError(f"weight_bits must be within {MIN_WEIGHT_BITS}..{MAX_WEIGHT_BITS}, got {weight_bits}")


def check_weights(weights: np.ndarray, weight_bits: int) -> np.ndarray:
    lo, hi = weight_range(weight_bits)
    weights = np.asarray(weights)
    if not np.issubdtype(weights.dtype, np.integer):
        raise EncodingError("weights must be integers (quantize them first)")
    if weights.size and (weights.min() < lo or weights.max() > hi):
        raise EncodingError(f"weights must lie within {lo}..{hi} for weight_bits={weight_bits}")
    return weights.astype(np.int64)


def to_field(value: int, bits: int) -> int:
    """Two's complement (or plain unsigned) encoding of ``value`` in ``bits`` bits."""
    return int(value) & ((1 << bits) - 1)


def from_signed_field(raw: int, bits: int) -> int:
    raw &= (1 << bits) - 1
    return raw - (1 << bits) if raw >> (bits - 1) else raw


def get_field(word: int, slot: int, bits: int) -> int:
    return (word >> (slot * bits)) & ((1 << bits) - 1)


def set_field(word: int, slot: int, bits: int, raw: int) -> int:
    mask = ((1 << bits) - 1) << (slot * bits)
    return (word & ~mask) | ((raw << (slot * bits)) & mask)


def pack_fields(
    raws: Sequence[int] | np.ndarray, field_bits: int, per_word: int, n_words: int | None = None
) -> list[int]:
    """Pack unsigned fields ``per_word`` to a word, slot 0 in the least significant bits
    (vectorized: the unrolled convolution layers hold tens of millions of fields)."""
    raws = np.asarray(raws, dtype=np.uint64).ravel()
    n_words = math.ceil(raws.size / per_word) if n_words is None else n_words
    if raws.size > n_words * per_word:
        raise EncodingError(f"{raws.size} fields do not fit {n_words} words of {per_word}")
    if field_bits * per_word > 64:
        raise EncodingError(f"{per_word} fields of {field_bits} bits exceed a 64-bit word")
    padded = np.zeros(n_words * per_word, dtype=np.uint64)
    padded[: raws.size] = raws & np.uint64((1 << field_bits) - 1)
    shifts = np.arange(per_word, dtype=np.uint64) * np.uint64(field_bits)
    return np.bitwise_or.reduce(padded.reshape(n_words, per_word) << shifts, axis=1).tolist()


def pack_rows(raws: np.ndarray, field_bits: int, per_word: int) -> list[int]:
    """Pack each row of a 2-D array of unsigned fields into whole words (rows word-aligned)."""
    rows, cols = raws.shape
    words_per_row = max(1, math.ceil(cols / per_word))
    padded = np.zeros((rows, words_per_row * per_word), dtype=np.uint64)
    padded[:, :cols] = raws
    return pack_fields(padded, field_bits, per_word, rows * words_per_row)


def to_fields(values: np.ndarray, bits: int) -> np.ndarray:
    """Two's complement (or plain unsigned) encoding of an integer array in ``bits`` bits."""
    return (np.asarray(values, dtype=np.int64) & ((1 << bits) - 1)).astype(np.uint64)


def fields_per_word(field_bits: int, word_bits: int, what: str) -> int:
    if field_bits > word_bits:
        raise EncodingError(f"{what} of {field_bits} bits does not fit a {word_bits}-bit word")
    return word_bits // field_bits


# --------------------------------------------------------------------------- memories and traces


@dataclass(frozen=True)
class Access:
    """One memory access: which logical memory, read or write, which word address."""

    memory: str
    op: Literal["R", "W"]
    address: int


@dataclass
class Memory:
    """One logical memory: its words and where its bits go."""

    name: str
    word_bits: int
    words: list[int]
    payload_bits: int
    metadata_bits: int
    implementation: Literal["sram", "flops"] = "sram"
    macro: str | None = None
    macro_count: int = 0

    @property
    def depth(self) -> int:
        return len(self.words)

    @property
    def allocated_bits(self) -> int:
        return self.depth * self.word_bits

    def place(self, params: MemoryParams) -> Memory:
        """Choose flops or a bank of SRAM macros for this memory (see :class:`MemoryParams`)."""
        if self.allocated_bits <= params.flop_threshold_bits:
            self.implementation, self.macro, self.macro_count = "flops", None, 0
        else:
            m = params.macro
            self.implementation, self.macro = "sram", m.name
            self.macro_count = math.ceil(self.word_bits / m.word_bits) * math.ceil(self.depth / m.depth)
        return self

    def summary(self) -> dict:
        return {
            "name": self.name,
            "word_bits": self.word_bits,
            "depth": self.depth,
            "payload_bits": self.payload_bits,
            "metadata_bits": self.metadata_bits,
            "allocated_bits": self.allocated_bits,
            "implementation": self.implementation,
            "macro": self.macro,
            "macro_count": self.macro_count,
        }


@dataclass
class MemoryImage:
    """All logical memories of one encoded layer."""

    memories: dict[str, Memory]

    @property
    def payload_bits(self) -> int:
        return sum(m.payload_bits for m in self.memories.values())

    @property
    def metadata_bits(self) -> int:
        return sum(m.metadata_bits for m in self.memories.values())

    @property
    def allocated_bits(self) -> int:
        return sum(m.allocated_bits for m in self.memories.values())

    @property
    def macro_count(self) -> int:
        return sum(m.macro_count for m in self.memories.values())

    def summary(self) -> dict:
        return {
            "payload_bits": self.payload_bits,
            "metadata_bits": self.metadata_bits,
            "allocated_bits": self.allocated_bits,
            "macro_count": self.macro_count,
            "memories": [m.summary() for m in self.memories.values()],
        }


class TracedMemories:
    """Read and write access to a :class:`MemoryImage` that records every access.

    Each memory port has a one-word read buffer, as the controllers do: re-reading the word that
    was last read or written in the same event costs no access. :meth:`begin_event` clears the
    buffers, so every event starts by fetching from memory.

    :attr:`lookups` counts every read, buffered or not: each is a field (weight, entry, pointer,
    bitmap word) the controller steps through, which costs it cycles even when the word is already
    in its buffer. The energy model needs it: a crossbar row of 16 two-bit weights is one word read
    but 16 lookups.
    """

    def __init__(self, image: MemoryImage) -> None:
        self.image = image
        self.trace: list[Access] = []
        self.lookups = 0
        self._buffer: dict[str, int] = {}

    def begin_event(self) -> None:
        self._buffer.clear()

    def read(self, memory: str, address: int) -> int:
        mem = self.image.memories[memory]
        if not 0 <= address < mem.depth:
            raise IndexError(f"read of {memory}[{address}] outside depth {mem.depth}")
        self.lookups += 1
        if self._buffer.get(memory) != address:
            self.trace.append(Access(memory, "R", address))
            self._buffer[memory] = address
        return mem.words[address]

    def read_field(self, memory: str, index: int, per_word: int, bits: int) -> int:
        """Field ``index`` of a memory packed ``per_word`` fields of ``bits`` bits to a word (one
        :meth:`read` of its word)."""
        word, slot = divmod(index, per_word)
        return get_field(self.read(memory, word), slot, bits)

    def write(self, memory: str, address: int, word: int) -> None:
        mem = self.image.memories[memory]
        if not 0 <= address < mem.depth:
            raise IndexError(f"write of {memory}[{address}] outside depth {mem.depth}")
        mem.words[address] = word & ((1 << mem.word_bits) - 1)
        self.trace.append(Access(memory, "W", address))
        self._buffer[memory] = address


@dataclass
class OpResult:
    """The result of a vector operation and the exact trace of memory accesses it caused."""

    values: np.ndarray
    trace: list[Access] = field(default_factory=list)

    def counts(self) -> dict[tuple[str, str], int]:
        """Accesses per (memory, op)."""
        out: dict[tuple[str, str], int] = {}
        for a in self.trace:
            out[(a.memory, a.op)] = out.get((a.memory, a.op), 0) + 1
        return out


def packed_weights_memory(raws: Sequence[int], weight_bits: int, word_bits: int) -> tuple[Memory, int]:
    """The ``weights`` memory of the compressed encodings: the stored weights back to back, ``k``
    to a word (at least one word, so that an empty layer still has a memory). Returns it and ``k``."""
    k = fields_per_word(weight_bits, word_bits, "a weight")
    words = pack_fields(raws, weight_bits, k, max(1, math.ceil(len(raws) / k)))
    return Memory("weights", word_bits, words, len(raws) * weight_bits, 0), k


# --------------------------------------------------------------------------- the encoding interface

Pairs = list[tuple[int, int]]


class Encoding(ABC):
    """A synaptic layer stored in one memory organization."""

    name: ClassVar[str]
    layer_types: ClassVar[tuple[str, ...]]
    description: ClassVar[str]
    # The RTL templates (under templates/) this encoding's controller is rendered from.
    templates: ClassVar[tuple[str, ...]]
    # Whether a backward event visits every row (a column walk over a row-major store), so that its
    # cost scales with the rows, not with the column's synapses.
    backward_walks_rows: ClassVar[bool] = True

    def __init__(self, image: MemoryImage, n_pre: int, n_post: int, weight_bits: int) -> None:
        self.image = image
        self.n_pre = n_pre
        self.n_post = n_post
        self.weight_bits = weight_bits
        self.wmin, self.wmax = weight_range(weight_bits)

    # ---- construction
    @classmethod
    def from_dense(
        cls, weights: np.ndarray, weight_bits: int, params: MemoryParams, max_nnz: int | None = None
    ) -> Encoding:
        """Encode a fully connected ``n_pre x n_post`` integer weight matrix.

        ``max_nnz`` sizes the pointer fields of the compressed encodings for a hardware design that
        must hold up to that many synapses (default: exactly the ones stored).
        """
        raise EncodingError(f"{cls.name} encodes convolution kernels only, not a dense matrix")

    @classmethod
    def from_conv(
        cls,
        kernels: np.ndarray,
        geometry: ConvGeometry,
        weight_bits: int,
        params: MemoryParams,
        max_nnz: int | None = None,
    ) -> Encoding:
        """Encode a convolution layer. Index-based encodings store its unrolled matrix."""
        geometry.check_kernels(kernels)
        check_weights(kernels, weight_bits)
        return cls.from_dense(geometry.unroll(kernels), weight_bits, params, max_nnz)

    # ---- event operations (the hardware's)
    @abstractmethod
    def forward_event(self, pre: int, mem: TracedMemories) -> Pairs:
        """Read the row of presynaptic neuron ``pre``: its non-zero ``(post, weight)`` pairs."""

    @abstractmethod
    def backward_event(self, post: int, mem: TracedMemories) -> Pairs:
        """Read the column of postsynaptic neuron ``post``: its non-zero ``(pre, weight)`` pairs."""

    @abstractmethod
    def update_event(self, pre: int, post: int, delta: int, mem: TracedMemories) -> bool:
        """Saturating ``w[pre, post] += delta``; False (and no write) where no synapse exists."""

    @abstractmethod
    def dense(self) -> np.ndarray:
        """Decode the memory image into the equivalent dense ``n_pre x n_post`` matrix."""

    @abstractmethod
    def connectivity(self) -> np.ndarray:
        """Boolean ``n_pre x n_post`` mask of the synapses the encoding can hold and update."""

    @abstractmethod
    def storage_formula(self) -> dict[str, int]:
        """``payload_bits`` and ``metadata_bits`` as documented in docs/encodings.md."""

    @abstractmethod
    def rtl_params(self) -> dict:
        """Encoding-specific parameters of the RTL template (packing, widths, geometry)."""

    # ---- vector operations, composed of events
    def saturate(self, value: int) -> int:
        return min(self.wmax, max(self.wmin, value))

    def traced(self) -> TracedMemories:
        return TracedMemories(self.image)

    def forward(self, spikes: np.ndarray) -> OpResult:
        """Postsynaptic input ``spikes @ W`` for a vector of presynaptic spike counts."""
        mem = self.traced()
        out = np.zeros(self.n_post, dtype=np.int64)
        for pre in np.flatnonzero(spikes):
            mem.begin_event()
            for post, w in self.forward_event(int(pre), mem):
                out[post] += int(spikes[pre]) * w
        return OpResult(out, mem.trace)

    def backward(self, errors: np.ndarray) -> OpResult:
        """Presynaptic error ``W @ errors`` for a vector of postsynaptic errors."""
        mem = self.traced()
        out = np.zeros(self.n_pre, dtype=np.int64)
        for post in np.flatnonzero(errors):
            mem.begin_event()
            for pre, w in self.backward_event(int(post), mem):
                out[pre] += int(errors[post]) * w
        return OpResult(out, mem.trace)

    def update(self, deltas: Iterable[tuple[int, int, int]]) -> OpResult:
        """Apply ``(pre, post, delta)`` events in order; the result is the new dense matrix."""
        mem = self.traced()
        for pre, post, delta in deltas:
            mem.begin_event()
            self.update_event(int(pre), int(post), int(delta), mem)
        return OpResult(self.dense(), mem.trace)

    def update_outer(self, pre_activity: np.ndarray, post_errors: np.ndarray) -> OpResult:
        """The learning rule's update ``delta[i, j] = pre[i] * err[j]``.

        One event per existing synapse with a non-zero delta, in row-major order: the learning
        engine walks only stored synapses, so absent ones cost nothing.
        """
        mask = self.connectivity()
        events = [
            (i, j, int(pre_activity[i]) * int(post_errors[j]))
            for i in np.flatnonzero(pre_activity)
            for j in np.flatnonzero(post_errors)
            if mask[i, j]
        ]
        return self.update(events)

    def summary(self) -> dict:
        return {
            "encoding": self.name,
            "n_pre": self.n_pre,
            "n_post": self.n_post,
            "weight_bits": self.weight_bits,
            **self.image.summary(),
        }
