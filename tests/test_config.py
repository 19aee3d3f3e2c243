"""Configurations: the shipped ones validate; every kind of wrong one is refused by key."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
import yaml

from spikemem.config import (
    ConfigError,
    apply_variant,
    designs,
    fitted_designs,
    load_config,
    validate_config,
    variant_designs,
)


@pytest.fixture(scope="module")
def default(root):
    with open(root / "config" / "config.yaml") as f:
        return yaml.safe_load(f)


@pytest.mark.parametrize("name", ["config.yaml", "test_small.yaml", "paper.yaml"])
def test_shipped_configs_validate(root, name):
    cfg = load_config(root / "config" / name)
    assert cfg["memory"]["flop_threshold_bits"] >= 0
    assert cfg["snn"]["n_in"] >= 1  # defaults filled in
    names = [d.name for d in designs(cfg)]
    assert len(names) == len(set(names))


def _set(cfg, path, value):
    *parents, last = path
    node = cfg
    for p in parents:
        node = node[p]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return cfg


DELETE = object()


@pytest.mark.parametrize(
    "path, value, key",
    [
        (["clock_mhz"], "fast", "clock_mhz"),
        (["clock_mhz"], -5, "clock_mhz"),
        (["seed"], 1.5, "seed"),
        (["memory", "word_bits"], 12, "memory.word_bits"),
        (["memory", "flop_threshold_bits"], -1, "memory.flop_threshold_bits"),
        (["memory", "sram_macro"], "sram; rm -rf /", "memory.sram_macro"),
        (["memory", "sram_macro"], "no_such_macro", "memory.sram_macro"),
        (["memory", "colour"], "blue", "memory.colour"),
        (["pdk"], "../../etc/passwd", "pdk"),
        (["pdk"], "gf180", "pdk"),
        (["encodings", "fc", 0], "func_pure", "encodings.fc[0]"),
        (["encodings", "conv", 0], "hopfield", "encodings.conv[0]"),
        (["characterization", "weight_bits", 0], 13, "characterization.weight_bits[0]"),
        (["characterization", "weight_bits", 0], 1, "characterization.weight_bits[0]"),
        (["characterization", "densities", 0], 0, "characterization.densities[0]"),
        (["characterization", "fc_sizes", 0], [16], "characterization.fc_sizes[0]"),
        (["characterization", "conv_geometries", 0, "kernel"], 9, "characterization.conv_geometries[0].kernel"),
        (["characterization", "conv_geometries", 0, "padding"], 3, "characterization.conv_geometries[0]"),
        (["characterization", "conv_geometries", 0, "name"], "x`y", "characterization.conv_geometries[0].name"),
        (["snn", "protocols", "paper", "epochs"], 0, "snn.protocols.paper.epochs"),
        (["snn", "protocols", "paper", "sweep", 0, "error_bits"], 1, "snn.protocols.paper.sweep[0].error_bits"),
        # The clip bound of 6-bit weights is not on a 6-bit gradient grid.
        (["snn", "protocols", "paper", "sweep", 0, "gradient_bits"], 6, "snn.protocols.paper.sweep[0].gradient_bits"),
        (["snn", "protocols", "adaptive", "plateau", "window"], 0, "snn.protocols.adaptive.plateau.window"),
        (["snn", "protocols", "adaptive", "sweep"], [], "snn.protocols.adaptive.sweep"),
        (["snn", "protocols", "sgd"], {"epochs": 3}, "snn.protocols"),
        (["snn", "seeds"], [1, 1], "snn.seeds"),
        (["snn"], DELETE, "snn"),
        (["extra_stage"], True, "extra_stage"),
        (["clock_gating", "reference_designs", 0], "crossbar-fc9x9-w4", "clock_gating.reference_designs[0]"),
        (["memory_variants", 0, "sram_macro"], "no_such_macro", "memory_variants[0].sram_macro"),
        (["memory_variants", 0, "designs", 0], "pb_bmp-fc99x99-w4", "memory_variants[0].designs[0]"),
        # 8-bit words cannot hold a 32x32 layer's 11-bit pointers.
        (["memory_variants", 0, "word_bits"], 8, "memory_variants[0].designs"),
        (["memory_variants", 1, "name"], "w32_narrow_macro", "memory_variants[1].name"),
    ],
)
def test_bad_values_are_refused_naming_the_key(default, path, value, key):
    cfg = _set(copy.deepcopy(default), path, value)
    with pytest.raises(ConfigError) as info:
        validate_config(cfg)
    assert f"'{key}" in str(info.value)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("pdk: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_design_variants(root):
    cfg = load_config(root / "config" / "config.yaml")
    assert apply_variant(cfg, None) == cfg
    ungated = apply_variant(cfg, "ungated")
    assert not ungated["clock_gating"]["registers"] and not ungated["clock_gating"]["sram"]
    narrow = apply_variant(cfg, "mem_w16_narrow_macro")
    assert narrow["memory"] == {
        "word_bits": 16,
        "sram_macro": "sky130_sram_1kbyte_1rw1r_8x1024_8",
        "flop_threshold_bits": 0,
        "bus_isolation": True,
    }
    assert apply_variant(cfg, "mem_broadcast")["memory"]["bus_isolation"] is False
    assert cfg["memory"]["word_bits"] == 32  # the configuration itself is untouched
    with pytest.raises(ConfigError, match="unknown design variant"):
        apply_variant(cfg, "mem_nothing")
    pairs = variant_designs(cfg)
    assert ("ungated", "pb_bmp-fc16x16-w4") in pairs and ("mem_w32_narrow_macro", "crossbar-fc32x32-w4") in pairs


def test_conda_environment_lists_every_runtime_dependency(root):
    """envs/spikemem.yaml (the --use-conda route) installs what pyproject.toml's runtime needs,
    at the same version bounds."""
    import tomllib

    import yaml

    wanted = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((root / "envs/spikemem.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert sorted(pip) == sorted(wanted)


@pytest.mark.parametrize(
    "validation, key",
    [
        ({"fc_sizes": [[16, 16]], "weight_bits": [2]}, "characterization.validation.fc_sizes[0]"),
        ({"fc_sizes": [[64, 64]], "weight_bits": [7]}, "characterization.validation.weight_bits[0]"),
    ],
)
def test_validation_designs_must_be_unfitted_and_characterized(root, validation, key):
    import yaml

    raw = yaml.safe_load((root / "config/config.yaml").read_text())
    raw["characterization"]["fc_sizes"] = [[8, 8], [16, 16]]
    raw["characterization"]["weight_bits"] = [2, 3, 4, 5, 6]
    raw["characterization"]["validation"] = validation
    with pytest.raises(ConfigError, match=re.escape(key)):
        validate_config(raw)


def test_validation_designs_are_characterized_with_their_own_event_count(root):
    from spikemem.config import characterization_events, designs, validation_designs

    cfg = load_config(root / "config/config.yaml")
    big = validation_designs(cfg)
    assert {d.encoding for d in big} == set(cfg["encodings"]["fc"]) and all(d.n_pre == 128 for d in big)
    assert set(big) <= set(designs(cfg))
    assert characterization_events(cfg, big[0]) == cfg["characterization"]["validation"]["events_per_operation"]
    assert characterization_events(cfg, designs(cfg)[0]) == cfg["characterization"]["events_per_operation"]


def test_macro_sweep_designs_are_built_but_never_fitted(root):
    from spikemem.config import (
        characterization_events,
        design_operations,
        designs,
        fitted_designs,
        macro_sweep_designs,
    )
    from spikemem.encodings import encode_fc
    from spikemem.workloads import memory_params

    cfg = load_config(root / "config/config.yaml")
    sweep = macro_sweep_designs(cfg)
    assert set(sweep) <= set(designs(cfg)) and len(set(designs(cfg))) == len(designs(cfg))
    # The sweep spans one macro to more than 150; its sizes that are fitted sizes anyway stay fitted.
    macros = [encode_fc(d.encoding, np.ones((d.n_pre, d.n_post), dtype=np.int64), d.weight_bits, memory_params(cfg))
              .image.macro_count for d in sweep]  # fmt: skip
    assert macros[0] == 1 and macros[-1] >= 150 and macros == sorted(macros)
    only_sweep = [d for d in sweep if d not in fitted_designs(cfg)]
    assert only_sweep and sweep[0] in fitted_designs(cfg)
    for d in only_sweep:
        assert design_operations(cfg, d) == tuple(cfg["characterization"]["macro_sweep"]["operations"])
        assert characterization_events(cfg, d) == cfg["characterization"]["macro_sweep"]["events_per_operation"]
    assert "backward_row" in design_operations(cfg, sweep[0])
    # Every sweep design is also built without bus isolation, as a memory variant.
    broadcast = next(v for v in cfg["memory_variants"] if not v["bus_isolation"])
    assert set(broadcast["designs"]) == {d.name for d in sweep}


def _merged(base: dict, override: dict) -> dict:
    """A configuration file given after another, as Snakemake merges them (nested keys updated)."""
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _merged(base[k], v)
        else:
            base[k] = v
    return base


def test_readmes_one_encoding_example_validates(root):
    """README's "Run only the part you care about" override still fits the default configuration."""
    block = re.search(r"cat > one.yaml <<'YAML'\n(.*?)YAML\n", (root / "README.md").read_text(), re.S).group(1)
    cfg = validate_config(_merged(yaml.safe_load((root / "config/config.yaml").read_text()), yaml.safe_load(block)))
    fitted = fitted_designs(cfg)
    assert {d.encoding for d in fitted} == {"pb_bmp"} and {d.weight_bits for d in fitted} == {4}


