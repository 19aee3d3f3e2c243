"""How the physical memory (logical word width and SRAM macro) changes each encoding's cost: a
design characterized as configured and as a ``memory_variants`` entry, on the same weights and
events (both draw them from the design's name and the seed)."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ..workloads import OPERATIONS
from .windows import op_means


def _memory(char: dict) -> dict:
    """Word width and macros of a characterized design, from its memories as rendered, with what
    the macros cost besides their accesses: their area and leakage, and each one's access energy."""
    mems = char["memory"]
    syn = char["synthesis"]
    access = char.get("sram_access_energy", {})
    return {
        "word_bits": mems[0]["word_bits"],
        "macro": ", ".join(sorted({m["macro"] for m in mems if m.get("macro")})) or "flops",
        "macros": sum(syn.get("macros", {}).values()),
        # the synthesis report's cell area holds the macros' LEF area beside the standard cells'
        "macro_area_mm2": (syn["cellarea"] - syn["stdcell_area_um2"]) * 1e-6,
        "sram_leakage_w": char["leakage_w"]["sram"],
        "read_pj_per_access": max((a["read_j"] for a in access.values()), default=0.0) * 1e12,
        "write_pj_per_access": max((a["write_j"] for a in access.values()), default=0.0) * 1e12,
    }


# What a memory costs besides its accesses, per design under each memory (the same in every row
# of a design).
FOOTPRINT = ("macros", "macro_area_mm2", "sram_leakage_w", "read_pj_per_access", "write_pj_per_access")


def variant_table(main: Iterable[dict], variants: Iterable[dict]) -> pd.DataFrame:
    """One row per (design, memory variant, operation): energy per event (logic, SRAM, dynamic),
    word reads and cycles per event under the main memory and the variant, and their ratio; and
    under each memory its macros, their area and leakage and their energy per access."""
    by_name = {c["design"]["name"]: c for c in main}
    rows = []
    for var in variants:
        name = var["design"]["name"]
        if name not in by_name:
            raise ValueError(f"no characterization of {name} with the main memory configuration")
        ref = by_name[name]
        m, v = _memory(ref), _memory(var)
        for op in OPERATIONS:
            a, b = op_means(ref["runs"], op), op_means(var["runs"], op)
            if a is None or b is None:
                continue
            dyn_a, dyn_b = (a["logic_j"] + a["sram_j"]) * 1e12, (b["logic_j"] + b["sram_j"]) * 1e12
            rows.append(
                {
                    "design": name,
                    "encoding": var["design"]["encoding"],
                    "operation": op,
                    "main_memory": f"{m['word_bits']}-bit words, {m['macros']} x {m['macro']}",
                    "variant_memory": f"{v['word_bits']}-bit words, {v['macros']} x {v['macro']}",
                    "main_dynamic_pj": dyn_a,
                    "variant_dynamic_pj": dyn_b,
                    "variant_over_main": dyn_b / dyn_a if dyn_a else None,
                    "main_sram_pj": a["sram_j"] * 1e12,
                    "variant_sram_pj": b["sram_j"] * 1e12,
                    "main_logic_pj": a["logic_j"] * 1e12,
                    "variant_logic_pj": b["logic_j"] * 1e12,
                    "main_word_reads": a["word_reads"],
                    "variant_word_reads": b["word_reads"],
                    "main_cycles": a["cycles"],
                    "variant_cycles": b["cycles"],
                    **{f"main_{k}": m[k] for k in FOOTPRINT},
                    **{f"variant_{k}": v[k] for k in FOOTPRINT},
                    "flow_level": var["flow_level"],
                }
            )
    return pd.DataFrame(rows)
