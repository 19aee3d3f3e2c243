"""Weight ranges and the packing of fixed-width fields into memory words.

Weights are signed integers in ``[-(2**(b-1) - 1), 2**(b-1) - 1]`` (the symmetric range of WAGE
quantization), stored in ``b``-bit two's complement. Fields are packed into words slot 0 in the
least significant bits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .errors import EncodingError

MIN_WEIGHT_BITS = 2
MAX_WEIGHT_BITS = 12


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
    # int(): a numpy slot would make the shift a fixed-width one, which overflows for 64-bit words.
    return (word >> (int(slot) * bits)) & ((1 << bits) - 1)


def set_field(word: int, slot: int, bits: int, raw: int) -> int:
    mask = ((1 << bits) - 1) << (int(slot) * bits)
    return (word & ~mask) | ((raw << (int(slot) * bits)) & mask)


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
