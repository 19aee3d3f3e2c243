"""Loading and validating configurations against ``config/schema.yaml``.

The Snakefile and the CLI both go through :func:`validate_config`, so a configuration is refused
the same way wherever it enters, with a message that names the offending key.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import yaml

from .encodings import REGISTRY, ConvGeometry, EncodingError
from .paths import DEFAULT_CONFIG, SCHEMA_PATH


class ConfigError(ValueError):
    """A configuration that breaks the schema or cannot be built; the message names the key."""


def load_schema() -> dict:
    with open(SCHEMA_PATH) as f:
        return yaml.safe_load(f)


def _key_path(path) -> str:
    parts = []
    for p in path:
        parts.append(f"[{p}]" if isinstance(p, int) else (f".{p}" if parts else str(p)))
    return "".join(parts) or "<top level>"


def _fill_defaults(instance: Any, schema: Mapping, root: Mapping) -> None:
    """Insert the schema's defaults for absent properties (in place)."""
    if "$ref" in schema:
        ref = schema["$ref"].removeprefix("#/").split("/")
        target = root
        for part in ref:
            target = target[part]
        schema = target
    if isinstance(instance, dict):
        for key, sub in schema.get("properties", {}).items():
            if key not in instance and "default" in sub:
                instance[key] = copy.deepcopy(sub["default"])
            if key in instance:
                _fill_defaults(instance[key], sub, root)
    elif isinstance(instance, list) and isinstance(schema.get("items"), Mapping):
        for item in instance:
            _fill_defaults(item, schema["items"], root)


def validate_config(config: Mapping) -> dict:
    """Validate ``config`` and return a copy with defaults filled in.

    Raises :class:`ConfigError` naming the first offending key.
    """
    schema = load_schema()
    cfg = copy.deepcopy(dict(config))
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(cfg), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        err = errors[0]
        key = _key_path(err.absolute_path)
        if err.validator == "additionalProperties":
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            where = f"{key}." if err.absolute_path else ""
            raise ConfigError(
                f"config key '{where}{extra[0]}' is not known (allowed: {', '.join(err.schema['properties'])})"
            )
        raise ConfigError(f"config key '{key}': {err.message}")
    _fill_defaults(cfg, schema, schema)
    _check_semantics(cfg)
    return cfg


def price_models(cfg: Mapping) -> dict[str, dict]:
    """The ``price.models`` entries by output name (``name``, else the file's stem)."""
    out: dict[str, dict] = {}
    for i, m in enumerate(cfg.get("price", {}).get("models", [])):
        name = m.get("name") or Path(m["path"]).stem
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", name):
            raise ConfigError(f"config key 'price.models[{i}]': output name {name!r} is not a plain name: give 'name'")
        if name in out:
            raise ConfigError(f"config key 'price.models[{i}]': a second model named {name!r}: give 'name'")
        if m.get("spikes") and m.get("rates"):
            raise ConfigError(f"config key 'price.models[{i}]': give spikes or rates, not both")
        out[name] = dict(m)
    return out


