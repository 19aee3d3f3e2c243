"""Energy on honest bases: the energy table's logic fit beside exact SRAM terms, the SRAM scale
factor, the leakage time models, and the claims table's missing inputs and SRAM sensitivity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.claims import (
    energy_on_basis,
    evaluate,
    flip_summary,
    load_paper_claims,
    real_time_feasible,
    sram_sensitivity,
)
from analysis.report import claims
from spikemem.config import load_config
from spikemem.encodings import encode_fc
from spikemem.network_energy import (
    OPS,
    aggregate_layers,
    event_costs,
    layer_energy,
    network_energy,
    network_layers,
    real_time_seconds,
    with_sram_scale,
)
from spikemem.synth.energy_table import (
    COEFFICIENTS,
    COUNT_COEFFICIENTS,
    COUNTS,
    CYCLE_COEFFICIENTS,
    FEATURES,
    SCHEMA,
    SIZE_COEFFICIENTS,
    SRAM_COEFFICIENTS,
    SRAM_FEATURES,
    build_table,
    form_errors,
    model_windows,
    predict,
    validation_errors,
)
from spikemem.workloads import memory_params

ROOT = Path(__file__).resolve().parent.parent
READ_J, WRITE_J = 19.2e-12, 21.0e-12  # per-access SRAM energies of the made-up macro


# --------------------------------------------------------------------------- the split fit


def _characterization(name: str, size: int, rng: np.random.Generator, truth: np.ndarray) -> dict:
    """A characterization whose windows follow a known logic model and carry SRAM accesses charged at
    READ_J / WRITE_J, as characterize.window_energy books them."""
    windows = []
    for _ in range(15):
        x = {
            "events": 25,
            "synapses": int(rng.integers(10, 200)) * size,
            "word_reads": int(rng.integers(5, 80)) * size,
            "word_writes": int(rng.integers(0, 30)),
            "lookups": int(rng.integers(20, 300)) * size,
        }
        logic = float(np.dot(truth, [x[f] for f in COUNTS]))
        windows.append(
            {
                **x,
                "internal_j": 0.6 * logic,
                "switching_j": 0.4 * logic,
                "sram_reads": x["word_reads"],
                "sram_writes": x["word_writes"],
                "sram_read_j": x["word_reads"] * READ_J,
                "sram_write_j": x["word_writes"] * WRITE_J,
                "dynamic_j": logic + x["word_reads"] * READ_J + x["word_writes"] * WRITE_J,
                "cycles": 3 * x["synapses"] + 5 * x["events"],
            }
        )
    run = {"operation": "forward", "density": 0.5, "events": 375, "cycles": 1, "windows": windows}
    return {
        "design": {"name": name, "encoding": "pb_bmp", "layer": "fc", "weight_bits": 4, "n_pre": size, "n_post": size},
        "runs": [run],
        "synthesis": {"macros": {"m": 1}, "stdcell_area_um2": 1.0},
        "memory": [{"name": "weights", "implementation": "sram"}],
        "sram_access_energy": {"m": {"read_j": READ_J, "write_j": WRITE_J, "leakage_w": 1e-5, "how": "test"}},
        "leakage_w": {"logic": 1e-6, "sram": 1e-5},
        "timing": {"worst_slack_ns": 1.0, "clock_mhz": 50},
        "flow_level": "synthesis",
    }


def test_split_fit_reproduces_total_energy_as_logic_plus_sram():
    rng = np.random.default_rng(3)
    truth = np.array([2e-12, 5e-13, 3e-12, 4e-12, 7e-13])
    chars = [_characterization("a", 1, rng, truth), _characterization("b", 2, rng, truth)]
    row = build_table(chars, {}).iloc[0]
    # The fit sees the logic energy only; the SRAM energy per access is the Liberty's, exactly.
    assert [row[c] for c in COUNT_COEFFICIENTS] == pytest.approx(list(truth), rel=1e-6)
    assert [row[c] for c in SIZE_COEFFICIENTS] == pytest.approx([0.0] * 5, abs=1e-18)
    assert (row["e_sram_read_word_j"], row["e_sram_write_word_j"]) == (READ_J, WRITE_J)
    assert row["sram_macros"] == "m" and row["sram_count_mismatches"] == 0
    assert row["heldout_max_error"] < 1e-9 and row["heldout_max_error_logic"] < 1e-9 and not row["flagged"]
    assert row["heldout_design"] == "b"  # the larger size is the one held out
    coef = np.array([row[c] for c in COEFFICIENTS])
    sram = (row["e_sram_read_word_j"], row["e_sram_write_word_j"])
    for w in (w for c in chars for w in model_windows(c)):
        p = predict(coef, sram, w)
        assert p["dynamic_j"] == pytest.approx(p["logic_j"] + p["sram_j"], rel=1e-12)
        assert p["sram_j"] == pytest.approx(w["sram_read_j"] + w["sram_write_j"], rel=1e-12)
        assert p["dynamic_j"] == pytest.approx(w["dynamic_j"], rel=1e-6)
    # Every row is what the published schema says.
    import jsonschema

    for record in build_table(chars, {}).to_dict(orient="records"):
        jsonschema.validate({k: (None if v != v else v) for k, v in record.items()}, SCHEMA)
    measured = sum(w["dynamic_j"] for w in chars[0]["runs"][0]["windows"] + chars[1]["runs"][0]["windows"])
    sram_j = sum(
        w["sram_read_j"] + w["sram_write_j"] for w in chars[0]["runs"][0]["windows"] + chars[1]["runs"][0]["windows"]
    )
    assert row["sram_share"] == pytest.approx(sram_j / measured)


def _with_banks(char: dict, encoding: str, macros: int, bank_j: float) -> dict:
    """``char`` as an encoding whose SRAM bus reaches ``macros`` macros: each access also costs
    ``bank_j`` of logic per macro beyond the first."""
    for w in char["runs"][0]["windows"]:
        w["bank_reads"], w["bank_writes"] = w["sram_reads"] * macros, w["sram_writes"] * macros
        extra = bank_j * (macros - 1) * (w["sram_reads"] + w["sram_writes"])
        w["internal_j"] += 0.6 * extra
        w["switching_j"] += 0.4 * extra
    char["design"]["encoding"] = encoding
    return char


def test_bank_term_is_one_for_all_groups_and_anchored_by_the_macro_sweep():
    """Two encodings with their own coefficients share one cost per access per extra macro; the
    joint fit recovers it from their multi-macro sizes and the sweep (anchors, never in the table),
    and a design of many more macros is predicted within rounding."""
    rng = np.random.default_rng(5)
    bank_j = 4e-13
    truths = {
        "crossbar": np.array([2e-12, 5e-13, 3e-12, 4e-12, 7e-13]),
        "pb_bmp": np.array([1e-12, 9e-13, 2e-12, 1e-12, 3e-13]),
    }
    chars = [
        _with_banks(_characterization(f"{enc}-{size}", size, rng, truth), enc, macros, bank_j)
        for enc, truth in truths.items()
        for size, macros in ((1, 1), (2, 1), (3, 2), (4, 4))
    ]
    anchors = [
        _with_banks(_characterization(f"sweep-{m}", 5, rng, truths["crossbar"]), "crossbar", m, bank_j)
        for m in (1, 9, 33, 151)
    ]
    for a in anchors:
        a["design"]["weight_bits"] = 8  # the sweep's own width: a group of its own
    big = _with_banks(_characterization("pb_bmp-big", 6, rng, truths["pb_bmp"]), "pb_bmp", 184, bank_j)
    table = build_table([*chars, big], {}, validation=["pb_bmp-big"], anchors=anchors)
    assert set(table.encoding) == {"crossbar", "pb_bmp"} and set(table.weight_bits) == {4}
    assert table.e_bank_read_j.unique() == pytest.approx([bank_j], rel=1e-4)
    for enc, truth in truths.items():
        row = table[table.encoding == enc].iloc[0]
        assert [row[c] for c in COUNT_COEFFICIENTS] == pytest.approx(list(truth), rel=1e-4)
    assert table[table.encoding == "pb_bmp"].validation_max_error_logic.iloc[0] < 1e-4
    # Without the bank term the many-macro design is underestimated.
    plain = build_table([*chars, big], {}, validation=["pb_bmp-big"], bank_term=False, anchors=anchors)
    assert plain.e_bank_read_j.unique() == [0.0]
    assert plain[plain.encoding == "pb_bmp"].validation_max_error_logic.iloc[0] > 0.1


def _sized(name: str, size: int, weight_bits: int, rng: np.random.Generator, base, per_bit, per_size_bit) -> dict:
    """A characterization whose logic costs per count grow linearly with the weight width and with
    the size bits (log2 of the synapse positions, here size x size)."""
    char = _characterization(name, size, rng, np.zeros(len(COUNTS)))
    char["design"].update(name=name, weight_bits=weight_bits)
    coef = base + weight_bits * per_bit + np.log2(size * size) * per_size_bit
    for w in char["runs"][0]["windows"]:
        logic = float(np.dot(coef, [w[c] for c in COUNTS]))
        w["internal_j"], w["switching_j"] = 0.6 * logic, 0.4 * logic
    return char


def test_size_and_width_terms_carry_a_model_to_larger_layers_and_other_widths():
    """Costs per count that grow with the layer's size bits and the weight width are recovered from
    small designs of several widths and predict a much larger design of a width the fit saw at one
    small size only; without either term the same fit misses it."""
    rng = np.random.default_rng(11)
    base = np.array([2e-12, 5e-13, 3e-12, 4e-12, 7e-13])
    per_bit = np.array([1e-13, 5e-14, 2e-13, 2e-13, 0.0])
    per_size_bit = np.array([3e-13, 0.0, 1e-13, 2e-13, 5e-14])
    fitted = [
        _sized(f"pb_bmp-{size}-w{wb}", size, wb, rng, base, per_bit, per_size_bit)
        for wb in (2, 4, 8)
        for size in ((2, 4, 8, 16) if wb != 4 else (4,))
    ]
    big = _sized("pb_bmp-128-w4", 128, 4, rng, base, per_bit, per_size_bit)
    table = build_table([*fitted, big], {}, validation=["pb_bmp-128-w4"])
    row = table[table.weight_bits == 4].iloc[0]
    assert row["validation_max_error_logic"] < 1e-6 and row["fit_widths"] == "2;4;8"
    assert [row[c] for c in COUNT_COEFFICIENTS] == pytest.approx(list(base + 4 * per_bit), rel=1e-4)
    assert [row[c] for c in SIZE_COEFFICIENTS] == pytest.approx(list(per_size_bit), rel=1e-4, abs=1e-18)
    for size_term, width_term in ((False, True), (True, False)):
        plain = build_table(
            [*fitted, big], {}, validation=["pb_bmp-128-w4"], size_term=size_term, width_term=width_term
        )
        assert plain[plain.weight_bits == 4].validation_max_error_logic.iloc[0] > 0.05
    assert (plain[list(SIZE_COEFFICIENTS)].to_numpy() > 0).any() and set(plain.fit_widths) == {"2", "4", "8"}


def test_form_error_separates_what_the_terms_cannot_follow_from_extrapolation():
    """Fitted on the validation design as well, terms that describe it leave no error; a cost the terms
    do not have leaves one, smaller than the extrapolation's but not zero, and only on that design."""
    rng = np.random.default_rng(12)
    base = np.array([2e-12, 5e-13, 3e-12, 4e-12, 7e-13])
    per_bit = np.array([1e-13, 5e-14, 2e-13, 2e-13, 0.0])
    per_size_bit = np.array([3e-13, 0.0, 1e-13, 2e-13, 5e-14])
    chars = [
        _sized(f"pb_bmp-{size}-w{wb}", size, wb, rng, base, per_bit, per_size_bit)
        for wb in (2, 4, 8)
        for size in (2, 4, 8, 16)
    ]
    big = _sized("pb_bmp-128-w4", 128, 4, rng, base, per_bit, per_size_bit)
    form = form_errors([*chars, big], ["pb_bmp-128-w4"])
    assert list(form.design) == ["pb_bmp-128-w4"] and form.form_error_logic.max() < 1e-6
    for w in big["runs"][0]["windows"]:  # a cost per event that grows with the size, not with its log
        w["internal_j"] += 4e-10 * w["events"]
    table = build_table([*chars, big], {}, validation=["pb_bmp-128-w4"])
    extrapolated = validation_errors(table, [*chars, big], ["pb_bmp-128-w4"]).error_logic.max()
    form = form_errors([*chars, big], ["pb_bmp-128-w4"]).iloc[0]
    assert 0.01 < form.form_error_logic < extrapolated
    assert 0 < form.form_error < form.form_error_logic  # the exact SRAM part dilutes the total's
    assert form_errors(chars, []).empty


