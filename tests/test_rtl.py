"""RTL against the golden models, in Icarus Verilog and Verilator, over the CI matrix of
config/test_rtl.yaml; Verilator -Wall lint; a broken template is caught."""

from __future__ import annotations

import shutil

import pytest

from spikemem.config import designs, load_config
from spikemem.encodings import REGISTRY
from spikemem.rtl.render import render_stage
from spikemem.rtl.stage import verify_stage

pytestmark = [pytest.mark.tools, pytest.mark.requires("iverilog", "vvp", "verilator")]


@pytest.fixture(scope="module")
def cfg(root):
    return load_config(root / "config" / "test_rtl.yaml")


def _matrix():
    from spikemem.paths import CONFIG_DIR

    return [d.name for d in designs(load_config(CONFIG_DIR / "test_rtl.yaml"))]


def test_matrix_covers_every_encoding_with_enough_events(cfg):
    per_encoding: dict[str, int] = {}
    for d in designs(cfg):
        assert d.weight_bits in (2, 4, 8)
        ops = len(REGISTRY[d.encoding].operations)
        planned = ops * cfg["verification"]["events_per_operation"] * len(cfg["verification"]["densities"])
        per_encoding[d.encoding] = per_encoding.get(d.encoding, 0) + planned
    assert set(per_encoding) == set(REGISTRY)
    assert min(per_encoding.values()) > 10_000
    assert sorted(cfg["verification"]["densities"]) == [0.1, 0.5, 1.0]
    shapes = {}
    for d in designs(cfg):
        shapes.setdefault(d.encoding, set()).add(d.shape_tag)
    assert all(len(s) >= 2 for s in shapes.values())


@pytest.mark.slow
@pytest.mark.parametrize("name", _matrix())
def test_design_agrees_with_golden_model(cfg, name, tmp_path):
    design = next(d for d in designs(cfg) if d.name == name)
    render_stage(cfg, design, tmp_path / "rtl")
    report = verify_stage(cfg, design, tmp_path / "rtl", tmp_path / "work", tmp_path / "verify.json")
    ops = len(REGISTRY[design.encoding].operations)
    planned = ops * cfg["verification"]["events_per_operation"] * len(cfg["verification"]["densities"])
    for sim, result in report["simulators"].items():
        firsts = [m for d in result["densities"] for m in d["first_mismatches"]]
        assert result["mismatches"] == 0, f"{sim}: {firsts}"
        assert sum(d["checked"] for d in result["densities"]) == result["events"]
        # Update events address existing synapses; a very sparse layer may have none to address.
        assert result["events"] >= planned - cfg["verification"]["events_per_operation"] * ops
    assert set(report["simulators"]) == {"icarus", "verilator"}


@pytest.mark.parametrize(
    "encoding, original, broken",
    [
        # An off-by-one in the row walk of the crossbar.
        (
            "crossbar",
            "rq_addr <= rq_addr + (backward ? {{ c.cw(p.words_per_row) }}",
            "rq_addr <= rq_addr + (backward ? {{ c.cw(p.words_per_row + 1) }}",
        ),
        # Saturation dropped from the shared update arithmetic.
        ("pb_bmp", "if (sum > {{ p.delta_bits + 2 }}'sd{{ p.weight_max }})", "if (1'b0)"),
    ],
)
def test_broken_template_is_caught(cfg, root, tmp_path, encoding, original, broken):
    templates = tmp_path / "templates"
    shutil.copytree(root / "templates", templates)
    target = templates / "rtl" / ("_common.v.j2" if "sum >" in original else f"{encoding}.v.j2")
    text = target.read_text()
    assert original in text
    target.write_text(text.replace(original, broken))
    design = next(d for d in designs(cfg) if d.encoding == encoding and d.weight_bits == 2)
    render_stage(cfg, design, tmp_path / "rtl", template_dir=templates)
    report = verify_stage(cfg, design, tmp_path / "rtl", tmp_path / "work", tmp_path / "v.json", simulators=("icarus",))
    assert not report["passed"]
    assert report["simulators"]["icarus"]["mismatches"] > 0


@pytest.mark.parametrize(
    "macro, size, bits, isolated",
    [
        ("sky130_sram_1kbyte_1rw1r_32x256_8", (40, 64), 8, True),
        ("sky130_sram_1kbyte_1rw1r_32x256_8", (40, 64), 8, False),
        ("sky130_sram_1kbyte_1rw1r_8x1024_8", (16, 24), 4, True),
    ],
)
def test_macro_banks_and_lanes(cfg, tmp_path, macro, size, bits, isolated):
    """Several macros deep (40 rows x 8 words = 320 words > 256) and several macros wide (32-bit
    words on 8-bit macros) both agree with the golden model, with and without bus isolation."""
    small = {
        **cfg,
        "memory": {**cfg["memory"], "sram_macro": macro, "flop_threshold_bits": 0, "bus_isolation": isolated},
        "encodings": {"fc": ["crossbar", "pb_bmp"], "conv": []},
        "characterization": {**cfg["characterization"], "fc_sizes": [list(size)], "weight_bits": [bits]},
        "verification": {**cfg["verification"], "events_per_operation": 60, "simulators": ["icarus"]},
    }
    for design in designs(small):
        manifest = render_stage(small, design, tmp_path / design.name)
        mems = manifest["parameters"]["memories"]
        assert all(m["implementation"] == "sram" for m in mems)
        assert any(m["banks"] > 1 or m["lanes"] > 1 for m in mems)
        text = "".join(p.read_text() for p in (tmp_path / design.name / "rtl").glob("*_mem_*.v"))
        assert ("bank_access}}" in text) == isolated  # the banks' pins gated by their select
        report = verify_stage(small, design, tmp_path / design.name, tmp_path / f"{design.name}-w", tmp_path / "v.json")
        assert report["passed"], report["simulators"]["icarus"]["densities"][0]["first_mismatches"]


def test_auto_verifies_each_design_in_the_simulator_its_work_calls_for(cfg, tmp_path):
    """``auto`` runs Icarus where the verification's work (lookups, accesses and events) is below
    the threshold and Verilator from it on, and the report says which and why."""
    from spikemem.rtl.stage import choose_simulator, verification_work
    from spikemem.rtl.verify import make_stimulus

    design = min(designs(cfg), key=lambda d: (d.encoding != "crossbar", d.weight_bits))
    stimuli = [make_stimulus(cfg, design, 0.5, 20)]
    work = verification_work(stimuli)
    assert work == 2 * sum(sum(c.values()) + 1 for c in stimuli[0].expected_counts) > 0
    assert choose_simulator(stimuli, work)["chosen"] == "verilator"
    assert choose_simulator(stimuli, work + 1)["chosen"] == "icarus"
    render_stage(cfg, design, tmp_path / "rtl")
    small = {**cfg, "verification": {**cfg["verification"], "auto_verilator_min_work": 0}}
    report = verify_stage(
        small, design, tmp_path / "rtl", tmp_path / "work", tmp_path / "v.json", ("auto", "icarus"), (0.5,), 20
    )
    assert set(report["simulators"]) == {"verilator", "icarus"} and report["passed"]
    assert report["simulator_choice"]["chosen"] == "verilator" and report["simulator_choice"]["work"] > 0