def _check_semantics(cfg: dict) -> None:
    """Checks a JSON schema cannot express: names that must exist, geometries that must fit."""
    from .pdk import PdkError, load_pdk_config  # local: pdk imports config types

    price_models(cfg)

    try:
        pdk = load_pdk_config(cfg["pdk"])
    except PdkError as e:
        raise ConfigError(f"config key 'pdk': {e}") from None
    if cfg["memory"]["sram_macro"] not in pdk.sram_macros:
        raise ConfigError(
            f"config key 'memory.sram_macro': {cfg['memory']['sram_macro']!r} is not a macro of PDK "
            f"configuration {cfg['pdk']!r} (known: {', '.join(pdk.sram_macros)})"
        )
    for kind in ("fc", "conv"):
        for k, name in enumerate(cfg["encodings"][kind]):
            if kind not in REGISTRY[name].layer_types:
                raise ConfigError(f"config key 'encodings.{kind}[{k}]': {name} cannot encode {kind} layers")
    for k, geom in enumerate(cfg["characterization"]["conv_geometries"]):
        try:
            g = ConvGeometry(**geom)
        except EncodingError as e:
            raise ConfigError(f"config key 'characterization.conv_geometries[{k}]': {e}") from None
        for name in cfg["encodings"]["conv"]:
            misfit = REGISTRY[name].kernel_word_misfit(g.kernel, cfg["memory"]["word_bits"])
            if misfit:
                raise ConfigError(
                    f"config key 'characterization.conv_geometries[{k}].kernel': {misfit} "
                    f"does not fit memory.word_bits={cfg['memory']['word_bits']}"
                )
    missing = sorted(set(cfg["snn"]["weight_bits"]) - set(cfg["characterization"]["weight_bits"]))
    if missing and cfg["encodings"]["fc"]:
        raise ConfigError(
            f"config key 'characterization.weight_bits': the trained widths {missing} (snn.weight_bits) need "
            "energy-table rows; characterize them too"
        )
    paper = cfg["snn"]["protocols"].get("paper")
    widest = max(cfg["snn"]["weight_bits"])
    for k, point in enumerate(paper["sweep"] if paper else []):
        if point["gradient_bits"] <= widest:
            raise ConfigError(
                f"config key 'snn.protocols.paper.sweep[{k}].gradient_bits': {point['gradient_bits']} must exceed "
                f"the widest weight ({widest} bits, snn.weight_bits), so that the weight clip bound lies on the "
                "gradient grid"
            )
    val = cfg["characterization"]["validation"]
    for k, size in enumerate(val["fc_sizes"]):
        if size in cfg["characterization"]["fc_sizes"]:
            raise ConfigError(
                f"config key 'characterization.validation.fc_sizes[{k}]': {size} is a fitted size "
                "(characterization.fc_sizes); a validation size must be one the model is not fitted on"
            )
    for k, wb in enumerate(val["weight_bits"]):
        if wb not in cfg["characterization"]["weight_bits"]:
            raise ConfigError(
                f"config key 'characterization.validation.weight_bits[{k}]': {wb}-bit designs are not "
                "characterized (characterization.weight_bits), so there is no model to validate"
            )
    _check_network_layers(cfg)
    names = {d.name for d in designs(cfg)}
    _check_memory_variants(cfg, pdk, names)
    for k, name in enumerate(cfg["clock_gating"]["reference_designs"]):
        if name not in names:
            raise ConfigError(
                f"config key 'clock_gating.reference_designs[{k}]': {name!r} is not one of the configured designs "
                "(`spikemem config designs` lists them)"
            )
    if max(cfg["characterization"]["weight_bits"]) > cfg["memory"]["word_bits"]:
        raise ConfigError("config key 'characterization.weight_bits': a weight wider than memory.word_bits")


def _check_network_layers(cfg: dict) -> None:
    """The trained layers' training set exists and is replayable; their encodings and widths are
    characterized and trained."""
    spec = cfg["characterization"].get("network_layers")
    if not spec:
        return
    from .snn.training_sets import training_set  # local: the snn package imports this module's types

    try:
        tset = training_set(cfg, spec["training_set"])
    except ValueError as e:
        raise ConfigError(f"config key 'characterization.network_layers.training_set': {e}") from None
    if tset.protocol != "paper":
        raise ConfigError(
            "config key 'characterization.network_layers.training_set': only the paper protocol's runs can be "
            f"replayed for their events (spikemem.snn.replay); {tset.name!r} is the {tset.protocol} protocol's"
        )
    for k, d in enumerate(spec["designs"]):
        if d["encoding"] not in cfg["encodings"]["fc"]:
            raise ConfigError(
                f"config key 'characterization.network_layers.designs[{k}].encoding': {d['encoding']!r} is not "
                "one of encodings.fc"
            )
        if d["weight_bits"] not in cfg["snn"]["weight_bits"]:
            raise ConfigError(
                f"config key 'characterization.network_layers.designs[{k}].weight_bits': no network of "
                f"{d['weight_bits']} bits is trained (snn.weight_bits)"
            )