def test_logic_error_is_reported_apart_from_the_total():
    """A logic model that misses on the held-out size is flagged even where SRAM hides it in the total."""
    rng = np.random.default_rng(4)
    truth = np.array([2e-12, 5e-13, 3e-12, 4e-12, 7e-13])
    small, big = _characterization("a", 1, rng, truth), _characterization("b", 2, rng, truth)
    for w in big["runs"][0]["windows"]:  # the larger design's logic costs 30 % more than the model
        w["internal_j"] *= 1.3
        w["switching_j"] *= 1.3
    row = build_table([small, big], {}).iloc[0]
    assert row["heldout_max_error_logic"] == pytest.approx(0.3 / 1.3, rel=1e-6)
    assert row["heldout_max_error"] < row["heldout_max_error_logic"]
    assert row["flagged"]


def test_validation_design_is_never_fitted_and_its_error_is_reported():
    """A much larger design (characterization.validation) checks the published model where it is
    used: its runs are predicted, not fitted, and a miss there flags the row."""
    rng = np.random.default_rng(5)
    truth = np.array([2e-12, 5e-13, 3e-12, 4e-12, 7e-13])
    fitted = [_characterization("a", 1, rng, truth), _characterization("b", 2, rng, truth)]
    big = _characterization("huge", 16, rng, truth)
    row = build_table([*fitted, big], {}, validation=["huge"]).iloc[0]
    assert row["validation_design"] == "huge" and row["heldout_design"] == "b"
    assert row["validation_max_error"] < 1e-9 and not row["flagged"]
    assert "huge" not in row["fit_designs"].split(";")
    for w in big["runs"][0]["windows"]:  # the large design's logic costs 25 % more than the model says
        w["internal_j"] *= 1.25
        w["switching_j"] *= 1.25
    row = build_table([*fitted, big], {}, validation=["huge"]).iloc[0]
    assert row["validation_max_error_logic"] == pytest.approx(0.25 / 1.25, rel=1e-6)
    assert row["validation_max_error"] < row["validation_max_error_logic"] and row["flagged"]
    # Without a validation design the columns are empty, not zero.
    row = build_table(fitted, {}).iloc[0]
    assert row["validation_design"] is None and row["validation_max_error"] is None


