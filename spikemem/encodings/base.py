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
  - ``update_event(pre, post, delta)``: a saturating read-modify-write of one synapse;
  - ``backward_row_event(posts)`` (the row-stream backward, encodings with ``row_stream``): one
    time step's errors at once. The controller holds the set of postsynaptic neurons that carry a
    non-zero error (its *error mask*, loaded through the load port), streams every row once and
    yields ``(pre, post, weight)`` for the non-zero stored synapses whose ``post`` is in the mask;
    the neuron core, which holds the error values, accumulates ``err[pre] += w * err[post]``.

Weights are signed integers in ``[-(2**(b-1) - 1), 2**(b-1) - 1]`` (the symmetric range of WAGE
quantization), stored in ``b``-bit two's complement. The vector operations of :class:`Encoding`
(``forward``, ``backward``, ``update``) are compositions of the event operations and must equal
dense matrix algebra on :meth:`Encoding.dense`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import ClassVar

import numpy as np

from .bitfields import check_weights, weight_range
from .errors import EncodingError
from .geometry import ConvGeometry
from .memories import MemoryImage, MemoryParams, OpResult, TracedMemories

Pairs = list[tuple[int, int]]
Triples = list[tuple[int, int, int]]

# The hardware operations an encoding may support; ``backward`` is the column walk (one event per
# non-zero postsynaptic error), ``backward_row`` the row stream (one event per time step).
OPERATIONS = ("forward", "backward", "update", "backward_row")


class Encoding(ABC):
    """A synaptic layer stored in one memory organization."""

    name: ClassVar[str]
    # The name the paper's data and the report use (e.g. "PB-CSR+CSC").
    label: ClassVar[str]
    layer_types: ClassVar[tuple[str, ...]]
    description: ClassVar[str]
    # The RTL templates (under templates/) this encoding's controller is rendered from.
    templates: ClassVar[tuple[str, ...]]
    # Whether a backward event visits every row (a column walk over a row-major store), so that its
    # cost scales with the rows, not with the column's synapses.
    backward_walks_rows: ClassVar[bool] = True
    # The operations its controller performs (a subset of OPERATIONS, in that order).
    operations: ClassVar[tuple[str, ...]] = ("forward", "backward", "update")
    # Whether this is the dense store the other encodings' costs are given as ratios to (Crossbar).
    dense_reference: ClassVar[bool] = False
    # Whether this is the index-based store the convolution comparison gives the other encodings'
    # costs as ratios to (PB-CSR, as in the paper).
    conv_reference: ClassVar[bool] = False

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

    @classmethod
    def kernel_word_misfit(cls, kernel: int, word_bits: int) -> str | None:
        """What of this encoding's storage of a ``kernel x kernel`` convolution kernel must fit one
        ``word_bits``-bit word and does not (e.g. "a 5x5 kernel bitmap"), or None where all fits.

        A configuration is checked against it when it is loaded, before any design is built."""
        return None

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

    def update_row_event(self, pre: int, deltas: dict[int, int], mem: TracedMemories) -> int:
        """The row-pass update: one read-modify-write pass over row ``pre`` applying the iteration's
        accumulated ``deltas`` (post -> delta, saturating), each changed word written back once;
        synapses the encoding does not store are skipped. Returns the synapses updated."""
        raise EncodingError(f"{self.name} has no row-pass update")

    def backward_row_event(self, posts: frozenset[int], mem: TracedMemories, rows: range | None = None) -> Triples:
        """Stream every row once: the non-zero ``(pre, post, weight)`` whose ``post`` is in ``posts``
        (the error mask), rows ascending, ``post`` ascending within a row.

        ``rows`` (default all) streams only a contiguous block of the rows, as the event would pass
        them: an estimate of a very large layer's event from a part of it (the hardware always
        streams every row)."""
        raise EncodingError(f"{self.name} has no row-stream backward")

    @property
    def row_stream(self) -> bool:
        """Whether the controller streams rows for the backward pass (``backward_row``)."""
        return "backward_row" in self.operations

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

    def backward_rows(self, errors: np.ndarray) -> OpResult:
        """Presynaptic error ``W @ errors`` from one row-stream event (the mask: non-zero errors)."""
        mem = self.traced()
        out = np.zeros(self.n_pre, dtype=np.int64)
        mem.begin_event()
        for pre, post, w in self.backward_row_event(frozenset(np.flatnonzero(errors).tolist()), mem):
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