def _check_memory_variants(cfg: dict, pdk, names: set[str]) -> None:
    """Each memory variant has a unique name, a known macro and known designs that it can hold."""
    from .encodings import MemoryParams, encode_conv, encode_fc

    seen = set()
    by_name = {d.name: d for d in designs(cfg)}
    for v, variant in enumerate(cfg["memory_variants"]):
        key = f"memory_variants[{v}]"
        if variant["name"] in seen:
            raise ConfigError(f"config key '{key}.name': {variant['name']!r} is used twice")
        seen.add(variant["name"])
        if variant["sram_macro"] not in pdk.sram_macros:
            raise ConfigError(
                f"config key '{key}.sram_macro': {variant['sram_macro']!r} is not a macro of PDK configuration "
                f"{cfg['pdk']!r} (known: {', '.join(pdk.sram_macros)})"
            )
        params = MemoryParams(variant["word_bits"], pdk.macro(variant["sram_macro"]), variant["flop_threshold_bits"])
        for k, name in enumerate(variant["designs"]):
            if name not in names:
                raise ConfigError(
                    f"config key '{key}.designs[{k}]': {name!r} is not one of the configured designs "
                    "(`spikemem config designs` lists them)"
                )
            d = by_name[name]
            try:  # the design's capacity (every synapse present) must fit the variant's words
                if d.geometry is None:
                    encode_fc(d.encoding, np.ones((d.n_pre, d.n_post), dtype=np.int64), d.weight_bits, params)
                else:
                    g = d.geometry
                    ones = np.ones((g.out_channels, g.in_channels, g.kernel, g.kernel), dtype=np.int64)
                    encode_conv(d.encoding, ones, g, d.weight_bits, params)
            except EncodingError as e:
                raise ConfigError(f"config key '{key}.designs[{k}]': {name} does not fit the variant: {e}") from None


def apply_variant(cfg: Mapping, variant: str | None) -> dict:
    """The configuration a design variant is built with: ``ungated`` (clock gating off, the reference
    the gated designs are measured against) or ``mem_<name>`` (a memory variant's word width and
    macro); None or empty is the configuration itself."""
    if not variant:
        return dict(cfg)
    if variant == "ungated":
        return {**cfg, "clock_gating": {**cfg["clock_gating"], "registers": False, "sram": False}}
    for v in cfg["memory_variants"]:
        if variant == f"mem_{v['name']}":
            memory = {k: v[k] for k in ("word_bits", "sram_macro", "flop_threshold_bits", "bus_isolation")}
            return {**cfg, "memory": memory}
    known = ["ungated", *(f"mem_{v['name']}" for v in cfg["memory_variants"])]
    raise ConfigError(f"unknown design variant {variant!r}; known: {', '.join(known)}")


def variant_designs(cfg: Mapping) -> list[tuple[str, str]]:
    """Every (variant, design) the workflow builds beside the configured designs."""
    pairs = [("ungated", name) for name in cfg["clock_gating"]["reference_designs"]]
    for v in cfg["memory_variants"]:
        pairs += [(f"mem_{v['name']}", name) for name in v["designs"]]
    return pairs


def load_config(path: str | Path | None = None) -> dict:
    """Read a YAML configuration (the default one when ``path`` is None) and validate it."""
    path = Path(path) if path else DEFAULT_CONFIG
    try:
        with open(path) as f:
            raw = yaml.safe_load(f)
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} does not exist") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"configuration file {path} is not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"configuration file {path} must hold a mapping of keys")
    return validate_config(raw)


# --------------------------------------------------------------------------- designs


@dataclass(frozen=True)
class Design:
    """One hardware design: an encoding of one layer shape at one weight width."""

    encoding: str
    layer: str  # "fc" or "conv"
    weight_bits: int
    n_pre: int = 0
    n_post: int = 0
    geometry: ConvGeometry | None = None
    # A layer of the trained network: its weights and events come from this training set's best
    # run of the width (characterization.network_layers), not from random images.
    trained: str = ""
    network_layer: str = ""

    @property
    def shape_tag(self) -> str:
        if self.geometry is None:
            return f"fc{self.n_pre}x{self.n_post}"
        g = self.geometry
        return f"conv{g.in_channels}x{g.height}x{g.width}o{g.out_channels}k{g.kernel}s{g.stride}p{g.padding}"

    @property
    def name(self) -> str:
        trained = f"-{self.trained}" if self.trained else ""
        return f"{self.encoding}-{self.shape_tag}-w{self.weight_bits}{trained}"

    def as_dict(self) -> dict:
        d = {"name": self.name, "encoding": self.encoding, "layer": self.layer, "weight_bits": self.weight_bits}
        if self.geometry is None:
            d.update(n_pre=self.n_pre, n_post=self.n_post)
        else:
            d["geometry"] = self.geometry.__dict__.copy()
        if self.trained:
            d.update(trained=self.trained, network_layer=self.network_layer)
        return d


