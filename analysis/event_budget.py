"""How many characterization events the energy table needs: the fit against events per run.

Each characterization run plays ``events_per_operation`` events per operation and density, in
activity windows of 25 events. This refits the energy table from the first k windows of every run
(k = 1 .. all) of a finished run's characterizations and prints, per k:
- the held-out error of the fit (the largest fitted size predicted from the others; median and
  maximum over the table's rows) and how many rows are flagged;
- how far each row's per-event energy at its largest design's mean event moves from the fit on
  all windows (median and maximum relative change).
The knee is the smallest k whose per-event energies stay within 2 % (median) of the full fit and
that flags no more rows than it.

Usage: python -m analysis.event_budget [--results results] [--configfile config/config.yaml]
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import pandas as pd

from spikemem.config import design_by_name, designs, load_config, validation_designs
from spikemem.synth.energy_table import (
    build_table,
    capacity_bits,
    design_size,
    load_characterizations,
    model_windows,
    predict,
    row_coefficients,
    window_totals,
)

KNEE_MEDIAN_CHANGE = 0.02


def truncated(chars: list[dict], windows: int) -> list[dict]:
    """The characterizations with every run cut to its first ``windows`` activity windows."""
    out = copy.deepcopy(chars)
    for c in out:
        for r in c["runs"]:
            r["windows"] = r["windows"][:windows]
            r["events"] = sum(w["events"] for w in r["windows"])
            r["cycles"] = sum(w["cycles"] for w in r["windows"])
    return out


def per_event_logic(table: pd.DataFrame, chars: list[dict]) -> pd.Series:
    """Each row's fitted logic energy for the mean event of the largest design of its group that
    ran its operation (all windows; a macro sweep design runs only some operations)."""
    largest: dict[tuple, tuple] = {}
    for c in chars:
        d = c["design"]
        size = design_size(d)
        for op in {r["operation"] for r in c["runs"]}:
            key = (d["layer"], d["encoding"], d["weight_bits"], op)
            if key not in largest or size > largest[key][0]:
                largest[key] = (size, c)
    values = []
    for _, row in table.iterrows():
        c = largest[(row.layer, row.encoding, row.weight_bits, row.operation)][1]
        windows = model_windows(c, row.operation)
        events = sum(w["events"] for w in windows)
        coef, bank, sram = row_coefficients(row)
        values.append(predict(coef, sram, window_totals(windows), bank)["logic_j"] / events)
    return pd.Series(values, index=table.index)


def budget(results: Path, cfg: dict) -> pd.DataFrame:
    names = {d.name for d in designs(cfg)}
    paths = [p for p in sorted((results / "synth").glob("*/characterization.json")) if p.parent.name in names]
    chars = load_characterizations(paths)
    golden = {c["design"]["name"]: capacity_bits(cfg, design_by_name(cfg, c["design"]["name"])) for c in chars}
    validation = [d.name for d in validation_designs(cfg)]
    most = max(len(r["windows"]) for c in chars for r in c["runs"])
    full = build_table(chars, golden, validation)
    reference = per_event_logic(full, chars)
    rows = []
    for k in range(1, most + 1):
        table = build_table(truncated(chars, k), golden, validation)
        change = ((per_event_logic(table, chars) - reference) / reference).abs()
        rows.append(
            {
                "windows_per_run": k,
                "events_per_run": k * 25,
                "heldout_error_median": table.heldout_max_error.median(),
                "heldout_error_max": table.heldout_max_error.max(),
                "flagged_rows": int(table.flagged.sum()),
                "per_event_change_median": change.median(),
                "per_event_change_max": change.max(),
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--configfile", default="config/config.yaml")
    args = parser.parse_args()
    cfg = load_config(Path(args.configfile))
    frame = budget(args.results, cfg)
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    full = frame.iloc[-1]
    ok = frame[
        (frame.per_event_change_median <= KNEE_MEDIAN_CHANGE) & (frame.flagged_rows <= full.flagged_rows)
    ].windows_per_run
    print(f"knee: {int(ok.min()) * 25} events per run and density (of {int(full.events_per_run)})")


if __name__ == "__main__":
    main()
