"""The energy table: per layer type x encoding x weight bits x operation, dynamic energy split
into a fitted logic model and exact SRAM terms,

    E_dynamic = E_logic + E_sram
    E_logic   = sum over the counts c of (e_c + e_c_per_size_bit * size_bits) * c
              + e_bank_read * bank_extra_reads + e_bank_write * bank_extra_writes
    E_sram    = e_sram_read_word * sram_reads + e_sram_write_word * sram_writes

with the counts c = events, synapses, word reads, word writes and lookups, and ``size_bits`` the
log2 of the layer's synapse positions (the width of the addresses and counters a count drives).

E_logic (the standard cells' internal and switching energy) is fitted by non-negative least squares
over the activity windows of the characterized designs. The count and size coefficients belong to
each (layer type, encoding, operation); with the width term (``characterization.width_term``) they
are linear in the weight width, fitted on every width at once and published evaluated at each row's
width. The bank term is one for all groups (``characterization.bank_term``): each SRAM access times
the macros beyond the first that its memory's bus reaches (the address and data fan-out, the bank
clock gates behind the memory's clock gate, the read multiplexer), the same memory subsystem in
every encoding. It is fitted jointly with the groups' coefficients (block coordinate descent, each
block non-negative least squares) on every fitted design, the macro sweep's (1 to 151 macros) among
them. E_sram is not fitted: the access counts are exact (the golden model's word reads and writes of
the memories held in SRAM macros, equal to the hardware's by verification) and the energy per access
is the macro Liberty's (``sram_access_energy``), so a scale factor on it can be applied downstream
without refitting. Both models are validated against direct gate-level runs of design sizes they
were not fitted on (total and logic-only errors), with memory bits, macros, leakage, clock, latency
and provenance.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from ..encodings import OPERATIONS
from .windows import WINDOW_COUNTS, logic_energy, sram_energy

# lookups: the fields (weights, entries, pointers, bitmap words) the controller steps through, read
# from memory or from its one-word buffer; they carry the per-position cost that word reads miss.
COUNTS = WINDOW_COUNTS
# Each count again, times the layer's size bits: a count's cost grows with the width of the
# addresses, counters and comparators it drives, which grow with log2 of the synapse positions.
SIZE_FEATURES = tuple(f"{c}_x_size_bits" for c in COUNTS)
FEATURES = (*COUNTS, *SIZE_FEATURES)
# The fitted logic model (standard cells only); word reads and writes carry the controller's cost
# of handling a word (address, data path), not the macro's.
COUNT_COEFFICIENTS = ("e_event_j", "e_synapse_j", "e_logic_read_word_j", "e_logic_write_word_j", "e_lookup_j")
SIZE_COEFFICIENTS = tuple(c.removesuffix("_j") + "_per_size_bit_j" for c in COUNT_COEFFICIENTS)
COEFFICIENTS = (*COUNT_COEFFICIENTS, *SIZE_COEFFICIENTS)
# The exact SRAM terms: energy per access of the macro, from its Liberty, per counted access.
# The bank term, one for all groups: SRAM reads and writes x (macros of the memory - 1).
BANK_FEATURES = ("bank_extra_reads", "bank_extra_writes")
BANK_COEFFICIENTS = ("e_bank_read_j", "e_bank_write_j")
SRAM_FEATURES = ("sram_reads", "sram_writes")
SRAM_COEFFICIENTS = ("e_sram_read_word_j", "e_sram_write_word_j")
# The latency model: cycles per count (sizes change cycles through the counts themselves).
CYCLE_COEFFICIENTS = (
    "cycles_per_event",
    "cycles_per_synapse",
    "cycles_per_read_word",
    "cycles_per_write_word",
    "cycles_per_lookup",
)
MAX_HELDOUT_ERROR = 0.10

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "spikemem energy table (one row per CSV line)",
    "type": "object",
    "required": ["layer", "encoding", "weight_bits", "operation", *COEFFICIENTS, *SRAM_COEFFICIENTS, "flow_level"],
    "properties": {
        "layer": {"enum": ["fc", "conv"]},
        "encoding": {"type": "string"},
        "weight_bits": {"type": "integer", "minimum": 2, "maximum": 12},
        "operation": {
            "enum": ["forward", "backward", "update", "backward_row"],
            "description": "backward: a column walk per non-zero error; backward_row: a row stream per time step",
        },
        "e_event_j": {"type": "number", "minimum": 0, "description": "logic: fixed energy per event (J)"},
        "e_synapse_j": {
            "type": "number",
            "minimum": 0,
            "description": "logic: energy per synapse streamed or updated (J)",
        },
        "e_logic_read_word_j": {
            "type": "number",
            "minimum": 0,
            "description": "logic: the controller's energy per memory word read, SRAM macro excluded (J)",
        },
        "e_logic_write_word_j": {
            "type": "number",
            "minimum": 0,
            "description": "logic: the controller's energy per memory word written, SRAM macro excluded (J)",
        },
        "e_lookup_j": {"type": "number", "minimum": 0, "description": "logic: energy per field stepped through (J)"},
        **{
            name: {
                "type": "number",
                "minimum": 0,
                "description": f"logic: added to {base} per bit of the layer's size bits, log2(synapse positions) (J)",
            }
            for name, base in zip(SIZE_COEFFICIENTS, COUNT_COEFFICIENTS, strict=True)
        },
        "e_bank_read_j": {
            "type": "number",
            "minimum": 0,
            "description": "logic, one value for every row: energy per SRAM read per macro beyond the first that the "
            "memory's bus reaches (J); 0 without the bank term",
        },
        "e_bank_write_j": {
            "type": "number",
            "minimum": 0,
            "description": "logic, one value for every row: the same per SRAM write (J)",
        },
        "e_sram_read_word_j": {
            "type": "number",
            "minimum": 0,
            "description": "SRAM, exact: the macro's energy per word read, from its Liberty (J); 0 without macros",
        },
        "e_sram_write_word_j": {
            "type": "number",
            "minimum": 0,
            "description": "SRAM, exact: the macro's energy per word written, from its Liberty (J); 0 without macros",
        },
        "sram_count_mismatches": {
            "type": ["integer", "null"],
            "description": "windows whose counted macro accesses differ from the golden model's word accesses "
            "(designs with every memory in SRAM); 0 expected",
        },
        "sram_macros": {"type": "string", "description": "the SRAM macros the group's designs use (;-separated)"},
        "sram_energy_source": {"type": "string", "description": "how the per-access SRAM energy was read"},
        "sram_share": {
            "type": ["number", "null"],
            "description": "SRAM share of the measured dynamic energy over the group's windows of this operation",
        },
        "cycles_per_event": {"type": "number", "minimum": 0, "description": "fitted latency model (cycles)"},
        "cycles_per_synapse": {"type": "number", "minimum": 0},
        "cycles_per_read_word": {"type": "number", "minimum": 0},
        "cycles_per_write_word": {"type": "number", "minimum": 0},
        "cycles_per_lookup": {"type": "number", "minimum": 0},
        "fit_windows": {"type": "integer"},
        "fit_r2": {"type": ["number", "null"], "description": "of the logic fit"},
        "fit_designs": {"type": "string", "description": "designs the published model was fitted on (all sizes)"},
        "fit_widths": {
            "type": "string",
            "description": "the weight widths (;-separated) whose designs the row's coefficients were fitted on: "
            "every characterized width of its layer type and encoding with the width term, else its own",
        },
        "heldout_design": {
            "type": ["string", "null"],
            "description": "the largest size, left out of the validation fit",
        },
        "heldout_max_error": {
            "type": ["number", "null"],
            "description": "total dynamic energy (logic fit + exact SRAM): largest relative error over the held-out "
            "design's runs of the model fitted without it",
        },
        "heldout_max_error_logic": {
            "type": ["number", "null"],
            "description": "the same for the logic energy alone (the fitted part)",
        },
        "validation_design": {
            "type": ["string", "null"],
            "description": "much larger designs of the same encoding and width (characterization.validation, and "
            "the trained network's layers of characterization.network_layers; ;-separated), run directly at gate "
            "level and never fitted on; null where none was configured",
        },
        "validation_max_error": {
            "type": ["number", "null"],
            "description": "total dynamic energy: largest relative error of the published model over the "
            "validation designs' runs",
        },
        "validation_max_error_logic": {
            "type": ["number", "null"],
            "description": "the same for the logic energy alone",
        },
        "flagged": {
            "type": "boolean",
            "description": "held-out or validation error (total or logic-only) above 10 %, or no held-out size",
        },
        "payload_bits": {"type": "integer", "description": "of the largest design, at capacity"},
        "metadata_bits": {"type": "integer"},
        "macro_count": {"type": "integer"},
        "logic_leakage_w": {"type": "number"},
        "sram_leakage_w": {"type": "number"},
        "stdcell_area_um2": {"type": "number"},
        "worst_slack_ns": {"type": ["number", "null"]},
        "clock_mhz": {"type": "number"},
        "latency_cycles_per_event": {"type": "number"},
        "flow_level": {"enum": ["synthesis", "placed_and_routed"]},
    },
}


def design_size(design: Mapping) -> int:
    """Synapse positions of a characterized design (pre x post neurons; a convolution's from its
    geometry), the order in which the largest design of a group is held out."""
    if "n_pre" in design:
        return design["n_pre"] * design["n_post"]
    from ..encodings import ConvGeometry

    g = ConvGeometry(**design["geometry"])
    return g.n_pre * g.n_post


def size_bits(positions: float) -> float:
    """The size term's variable: log2 of a layer's synapse positions (pre x post neurons)."""
    return float(np.log2(max(positions, 1)))


def with_size_features(counts: Mapping, positions: float) -> dict:
    """``counts`` (a window's, or a priced event's) with the size features added: each count times
    the size bits of a layer of ``positions`` synapse positions."""
    bits = size_bits(positions)
    return {**counts, **{s: counts[c] * bits for c, s in zip(COUNTS, SIZE_FEATURES, strict=True)}}


def count_costs_at(logic: Sequence[float], positions: float) -> dict[str, float]:
    """A row's logic coefficients (COEFFICIENTS, as :func:`row_coefficients` reads them) as one
    cost per count (COUNT_COEFFICIENTS) for a layer of ``positions`` synapse positions."""
    coef = dict(zip(COEFFICIENTS, logic, strict=True))
    bits = size_bits(positions)
    return {c: coef[c] + bits * coef[s] for c, s in zip(COUNT_COEFFICIENTS, SIZE_COEFFICIENTS, strict=True)}


def model_windows(characterization: Mapping, operation: str | None = None) -> list[dict]:
    """A characterization's activity windows (of one ``operation``, or all) as the model reads
    them: with the size features and the design's weight width."""
    d = characterization["design"]
    positions = design_size(d)
    return [
        {**with_size_features(w, positions), "weight_bits": d["weight_bits"]}
        for r in characterization["runs"]
        if operation is None or r["operation"] == operation
        for w in r["windows"]
    ]


