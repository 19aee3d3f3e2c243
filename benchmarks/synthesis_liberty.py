"""Benchmark and check: synthesis on the reduced standard-cell Liberty against the full one.

For every design of a configuration (default ``config/test_small.yaml``; trained layers, which need
the trained networks, are left out), renders the RTL and runs the flow twice, in alternating order:
once on the configuration's Liberty as it is, once on the reduced copy synthesis reads
(:mod:`spikemem.synth.synthesis_liberty`). Prints, per design, the seconds of each, their ratio,
and whether the two netlists are identical once Yosys's automatic name counters are renumbered
(:func:`~spikemem.synth.synthesis_liberty.canonical_netlist`); where they are not, it names the
cell types whose counts differ. Exits 1 if any netlist differs. Usage:

    python benchmarks/synthesis_liberty.py [--config config/test_small.yaml] [DESIGN ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from spikemem.config import designs, load_config
from spikemem.paths import CONFIG_DIR
from spikemem.rtl.render import design_context, design_sources, load_manifest, render_stage
from spikemem.synth.sc_flow import find_netlist, synthesize
from spikemem.synth.synthesis_liberty import canonical_netlist


def cell_counts(netlist: str) -> Counter:
    """Instances per cell type of a Yosys Verilog netlist (lines ``  <type> <instance> (``)."""
    return Counter(
        line.split()[0] for line in netlist.splitlines() if line.startswith("  sky130_") and line.rstrip().endswith("(")
    )


def synthesized(cfg, design, rtl: Path, work: Path, reduced: bool, cache: Path) -> tuple[str, float]:
    """The netlist and the seconds of one flow run on the full or the reduced Liberty."""
    files = load_manifest(rtl)
    ctx = design_context(cfg, design)
    macros = sorted({m["macro"] for m in ctx["memories"] if m["implementation"] == "sram"})
    t = time.perf_counter()
    synthesize(ctx["prefix"], design_sources(files), macros, cfg, work, cache_dir=cache if reduced else None)
    seconds = time.perf_counter() - t
    return find_netlist(work / "build", ctx["prefix"]).read_text(), seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(CONFIG_DIR / "test_small.yaml"))
    parser.add_argument("designs", nargs="*")
    args = parser.parse_args()
    cfg = load_config(args.config)
    chosen = [d for d in designs(cfg) if not d.trained and (not args.designs or d.name in args.designs)]
    rows, different = [], []
    with tempfile.TemporaryDirectory(prefix="synthesis-liberty-") as tmp:
        root = Path(tmp)
        for k, design in enumerate(chosen):
            rtl = root / design.name / "rtl"
            render_stage(cfg, design, rtl)
            seconds, netlists = {}, {}
            # Alternate which runs first, so that a warm file cache favours neither.
            for reduced in (k % 2 == 0, k % 2 != 0):
                name = "reduced" if reduced else "full"
                netlists[name], seconds[name] = synthesized(
                    cfg, design, rtl, root / design.name / name, reduced, root / "cache"
                )
            same = canonical_netlist(netlists["full"]) == canonical_netlist(netlists["reduced"])
            if not same:
                full, red = cell_counts(netlists["full"]), cell_counts(netlists["reduced"])
                diff = {t: (full[t], red[t]) for t in sorted(set(full) | set(red)) if full[t] != red[t]}
                different.append((design.name, diff))
            rows.append({"design": design.name, **seconds, "identical": same})
            print(
                f"{design.name:40s} full {seconds['full']:6.2f} s  reduced {seconds['reduced']:6.2f} s  "
                f"ratio {seconds['full'] / seconds['reduced']:.2f}  netlists {'identical' if same else 'DIFFER'}",
                flush=True,
            )
        meta = json.loads(next((root / "cache").glob("*.json")).read_text()) if rows else {}
    if rows:
        full, red = sum(r["full"] for r in rows), sum(r["reduced"] for r in rows)
        print(
            f"{len(rows)} designs: full {full:.1f} s, reduced {red:.1f} s, ratio {full / red:.2f}; "
            f"{sum(r['identical'] for r in rows)} identical netlists; reduced Liberty "
            f"{meta.get('bytes', 0) / 1e6:.1f} MB of {meta.get('source_bytes', 0) / 1e6:.1f} MB, "
            f"{len(meta.get('cells_dropped', []))} cells dropped"
        )
    for name, diff in different:
        print(f"{name}: cell counts differ (full, reduced): {diff}")
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
