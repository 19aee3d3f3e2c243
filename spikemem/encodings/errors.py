"""The one exception of the encodings, raised by every module of the package (geometry, bit
fields, memories and the encodings themselves)."""

from __future__ import annotations


class EncodingError(ValueError):
    """A weight matrix, geometry or memory parameter that an encoding cannot represent."""