def bank_features(window: Mapping) -> dict[str, float]:
    """A window's (or a priced event's) SRAM reads and writes times the macros beyond the first
    that each one's memory bus reaches; 0 where the record has no bank-weighted counts
    (``bank_reads``, ``bank_writes``: accesses x macros)."""
    return {
        "bank_extra_reads": window.get("bank_reads", window["sram_reads"]) - window["sram_reads"],
        "bank_extra_writes": window.get("bank_writes", window["sram_writes"]) - window["sram_writes"],
    }


def _nnls(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # Scale columns to comparable magnitudes so NNLS is well conditioned.
    scale = np.where(x.max(axis=0) > 0, x.max(axis=0), 1.0)
    coef, _ = nnls(x / scale, y)
    return coef / scale


def _r2(y: np.ndarray, pred: np.ndarray) -> float | None:
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return 1 - float(np.sum((y - pred) ** 2)) / ss_tot if ss_tot > 0 else None


def _cycle_fit(windows: list[dict]) -> np.ndarray:
    """The latency model of a group's windows: cycles per count (CYCLE_COEFFICIENTS)."""
    x = np.array([[w[f] for f in COUNTS] for w in windows], dtype=float)
    return _nnls(x, np.array([w["cycles"] for w in windows], dtype=float))


def _design_matrix(windows: list[dict], size_term: bool, width_term: bool) -> np.ndarray:
    """The columns a group's coefficients multiply: the counts (and size features), and with the
    width term the same again times each window's weight width."""
    names = FEATURES if size_term else COUNTS
    x = np.array([[w[f] for f in names] for w in windows], dtype=float).reshape(len(windows), len(names))
    if width_term:
        x = np.hstack([x, x * np.array([[w["weight_bits"]] for w in windows], dtype=float)])
    return x


def at_width(coef: np.ndarray, weight_bits: int, size_term: bool = True, width_term: bool = True) -> np.ndarray:
    """A group's fitted coefficients (:func:`joint_fit`) as a row of the table publishes them
    (COEFFICIENTS): evaluated at ``weight_bits`` with the width term, zero size coefficients
    without the size term."""
    n = len(FEATURES if size_term else COUNTS)
    c = coef[:n] + weight_bits * coef[n:] if width_term else coef
    return c if size_term else np.concatenate([c, np.zeros(len(SIZE_FEATURES))])


def joint_fit(
    groups: Mapping[tuple, list[dict]],
    bank_term: bool = True,
    iterations: int = 200,
    size_term: bool = True,
    width_term: bool = True,
    relative: bool = False,
) -> tuple[dict[tuple, np.ndarray], np.ndarray]:
    """The logic model of every group (key -> its windows, as :func:`model_windows` gives them)
    with the shared bank term: per group its coefficients (read them with :func:`at_width`) and the
    bank coefficients (BANK_COEFFICIENTS, zero without ``bank_term``). Block coordinate descent on
    the joint least-squares problem: each group's coefficients given the bank term, then the bank
    term given every group's, until it settles. With ``relative`` each window's residual counts
    relative to its measured logic energy (no size outweighs the others by its joules)."""
    keys = [k for k, ws in groups.items() if ws]
    x = {k: _design_matrix(groups[k], size_term, width_term) for k in keys}
    b = {k: np.array([[bank_features(w)[f] for f in BANK_FEATURES] for w in groups[k]], dtype=float) for k in keys}
    y = {k: np.array([logic_energy(w) for w in groups[k]], dtype=float) for k in keys}
    if relative:
        scale = {k: 1.0 / np.maximum(y[k], np.finfo(float).tiny) for k in keys}
        x = {k: x[k] * scale[k][:, None] for k in keys}
        b = {k: b[k] * scale[k][:, None] for k in keys}
        y = {k: y[k] * scale[k] for k in keys}
    bank = np.zeros(len(BANK_FEATURES))
    coefs = {k: _nnls(x[k], y[k]) for k in keys}
    if bank_term and any(b[k].any() for k in keys):
        for _ in range(iterations):
            resid = np.concatenate([y[k] - x[k] @ coefs[k] for k in keys])
            new = _nnls(np.concatenate([b[k] for k in keys]), resid)
            coefs = {k: _nnls(x[k], y[k] - b[k] @ new) for k in keys}
            settled = np.allclose(new, bank, rtol=1e-5, atol=1e-18)
            bank = new
            if settled:
                break
    return coefs, bank


def predict(
    coef: np.ndarray, sram: tuple[float, float], totals: Mapping[str, float], bank: Sequence[float] = (0.0, 0.0)
) -> dict[str, float]:
    """Logic, SRAM and total dynamic energy of the given feature totals (FEATURES, SRAM_FEATURES and,
    where ``bank`` is not zero, the bank-weighted counts :func:`bank_features` reads)."""
    extra = bank_features(totals) if any(bank) else dict.fromkeys(BANK_FEATURES, 0.0)
    logic = float(np.dot(coef, [totals[f] for f in FEATURES])) + float(np.dot(bank, [extra[f] for f in BANK_FEATURES]))
    mem = float(np.dot(sram, [totals[f] for f in SRAM_FEATURES]))
    return {"logic_j": logic, "sram_j": mem, "dynamic_j": logic + mem}


def window_totals(windows: list[dict]) -> dict[str, float]:
    """The model's features summed over windows (bank-weighted counts where recorded)."""
    names = (*FEATURES, *SRAM_FEATURES)
    tot = {f: sum(w[f] for w in windows) for f in names}
    for f in ("bank_reads", "bank_writes"):
        if all(f in w for w in windows):
            tot[f] = sum(w[f] for w in windows)
    return tot


def _run_errors(
    coef: np.ndarray, sram: tuple[float, float], windows: list[dict], bank: Sequence[float] = (0.0, 0.0)
) -> tuple[float, float]:
    """Relative errors of the prediction of one direct run (its :func:`model_windows`): (total
    dynamic, logic only)."""
    pred = predict(coef, sram, window_totals(windows), bank)
    measured_logic = sum(logic_energy(w) for w in windows)
    measured_total = sum(logic_energy(w) + sram_energy(w) for w in windows)

    def rel(p: float, m: float) -> float:
        return abs(p - m) / m if m else 0.0

    return rel(pred["dynamic_j"], measured_total), rel(pred["logic_j"], measured_logic)


def _op_windows(chars: list[dict], op: str) -> list[dict]:
    return [w for c in chars for w in model_windows(c, op)]


def _runs_of(c: Mapping, op: str) -> list[list[dict]]:
    """Each run of ``op`` of a characterization as its model windows."""
    return [model_windows({**c, "runs": [r]}) for r in c["runs"] if r["operation"] == op]


def sram_per_access(chars: list[dict], windows: list[dict]) -> tuple[tuple[float, float], str, str]:
    """Energy per SRAM word read and written of a group of designs: ``((read_j, write_j), macros, how)``.

    With one macro type (the configuration's ``memory.sram_macro``) these are its Liberty values
    (``sram_access_energy`` of the characterization). Designs mixing macro types would have no single
    per-access value: then the access-weighted mean over the windows, which is exact for the mix the
    windows saw only. Designs without macros (flop memories only) cost nothing here.
    """
    per_macro: dict[str, dict] = {}
    for c in chars:
        for name, e in c.get("sram_access_energy", {}).items():
            per_macro.setdefault(name, e)
    macros = ";".join(sorted(per_macro))
    if not per_macro:
        return (0.0, 0.0), macros, "no SRAM macros"
    if len(per_macro) == 1:
        (e,) = per_macro.values()
        return (float(e["read_j"]), float(e["write_j"])), macros, e.get("how", "macro Liberty")
    reads = sum(w["sram_reads"] for w in windows)
    writes = sum(w["sram_writes"] for w in windows)
    mean = {k: float(np.mean([e[k] for e in per_macro.values()])) for k in ("read_j", "write_j")}
    read_j = sum(w["sram_read_j"] for w in windows) / reads if reads else mean["read_j"]
    write_j = sum(w["sram_write_j"] for w in windows) / writes if writes else mean["write_j"]
    return (read_j, write_j), macros, "access-weighted mean of the macros' Liberty energies over the windows"


def sram_count_mismatches(chars: list[dict], op: str) -> int | None:
    """Windows whose counted macro accesses differ from the golden model's word reads and writes,
    over the designs that hold every memory in SRAM (None if none does): the check that the exact
    SRAM terms may be priced from golden-model counts."""
    all_sram = [c for c in chars if c.get("memory") and all(m["implementation"] == "sram" for m in c["memory"])]
    if not all_sram:
        return None
    return sum(
        (w["sram_reads"], w["sram_writes"]) != (w["word_reads"], w["word_writes"]) for w in _op_windows(all_sram, op)
    )


def _group_key(c: Mapping) -> tuple:
    d = c["design"]
    return (d["layer"], d["encoding"], d["weight_bits"])


def _by_group(characterizations: Iterable[dict]) -> dict[tuple, list[dict]]:
    out: dict[tuple, list[dict]] = defaultdict(list)
    for c in characterizations:
        out[_group_key(c)].append(c)
    return out


def _fit_key(layer: str, enc: str, wb: int, op: str, width_term: bool) -> tuple:
    """The key of the coefficients a row is published from: all widths at once with the width term."""
    return (layer, enc, op) if width_term else (layer, enc, wb, op)


def _pooled(by_group: Mapping[tuple, list[dict]], width_term: bool, prefix: tuple = ()) -> dict[tuple, list[dict]]:
    """The model windows of each fit key (:func:`_fit_key`) from characterizations by group."""
    out: dict[tuple, list[dict]] = defaultdict(list)
    for (layer, enc, wb), cs in by_group.items():
        for op in OPERATIONS:
            out[(*prefix, *_fit_key(layer, enc, wb, op, width_term))] += _op_windows(cs, op)
    return out


def build_table(
    characterizations: list[dict],
    golden: dict[str, dict],
    validation: Iterable[str] = (),
    excluded: Iterable[str] = (),
    bank_term: bool = True,
    anchors: Iterable[dict] = (),
    size_term: bool = True,
    width_term: bool = True,
) -> pd.DataFrame:
    """One row per (layer, encoding, weight bits, operation): the logic fit, the exact SRAM
    per-access energies, their held-out validation, and the hardware's leakage and latency.

    Designs named in ``validation`` are not fitted on: the published model of their group is
    checked against their direct gate-level runs (``validation_*`` columns; per design in
    :func:`validation_errors`). Designs named in ``excluded`` take no part in the table. The logic
    model of all groups is fitted jointly (:func:`joint_fit`), with the shared bank term unless
    ``bank_term`` is False, the size features unless ``size_term`` is False, and coefficients linear
    in the weight width, fitted on all widths of a layer type, encoding and operation at once, unless
    ``width_term`` is False (then each width alone). The held-out check refits all of it without
    each width's largest size. ``anchors`` (the macro sweep's characterizations) join the joint fit
    as groups of their own, whose coefficients are not published: they span the macros the bank term
    is about."""
    validation, excluded = set(validation), set(excluded)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    checks: dict[tuple, list[dict]] = defaultdict(list)
    for c in characterizations:
        if c["design"]["name"] not in excluded:
            (checks if c["design"]["name"] in validation else groups)[_group_key(c)].append(c)
    for key in groups:
        groups[key].sort(key=lambda c: (design_size(c["design"]), c["design"]["name"]))

    # The published model is fitted on every size: within one size some features are collinear (a
    # crossbar row is always the same number of words), across sizes they are not. The held-out
    # check: the model fitted without each width's largest size predicts its direct runs.
    anchored = _pooled(_by_group(anchors), width_term, ("anchor",)) if bank_term else {}
    options = {"size_term": size_term, "width_term": width_term}
    published = joint_fit(_pooled(groups, width_term) | anchored, bank_term, **options)
    shorter = {k: cs[:-1] for k, cs in groups.items() if len(cs) > 1}
    held = joint_fit(_pooled(shorter, width_term) | anchored, bank_term, **options)
    rows = []
    for (layer, enc, wb), chars in sorted(groups.items()):
        group_checks = sorted(checks.get((layer, enc, wb), []), key=lambda c: design_size(c["design"]))
        largest = chars[-1]
        heldout = chars[-1] if len(chars) > 1 else None
        for op in OPERATIONS:
            windows = _op_windows(chars, op)
            if not windows:
                continue
            key = _fit_key(layer, enc, wb, op, width_term)
            sram, macros, how = sram_per_access(chars, windows)
            err = err_logic = None
            if heldout and key in held[0]:
                coef = at_width(held[0][key], wb, **options)
                errs = [_run_errors(coef, sram, ws, held[1]) for ws in _runs_of(heldout, op)]
                if errs:
                    err, err_logic = max(e[0] for e in errs), max(e[1] for e in errs)
            coef, bank = at_width(published[0][key], wb, **options), published[1]
            x = np.array([[w[f] for f in FEATURES] for w in windows], dtype=float)
            b = np.array([[bank_features(w)[f] for f in BANK_FEATURES] for w in windows], dtype=float)
            r2 = _r2(np.array([logic_energy(w) for w in windows]), x @ coef + b @ bank)
            cycle_coef = _cycle_fit(windows)
            val_err = val_err_logic = None
            errs = [_run_errors(coef, sram, ws, bank) for c in group_checks for ws in _runs_of(c, op)]
            if errs:
                val_err, val_err_logic = max(e[0] for e in errs), max(e[1] for e in errs)
            big_runs = [r for r in largest["runs"] if r["operation"] == op]
            latency = sum(r["cycles"] for r in big_runs) / max(1, sum(r["events"] for r in big_runs))
            measured = sum(logic_energy(w) + sram_energy(w) for w in windows)
            img = golden.get(largest["design"]["name"], {})
            rows.append(
                {
                    "layer": layer,
                    "encoding": enc,
                    "weight_bits": wb,
                    "operation": op,
                    **{name: float(v) for name, v in zip(COEFFICIENTS, coef, strict=True)},
                    **{name: float(v) for name, v in zip(BANK_COEFFICIENTS, bank, strict=True)},
                    **{name: float(v) for name, v in zip(SRAM_COEFFICIENTS, sram, strict=True)},
                    "sram_macros": macros,
                    "sram_energy_source": how,
                    "sram_share": sum(sram_energy(w) for w in windows) / measured if measured else None,
                    "sram_count_mismatches": sram_count_mismatches(chars, op),
                    **{name: float(v) for name, v in zip(CYCLE_COEFFICIENTS, cycle_coef, strict=True)},
                    "fit_windows": len(windows),
                    "fit_r2": r2,
                    "fit_designs": ";".join(c["design"]["name"] for c in chars),
                    "fit_widths": ";".join(
                        str(w) for w in sorted({k[2] for k in groups if k[:2] == (layer, enc)} if width_term else {wb})
                    ),
                    "heldout_design": heldout["design"]["name"] if heldout else None,
                    "heldout_max_error": err,
                    "heldout_max_error_logic": err_logic,
                    "validation_design": ";".join(c["design"]["name"] for c in group_checks) or None,
                    "validation_max_error": val_err,
                    "validation_max_error_logic": val_err_logic,
                    "flagged": bool(
                        err is None
                        or err_logic is None
                        or max(err, err_logic, val_err or 0, val_err_logic or 0) > MAX_HELDOUT_ERROR
                    ),
                    "payload_bits": img.get("payload_bits", 0),
                    "metadata_bits": img.get("metadata_bits", 0),
                    "macro_count": int(sum(largest["synthesis"]["macros"].values())),
                    "logic_leakage_w": largest["leakage_w"]["logic"],
                    "sram_leakage_w": largest["leakage_w"]["sram"],
                    "stdcell_area_um2": largest["synthesis"]["stdcell_area_um2"],
                    "worst_slack_ns": largest["timing"]["worst_slack_ns"],
                    "clock_mhz": largest["timing"]["clock_mhz"],
                    "latency_cycles_per_event": latency,
                    "flow_level": largest["flow_level"],
                }
            )
    return pd.DataFrame(rows)


def row_coefficients(row: Mapping) -> tuple[np.ndarray, tuple[float, float], tuple[float, float]]:
    """A table row's logic coefficients (COEFFICIENTS; size coefficients 0 in tables without them),
    bank term (0 in tables without one) and SRAM energies per access."""
    coef = np.array(
        [row[k] if k in COUNT_COEFFICIENTS or pd.notna(row.get(k)) else 0.0 for k in COEFFICIENTS], dtype=float
    )
    bank = tuple(float(row[k]) if pd.notna(row.get(k)) else 0.0 for k in BANK_COEFFICIENTS)
    return coef, bank, (float(row["e_sram_read_word_j"]), float(row["e_sram_write_word_j"]))


def per_event_energies(row: Mapping, windows: list[dict]) -> dict[str, dict[str, float]]:
    """Per event over ``windows`` (:func:`model_windows`): the ``measured`` energy (logic, SRAM, total
    ``j``, and cycles) and the ``model``'s (``row`` of the table) on the same events' features."""
    n = sum(w["events"] for w in windows)
    logic, mem = sum(map(logic_energy, windows)) / n, sum(map(sram_energy, windows)) / n
    coef, bank, sram = row_coefficients(row)
    pred = predict(coef, sram, window_totals(windows), bank)
    return {
        "measured": {
            "logic_j": logic,
            "sram_j": mem,
            "j": logic + mem,
            "cycles": sum(w["cycles"] for w in windows) / n,
        },
        "model": {"logic_j": pred["logic_j"] / n, "sram_j": pred["sram_j"] / n, "j": pred["dynamic_j"] / n},
    }


def validation_errors(table: pd.DataFrame, characterizations: list[dict], validation: Iterable[str]) -> pd.DataFrame:
    """Per validation design and operation: the published model's relative error (total dynamic and
    logic only, largest over the design's runs), its energy per event measured and predicted, and the
    design's macros: where the model is checked, one row each."""
    validation = set(validation)
    keys = ["layer", "encoding", "weight_bits", "operation"]
    rows = []
    for c in characterizations:
        d = c["design"]
        if d["name"] not in validation:
            continue
        for op in OPERATIONS:
            runs = _runs_of(c, op)
            match = table[(table[keys[:-1]] == [d["layer"], d["encoding"], d["weight_bits"]]).all(axis=1)]
            match = match[match.operation == op]
            if not runs or match.empty:
                continue
            row = match.iloc[0]
            coef, bank, sram = row_coefficients(row)
            errs = [_run_errors(coef, sram, ws, bank) for ws in runs]
            windows = [w for ws in runs for w in ws]
            e = per_event_energies(row, windows)
            rows.append(
                {
                    "design": d["name"],
                    "trained": d.get("trained", ""),
                    **{k: d[k] if k != "operation" else op for k in keys},
                    "macros": int(sum(c["synthesis"]["macros"].values())),
                    "events": sum(w["events"] for w in windows),
                    "measured_pj_per_event": e["measured"]["j"] * 1e12,
                    "model_pj_per_event": e["model"]["j"] * 1e12,
                    "measured_logic_pj_per_event": e["measured"]["logic_j"] * 1e12,
                    "model_logic_pj_per_event": e["model"]["logic_j"] * 1e12,
                    "error": max(e[0] for e in errs),
                    "error_logic": max(e[1] for e in errs),
                }
            )
    return pd.DataFrame(rows)


def form_errors(
    characterizations: list[dict],
    validation: Iterable[str],
    excluded: Iterable[str] = (),
    bank_term: bool = True,
    anchors: Iterable[dict] = (),
    size_term: bool = True,
    width_term: bool = True,
) -> pd.DataFrame:
    """Per validation design and operation, the error the model's terms leave when the validation
    designs are fitted on as well (``form_error``, ``form_error_logic``; largest over the runs):
    the same terms fitted jointly on every characterization but ``excluded``, each window's
    residual relative to its logic energy. What it leaves, no choice of fitted sizes or widths
    removes; only other terms (or another netlist) can. Without validation designs, empty."""
    validation, excluded = set(validation), set(excluded)
    included = [c for c in characterizations if c["design"]["name"] not in excluded]
    anchored = _pooled(_by_group(anchors), width_term, ("anchor",)) if bank_term else {}
    coefs, bank = joint_fit(
        _pooled(_by_group(included), width_term) | anchored,
        bank_term,
        size_term=size_term,
        width_term=width_term,
        relative=True,
    )
    rows = []
    for c in included:
        d = c["design"]
        if d["name"] not in validation:
            continue
        for op in OPERATIONS:
            key = _fit_key(d["layer"], d["encoding"], d["weight_bits"], op, width_term)
            runs = _runs_of(c, op)
            if not runs or key not in coefs:
                continue
            coef = at_width(coefs[key], d["weight_bits"], size_term, width_term)
            sram = (0.0, 0.0)  # the SRAM terms are exact: only the logic part can miss
            errs = [_run_errors(coef, sram, ws, bank) for ws in runs]
            measured = [(sum(map(logic_energy, ws)), sum(map(sram_energy, ws))) for ws in runs]
            rows.append(
                {
                    "design": d["name"],
                    "operation": op,
                    # the logic miss over the run's whole dynamic energy (its SRAM part is exact)
                    "form_error": max(e[1] * lg / (lg + mem) for e, (lg, mem) in zip(errs, measured, strict=True)),
                    "form_error_logic": max(e[1] for e in errs),
                }
            )
    return pd.DataFrame(rows, columns=["design", "operation", "form_error", "form_error_logic"])


def capacity_bits(cfg: Mapping, design) -> dict:
    """Payload and metadata bits of a design's capacity image (all synapses present)."""
    from ..rtl.render import capacity
    from ..workloads import memory_params

    enc, _ = capacity(design, memory_params(cfg))
    return {"payload_bits": enc.image.payload_bits, "metadata_bits": enc.image.metadata_bits}


def write_table(
    table: pd.DataFrame,
    out_csv: Path,
    characterizations: list[dict],
    cfg: Mapping,
    validation: pd.DataFrame | None = None,
) -> None:
    from ..atomic_files import atomic_write_json, atomic_write_text
    from ..provenance import provenance

    ch = cfg["characterization"]
    if validation is not None:
        atomic_write_text(validation_csv(out_csv), validation.to_csv(index=False, float_format="%.6g"))
    atomic_write_text(out_csv, table.to_csv(index=False, float_format="%.6g"))
    atomic_write_json(out_csv.with_suffix(".schema.json"), SCHEMA)
    prov = {
        "designs": {c["design"]["name"]: c["provenance"] for c in characterizations},
        "flow_levels": sorted({c["flow_level"] for c in characterizations}),
        "cost_model": "E_dynamic = E_logic + E_sram; E_logic = sum over c in (events, synapses, word_reads, "
        "word_writes, lookups) of (e_c + e_c_per_size_bit * size_bits) * c, size_bits = log2(synapse positions) "
        f"(characterization.size_term = {ch['size_term']}), per (layer type, encoding, operation) with coefficients "
        f"linear in the weight width fitted on all widths at once (characterization.width_term = {ch['width_term']}) "
        "and published at each row's width, + e_bank_read*bank_extra_reads + e_bank_write*bank_extra_writes (one "
        "for all groups: SRAM accesses x the macros beyond the first their memory's bus reaches; "
        f"characterization.bank_term = {ch['bank_term']}, anchored by the macro sweep), fitted jointly by block "
        "coordinate descent, NNLS per block, over the activity windows of the standard cells' internal + switching "
        "energy; E_sram = e_sram_read_word*sram_reads + e_sram_write_word*sram_writes, exact: counted accesses x "
        "the macro Liberty's energy per access, not fitted; leakage separate",
        "sram_access_energy": {c["design"]["name"]: c.get("sram_access_energy", {}) for c in characterizations},
        "validation": "largest fitted size of each group held out: heldout_max_error (total dynamic) and "
        "heldout_max_error_logic (logic only); the published model (fitted on every fitted size) checked against "
        "much larger designs never fitted on (characterization.validation): validation_max_error and "
        "validation_max_error_logic; flagged above 10 %; per validation design (energy_table.validation.csv) "
        "also form_error and form_error_logic: the same terms fitted with the validation designs included, each "
        "window relative to its logic energy, what no choice of fitted sizes removes",
        **provenance(cfg, stage="energy_table"),
    }
    atomic_write_json(out_csv.with_suffix(".provenance.json"), prov)


def validation_csv(table_csv: Path) -> Path:
    """Where the per-design validation errors go, beside the table."""
    return Path(table_csv).with_suffix(".validation.csv")


def energy_table_stage(cfg: Mapping, inputs: list[str | Path], out_csv: Path) -> pd.DataFrame:
    """The energy-table stage: build, validate and write the table of the given characterizations
    (and, beside it, :func:`validation_errors`)."""
    from ..config import (
        design_by_name,
        fitted_designs,
        macro_sweep_designs,
        network_layer_designs,
        validation_designs,
    )

    chars = load_characterizations(inputs)
    golden = {c["design"]["name"]: capacity_bits(cfg, design_by_name(cfg, c["design"]["name"])) for c in chars}
    held = {*fitted_designs(cfg), *validation_designs(cfg)}
    sweep_only = [d.name for d in macro_sweep_designs(cfg) if d not in held]
    checks = [d.name for d in (*validation_designs(cfg), *network_layer_designs(cfg))]
    ch = cfg["characterization"]
    anchors = [c for c in chars if c["design"]["name"] in sweep_only]
    options = {"size_term": ch["size_term"], "width_term": ch["width_term"]}
    table = build_table(chars, golden, checks, sweep_only, ch["bank_term"], anchors, **options)
    validation = validation_errors(table, chars, checks)
    if not validation.empty:
        form = form_errors(chars, checks, sweep_only, ch["bank_term"], anchors, **options)
        validation = validation.merge(form, on=["design", "operation"], how="left")
    write_table(table, out_csv, chars, cfg, validation)
    return table


def load_characterizations(paths: list[str | Path]) -> list[dict]:
    return [json.loads(Path(p).read_text()) for p in paths]
