"""What clock gating saves: gated designs against their ungated references (same RTL but the SRAM
clock gates, same events), per idle cycle, per active cycle and per event."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ..workloads import OPERATIONS
from .windows import op_means


def gating_table(gated: Iterable[dict], ungated: Iterable[dict]) -> pd.DataFrame:
    """One row per reference design and operation: logic energy of an idle cycle, of the mean
    active cycle and per event, gated and ungated (pJ), and their ratios."""
    refs = {c["design"]["name"]: c for c in ungated}
    rows = []
    for char in gated:
        name = char["design"]["name"]
        ref = refs.get(name)
        if ref is None:
            raise ValueError(f"no ungated characterization of {name}")
        g, u = char["cycle_energy"], ref["cycle_energy"]
        for op in OPERATIONS:
            if op not in g["active"] or op not in u["active"]:
                continue
            mine, theirs = op_means(char["runs"], op), op_means(ref["runs"], op)
            e_g, cyc_g = mine["logic_j"], mine["cycles"]
            e_u, cyc_u = theirs["logic_j"], theirs["cycles"]
            rows.append(
                {
                    "design": name,
                    "encoding": char["design"]["encoding"],
                    "operation": op,
                    "idle_cycle_pj_ungated": u["idle_logic_j"] * 1e12,
                    "idle_cycle_pj_gated": g["idle_logic_j"] * 1e12,
                    "active_cycle_pj_ungated": u["active"][op]["logic_j"] * 1e12,
                    "active_cycle_pj_gated": g["active"][op]["logic_j"] * 1e12,
                    "logic_per_event_pj_ungated": e_u * 1e12,
                    "logic_per_event_pj_gated": e_g * 1e12,
                    "per_event_ratio": e_g / e_u if e_u else None,
                    "idle_ratio": g["idle_logic_j"] / u["idle_logic_j"] if u["idle_logic_j"] else None,
                    "cycles_per_event": cyc_g,
                    "clock_gates": char["synthesis"]["cells_by_type"].get(_icg(char), 0),
                    "flow_level": char["flow_level"],
                }
            )
            if cyc_g != cyc_u:
                raise ValueError(f"{name} {op}: gated and ungated designs took different cycles ({cyc_g} vs {cyc_u})")
    return pd.DataFrame(rows)


def _icg(char: dict) -> str:
    cells = char["synthesis"]["cells_by_type"]
    return next((t for t in cells if "dlclkp" in t or "clkgate" in t), "")
