"""Benchmark: throughput of the streaming controllers (SPEC.md section 6).

Target: forward and backward walks within 1.25 cycles per emitted synapse (per row visited, for
column walks) plus a few cycles per event. For every encoding, renders the design at two sizes
(4-bit weights), plays dense events (density 1.0) in Icarus with an always-ready sink, and takes
the marginal cost between the two sizes: cycles per unit = delta(cycles) / delta(units), where a
unit is an emitted synapse (forward, and the row-stream backward; functional encodings: a kernel tap
walked) or a row visited (backward), and the per-event overhead = cycles - marginal x units at the
smaller size. For the row-stream backward (random masks of 1 to all columns) it also prints the
mean cycles per row streamed at each size.
Prints the ratio of each marginal cost to 1.25; asserts nothing.
Usage: python benchmarks/streaming.py [--encodings crossbar,pb_bmp]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from spikemem.config import Design, load_config
from spikemem.encodings import REGISTRY, ConvGeometry
from spikemem.paths import CONFIG_DIR
from spikemem.rtl.render import design_context, render_stage
from spikemem.rtl.stage import verify_stage

TARGET = 1.25
FC_SIZES = ((8, 8), (32, 48))
CONV_SIZES = (ConvGeometry(1, 4, 4, 2, 3, 1, 1), ConvGeometry(2, 6, 6, 4, 3, 1, 1))


def _designs(encoding: str) -> list[Design]:
    cls = REGISTRY[encoding]
    if "fc" in cls.layer_types:
        return [Design(encoding, "fc", 4, n_pre=a, n_post=b) for a, b in FC_SIZES]
    return [Design(encoding, "conv", 4, geometry=g) for g in CONV_SIZES]


def _units(design: Design, op: str, mean_synapses: float) -> float:
    """What one cycle is owed for: forward, the synapses emitted (conv: the taps walked); backward,
    the rows visited (a column walk of an index-based layer), or the synapses streamed."""
    g = design.geometry
    if g is not None:
        per = g.out_channels if op == "forward" else g.in_channels
        return per * g.kernel * g.kernel
    if op == "backward" and REGISTRY[design.encoding].backward_walks_rows:
        return design.n_pre
    return mean_synapses


def measure(cfg: dict, design: Design, work: Path) -> dict:
    render_stage(cfg, design, work / "rtl")
    report = verify_stage(
        cfg, design, work / "rtl", work / "sim", work / "v.json", simulators=("icarus",), densities=(1.0,)
    )
    if not report["passed"]:
        raise RuntimeError(f"{design.name}: verification failed")
    return report["throughput"]["densities"]["1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encodings", default=",".join(REGISTRY))
    args = parser.parse_args()
    cfg = load_config(CONFIG_DIR / "test_rtl.yaml")
    cfg["verification"] = {**cfg["verification"], "events_per_operation": 60}
    print(f"{'encoding':12s} {'op':12s} {'cycles/unit':>8s} {'overhead':>9s} {'ratio to ' + str(TARGET):>14s}")
    with tempfile.TemporaryDirectory() as tmp:
        for encoding in args.encodings.split(","):
            small, large = _designs(encoding)
            design_context(cfg, small)  # fails early on a design the configuration cannot hold
            got = [measure(cfg, d, Path(tmp) / d.name) for d in (small, large)]
            for op in [op for op in ("forward", "backward", "backward_row") if op in REGISTRY[encoding].operations]:
                cyc = [g[op]["mean_latency"] for g in got]
                units = [_units(d, op, g[op]["mean_synapses"]) for d, g in zip((small, large), got, strict=True)]
                marginal = (cyc[1] - cyc[0]) / (units[1] - units[0])
                overhead = cyc[0] - marginal * units[0]
                per_row = ""
                if op == "backward_row":
                    rows = [d.n_pre for d in (small, large)]
                    per_row = "   cycles per row: " + " / ".join(f"{c / r:.1f}" for c, r in zip(cyc, rows, strict=True))
                print(f"{encoding:12s} {op:12s} {marginal:8.3f} {overhead:9.1f} {marginal / TARGET:14.2f}{per_row}")


if __name__ == "__main__":
    main()