def designs(cfg: Mapping) -> list[Design]:
    """Every design the configuration characterizes, in a stable order: the fitted designs
    (:func:`fitted_designs`), then the validation designs (:func:`validation_designs`), the macro
    sweep's (:func:`macro_sweep_designs`) and the trained network's layers
    (:func:`network_layer_designs`)."""
    out = fitted_designs(cfg)
    out += [d for d in validation_designs(cfg) if d not in out]
    out += [d for d in macro_sweep_designs(cfg) if d not in out]
    return out + network_layer_designs(cfg)


def fitted_designs(cfg: Mapping) -> list[Design]:
    """The designs the energy model is fitted on: every encoding at every characterized size,
    geometry and width."""
    ch = cfg["characterization"]
    out = []
    for enc in cfg["encodings"]["fc"]:
        for n_pre, n_post in ch["fc_sizes"]:
            for wb in ch["weight_bits"]:
                out.append(Design(enc, "fc", wb, n_pre, n_post))
    for enc in cfg["encodings"]["conv"]:
        for geom in ch["conv_geometries"]:
            g = ConvGeometry(**geom)
            for wb in ch["weight_bits"]:
                out.append(Design(enc, "conv", wb, g.n_pre, g.n_post, g))
    return out


def macro_sweep_designs(cfg: Mapping) -> list[Design]:
    """The macro sweep (``characterization.macro_sweep``): one encoding at one width over layer sizes
    whose memories span 1 to hundreds of SRAM macros, to measure how the logic energy per access
    grows with the macros a bus reaches (docs/energy.md). Never fitted on."""
    sweep = cfg["characterization"].get("macro_sweep") or {}
    return [
        Design(sweep["encoding"], "fc", sweep["weight_bits"], n_pre, n_post)
        for n_pre, n_post in sweep.get("fc_sizes", [])
    ]


def network_layer_designs(cfg: Mapping) -> list[Design]:
    """The trained network's own layers (``characterization.network_layers``): each configured
    encoding and width on both layers (n_in x n_hidden, n_hidden x n_out), its memory image the
    weights of the training set's best run of that width and its events the network's own
    (:mod:`spikemem.snn.replay`). Never fitted on: their gate-level energies are the direct
    measurements the network energy quotes beside the model's."""
    spec = cfg["characterization"].get("network_layers") or {}
    s = cfg["snn"]
    shapes = {"hidden": (s["n_in"], s["n_hidden"]), "output": (s["n_hidden"], s["n_out"])}
    return [
        Design(d["encoding"], "fc", d["weight_bits"], n_pre, n_post, trained=spec["training_set"], network_layer=layer)
        for d in spec.get("designs", [])
        for layer, (n_pre, n_post) in shapes.items()
    ]


def design_operations(cfg: Mapping, design: Design) -> tuple[str, ...]:
    """The operations a design is verified and characterized with: its encoding's, or, for a design
    only the macro sweep builds, the sweep's ``operations`` (a row stream of a 400 x 400 layer is
    tens of thousands of cycles per event, and the sweep measures cost per access)."""
    ops = REGISTRY[design.encoding].operations
    if design in fitted_designs(cfg) or design in validation_designs(cfg):
        return ops
    if design in macro_sweep_designs(cfg):
        wanted = cfg["characterization"]["macro_sweep"]["operations"]
        return tuple(op for op in ops if op in wanted)
    return ops


def validation_designs(cfg: Mapping) -> list[Design]:
    """The large FC designs of ``characterization.validation``: characterized at gate level to
    check the energy model at the sizes it prices, never fitted on."""
    val = cfg["characterization"].get("validation", {})
    return [
        Design(enc, "fc", wb, n_pre, n_post)
        for enc in cfg["encodings"]["fc"]
        for n_pre, n_post in val.get("fc_sizes", [])
        for wb in val.get("weight_bits", [])
    ]


def characterization_events(cfg: Mapping, design: Design) -> int:
    """Random events per operation and density of a design's gate-level characterization."""
    ch = cfg["characterization"]
    if design in fitted_designs(cfg):
        return ch["events_per_operation"]
    if design in validation_designs(cfg):
        return ch["validation"]["events_per_operation"]
    if design in macro_sweep_designs(cfg):
        return ch["macro_sweep"]["events_per_operation"]
    if design.trained:
        return ch["network_layers"]["events_per_operation"]
    return ch["events_per_operation"]


def design_by_name(cfg: Mapping, name: str) -> Design:
    for d in designs(cfg):
        if d.name == name:
            return d
    raise ConfigError(f"design {name!r} is not in the configuration")
