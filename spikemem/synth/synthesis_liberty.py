"""The standard-cell Liberty that synthesis reads: the library without what no synthesis pass may use.

Yosys reads the standard-cell Liberty several times per design (cell definitions, flip-flop
mapping, clock gating, each ABC run, the area statistics), and SiliconCompiler rewrites a copy of
it for each run first; for sky130_fd_sc_hd that is 13 MB each time. Production flows hand
synthesis a reduced library, and so does this one:

- **cells**: the configuration's dont-use cells (other clock gates, lpflow and probe cells,
  physical-only tap, fill, decap and diode cells) are removed: no synthesis pass may map onto them;
- **power groups** (``internal_power``, ``leakage_power``): no synthesis pass reads them (ABC and
  the flip-flop mapper read functions, areas and timing arcs), and the energy model reads the full
  Liberty (:mod:`spikemem.synth.liberty_model`).

Everything else is copied byte for byte. The reduced file is generated once per Liberty and
dont-use list (cached, keyed by the Liberty's SHA-256, the list and this module's version) and
used at the synthesis-only flow level; a placed-and-routed flow reads the full library throughout,
since its power and timing steps need every group. :func:`canonical_netlist` lets the check that
the netlists do not change (``benchmarks/synthesis_liberty.py``, ``tests/test_synthesis_liberty.py``)
ignore Yosys's internal name counters, which shift with the number of cells it read.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path

from ..atomic_files import atomic_write_text

__all__ = ["REDUCER_VERSION", "canonical_netlist", "reduce_liberty", "synthesis_liberty"]

# Part of the cache key: a change to what the reduction removes must not be answered from a cache.
REDUCER_VERSION = 1
# Groups no synthesis pass reads.
DROPPED_GROUPS = ("internal_power", "leakage_power")

# Comments and quoted strings are skipped when braces are matched.
_TOKENS = re.compile(r'/\*.*?\*/|"(?:\\.|[^"\\])*"|[{}]', re.S)
_CELL = re.compile(r'^[ \t]*cell[ \t]*\([ \t]*"?([^")\s]+)"?[ \t]*\)[ \t]*\{', re.M)


def _group_spans(text: str, header: re.Pattern) -> list[tuple[int, int, re.Match]]:
    """(start, end, match) of every group whose header ``header`` matches (ending at its ``{``),
    outermost only: a group inside a matched one is part of it."""
    braces = [(m.start(), m.group()) for m in _TOKENS.finditer(text) if m.group() in "{}"]
    close_of: dict[int, int] = {}
    stack: list[int] = []
    for pos, b in braces:
        if b == "{":
            stack.append(pos)
        elif stack:
            close_of[stack.pop()] = pos
    spans, end = [], -1
    for m in header.finditer(text):
        if m.start() < end:
            continue
        brace = m.end() - 1
        if brace not in close_of:
            raise ValueError(f"unbalanced Liberty group at offset {m.start()}: {m.group().strip()!r}")
        end = close_of[brace] + 1
        if end < len(text) and text[end] == "\n":
            end += 1
        spans.append((m.start(), end, m))
    return spans


def _without(text: str, spans: Iterable[tuple[int, int, re.Match]]) -> str:
    out, pos = [], 0
    for start, end, _ in spans:
        out.append(text[pos:start])
        pos = end
    out.append(text[pos:])
    return "".join(out)


def reduce_liberty(text: str, dont_use: Iterable[str]) -> tuple[str, dict]:
    """``text`` without the cells matching a ``dont_use`` pattern and without the power groups;
    and what was removed (cells kept and dropped, groups dropped, sizes)."""
    patterns = list(dont_use)
    cells = _group_spans(text, _CELL)
    dropped = [s for s in cells if any(fnmatch.fnmatchcase(s[2].group(1), p) for p in patterns)]
    if len(dropped) == len(cells):
        raise ValueError("the dont-use list removes every cell of the library")
    reduced = _without(text, dropped)
    power = re.compile(r"^[ \t]*(?:" + "|".join(DROPPED_GROUPS) + r")[ \t]*\([^)]*\)[ \t]*\{", re.M)
    groups = _group_spans(reduced, power)
    reduced = _without(reduced, groups)
    return reduced, {
        "cells_kept": len(cells) - len(dropped),
        "cells_dropped": sorted(s[2].group(1) for s in dropped),
        "groups_dropped": {g: sum(1 for s in groups if s[2].group().strip().startswith(g)) for g in DROPPED_GROUPS},
        "bytes": len(reduced.encode()),
        "source_bytes": len(text.encode()),
    }


def synthesis_liberty(liberty: Path, dont_use: Iterable[str], cache_dir: Path) -> tuple[Path, dict]:
    """The reduced copy of ``liberty`` (:func:`reduce_liberty`) under ``cache_dir`` (absolute path), generated on
    first use; and its description (source, hashes, what was removed). Concurrent jobs may generate
    it at once: each writes atomically the same bytes."""
    from ..pdk import sha256

    patterns = sorted(dont_use)
    source_hash = sha256(liberty)
    key = hashlib.sha256(json.dumps([source_hash, patterns, REDUCER_VERSION]).encode()).hexdigest()[:16]
    # Absolute: SiliconCompiler resolves a relative path against the PDK's root, not the working directory.
    out = Path(cache_dir).resolve() / f"{liberty.stem}.synthesis.{key}.lib"
    meta_path = out.with_suffix(".json")
    if out.exists() and meta_path.exists():
        return out, json.loads(meta_path.read_text())
    reduced, removed = reduce_liberty(liberty.read_text(encoding="utf-8", errors="replace"), patterns)
    atomic_write_text(out, reduced)
    meta = {
        "source": str(liberty),
        "source_sha256": source_hash,
        "dont_use": patterns,
        "reduced": True,
        "reducer_version": REDUCER_VERSION,
        "sha256": sha256(out),
        **removed,
    }
    atomic_write_text(meta_path, json.dumps(meta, indent=1))
    return out, meta


_AUTO_ID = re.compile(r"\$(\d+)")


def canonical_netlist(text: str) -> str:
    """A Yosys netlist with its automatic name counters (``$1234``) renumbered in order of first
    appearance: two netlists that differ only in those counters become equal."""
    ids: dict[str, int] = {}

    def renumber(m: re.Match) -> str:
        return f"${ids.setdefault(m.group(1), len(ids))}"

    return _AUTO_ID.sub(renumber, text)
