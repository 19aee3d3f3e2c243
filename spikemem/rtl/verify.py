"""Verification of a rendered design against its golden model, in Icarus Verilog and Verilator
(driven through :mod:`spikemem.rtl.simulator`).

For each density: the golden model builds the memory image (sized for the design's capacity),
the testbench loads it through the load port and plays a shuffled mix of forward, backward and
update events; every streamed synapse, every update's hit flag and every event's reads and writes
per memory must equal the golden model's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import Design, design_operations
from ..golden import run_events
from ..processes import run_tool
from ..workloads import OPERATIONS, build, memory_params, random_events, random_weights, rng_for, trained_events
from .render import capacity, design_context, design_sources, simulation_models


@dataclass
class Stimulus:
    """One density's load image, events and the golden model's expectations."""

    density: float
    loads: list[int]
    events: list[tuple[str, tuple[int, ...]]]
    expected_outputs: list
    expected_counts: list[Counter]
    memories: list[str] = field(default_factory=list)


def make_stimulus(
    cfg: Mapping,
    design: Design,
    density: float | None,
    n_per_op: int,
    operations: tuple[str, ...] | None = None,
    purpose: str = "verify",
    workload: Mapping | None = None,
) -> Stimulus:
    """The load image, events and golden expectations of one density: ``n_per_op`` events of each
    of ``operations`` (default: every operation of the design's encoding), shuffled. A trained
    layer's (``design.trained``) come from its ``workload`` (:func:`load_trained_workload`): its
    weights, and events drawn from its own; ``density`` is then the weights' own and ignored."""
    operations = design_operations(cfg, design) if operations is None else operations
    ctx = design_context(cfg, design)
    params = memory_params(cfg)
    _, max_nnz = capacity(design, params)
    if design.trained:
        if workload is None:
            raise ValueError(f"{design.name} is a trained layer: its workload file is needed (--workload)")
        density = workload["meta"]["density"]
        rng = rng_for(cfg, design.name, purpose, *operations)
        enc = build(design, workload["levels"].astype(np.int64), params, max_nnz)
    else:
        rng = rng_for(cfg, design.name, density, purpose, *operations)
        enc = build(design, random_weights(design, density, rng), params, max_nnz)

    def draw(op: str) -> list[tuple[int, ...]]:
        if workload is not None and design.trained:
            return trained_events(enc, workload, op, n_per_op, rng)
        return random_events(enc, op, n_per_op, rng)

    loads = []
    word_bits, addr_bits = ctx["word_bits"], ctx["load_addr_bits"]
    for sel, mem in enumerate(enc.image.memories.values()):
        for addr, word in enumerate(mem.words):
            loads.append((sel << (addr_bits + word_bits)) | (addr << word_bits) | word)
    events = [(op, ev) for op in operations for ev in draw(op)]
    order = rng.permutation(len(events))
    events = [events[k] for k in order]
    outputs, counts = [], []
    for op, ev in events:  # one at a time: updates change what later events read
        out, cnt = run_events(enc, op, [ev])
        outputs.append(out[0])
        counts.append(cnt[0])
    return Stimulus(density, loads, events, outputs, counts, list(enc.image.memories))


def lint(files: Mapping[str, Path], work: Path) -> None:
    """Verilator ``--lint-only -Wall`` on the synthesizable design (with the SRAM models)."""
    sources = [str(p) for p in [*design_sources(files), *simulation_models(files)]]
    top = Path(files["top"]).stem
    run_tool(["verilator", "--lint-only", "-Wall", "--top-module", top, *sources], work / "lint.log")


def parse_output(text: str, n_memories: int):
    """Streams, hit flags, cycles and cumulative access counts per event."""
    events, current, base = [], [], None
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "L":
            base = [int(v) for v in parts[1:]]
        elif parts[0] == "O":  # index, weight, row (undefined, x, outside a row-stream event)
            row = int(parts[3]) if parts[3].isdigit() else -1
            current.append((int(parts[1]), int(parts[2]), row))
        elif parts[0] == "D":
            nums = [int(v) for v in parts[1:]]
            events.append({"stream": current, "found": bool(nums[0]), "cycles": nums[1], "counts": nums[2:]})
            current = []
    complete = text.rstrip().endswith("END")
    return base, events, complete


def compare(stim: Stimulus, text: str) -> dict:
    """Event-by-event comparison with the golden model; returns counts and the first mismatches."""
    mems = stim.memories
    base, events, complete = parse_output(text, len(mems))
    mismatches: list[str] = []
    if base is None or not complete:
        mismatches.append("simulation output incomplete")
    prev = base or []
    cycles: dict[str, list[int]] = {op: [] for op in OPERATIONS}
    synapses: dict[str, list[int]] = {op: [] for op in OPERATIONS}
    for k, (op, ev) in enumerate(stim.events):
        if k >= len(events):
            mismatches.append(f"event {k} ({op} {ev}): no result")
            break
        got = events[k]
        exp_out = stim.expected_outputs[k]
        # The stream as the golden model gives it: (index, weight), or (row, index, weight) for rows.
        stream = [(r, i, w) if op == "backward_row" else (i, w) for i, w, r in got["stream"]]
        if op == "update":
            if got["found"] != bool(exp_out) or got["stream"]:
                mismatches.append(f"event {k} ({op} {ev}): found {got['found']}, expected {bool(exp_out)}")
        elif stream != [tuple(p) for p in exp_out]:
            mismatches.append(f"event {k} ({op} {ev[:6]}): stream {stream[:6]} != {list(exp_out)[:6]}")
        if got["counts"]:  # RTL simulation reports accesses per memory; gate level does not
            delta = [c - p for c, p in zip(got["counts"], prev, strict=True)]
            prev = got["counts"]
            exp = stim.expected_counts[k]
            want = [exp.get(f"{m}.{rw}", 0) for m in mems for rw in ("R", "W")]
            if delta != want:
                mismatches.append(f"event {k} ({op} {ev}): accesses {delta} != golden {want} ({', '.join(mems)} R/W)")
        cycles[op].append(got["cycles"])
        synapses[op].append(len(got["stream"]) if op != "update" else int(got["found"]))
    return {
        "events": len(stim.events),
        "checked": min(len(events), len(stim.events)),
        "mismatches": len(mismatches),
        "first_mismatches": mismatches[:5],
        "cycles": {op: latency_summary(cycles[op], synapses[op]) for op in OPERATIONS},
    }


def latency_summary(cycles: list[int], synapses: list[int]) -> dict:
    """Cycles per event (accept to done) against synapses streamed (an update: 1 if found).

    ``cycles_per_synapse`` is the ratio of the sums; ``fit`` is the least-squares line
    ``cycles = per_event + per_synapse * synapses`` over the events (None where the synapse counts
    do not vary, e.g. column walks, whose length is the rows visited)."""
    if not cycles:
        return {
            "events": 0,
            "mean_latency": None,
            "max_latency": None,
            "mean_synapses": None,
            "synapses_per_cycle": None,
            "cycles_per_synapse": None,
            "fit": None,
        }
    c, s = np.asarray(cycles, float), np.asarray(synapses, float)
    fit = None
    if len(set(synapses)) > 1:
        slope, intercept = np.polyfit(s, c, 1)
        fit = {"per_event": float(intercept), "per_synapse": float(slope)}
    return {
        "events": len(cycles),
        "mean_latency": float(c.mean()),
        "max_latency": int(c.max()),
        "mean_synapses": float(s.mean()),
        "synapses_per_cycle": float(s.sum() / c.sum()) if c.sum() else None,
        "cycles_per_synapse": float(c.sum() / s.sum()) if s.sum() else None,
        "fit": fit,
    }
