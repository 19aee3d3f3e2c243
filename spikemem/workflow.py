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


def encoding_module(wildcards) -> list[str]:
    """The golden-model modules a design's rules depend on: its encoding class and the classes it
    derives from (design names start with the encoding)."""
    import inspect

    from .encodings import get_encoding
    from .paths import PROJECT_ROOT

    cls = get_encoding(wildcards.design.split("-")[0])
    files = []
    for klass in cls.__mro__:
        if klass.__module__.startswith("spikemem.encodings"):
            files.append(str(Path(inspect.getfile(klass)).resolve().relative_to(PROJECT_ROOT)))
    return sorted(set(files))


def design_templates(wildcards) -> list[str]:
    """The RTL templates a design is rendered from (its encoding's, shared ones aside)."""
    from .encodings import get_encoding

    return [f"templates/{t}" for t in get_encoding(wildcards.design.split("-")[0]).templates]
