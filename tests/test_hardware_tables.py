"""The report's hardware tables on hand-made inputs: crossover densities, ratios to Crossbar, and
the clock-gating comparison."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.hardware_tables import layer_comparison
from spikemem.synth.clock_gating import gating_table


def test_layer_comparison_finds_where_each_encoding_stops_being_cheapest(tmp_path):
    # Column walks: Crossbar costs 10 at every density; PB-BMP 20 x density; PB-CSR 40 x density.
    # Row streams: PB-BMP costs 5 at every density, the others as above. Forward costs 1.
    rows = []
    for d in (0.1, 0.25, 0.5, 0.75, 1.0):
        for enc, e, r in (("crossbar", 10.0, 10.0), ("pb_bmp", 20.0 * d, 5.0), ("pb_csr", 40.0 * d, 40.0 * d)):
            rows.append(
                {
                    "sweep": "density",
                    "weight_bits": 8,
                    "density": d,
                    "encoding": enc,
                    "forward_j": 1.0,
                    "backward_j": e,
                    "backward_column_j": e,
                    "backward_row_j": r,
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
    assert bmp["dense ratio to Crossbar"] == pytest.approx(21.0 / 11.0)
    assert pd.isna(ranges.set_index("encoding").loc["PB-CSR", "cheapest from density"])
    assert layers["PB-CSR / Crossbar"].iloc[-1] == pytest.approx(41.0 / 11.0)
    assert layer_comparison(path, "column")[0].equals(layers)
    by_rows, by_rows_ranges = layer_comparison(path, "row")
    assert list(by_rows.cheapest) == ["PB-CSR", "PB-BMP", "PB-BMP", "PB-BMP", "PB-BMP"]
    assert by_rows_ranges.set_index("encoding").loc["PB-BMP", "dense ratio to Crossbar"] == pytest.approx(6.0 / 11.0)


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


def test_model_validation_lists_the_large_sizes_with_both_errors():
    from analysis.hardware_tables import model_validation

    table = pd.DataFrame(
        [
            {
                "encoding": "pb_bmp",
                "weight_bits": 4,
                "operation": op,
                "fit_designs": "pb_bmp-fc8x8-w4;pb_bmp-fc16x16-w4",
                "heldout_design": "pb_bmp-fc16x16-w4",
                "heldout_max_error": 0.02,
                "heldout_max_error_logic": 0.05,
                "validation_design": "pb_bmp-fc128x128-w4" if op == "forward" else None,
                "validation_max_error": 0.12 if op == "forward" else None,
                "validation_max_error_logic": 0.3 if op == "forward" else None,
                "flagged": op == "forward",
            }
            for op in ("forward", "backward")
        ]
    )
    out = model_validation(table)
    assert len(out) == 1 and out["validated at"].iloc[0] == "fc128x128"
    assert out["fitted on"].iloc[0] == "fc8x8, fc16x16" and out["validation error, logic"].iloc[0] == 0.3
    assert bool(out.flagged.iloc[0])
    assert "status" in model_validation(table.assign(validation_design=None)).columns


def test_opensta_comparison_is_a_record_of_the_ratio():
    from analysis.hardware_tables import opensta_record

    chars = [
        {"design": {"name": f"d{k}"}, "cross_check": {"ours_logic_power_w": 1e-4, "opensta_logic_power_w": r * 1e-4}}
        for k, r in enumerate((0.5, 2.0, 1.0))
    ]
    out = opensta_record(chars)
    assert out["OpenSTA / ours"].iloc[0] == "1 (0.5 to 2)"


def test_macro_scaling_reads_the_sweep_with_each_bus(tmp_path):
    import json

    from analysis.hardware_tables import macro_scaling

    cfg = {
        "memory": {"bus_isolation": True},
        "characterization": {"macro_sweep": {"encoding": "crossbar", "weight_bits": 8, "fc_sizes": [[8, 8], [64, 64]]}},
        "memory_variants": [{"name": "broadcast", "bus_isolation": False, "designs": ["crossbar-fc64x64-w8"]}],
    }

    def write(folder, name, macros, logic_j):
        window = {"events": 10, "word_reads": 40, "word_writes": 0, "internal_j": logic_j, "switching_j": logic_j}
        char = {
            "synthesis": {"macros": {"m": macros}, "stdcell_area_um2": 1.0},
            "runs": [{"operation": "forward", "windows": [window]}],
            "cycle_energy": {"idle_logic_j": 1e-12},
            "timing": {"worst_slack_ns": 2.0},
        }
        path = tmp_path / folder / name / "characterization.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(char))

    write("synth", "crossbar-fc8x8-w8", 1, 10e-12)
    write("synth", "crossbar-fc64x64-w8", 4, 20e-12)
    write("synth-mem_broadcast", "crossbar-fc64x64-w8", 4, 30e-12)
    table = macro_scaling(tmp_path, cfg).set_index(["design", "bus"])
    assert list(table.index) == [
        ("crossbar-fc8x8-w8", "isolated"),
        ("crossbar-fc64x64-w8", "isolated"),
        ("crossbar-fc64x64-w8", "broadcast"),
    ]
    assert table.loc[("crossbar-fc64x64-w8", "broadcast"), "logic_pj_per_access"] == pytest.approx(1.5)
    assert table.loc[("crossbar-fc64x64-w8", "isolated"), "macros"] == 4
    assert table.loc[("crossbar-fc8x8-w8", "isolated"), "logic_pj_per_event"] == pytest.approx(2.0)


def test_transistor_level_sram_sets_each_cycle_beside_the_liberty(tmp_path):
    import json

    from analysis.hardware_tables import transistor_level_sram

    assert transistor_level_sram(tmp_path).empty
    result = {
        "macro": "m",
        "energy_j": {"read": 17e-12, "write": 23e-12, "deselected": 5e-12},
        "band_j": {"read": [17e-12, 26e-12], "write": [23e-12, 33e-12], "deselected": [5e-12, 5e-12]},
        "liberty_j": {"read": 19.18e-12, "write": 19.18e-12},
    }
    (tmp_path / "m.json").write_text(json.dumps(result))
    t = transistor_level_sram(tmp_path).set_index("cycle")
    assert t.loc["write", "transistor level (pJ)"] == pytest.approx(23)
    assert t.loc["read", "band / Liberty"] == "0.89-1.36"
    assert pd.isna(t.loc["deselected", "Liberty (pJ)"]) and t.loc["deselected", "band / Liberty"] == ""
