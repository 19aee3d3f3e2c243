"""Golden models of the synaptic-memory encodings and their registry.

Adding an encoding means one module here plus one entry in :data:`REGISTRY` (and its RTL
template under ``templates/rtl/``).
"""

from __future__ import annotations

import numpy as np

from .base import OPERATIONS, Encoding
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
PAPER_LABELS = {name: cls.label for name, cls in REGISTRY.items()}


def _the_one(flag: str) -> str:
    """The name of the one registered encoding whose ClassVar ``flag`` is set."""
    names = [name for name, cls in REGISTRY.items() if getattr(cls, flag)]
    if len(names) != 1:
        raise RuntimeError(f"exactly one encoding must set {flag}, not {names}")
    return names[0]


# The dense store the report's ratios are taken against, and the convolution comparison's reference.
DENSE_REFERENCE = _the_one("dense_reference")
CONV_REFERENCE = _the_one("conv_reference")


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
    "CONV_REFERENCE",
    "ConvGeometry",
    "DENSE_REFERENCE",
    "Encoding",
    "EncodingError",
    "OPERATIONS",
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