@pytest.mark.parametrize(
    "override, key",
    [
        ({"training_set": "adaptive-e8g8"}, "network_layers.training_set"),
        ({"training_set": "paper-nope"}, "network_layers.training_set"),
        ({"designs": [{"encoding": "func_bmp", "weight_bits": 2}]}, "network_layers.designs[0].encoding"),
        ({"designs": [{"encoding": "pb_bmp", "weight_bits": 7}]}, "network_layers.designs[0].weight_bits"),
    ],
)
def test_trained_layers_are_checked_naming_the_key(root, override, key):
    raw = yaml.safe_load((root / "config/config.yaml").read_text())
    raw["characterization"]["network_layers"].update(override)
    with pytest.raises(ConfigError, match=re.escape(key)):
        validate_config(raw)


def test_an_energy_model_option_touches_only_the_slices_that_read_it(tmp_path):
    """The fitted model's options (bank, size and width terms) are read by the energy table alone:
    changing one rewrites its slice (and the whole configuration's), never the hardware slice that
    every verification and characterization depends on."""
    import os

    from spikemem.workflow import CONFIG_SLICES, sync_config_slices

    cfg = load_config("config/test_small.yaml")
    files = sync_config_slices(cfg, str(tmp_path))
    for path in files.values():
        os.utime(path, ns=(1, 1))
    changed = copy.deepcopy(cfg)
    changed["characterization"]["size_term"] = not cfg["characterization"]["size_term"]
    sync_config_slices(changed, str(tmp_path))
    touched = {name for name, path in files.items() if os.stat(path).st_mtime_ns != 1}
    assert touched == {"energy_model", "all"} and set(CONFIG_SLICES) > touched
    # A hardware key still rewrites the hardware slice, and the energy model's.
    changed["clock_mhz"] = cfg["clock_mhz"] + 1
    sync_config_slices(changed, str(tmp_path))
    assert os.stat(files["hardware"]).st_mtime_ns != 1 and os.stat(files["energy_model"]).st_mtime_ns != 1
