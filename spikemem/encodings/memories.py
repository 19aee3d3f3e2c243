"""Logical memories, their mapping onto SRAM macros or flops, and the traced access to them.

A :class:`MemoryImage` holds every logical memory of one encoded layer; :class:`TracedMemories`
reads and writes it and records each access, so that the golden models' access traces are exact
by construction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .bitfields import fields_per_word, get_field, pack_fields
from .errors import EncodingError


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