def test_convolution_group_holds_out_its_largest_geometry_by_size():
    """Names sort 'conv1x10x10...' before 'conv1x6x6...': the held-out design must be the larger one."""
    rng = np.random.default_rng(6)
    truth = np.array([2e-12, 5e-13, 3e-12, 4e-12, 7e-13])
    chars = []
    for side in (10, 6):
        c = _characterization(f"func_bmp-conv1x{side}x{side}o2k3s1p1-w4", side // 2, rng, truth)
        geometry = {"in_channels": 1, "height": side, "width": side, "out_channels": 2, "kernel": 3, "padding": 1}
        c["design"] = {**c["design"], "layer": "conv", "encoding": "func_bmp", "geometry": geometry}
        del c["design"]["n_pre"], c["design"]["n_post"]
        chars.append(c)
    assert sorted(c["design"]["name"] for c in chars)[-1].startswith("func_bmp-conv1x6x6")
    row = build_table(chars, {}).iloc[0]
    assert row["heldout_design"] == "func_bmp-conv1x10x10o2k3s1p1-w4"


# --------------------------------------------------------------------------- a hand-made table


def _table(encodings, macro_count=2, logic_leak=1e-6, sram_leak=4e-6, **coef) -> pd.DataFrame:
    """A tiny energy table: every FC row with the same made-up coefficients."""
    base = {
        **dict.fromkeys(COEFFICIENTS, 1e-12),
        "e_sram_read_word_j": 10e-12,
        "e_sram_write_word_j": 12e-12,
        **dict.fromkeys(CYCLE_COEFFICIENTS, 0.0),
        "cycles_per_event": 10.0,
        "logic_leakage_w": logic_leak,
        "sram_leakage_w": sram_leak,
        "macro_count": macro_count,
        **coef,
    }
    return pd.DataFrame(
        [
            {"layer": "fc", "encoding": e, "weight_bits": wb, "operation": op, **base}
            for e in encodings
            for wb in (2, 5)
            for op in OPS
        ]
    )


@pytest.fixture(scope="module")
def cfg():
    c = load_config(ROOT / "config" / "test_small.yaml")
    return c


def _weights(rng, shape, wb, density=0.6):
    top = 2 ** (wb - 1) - 1
    w = rng.integers(1, top + 1, shape) * rng.choice([-1, 1], shape)
    return np.where(rng.random(shape) < density, w, 0).astype(np.int64)


def test_leakage_time_models_on_a_hand_made_table(cfg):
    table = _table(["crossbar"], macro_count=2, logic_leak=1e-6, sram_leak=4e-6)
    enc = encode_fc("crossbar", _weights(np.random.default_rng(0), (8, 8), 2), 2, memory_params(cfg))
    assert enc.image.macro_count == 1  # 8 x 8 x 2 bits fit one macro
    e = layer_energy(table, "fc", "crossbar", 2, enc, {"forward": 100}, 50, np.random.default_rng(1), real_time_s=0.25)
    # Power: controller 1 uW + one macro at 4 uW / 2 macros = 3 uW.
    assert e["leakage_w"] == pytest.approx(3e-6)
    # Throughput: 100 events x 10 cycles at 50 MHz = 20 us of leakage; backward and update idle.
    assert e["forward_cycles"] == pytest.approx(1000)
    assert e["busy_s"] == pytest.approx(2e-5)
    assert e["leakage_throughput_j"] == pytest.approx(3e-6 * 2e-5)
    assert e["forward_leakage_throughput_j"] == pytest.approx(6e-11)
    # Real time: the whole 0.25 s sample.
    assert e["leakage_real_time_j"] == pytest.approx(7.5e-7) and e["real_time_feasible"]
    # No validation design behind the rows: an extrapolation, marked; a validated size covers it.
    assert e["beyond_validated"]
    checked = table.assign(validation_design="crossbar-fc16x16-w2;crossbar-fc8x8-w5")
    e8 = layer_energy(checked, "fc", "crossbar", 2, enc, {"forward": 100}, 50, np.random.default_rng(1))
    assert e8["model_validated_at"] == "fc8x8;fc16x16" and not e8["beyond_validated"]
    # Shared time: leakage_w x the common time, on top of the dynamic energy.
    row = pd.DataFrame([e])
    assert energy_on_basis(row, ["forward"], "shared_time", 0.01).iloc[0] == pytest.approx(e["forward_j"] + 3e-8)
    assert energy_on_basis(row, ["forward"], "real_time").iloc[0] == pytest.approx(e["forward_j"] + 7.5e-7)
    assert energy_on_basis(row, ["forward"], "throughput").iloc[0] == pytest.approx(e["forward_j"] + 6e-11)
    assert energy_on_basis(row, ["forward"], "dynamic").iloc[0] == pytest.approx(e["forward_j"])
    # The real-time model follows the configured steps at 1 ms.
    assert real_time_seconds({"snn": {"steps": 250}}) == pytest.approx(0.25)
    # A layer whose events outlast the sample cannot run in real time.
    slow = layer_energy(
        table, "fc", "crossbar", 2, enc, {"forward": 100}, 50, np.random.default_rng(1), real_time_s=1e-5
    )
    assert not slow["real_time_feasible"]


def _trained_run(tmp_path: Path, cfg, wb: int = 2) -> tuple[Path, dict]:
    rng = np.random.default_rng(7)
    s = cfg["snn"]
    run = tmp_path / f"w{wb}"
    run.mkdir()
    hidden = _weights(rng, (s["n_in"], s["n_hidden"]), wb)
    output = _weights(rng, (s["n_hidden"], s["n_out"]), wb)
    np.savez(run / "best_levels.npz", hidden=hidden, output=output)

    def ev(n):
        return {
            "forward_rows": 3.0 * n,
            "backward_columns": 2.0 * n,
            "updates": 40.0 * n,
            "updates_on_nonzero": 25.0 * n,
        }

    metrics = {
        "weight_bits": wb,
        "seed": 0,
        "protocol": "paper",
        "training_set": "paper-a12e12g8",
        "min_van_rossum": 1.5,
        "densities": {"hidden": float(np.mean(hidden != 0)), "output": float(np.mean(output != 0))},
        "final_densities": {"hidden": float(np.mean(hidden != 0)), "output": float(np.mean(output != 0))},
        "events_per_iteration_mean": {"hidden": ev(10), "output": ev(5)},
        "inference_events": {"forward_rows": {"hidden": 30, "output": 15}},
    }
    return run, metrics


def test_sram_scale_multiplies_exactly_the_sram_part(cfg, tmp_path):
    encodings = cfg["encodings"]["fc"]
    table = _table(encodings)
    run, metrics = _trained_run(tmp_path, cfg)
    base = pd.DataFrame(network_layers(cfg, table, run, metrics))
    # Scale 1 reproduces the unscaled energy: N x (logic coefficients . x + SRAM coefficients . x_sram),
    # priced by hand from the same sampled golden-model costs.
    from spikemem.workloads import rng_for

    enc = encode_fc(encodings[0], np.load(run / "best_levels.npz")["hidden"], 2, memory_params(cfg))
    rng = rng_for(cfg, "network", 2, 0, encodings[0])
    costs = event_costs(enc, "forward", rng)
    row = table.iloc[0]
    x = [1.0, *(costs[f] for f in FEATURES[1:])]
    by_hand = 30.0 * (
        np.dot([row[c] for c in COEFFICIENTS], x)
        + np.dot([row[c] for c in SRAM_COEFFICIENTS], [costs[f] for f in SRAM_FEATURES])
    )
    first = base[(base.encoding == encodings[0]) & (base.layer == "hidden")].iloc[0]
    assert first["forward_j"] == pytest.approx(by_hand, rel=1e-12)
    assert first["forward_sram_j"] > 0 and first["forward_logic_j"] > 0
    assert np.allclose(with_sram_scale(base, 1.0)[["forward_j", "dynamic_j"]], base[["forward_j", "dynamic_j"]])
    for s in (0.25, 4.0):
        priced = pd.DataFrame(network_layers(cfg, table, run, metrics, sram_scale=s))
        rescaled = with_sram_scale(base, s)
        for op in (*OPS, "inference_forward"):
            assert np.allclose(priced[f"{op}_logic_j"], base[f"{op}_logic_j"], rtol=1e-12)
            assert np.allclose(priced[f"{op}_sram_j"], s * base[f"{op}_sram_j"], rtol=1e-12)
            assert np.allclose(priced[f"{op}_j"], base[f"{op}_logic_j"] + s * base[f"{op}_sram_j"], rtol=1e-12)
            assert np.allclose(rescaled[f"{op}_j"], priced[f"{op}_j"], rtol=1e-12)
        assert np.allclose(rescaled.dynamic_j, priced.dynamic_j, rtol=1e-12)
        # Leakage does not depend on the SRAM access energy.
        assert np.allclose(priced.leakage_real_time_j, base.leakage_real_time_j)
    # The network rows add up the layers.
    net = pd.DataFrame(network_energy(cfg, table, run, metrics))
    assert np.allclose(
        net.sort_values("encoding").dynamic_j.values, base.groupby("encoding").dynamic_j.sum().sort_index().values
    )


# --------------------------------------------------------------------------- claims and sensitivity


def _network_rows(spec: list[tuple[int, str, float, float]]) -> pd.DataFrame:
    """Network rows (weight bits, encoding, logic J, SRAM J per operation), no leakage but a little."""
    rows = []
    for wb, enc, logic, sram in spec:
        r = {"weight_bits": wb, "seed": 0, "encoding": enc, "sram_scale": 1.0, "min_van_rossum": 1.0}
        for op in OPS:
            r |= {f"{op}_logic_j": logic, f"{op}_sram_j": sram, f"{op}_j": logic + sram}
            r[f"{op}_leakage_throughput_j"] = 1e-9
        r |= {"leakage_w": 1e-6, "leakage_real_time_j": 2.5e-7, "real_time_s": 0.25}
        r |= {"dynamic_j": 3 * (logic + sram), "forward_backward_j": 2 * (logic + sram)}
        rows.append(r)
    return pd.DataFrame(rows)


def test_claims_with_missing_inputs_show_as_missing_with_the_reason(tmp_path):
    results = tmp_path / "results"
    (results / "energy").mkdir(parents=True)
    (results / "snn").mkdir()
    # Only a 2-bit network trained; no conv sweep at all.
    _network_rows([(2, "pb_bmp", 1e-9, 1e-9), (2, "crossbar", 2e-9, 2e-9)]).to_csv(
        results / "energy/network_energy.csv", index=False
    )
    pd.DataFrame({"weight_bits": [2, 5], "seed": [0, 0], "min_van_rossum": [1.1, 1.0]}).to_csv(
        results / "snn/summary.csv", index=False
    )
    table = claims(results).set_index("id")
    assert len(table) == len(load_paper_claims())
    conv = table.loc["functional_backward_update"]
    assert conv.status == "missing" and "energy/conv_sweep.csv" in conv.reason and np.isnan(conv.our_value)
    net = table.loc["bitmap_efficiency"]
    assert net.status == "missing" and "5-bit crossbar" in net.reason and "widths there: 2" in net.reason
    ret = table.loc["retention_degradation"]
    assert ret.status == "ok" and ret.our_value == pytest.approx(0.1) and ret.reason == ""
    # The paper's values come from the data file, with their source.
    assert table.loc["bitmap_efficiency"].paper_value == 1.37 and "arXiv:2003.11639" in net.source


def test_paper_values_live_in_the_data_file_only():
    for path in ("analysis/claims.py", "analysis/report.py", "spikemem/network_energy.py"):
        text = (ROOT / path).read_text()
        assert "1.37" not in text and "0.58" not in text and "0.04" not in text, path


def test_claims_on_every_basis_and_the_sram_sensitivity_flip(tmp_path):
    results = tmp_path / "results"
    (results / "energy").mkdir(parents=True)
    # 5-bit crossbar: much logic, little SRAM; 2-bit PB-BMP: little logic, much SRAM. Per operation
    # 5 + s against 1.5 + 3 s (nJ, s the SRAM scale): PB-BMP is cheaper below s = 1.75 only.
    _network_rows([(5, "crossbar", 5e-9, 1e-9), (2, "pb_bmp", 1.5e-9, 3e-9)]).to_csv(
        results / "energy/network_energy.csv", index=False
    )
    claim = next(c for c in load_paper_claims() if c["id"] == "bitmap_efficiency")
    assert evaluate(claim, results, "dynamic")[0] == pytest.approx(12 / 9)
    assert evaluate(claim, results, "dynamic", sram_scale=0.25)[0] == pytest.approx(5.25 / 2.25)
    assert evaluate(claim, results, "throughput")[0] == pytest.approx((12e-9 + 2e-9) / (9e-9 + 2e-9))
    assert evaluate(claim, results, "real_time")[0] == pytest.approx((12e-9 + 2.5e-7) / (9e-9 + 2.5e-7))
    assert evaluate(claim, results, "shared_time", shared_time_s=1.0)[0] == pytest.approx(
        (12e-9 + 1e-6) / (9e-9 + 1e-6)
    )
    assert real_time_feasible(claim, results) is None  # these rows do not say
    rows = pd.read_csv(results / "energy/network_energy.csv").assign(real_time_feasible=[True, False])
    rows.to_csv(results / "energy/network_energy.csv", index=False)
    assert real_time_feasible(claim, results) is False
    # Layer rows: two encodings, the same trade.
    layers = pd.concat(
        [
            _network_rows([(2, "crossbar", 5e-9, 1e-9), (2, "pb_bmp", 1e-9, 3e-9)]).assign(layer="hidden"),
            _network_rows([(2, "crossbar", 5e-9, 1e-9), (2, "pb_bmp", 1e-9, 2e-9)]).assign(layer="output"),
        ]
    )
    layers.to_csv(results / "energy/network_layers.csv", index=False)
    sens = sram_sensitivity(results, scales=(0.25, 1.0, 2.0, 8.0), claims=[claim])
    missing = sens[sens.status == "missing"]
    assert missing.empty, missing
    c = sens[(sens.kind == "claim") & (sens.basis == "dynamic")].set_index("sram_scale")
    assert c.loc[1.0, "value"] == pytest.approx(12 / 9) and not c.loc[1.0, "flips"]
    # 8x: crossbar 5 + 8 = 13, PB-BMP 1.5 + 24 = 25.5 per operation: the conclusion flips.
    assert c.loc[8.0, "value"] == pytest.approx(13 / 25.5) and c.loc[8.0, "flips"]
    assert c.loc[8.0, "conclusion"] == "5-bit crossbar cheaper than 2-bit pb_bmp"
    lay = sens[(sens.kind == "layer") & (sens.basis == "dynamic")]
    hidden = lay[lay.comparison == "hidden layer, 2-bit"].set_index("sram_scale")
    # Hidden: crossbar 5 + s, PB-BMP 1 + 3 s: PB-BMP wins below s = 2, ties at 2, loses above.
    assert hidden.loc[1.0, "conclusion"] == "pb_bmp" and hidden.loc[8.0, "conclusion"] == "crossbar"
    assert list(hidden.flips) == [False, False, True, True] or list(hidden.flips) == [False, False, False, True]
    output = lay[lay.comparison == "output layer, 2-bit"]
    assert set(output.conclusion) == {"pb_bmp", "crossbar"}  # 5 + s against 1 + 2 s: flips above s = 4
    summary = flip_summary(sens).set_index(["comparison", "basis"])
    assert summary.loc[("bitmap_efficiency", "dynamic"), "flips_at"] == "2x, 8x"
    assert summary.loc[("output layer, 2-bit", "dynamic"), "flips_at"] == "8x"


def test_sensitivity_table_reads_back(tmp_path):
    """The report's pivot of the sensitivity CSV keeps one line per comparison and basis."""
    from analysis.report import flip_table, sensitivity_table

    results = tmp_path / "results"
    (results / "energy").mkdir(parents=True)
    _network_rows([(5, "crossbar", 5e-9, 1e-9), (2, "pb_bmp", 1e-9, 3e-9)]).to_csv(
        results / "energy/network_energy.csv", index=False
    )
    _network_rows([(2, "crossbar", 5e-9, 1e-9), (2, "pb_bmp", 1e-9, 3e-9)]).assign(layer="hidden").to_csv(
        results / "energy/network_layers.csv", index=False
    )
    sens = sram_sensitivity(results, claims=[c for c in load_paper_claims() if c["id"] == "bitmap_efficiency"])
    path = tmp_path / "sram_sensitivity.csv"
    sens.to_csv(path, index=False)
    wide = sensitivity_table(path)
    assert len(wide) == 2 * 3 and "8x" in wide.columns and "0.25x" in wide.columns
    flips = flip_table(path)
    assert set(flips.basis) == {"dynamic", "throughput", "real_time"}
    assert json.loads(json.dumps(flips.to_dict(orient="records")))  # plain values for the template


def test_forward_means_are_exact_and_sampled_means_carry_their_interval(cfg):
    """A layer small enough runs every forward event: the mean synapses per event is the stored
    synapses per row, counted from the matrix; a sampled operation reports a finite interval."""
    from spikemem.network_energy import EXACT_MAX_POSITIONS, energy_ci95_rel, event_sample

    w = _weights(np.random.default_rng(11), (40, 30), 5, density=0.4)
    enc = encode_fc("pb_csr", w, 5, memory_params(cfg))
    assert 40 * 30 <= EXACT_MAX_POSITIONS["forward"]
    s = event_sample(enc, "forward", np.random.default_rng(0))
    assert s["exact"] and len(s["features"]) == 40
    synapses = s["features"][:, list(s["names"]).index("synapses")]
    assert synapses.mean() == pytest.approx(np.count_nonzero(w) / 40, rel=1e-12)
    row = _table(["pb_csr"]).iloc[0]
    assert energy_ci95_rel(row, s) == 0.0
    sampled = event_sample(enc, "forward", np.random.default_rng(0), samples=12)
    assert not sampled["exact"] and 0 < energy_ci95_rel(row, sampled) < 1


def test_flagged_rows_and_extrapolation_mark_the_energy_they_price(cfg, tmp_path):
    """A priced layer says which table rows were flagged and from which sizes the model extrapolates."""
    encodings = cfg["encodings"]["fc"]
    table = _table(encodings)
    table["fit_designs"] = "x-fc8x8-w2;x-fc16x16-w2"
    table["validation_design"] = None
    table["flagged"] = (table.encoding == encodings[0]) & (table.operation == "backward")
    run, metrics = _trained_run(tmp_path, cfg)
    layers = pd.DataFrame(network_layers(cfg, table, run, metrics))
    first = layers[layers.encoding == encodings[0]]
    assert first.table_flagged.all() and set(first.table_flagged_ops) == {"backward"}
    assert not layers[layers.encoding != encodings[0]].table_flagged.any()
    assert set(layers.model_fitted_on) == {"fc8x8;fc16x16"}
    nets = pd.DataFrame(aggregate_layers(layers.to_dict(orient="records")))
    assert nets.set_index("encoding").table_flagged.to_dict() == {e: e == encodings[0] for e in encodings}


# --------------------------------------------------------------------------- backward modes and scopes


def _table_with_rows(encodings) -> pd.DataFrame:
    """The hand-made table plus row-stream rows, whose per-event cost is much higher than a
    column walk's (a whole layer per event), so that which mode wins depends on the counts."""
    table = _table(encodings)
    rows = table[table.operation == "backward"].assign(operation="backward_row", e_event_j=5e-9)
    return pd.concat([table, rows], ignore_index=True)


def _priced_with_row_counts(cfg, tmp_path, count: str, per_layer: tuple[float, float], settings: dict):
    """The hand-made network's layers priced with ``count`` (a row mode's events) set per layer
    (hidden, output) and the configuration ``settings``; and the run's metrics."""
    run, metrics = _trained_run(tmp_path, cfg)
    for layer, value in zip(("hidden", "output"), per_layer, strict=True):
        metrics["events_per_iteration_mean"][layer][count] = value
    table = _table_with_rows(cfg["encodings"]["fc"])
    return pd.DataFrame(network_layers({**cfg, **settings}, table, run, metrics)), metrics


@pytest.mark.parametrize("mode", ["column", "row", "best"])
def test_backward_modes_price_both_and_choose_as_configured(cfg, tmp_path, mode):
    layers, metrics = _priced_with_row_counts(cfg, tmp_path, "backward_steps", (20.0, 1.0), {"backward_mode": mode})
    assert layers.backward_column_j.gt(0).all() and layers.backward_row_j.gt(0).all()
    for r in layers.itertuples():
        cheaper = "row" if r.backward_row_j < r.backward_column_j else "column"
        assert r.backward_mode == {"column": "column", "row": "row", "best": cheaper}[mode]
        assert r.backward_j == (r.backward_row_j if r.backward_mode == "row" else r.backward_column_j)
        assert r.dynamic_j == pytest.approx(r.forward_j + r.backward_j + r.update_j)
        assert r.errors_per_step == metrics["events_per_iteration_mean"][r.layer]["backward_columns"] / (
            20.0 if r.layer == "hidden" else 1.0
        )
    if mode == "best":  # the choice depends on the counts: each mode wins somewhere here
        assert set(layers.backward_mode) == {"column", "row"}
    # The training scope leaves out the first layer's backward pass (the input neurons' errors).
    nets = pd.DataFrame(aggregate_layers(layers.to_dict(orient="records")))
    for n in nets.itertuples():
        mine = layers[(layers.encoding == n.encoding) & (layers.layer == "output")].iloc[0]
        assert n.backward_training_j == pytest.approx(mine.backward_j)
        assert n.backward_row_training_j == pytest.approx(mine.backward_row_j)
        assert n.forward_backward_training_j == pytest.approx(n.forward_j + mine.backward_j)
        assert n.backward_j > n.backward_training_j
    rescaled = with_sram_scale(nets, 4.0)
    by_parts = rescaled.forward_j + rescaled.backward_training_j + rescaled.update_j
    assert np.allclose(rescaled.dynamic_training_j, by_parts)


def test_row_stream_cost_is_the_golden_models_for_a_mask_of_the_step_s_errors(cfg):
    table = _table_with_rows(["pb_bmp"])
    rng = np.random.default_rng(4)
    enc = encode_fc("pb_bmp", _weights(rng, (40, 30), 2), 2, memory_params(cfg))
    from spikemem.network_energy import event_sample

    e = layer_energy(
        table, "fc", "pb_bmp", 2, enc, {"backward_row": 10.0}, 50, np.random.default_rng(9), errors_per_step=6.0
    )
    sample = event_sample(enc, "backward_row", np.random.default_rng(9), mask_size=6.0)
    assert sample["features"].shape[0] == 4  # SAMPLES["backward_row"]
    assert (sample["features"][:, 0] <= 40 * 6).all()  # synapses: at most the mask's columns in every row
    means = dict(zip(sample["names"], sample["features"].mean(axis=0), strict=True))
    row = table[(table.operation == "backward_row")].iloc[0]
    x = [1.0, *(means[f] for f in FEATURES[1:])]
    sram = [means[f] for f in SRAM_FEATURES]
    by_hand = 10.0 * (np.dot([row[c] for c in COEFFICIENTS], x) + np.dot([10e-12, 12e-12], sram))
    assert e["backward_row_j"] == pytest.approx(by_hand, rel=1e-12)
    # No row-stream count: that mode is not priced (NaN) and the column walk is used.
    col = layer_energy(table, "fc", "pb_bmp", 2, enc, {"backward": 10.0}, 50, np.random.default_rng(9))
    assert np.isnan(col["backward_row_j"]) and col["backward_mode"] == "column"


@pytest.mark.parametrize("mode", ["synapse", "row", "best"])
def test_update_modes_price_both_and_choose_as_configured(cfg, tmp_path, mode):
    layers, _ = _priced_with_row_counts(cfg, tmp_path, "update_rows", (2.0, 25.0), {"update_mode": mode})
    assert layers.update_synapse_j.gt(0).all() and layers.update_row_j.gt(0).all()
    for r in layers.itertuples():
        cheaper = "row" if r.update_row_j < r.update_synapse_j else "synapse"
        assert r.update_mode == {"synapse": "synapse", "row": "row", "best": cheaper}[mode]
        # No re-encoding here (no structure changes): the update is the chosen mode's.
        assert r.update_j == pytest.approx(r.update_row_j if r.update_mode == "row" else r.update_synapse_j)
    if mode == "best":  # a few rows with many changes each favour the row pass
        assert "row" in set(layers.update_mode)


def test_event_budget_reads_each_row_on_the_largest_design_that_ran_its_operation():
    """A macro-sweep design is the largest of its group but runs only some operations: the event
    budget's per-event logic takes, per row, the largest design that ran the row's operation."""
    from analysis.event_budget import per_event_logic

    rng = np.random.default_rng(8)
    truth = np.array([2e-12, 5e-13, 3e-12, 4e-12, 7e-13])
    a, b = _characterization("a", 1, rng, truth), _characterization("b", 2, rng, truth)
    sweep = _characterization("sweep", 9, rng, truth)
    sweep["runs"][0]["operation"] = "update"
    table = build_table([a, b], {})
    logic = per_event_logic(table, [a, b, sweep])
    windows = model_windows(b, "forward")
    measured = sum(w["internal_j"] + w["switching_j"] for w in windows) / sum(w["events"] for w in windows)
    assert list(table.operation) == ["forward"] and logic.iloc[0] == pytest.approx(measured, rel=1e-6)
