"""What the Snakefile needs at parse time."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from .config import designs
from .provenance import atomic_write_text


def sync_resolved_config(cfg: Mapping, path: str) -> str:
    """Write the validated configuration for the rules' CLIs, touching the file only when its
    content changes, so that an unchanged configuration reruns nothing."""
    text = json.dumps(cfg, indent=2, sort_keys=True) + "\n"
    p = Path(path)
    if not p.exists() or p.read_text() != text:
        atomic_write_text(p, text)
    return path


def design_names(cfg: Mapping) -> list[str]:
    return [d.name for d in designs(cfg)]


def encoding_module(wildcards) -> str:
    """The golden-model module a design's rules depend on (design names start with the encoding)."""
    return f"spikemem/encodings/{wildcards.design.split('-')[0]}.py"
