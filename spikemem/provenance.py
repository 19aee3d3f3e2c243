"""How every result was made: the provenance block every result file carries."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from collections.abc import Mapping
from importlib import metadata
from typing import Any

from .paths import PROJECT_ROOT

PACKAGES = ("spikemem", "numpy", "pandas", "snakemake", "siliconcompiler", "pyosys", "jinja2")


def config_hash(cfg: Mapping) -> str:
    return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:16]


def git_revision() -> dict[str, Any]:
    """The checkout's commit and whether it has uncommitted changes (None outside git)."""
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT, capture_output=True, text=True
        ).stdout.strip()
        return {"commit": rev, "dirty": bool(dirty)}
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}


def package_versions() -> dict[str, str | None]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def provenance(cfg: Mapping | None = None, **extra: Any) -> dict[str, Any]:
    """The provenance block every result file carries. No timestamps: equal inputs must give
    byte-identical results."""
    block: dict[str, Any] = {
        "python": platform.python_version(),
        "packages": package_versions(),
        "git": git_revision(),
    }
    if cfg is not None:
        block["config_sha256_16"] = config_hash(cfg)
        block["seed"] = cfg.get("seed")
    block.update(extra)
    return block
