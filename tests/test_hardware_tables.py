"""The report's hardware tables on hand-made inputs: crossover densities, ratios to Crossbar, and
the clock-gating comparison."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.hardware_tables import layer_comparison
from spikemem.synth.clock_gating import gating_table


def test_layer_comparison_finds_where_each_encoding_stops_being_cheapest(tmp_path):
    # Crossbar costs 10 at every density; PB-BMP 20 x density; PB-CSR 40 x density.
    rows = []
    for d in (0.1, 0.25, 0.5, 0.75, 1.0):
        for enc, e in (("crossbar", 10.0), ("pb_bmp", 20.0 * d), ("pb_csr", 40.0 * d)):
            rows.append(
                {
                    "sweep": "density",
                    "weight_bits": 8,
                    "density": d,
                    "encoding": enc,
                    "forward_backward_j": e,
                    "payload_bits": 100,
                    "metadata_bits": 1,
                }
            )
    path = tmp_path / "fc_sweeps.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    layers, ranges = layer_comparison(path)
    assert list(layers.cheapest) == ["PB-BMP", "PB-BMP", "Crossbar", "Crossbar", "Crossbar"]
    bmp = ranges.set_index("encoding").loc["PB-BMP"]
    assert bmp["cheapest up to density"] == 0.25 and bmp["stops being cheapest above"] == 0.5
    assert bmp["dense ratio to Crossbar"] == pytest.approx(2.0)
    assert pd.isna(ranges.set_index("encoding").loc["PB-CSR", "cheapest from density"])
    assert layers["PB-CSR / Crossbar"].iloc[-1] == pytest.approx(4.0)


def _char(name, idle, logic_per_window, cycles):
    window = {
        "events": 10,
        "cycles": cycles,
        "internal_j": logic_per_window,
        "switching_j": 0.0,
        **dict.fromkeys(("sram_read_j", "sram_write_j", "word_reads"), 0),
    }
    return {
        "design": {"name": name, "encoding": "pb_bmp"},
        "runs": [{"operation": "forward", "windows": [window]}],
        "cycle_energy": {"idle_logic_j": idle, "active": {"forward": {"logic_j": logic_per_window / cycles}}},
        "synthesis": {"cells_by_type": {"sky130_fd_sc_hd__dlclkp_1": 3}},
        "flow_level": "synthesis",
    }


def test_gating_table_compares_like_with_like():
    table = gating_table([_char("d", 2e-12, 50e-12, 100)], [_char("d", 10e-12, 100e-12, 100)])
    row = table.iloc[0]
    assert row.per_event_ratio == pytest.approx(0.5) and row.idle_ratio == pytest.approx(0.2)
    assert row.logic_per_event_pj_gated == pytest.approx(5.0) and row.clock_gates == 3
    with pytest.raises(ValueError, match="different cycles"):
        gating_table([_char("d", 2e-12, 50e-12, 100)], [_char("d", 10e-12, 100e-12, 120)])
    with pytest.raises(ValueError, match="no ungated"):
        gating_table([_char("d", 2e-12, 50e-12, 100)], [])
