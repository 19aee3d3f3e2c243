"""Golden models of the synaptic-memory encodings and their registry.

Adding an encoding means one module here plus one entry in :data:`REGISTRY` (and its RTL
template under ``templates/rtl/``).
"""

from __future__ import annotations

import numpy as np

from .base import Encoding
from .crossbar import Crossbar
from .errors import EncodingError
from .func_bmp import FuncBmp
from .func_pure import FuncPure
from .func_rowcol import FuncRowCol
from .geometry import ConvGeometry
from .memories import Access, Memory, MemoryImage, MemoryParams, OpResult, SramMacro, TracedMemories
from .pb_bmp import PbBmp
from .pb_csr import PbCsr, PbCsrCsc

REGISTRY: dict[str, type[Encoding]] = {
    cls.name: cls for cls in (Crossbar, PbCsr, PbCsrCsc, PbBmp, FuncRowCol, FuncBmp, FuncPure)
}

# Labels the paper's data uses for the same encodings.
PAPER_LABELS = {
    "crossbar": "Crossbar",
    "pb_csr": "PB-CSR",
    "pb_csr_csc": "PB-CSR+CSC",
    "pb_bmp": "PB-BMP",
    "func_rowcol": "Func-RowCol",
    "func_bmp": "Func-BMP",
    "func_pure": "Func-Pure",
}


def get_encoding(name: str) -> type[Encoding]:
    """The encoding class registered as ``name``."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise EncodingError(f"unknown encoding {name!r}; known: {', '.join(REGISTRY)}") from None


def encode_fc(
    name: str, weights: np.ndarray, weight_bits: int, params: MemoryParams, max_nnz: int | None = None
) -> Encoding:
    """Encode a fully connected layer with the named encoding."""
    cls = get_encoding(name)
    if "fc" not in cls.layer_types:
        raise EncodingError(f"{name} encodes convolution layers only")
    return cls.from_dense(weights, weight_bits, params, max_nnz)


def encode_conv(
    name: str,
    kernels: np.ndarray,
    geometry: ConvGeometry,
    weight_bits: int,
    params: MemoryParams,
    max_nnz: int | None = None,
) -> Encoding:
    """Encode a convolution layer with the named encoding (index-based ones store it unrolled)."""
    return get_encoding(name).from_conv(kernels, geometry, weight_bits, params, max_nnz)


__all__ = [
    "Access",
    "ConvGeometry",
    "Encoding",
    "EncodingError",
    "Memory",
    "MemoryImage",
    "MemoryParams",
    "OpResult",
    "PAPER_LABELS",
    "REGISTRY",
    "SramMacro",
    "TracedMemories",
    "encode_conv",
    "encode_fc",
    "get_encoding",
]
